"""The Info tab: the run's attributes, metadata and files. Built only while shown:
it changes every second of a live run, and nobody reads it behind the others."""

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..widgets.static_text import redraw
from .run_tab import RunTab
from .run_text import info_text
from .shown import displayed


class InfoTab(VerticalScroll, RunTab):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.found: tuple | None = None  # (info, files, produced, problems), as last read
        self.drawn: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="info-text")

    def files_read(self, found) -> None:
        self.found = (found.info, found.files, found.produced, found.problems)
        if displayed(self):
            self.draw()

    def tab_shown(self) -> None:
        self.draw()

    def draw(self) -> None:
        if self.found is None:  # not read yet
            return
        text = info_text(*self.found)
        if text != self.drawn:
            before, self.drawn = self.drawn, text
            redraw(self.query_one("#info-text", Static), before, text)
