"""One run's metrics as the chart grids ask for them: the tail read first, and the
history read behind it (the points the tail skipped) once it is read.

Nothing here reads a file: the detail screen's workers do, and this only puts
together what they found (``RunReading``), for the charts of one page at a time.
"""

from collections.abc import Callable

from ..safe_text import one_line
from ..widgets.plot_data import Series

RESOURCES = "resources/"


def is_resource(name: str) -> bool:
    return name.startswith(RESOURCES)


class RunMetrics:
    """The metrics of one run that ``keep`` accepts, for a ``Workspace``."""

    def __init__(self, reading, keep: Callable[[str], bool],
                 title: Callable[[str, bool], str] | None = None):
        self.reading = reading  # run_reading.RunReading
        self.keep = keep
        self._title = title

    def names(self) -> list[str]:
        names = [n for n in self.reading.tail.metrics if self.keep(n)]
        history = self.reading.history
        if history is not None:  # a metric the run stopped logging before the tail
            seen = set(names)
            names += [n for n in history.envelopes if n not in seen and self.keep(n)]
        return names

    def version(self, name: str) -> tuple:
        stats = self.reading.tail.metrics.get(name)
        return (stats.count if stats else 0, self.reading.history is not None)

    def series(self, name: str, by_time: bool) -> list[Series]:
        stats = self.reading.tail.metrics.get(name)
        spans, counts = stats.envelope.spans_and_counts(by_time) if stats else ([], [])
        nonfinite = stats.nonfinite if stats else 0
        history = self.reading.history
        if history is not None and name in history.envelopes:
            before_spans, before_counts = history.envelopes[name].spans_and_counts(by_time)
            spans, counts = before_spans + spans, before_counts + counts
            nonfinite += history.summaries[name].nonfinite
        last = stats.last if stats is not None else None
        low, high = (stats.min, stats.max) if stats is not None else (None, None)
        if history is not None and name in history.summaries:
            before = history.summaries[name]
            low, high = _either(min, low, before.min), _either(max, high, before.max)
        return [Series(name, tuple(spans), nonfinite, 0, _number(last), _number(low),
                       _number(high), tuple(counts))]

    def title(self, name: str, by_time: bool) -> str:
        if self._title:
            return self._title(name, by_time)
        units = self.reading.units.get(name)  # from the run's attrs: untrusted text
        return f"{name} ({one_line(units, limit=20)})" if units else name


def _number(value) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def _either(pick, a, b):
    """``pick`` of the two that are known (None where neither is)."""
    known = [v for v in (a, b) if v is not None]
    return pick(known) if known else None
