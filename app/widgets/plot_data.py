"""What a chart draws, worked out before the chart library sees any of it (no textual).

plotext crashes the whole app on data a run may well hold: an infinity, a zero or
a negative value on a log axis, an empty series on a log axis, 1e308 next to
1e-308. So it is given none of that. Every series is filtered here (non-finite
points dropped and counted; on a log axis, values <= 0 dropped and counted),
smoothed if asked, cut to the x window, and downsampled to the min and max of
each pixel column (a spike stays visible). Then every coordinate is mapped into
0..1 (``unit``, which halves first so that any finite range stays finite), and
the tick labels are written here, from the real values, by runyard's own number
formatter: plotext only ever draws numbers between 0 and 1.
"""

import math
from bisect import bisect_left
from dataclasses import dataclass, field

from .glyphs import fit_number, unit


@dataclass(frozen=True)
class Series:
    """One line of a chart: ``spans`` are (x, lowest, highest) as ``Envelope.spans``
    gives them (many points squeezed into one x keep their range)."""

    label: str
    spans: tuple
    nonfinite: int = 0       # NaN and infinite values the run logged: counted, not drawn
    style: int = 0           # which colour and marker
    last: float | None = None  # the last value logged (None: the last span's)
    low: float | None = None   # the lowest and highest logged (None: the spans')
    high: float | None = None
    counts: tuple = ()         # points each span stands for (Envelope.counts); (): one


@dataclass(frozen=True)
class View:
    """How every chart of a workspace is drawn."""

    log_y: bool = False
    smoothing: float = 0.0     # weight of the exponential moving average; 0: none
    xlim: tuple | None = None  # (lowest, highest) x shown; None: all
    by_time: bool = False


@dataclass
class Prepared:
    """A chart's series as they will be drawn, and the frame around them."""

    lines: list = field(default_factory=list)   # (Series, drawn spans)
    dropped: int = 0       # non-finite points, counted by the run and here
    nonpositive: int = 0   # points left out of a log axis
    x0: float = 0.0
    x1: float = 0.0
    y0: float = 0.0        # in drawn units: log10 of the value on a log axis
    y1: float = 0.0

    @property
    def empty(self) -> bool:
        return not any(spans for _series, spans in self.lines)


def _finite(spans, counts=()) -> tuple[list, list, int]:
    """The finite spans, the counts of those (one each where ``counts`` says none),
    and how many were dropped."""
    kept, weights, dropped = [], [], 0
    counts = counts if len(counts) == len(spans) else (1,) * len(spans)
    for span, count in zip(spans, counts, strict=True):
        try:
            if len(span) == 3 and all(map(math.isfinite, span)):
                kept.append((float(span[0]), float(span[1]), float(span[2])))
                weights.append(max(1.0, float(count)))
                continue
        except (TypeError, OverflowError, ValueError):
            pass
        dropped += 1
    return kept, weights, dropped


def _positive(spans: list) -> tuple[list, int]:
    """The spans a log axis can draw: a span reaching below zero keeps its top."""
    kept, dropped = [], 0
    for x, lo, hi in spans:
        if hi <= 0:
            dropped += 1
        elif lo <= 0:
            dropped += 1
            kept.append((x, hi, hi))
        else:
            kept.append((x, lo, hi))
    return kept, dropped


def smooth(spans: list, weight: float, counts: list | None = None) -> list:
    """The exponential moving average of each span's middle, debiased at the start (so
    the first points are not pulled towards zero). A span that stands for ``n`` points
    (``counts``: a downsampled bucket) moves the average as ``n`` points of its middle
    would: the weight is the same per point logged, however many a span holds."""
    if weight <= 0 or not spans:
        return spans
    found, average, norm = [], 0.0, 0.0
    for index, (x, lo, hi) in enumerate(spans):
        decay = weight ** counts[index] if counts else weight
        middle = lo / 2 + hi / 2
        average = decay * average + (1 - decay) * middle
        norm = decay * norm + (1 - decay)
        value = average / norm
        found.append((x, value, value))
    return found


def _window(spans: list, xlim) -> list:
    if xlim is None:
        return spans
    low, high = xlim
    return [s for s in spans if low <= s[0] <= high]


def prepare(series: list[Series], view: View) -> Prepared:
    """``series`` filtered, smoothed and windowed as ``view`` says; the frame spans them."""
    found = Prepared()
    for one in series:
        spans, counts, dropped = _finite(one.spans, one.counts)
        found.dropped += dropped + one.nonfinite
        spans = _window(smooth(spans, view.smoothing, counts), view.xlim)
        if view.log_y:
            spans, nonpositive = _positive(spans)
            found.nonpositive += nonpositive
            spans = [(x, math.log10(lo), math.log10(hi)) for x, lo, hi in spans]
        found.lines.append((one, spans))
    drawn = [s for _one, spans in found.lines for s in spans]
    if drawn:
        found.x0, found.x1 = min(s[0] for s in drawn), max(s[0] for s in drawn)
        found.y0, found.y1 = min(s[1] for s in drawn), max(s[2] for s in drawn)
    if view.xlim is not None:
        found.x0, found.x1 = view.xlim
    return found


def downsample(spans: list, columns: int, x0: float, x1: float) -> list[tuple]:
    """(x, y) points to connect: in each of ``columns`` columns the lowest and highest
    value, in the order the columns are first met."""
    columns = max(1, columns)
    if len(spans) <= columns:
        points = []
        for x, lo, hi in spans:
            points.append((x, lo))
            if hi != lo:
                points.append((x, hi))
        return points
    cells: dict[int, list] = {}
    last = columns - 1
    for x, lo, hi in spans:
        cell = cells.get(column := int(unit(x, x0, x1) * last))
        if cell is None:
            cells[column] = [x, lo, hi]
        else:
            cell[1], cell[2] = min(cell[1], lo), max(cell[2], hi)
    points = []
    for x, lo, hi in cells.values():
        points.append((x, lo))
        if hi != lo:
            points.append((x, hi))
    return points


def nice_ticks(low: float, high: float, most: int) -> list[float]:
    """Round values (1, 2, 2.5 or 5 times a power of ten apart) from ``low`` to
    ``high``, at most ``most`` of them."""
    if not high > low:
        return [low]
    most = max(2, most)
    raw = (high / 2 - low / 2) * 2 / (most - 1)
    if not math.isfinite(raw) or raw <= 0:
        return [low, high]
    power = 10.0 ** math.floor(math.log10(raw))
    step = next((m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw), 10 * power)
    first = math.ceil(low / step)
    ticks = []
    for index in range(most + 1):
        value = float(f"{(first + index) * step:.12g}")  # 0.075, not 0.07500000000000001
        if value > high + step * 1e-9:
            break
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
    return ticks or [low, high]


def log_ticks(low: float, high: float, most: int) -> list[float]:
    """Tick positions (log10 of the value) on a log axis spanning 10**low..10**high:
    decades where there are two or more, else round values between."""
    decades = list(range(math.ceil(low), math.floor(high) + 1))
    if len(decades) >= 2:
        every = max(1, -(-len(decades) // max(2, most)))
        return [float(d) for d in decades[::every]]
    values = nice_ticks(10.0 ** low, 10.0 ** high, most)
    return [math.log10(v) for v in values if v > 0] or [low]


def time_label(seconds: float) -> str:
    """A time axis label: ``45s``, ``12m``, ``3.5h``."""
    if abs(seconds) < 120:
        return f"{fit_number(round(seconds, 1), 5)}s"
    if abs(seconds) < 7200:
        return f"{fit_number(round(seconds / 60, 1), 5)}m"
    return f"{fit_number(round(seconds / 3600, 1), 5)}h"


def y_label(value: float, log_y: bool) -> str:
    return fit_number(10.0 ** value if log_y else value, 7)


def x_label(value: float, by_time: bool) -> str:
    if by_time:
        return time_label(value)
    return fit_number(int(value) if float(value).is_integer() else value, 7)


def value_at(spans: list, x: float) -> tuple | None:
    """The span nearest to ``x`` (spans sorted by x), or None when there is none."""
    if not spans:
        return None
    xs = [s[0] for s in spans]
    index = bisect_left(xs, x)
    near = [i for i in (index - 1, index) if 0 <= i < len(spans)]
    return spans[min(near, key=lambda i: abs(xs[i] - x))]
