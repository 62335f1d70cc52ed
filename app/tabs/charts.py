"""A tab of one run's charts (Metrics, System): a Workspace fed by the run's reading.

The screen redraws the grid shown (``draw``) at most a few times a second while
points stream in (widgets/throttle.py), so the tab takes no part in the reads; a
grid that is hidden draws nothing, and draws what changed when it is shown.
"""

from ..widgets.workspace import Workspace
from .run_tab import RunTab


class RunCharts(Workspace, RunTab):
    def draw(self) -> None:
        """The charts whose data changed, saying how far the history was read."""
        self.data_changed(self.source.reading.history_note())

    def tab_shown(self) -> None:
        self.draw()  # drawn when shown (lazily), its keys at once
        self.focus()
