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


class Throttle:
    def __init__(self, owner, draw: Callable[[], None], gap: float = MIN_GAP):
        self.owner = owner  # a Textual node: its timers
        self.draw = draw
        self.gap = gap
        self._last = 0.0
        self._timer = None

    def soon(self, urgent: bool = False) -> None:
        wait = self._last + self.gap - time.monotonic()
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
