"""The runs root does not exist yet (a new user's first ``runyard``): offer to make it.

Nothing is created until the user says so; a root that cannot be made says why in
one line and the question stays, so the user can go on without it.
"""

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from runyard.engine.errors import RootError
from runyard.engine.root import ensure_root

from ..safe_text import one_line


class NewRootScreen(ModalScreen[str | None]):
    """Dismissed with "made" (the root was created), "start" (created, and the user
    wants to start a run) or None (not now: nothing was created)."""

    DEFAULT_CSS = """
    NewRootScreen { align: center middle; }
    NewRootScreen > Vertical { width: 72; max-width: 100%; height: auto;
                               border: thick $accent; background: $surface; padding: 0 1; }
    NewRootScreen Label { width: 100%; }
    NewRootScreen #new-root-error { color: $error; }
    NewRootScreen #new-root-keys { color: $text-muted; }
    NewRootScreen Horizontal { height: auto; margin-top: 1; }
    NewRootScreen Button { margin-right: 1; }
    """
    BINDINGS = [
        Binding("enter,y", "create('made')", "Create it", id="root-create"),
        Binding("s", "create('start')", "Create it and start a run", id="root-start"),
        Binding("escape,n", "later", "Not now", id="root-later"),
    ]

    def __init__(self, root):
        super().__init__()
        self.root = root

    def compose(self) -> ComposeResult:
        where = one_line(self.root, limit=400)
        with Vertical():
            yield Label(f"The runs root {where} does not exist yet.\nrunyard keeps every "
                        "run there. Create it now?", id="new-root-question", markup=False)
            yield Label("", id="new-root-error", markup=False)
            yield Label("enter: create it   s: create it and start a run   esc: not now "
                        "(nothing is created)", id="new-root-keys", markup=False)
            with Horizontal():
                yield Button("Create", variant="primary", id="root-made", compact=True)
                yield Button("Create and start a run", id="root-start", compact=True)
                yield Button("Not now", id="root-later", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "root-later":
            self.dismiss(None)
        else:
            self.action_create(event.button.id.removeprefix("root-"))

    def action_create(self, then: str) -> None:
        self.make_root(then)

    @work(thread=True, exclusive=True, exit_on_error=False, group="new-root")
    def make_root(self, then: str) -> None:
        try:
            ensure_root(self.root)
        except (RootError, OSError) as exc:
            self.app.call_from_thread(self.refused, str(exc))
            return
        self.app.call_from_thread(self.dismiss, then)

    def refused(self, why: str) -> None:
        self.query_one("#new-root-error", Label).update(one_line(why, limit=300))

    def action_later(self) -> None:
        self.dismiss(None)
