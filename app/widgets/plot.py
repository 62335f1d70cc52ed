"""runyard's one chart: a title line, a plotext plot, a legend line.

The plot is textual-plotext's ``PlotextPlot`` (plotext 5), given only what
plot_data.py made safe: finite numbers between 0 and 1, round ticks labelled by
runyard's own formatter, no text from the run (the title and the legend are
runyard's own Static lines, built as ``Text`` from ``one_line`` strings: plotext
turns ESC sequences in a title into colours and links). plotext rebuilds the
whole figure on every render, so the built picture is kept until the data, the
view, the crosshair or the size changes.

Series get distinct colours; where colour is off (NO_COLOR) or Unicode is (a
``LANG=C`` terminal), each also gets its own ASCII marker, shown in the legend.
"""

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static
from textual_plotext import PlotextPlot

from ..safe_text import one_line
from . import glyphs
from .glyphs import YELLOW, fit_number, short_number, unit
from .plot_data import (
    Prepared,
    Series,
    View,
    downsample,
    log_ticks,
    nice_ticks,
    prepare,
    value_at,
    x_label,
    y_label,
)

PALETTE = ((0, 200, 255), (255, 140, 0), (80, 220, 80), (255, 80, 200), (255, 230, 0),
           (160, 120, 255), (255, 80, 80), (0, 200, 160), (200, 200, 200), (140, 180, 40))
MARKERS = "x*o+#@%&$="
CROSSHAIR = (230, 230, 230)
TICK_WIDTH = 8  # cells left of the plot for y tick labels and the frame, about


def colour(style: int) -> tuple[int, int, int]:
    return PALETTE[style % len(PALETTE)]


def hex_colour(style: int) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour(style))


class _Canvas(PlotextPlot):
    """The plot itself; draws what its ``Plot`` prepared."""

    DEFAULT_CSS = "_Canvas { height: 1fr; width: 1fr; }"

    def __init__(self, chart: "Plot"):
        super().__init__()
        self.chart = chart
        self._built: tuple | None = None  # (key, Text)
        self.builds = 0  # how many times plotext built a picture (for tests)

    def render(self) -> Text:
        key = (self.size.width, self.size.height, self.chart.token, self.app.theme)
        if self._built is not None and self._built[0] == key:
            return self._built[1]
        self.builds += 1
        started = time.perf_counter()
        plt = self.plt
        plt.clear_figure()
        width, height = max(self.size.width, 12), max(self.size.height, 4)
        plt.plotsize(width, height)
        plt._set_size(width, height)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        self.chart.draw_on(plt, width, height)
        text = Text.from_ansi(plt.build())
        self._built = (key, text)
        self.chart.build_cost = time.perf_counter() - started
        return text


class Plot(Widget):
    """One chart of one or more series."""

    DEFAULT_CSS = """
    Plot { height: 1fr; width: 1fr; layout: vertical; }
    Plot > .plot-head, Plot > .plot-foot { height: 1; width: 1fr; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.title = ""
        self.series: list[Series] = []
        self.view = View()
        self.prepared = Prepared()
        self.crosshair: float | None = None
        self.focused_chart = False
        self.token = 0  # changes whenever what the picture shows does
        self.build_cost = 0.0  # seconds plotext took to build the last picture

    def compose(self) -> ComposeResult:
        yield Static(classes="plot-head")
        yield _Canvas(self)
        yield Static(classes="plot-foot")

    @property
    def canvas(self) -> _Canvas:
        return self.query_one(_Canvas)

    # -- feeding it ------------------------------------------------------------------
    def show(self, title: str, series: list[Series], view: View) -> None:
        """Draw ``series`` under ``title`` as ``view`` says."""
        self.title, self.series, self.view = title, list(series), view
        self.prepared = prepare(self.series, view)
        self._changed()

    def set_crosshair(self, x: float | None) -> None:
        if x != self.crosshair:
            self.crosshair = x
            self._changed()

    def nearest_x(self, x: float, direction: int = 0) -> float:
        """The x of a drawn point nearest to ``x`` (past the crosshair, in ``direction``)."""
        xs = sorted({s[0] for _one, spans in self.prepared.lines for s in spans})
        if not xs:
            return x
        if direction and self.crosshair is not None:
            ahead = [v for v in xs if (v - self.crosshair) * direction > 0]
            if ahead:
                return min(ahead, key=lambda v: abs(v - x))
            return self.crosshair
        return min(xs, key=lambda v: abs(v - x))

    def set_focused(self, focused: bool) -> None:
        if focused != self.focused_chart:
            self.focused_chart = focused
            self.update_lines()

    def _changed(self) -> None:
        """Drawn again; a plot whose parts are not composed yet (the grid mounts new
        plots and feeds them at once) draws what it holds once they are."""
        self.token += 1
        canvases = self.query(_Canvas)
        if canvases:
            canvases.first().refresh()
            self.update_lines()

    def on_mount(self) -> None:
        self._write_lines()

    # -- drawing -------------------------------------------------------------------
    def ascii_markers(self) -> bool:
        return not glyphs.UNICODE or bool(getattr(self.app, "no_color", False))

    def marker(self, style: int) -> str:
        return MARKERS[style % len(MARKERS)] if self.ascii_markers() else "braille"

    def draw_on(self, plt, width: int, height: int) -> None:
        """Put the prepared series on ``plt`` (a plotext figure), as 0..1 coordinates."""
        found = self.prepared
        plt.xlim(0, 1)
        plt.ylim(0, 1)
        if found.empty:
            plt.xticks([], [])
            plt.yticks([], [])
            return
        columns = max(8, (width - TICK_WIDTH) * (1 if self.ascii_markers() else 2))
        for one, spans in found.lines:
            points = downsample(spans, columns, found.x0, found.x1)
            if not points:
                continue
            xs = [unit(x, found.x0, found.x1) for x, _y in points]
            ys = [unit(y, found.y0, found.y1) for _x, y in points]
            plt.plot(xs, ys, marker=self.marker(one.style), color=colour(one.style))
        self._ticks(plt, width, height)
        if self.crosshair is not None and found.x0 <= self.crosshair <= found.x1:
            plt.vertical_line(unit(self.crosshair, found.x0, found.x1), color=CROSSHAIR)

    def _ticks(self, plt, width: int, height: int) -> None:
        found, view = self.prepared, self.view
        xs = nice_ticks(found.x0, found.x1, max(2, (width - TICK_WIDTH) // 12))
        plt.xticks([unit(x, found.x0, found.x1) for x in xs],
                   [x_label(x, view.by_time) for x in xs])
        most = max(3, (height - 2) // 2)
        ys = log_ticks(found.y0, found.y1, most) if view.log_y else \
            nice_ticks(found.y0, found.y1, most)
        plt.yticks([unit(y, found.y0, found.y1) for y in ys],
                   [y_label(y, view.log_y) for y in ys])

    def update_lines(self) -> None:
        self._write_lines()

    def _write_lines(self) -> None:
        lines = self.query(Static)
        if len(lines) != 2:  # not composed yet: on_mount writes them
            return
        head, foot = lines
        head.update(self.head_text())
        foot.update(self.foot_text())

    def head_text(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(one_line(self.title, limit=200),
                    style="bold reverse" if self.focused_chart else "bold")
        notes = []
        if self.view.log_y:
            notes.append("log")
        if self.view.smoothing:
            notes.append(f"ema {self.view.smoothing:.2f}")
        text.append(f"  {' '.join(notes)}" if notes else "", style="dim")
        found = self.prepared
        if found.dropped:
            text.append(f"  {found.dropped} non-finite not drawn", style=YELLOW)
        if found.nonpositive:
            text.append(f"  {found.nonpositive} <=0 not on log", style=YELLOW)
        return text

    def sample(self, style: int) -> str:
        marker = self.marker(style)
        return marker * 2 if marker != "braille" else "━━"

    def foot_text(self) -> Text:
        """The legend: each series' marker, name and last/min/max; with the crosshair,
        each series' value under it."""
        text = Text(no_wrap=True, overflow="ellipsis")
        found = self.prepared
        if self.crosshair is not None:
            where = x_label(self.crosshair, self.view.by_time)
            text.append(f"{'t' if self.view.by_time else 'step'} {where}:", style="bold")
        for one, spans in found.lines:
            text.append(" ")
            text.append(self.sample(one.style), style=hex_colour(one.style))
            if len(found.lines) > 1:
                text.append(f" {one_line(one.label, limit=40)}")
            if self.crosshair is not None:
                text.append(f" {self.read_out(spans)}")
            else:
                text.append(f" {self.summary(one, spans)}")
        return text

    def read_out(self, spans: list) -> str:
        span = value_at(spans, self.crosshair)
        if span is None:
            return "-"
        low, high = y_label(span[1], self.view.log_y), y_label(span[2], self.view.log_y)
        return low if low == high else f"{low}..{high}"

    def summary(self, one: Series, spans: list) -> str:
        if not spans:  # only NaN or infinite values (or none yet)
            return "no finite values" if one.last is None else \
                f"last {short_number(one.last)}, no finite values"
        log = self.view.log_y and one.low is None
        last = one.last if one.last is not None else spans[-1][2]
        low = one.low if one.low is not None else min(s[1] for s in spans)
        high = one.high if one.high is not None else max(s[2] for s in spans)
        low, high = (y_label(v, True) for v in (low, high)) if log else \
            (fit_number(v, 9) for v in (low, high))
        return f"last {short_number(last)} min {low} max {high}"
