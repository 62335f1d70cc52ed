"""Start a run: an operation of runyard.toml, or a run module over instances.

The form can also save what it starts as an operation in runyard.toml; the file
is edited with tomlkit, so the user's comments and layout stay.
"""

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label

from ..safe_text import one_line


@dataclass
class StartRequest:
    target: str            # an operation name or a module path
    instances: list[str]
    workers: int | None
    name: str | None
    save_as: str | None    # save as this operation


class StartScreen(ModalScreen[StartRequest | None]):
    DEFAULT_CSS = """
    StartScreen { align: center middle; }
    StartScreen > Vertical { width: 76; height: auto; border: thick $accent;
                             background: $surface; padding: 0 1; }
    StartScreen Input { margin: 0; }
    StartScreen #start-error { color: $error; }
    StartScreen Horizontal { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="start-cancel"),
                Binding("ctrl+s", "submit", "Start", id="start-submit")]

    def __init__(self, operations: list[str], root=None):
        super().__init__()
        self.operations = operations
        self.root = root

    def compose(self) -> ComposeResult:
        known = ", ".join(self.operations) if self.operations else "none in runyard.toml"
        title = Text("Start a run", style="bold")
        title.append("  operations: " + one_line(known, limit=300))
        with Vertical():
            yield Label(title)
            note = "" if self.root is None or self.root.exists() else \
                f"The runs root {one_line(self.root, limit=200)} does not exist yet: " \
                "Start creates it."
            yield Label(note, id="start-note", markup=False)
            yield Input(placeholder="operation name, or module.py", id="target")
            yield Input(placeholder="instances: paths or globs, space separated (modules)",
                        id="instances")
            with Horizontal():
                yield Input(placeholder="workers", id="workers", type="integer")
                yield Input(placeholder="run name (optional)", id="name")
            with Horizontal():
                yield Checkbox("save as operation", id="save")
                yield Input(placeholder="operation name", id="save-as")
            yield Label("", id="start-error", markup=False)
            yield Label("enter / ctrl+s: start   esc: cancel   tab: next field")
            with Horizontal():
                yield Button("Start", variant="primary", id="go")
                yield Button("Cancel", id="stop")

    def on_mount(self) -> None:
        self.query_one("#target", Input).focus()

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def action_submit(self) -> None:
        target = self.value("target")
        error = self.query_one("#start-error", Label)
        if not target:
            error.update("say what to start: an operation name or a module.py")
            return
        if target.endswith(".py") and not self.value("instances"):
            error.update("a run module needs instances")
            return
        workers = self.value("workers")
        save = self.query_one("#save", Checkbox).value
        save_as = self.value("save-as") or (target.rsplit("/", 1)[-1].removesuffix(".py")
                                            if save else "")
        self.dismiss(StartRequest(target=target, instances=self.value("instances").split(),
                                  workers=int(workers) if workers else None,
                                  name=self.value("name") or None,
                                  save_as=save_as if save else None))

    def on_input_submitted(self, _event) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "go":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
