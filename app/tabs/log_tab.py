"""A tab read like a pager (widgets/pager.py): the Events and Output tabs.

It is written to while hidden: what arrives must not be lost, and a Log that is
not shown costs about what one shown does per write, ~0.16 ms of the UI thread
(no repaint; the lines' width is measured on a thread; benchmarks/hidden_pager.py),
next to at most ~3 reads a second, so lines are not buffered apart until it is
shown (and a buffer would hide them from whoever reads the pager's lines).
"""

from ..widgets.pager import Pager
from .run_tab import RunTab


class LogTab(Pager, RunTab):
    def __init__(self, before: list[str], **kwargs):
        super().__init__(**kwargs)
        self._before = before  # opened again: what was read before (shown at mount)

    def on_mount(self) -> None:
        self.add([])

    def add(self, lines: list[str]) -> None:
        """``lines`` after the last ones (after those read before, the first time)."""
        lines, self._before = self._before + lines, []
        if lines:
            self.write_lines(lines)

    def tab_shown(self) -> None:
        self.focus()  # its keys (j/k, /, G...) work at once
        self.show_place()
