"""The Alerts tab: each alert's state, its rule and value, the last changes and the
lines of the alert files that were skipped. Built only while shown."""

from rich.text import Text
from textual.widgets import Static

from ..widgets.static_text import redraw
from .run_tab import RunTab
from .run_text import alerts_text
from .shown import displayed


class AlertsTab(Static, RunTab):
    def __init__(self, tail, **kwargs):
        super().__init__(**kwargs)
        self.tail = tail                         # engine.tail.RunTail: states, history
        self.definitions: list | None = None     # alerts.json, as last read
        self.drawn: Text | None = None

    def files_read(self, found) -> None:
        self.definitions = found.alert_defs
        if displayed(self):
            self.draw()

    def tab_shown(self) -> None:
        self.draw()

    def draw(self) -> None:
        if self.definitions is None:  # not read yet
            return
        text = alerts_text(self.definitions, self.tail.alerts,
                           list(self.tail.alert_history), self.tail.bad)
        if text != self.drawn:
            before, self.drawn = self.drawn, text
            redraw(self, before, text)
