"""Help: every key binding, generated from the bindings themselves."""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(screens) -> list[tuple[str, str, str]]:
    """(where, keys, what) for every binding with a description."""
    rows = []
    for where, bindings in screens:
        for binding in bindings:
            if isinstance(binding, Binding) and binding.description:
                keys = binding.key_display or binding.key.replace(",", " / ")
                rows.append((where, keys, binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 76; max-height: 90%; border: thick $accent;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help", id="close-help")]

    def __init__(self, screens):
        super().__init__()
        self.screens = screens

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("runyard keys", style="bold")
        text.append("  (every action is also in the command palette: ctrl+p)\n")
        current = None
        for where, keys, what in binding_rows(self.screens):
            if where != current:
                text.append(f"\n{where}\n", style="bold")
                current = where
            text.append(f"  {keys:<18} {what}\n")
        with VerticalScroll():
            yield Static(text, id="help-text")
