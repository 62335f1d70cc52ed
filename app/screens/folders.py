"""Pick a folder to show (with its details above the table)."""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from ..safe_text import one_line


class FolderScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    FolderScreen { align: center middle; }
    FolderScreen > Vertical { width: 60; height: 70%; border: thick $accent;
                              background: $surface; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Back", id="folders-back")]

    def __init__(self, folders: list[tuple[str, int]]):
        super().__init__()
        self.folders = folders

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Folders (enter shows one, esc goes back)")
            yield OptionList(*[Option(Text(f"{'  ' * (f.count('/') - (f != '/'))}"
                                           f"{one_line(f, limit=100)}  ({n})"), id=f)
                               for f, n in self.folders])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
