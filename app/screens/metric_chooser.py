"""Pick the runs table's METRIC column from the metrics the runs have; typing narrows
the list (a sweep may log hundreds)."""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ..safe_text import one_line


class MetricChooser(ModalScreen[str | None]):
    DEFAULT_CSS = """
    MetricChooser { align: center middle; }
    MetricChooser > Vertical { width: 64; max-width: 100%; height: 80%;
                               border: thick $accent; background: $surface; }
    MetricChooser OptionList { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back", id="metrics-back"),
        Binding("down", "list(1)", "Down", show=False),
        Binding("up", "list(-1)", "Up", show=False),
    ]

    def __init__(self, names: tuple[str, ...], current: str):
        super().__init__()
        self.names = list(names)  # written by the runs: shown, never obeyed
        self.current = current
        self.shown: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("METRIC column: type to narrow, enter picks, esc goes back")
            yield Input(placeholder="part of a metric's name", id="metric-pattern")
            yield OptionList(id="metric-list")

    def on_mount(self) -> None:
        self.fill("")
        self.query_one("#metric-pattern", Input).focus()

    def fill(self, pattern: str) -> None:
        """The names containing ``pattern`` (any case), the current one marked."""
        wanted = pattern.strip().lower()
        self.shown = [n for n in self.names if wanted in n.lower()]
        options = self.query_one("#metric-list", OptionList)
        options.clear_options()
        options.add_options([Option(Text(("* " if n == self.current else "  ") +
                                         one_line(n, limit=200)))
                             for n in self.shown])
        if self.shown:
            options.highlighted = self.shown.index(self.current) \
                if self.current in self.shown else 0

    def on_input_changed(self, event: Input.Changed) -> None:
        self.fill(event.value)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        options = self.query_one("#metric-list", OptionList)
        if options.highlighted is not None and self.shown:
            self.dismiss(self.shown[options.highlighted])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.shown[event.option_index])

    def action_list(self, delta: int) -> None:
        """Up and down move in the list while the cursor stays in the pattern."""
        options = self.query_one("#metric-list", OptionList)
        if self.shown:
            now = options.highlighted if options.highlighted is not None else -delta
            options.highlighted = max(0, min(len(self.shown) - 1, now + delta))
