"""Redrawing live parts of a screen at most a few times a second.

A run logging ten points a second would have the detail screen's charts redrawn
ten times a second, more than the eye follows and most of what the screen costs.
``Throttle.soon`` draws at once when the last draw is ``gap`` old, else once the gap
has passed (with the latest data then); everything drawn by one throttle goes to the
screen in one repaint.
"""

import time
from collections.abc import Callable

MIN_GAP = 0.35  # seconds between two draws of a live part: about three a second
CHART_GAP = 1.0  # a chart is rebuilt whole (plotext): once a second while points stream
# ... or less often where the charts shown cost more than this share of a core to
# rebuild (a chart overlaying ten runs takes ~16 ms of plotext: drawn every ~3 s)
CHART_BUDGET = 0.01
CHART_GAP_MOST = 3.0  # ... but at least every 3 s: one slow build (a loaded machine)
                      # must not hold the charts still for long


class Throttle:
    """``cost``, if given, says what the last draw cost (seconds, including what was
    built for it after it returned): the gap grows so that drawing takes at most
    ``budget`` of a core."""

    def __init__(self, owner, draw: Callable[[], None], gap: float = MIN_GAP,
                 cost: Callable[[], float] | None = None, budget: float = CHART_BUDGET):
        self.owner = owner  # a Textual node: its timers
        self.draw = draw
        self.gap = gap
        self.cost = cost
        self.budget = budget
        self._last = 0.0
        self._timer = None

    def current_gap(self) -> float:
        if self.cost is None:
            return self.gap
        return max(self.gap, min(CHART_GAP_MOST, self.cost() / self.budget))

    def soon(self, urgent: bool = False) -> None:
        wait = self._last + self.current_gap() - time.monotonic()
        if urgent or wait <= 0:
            self.now()
        elif self._timer is None:
            self._timer = self.owner.set_timer(wait, self.now)

    def now(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._last = time.monotonic()
        self.draw()
