"""A grid of charts, one a metric, that fits the terminal, with keys for everything.

The workspace asks its source only for the metrics on the page it shows
(``source.names()`` is cheap, ``source.series(name, by_time)`` is the work), so
a run of 200 metrics costs what a run of 4 does. ``data_changed`` redraws the
charts whose data changed (``source.version(name)``); the screen calls it at most
a few times a second (throttle.py). The crosshair belongs to the focused chart:
moving it rebuilds that chart alone.
"""

import fnmatch
import math
from typing import Protocol

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widget import Widget
from textual.widgets import Input, Static

from ..safe_text import one_line
from .plot import Plot
from .plot_data import Series, View

CELL_WIDTH = 70   # columns a chart needs, about: 1 chart across at 80, 2 at 160
CELL_HEIGHT = 9   # rows a chart needs, about
WEIGHTS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
CROSSHAIR_STEPS = 60  # a crosshair move is 1/60 of the x range shown


class PatternInput(Input):
    """The metric pattern; esc closes it and keeps the pattern as it was."""

    BINDINGS = [Binding("escape", "close", "Close pattern", show=False)]

    def action_close(self) -> None:
        self.display = False
        if self.parent is not None:
            self.parent.focus()


class Source(Protocol):
    def names(self) -> list[str]: ...
    def version(self, name: str) -> object: ...
    def series(self, name: str, by_time: bool) -> list[Series]: ...
    def title(self, name: str, by_time: bool) -> str: ...


class Workspace(Widget, can_focus=True):
    DEFAULT_CSS = """
    Workspace { height: 1fr; layout: vertical; }
    Workspace > .ws-status { height: 1; padding: 0 1; background: $boost; }
    Workspace > Grid { height: 1fr; grid-gutter: 0 1; }
    Workspace > Input { dock: bottom; }
    """
    BINDINGS = [
        Binding("left,h", "cross(-1)", "Crosshair left", show=False),
        Binding("right,l", "cross(1)", "Crosshair", key_display="h/l"),
        Binding("shift+left", "cross(-10)", "Crosshair far left", show=False),
        Binding("shift+right", "cross(10)", "Crosshair far right", show=False),
        Binding("v", "crosshair_off", "Crosshair off", show=False),
        Binding("z", "zoom(0.5)", "Zoom in", key_display="z"),
        Binding("Z", "zoom(2)", "Zoom out", show=False),
        Binding("0", "zoom_back", "Zoom back", show=False),
        Binding("L", "log", "Log Y", key_display="L"),
        Binding("s", "smooth", "Smoothing"),
        Binding("right_curly_bracket", "weight(1)", "More smoothing", key_display="}",
                show=False),
        Binding("left_curly_bracket", "weight(-1)", "Less smoothing", key_display="{",
                show=False),
        Binding("plus", "shape(1, 0)", "More rows", key_display="+", show=False),
        Binding("minus", "shape(-1, 0)", "Fewer rows", key_display="-", show=False),
        Binding("greater_than_sign", "shape(0, 1)", "More columns", key_display=">",
                show=False),
        Binding("less_than_sign", "shape(0, -1)", "Fewer columns", key_display="<",
                show=False),
        Binding("pagedown", "page(1)", "Next page", show=False),
        Binding("pageup", "page(-1)", "Previous page", show=False),
        Binding("slash", "pattern", "Metric pattern", key_display="/"),
    ]

    def __init__(self, source: Source, *, empty: str = "no metrics yet",
                 kind: str = "metrics", **kwargs):
        super().__init__(**kwargs)
        self.source = source
        self.empty = empty
        self.kind = kind  # what the grid shows, first on its status line
        self.rows: int | None = None     # None: as many as fit
        self.columns: int | None = None
        self.page = 0
        self.pattern = ""
        self.log_y = False
        self.smoothing_on = False
        self.weight = 0.6
        self.by_time = False
        self.xlim: tuple | None = None
        self.focus_index = 0             # the focused chart, on its page
        self.crosshair: float | None = None
        self.note = ""                   # "loading history (40%)"
        self._shown: dict[int, tuple] = {}  # cell -> (name, version, view) drawn
        self._shape: tuple[int, int] = (0, 0)
        self._plots: list[Plot] = []  # the grid's charts, in its order

    def compose(self) -> ComposeResult:
        yield Static(classes="ws-status")
        yield Grid()
        yield PatternInput(placeholder="metric pattern: text or glob (enter applies, empty: all)",
                    classes="ws-pattern")

    def on_mount(self) -> None:
        self.query_one(Input).display = False

    # -- shape ---------------------------------------------------------------------
    def grid_shape(self) -> tuple[int, int]:
        """(rows, columns) of charts: what fits the size, or what the user chose."""
        width, height = self.size.width or 80, max(1, (self.size.height or 20) - 1)
        columns = self.columns or max(1, width // CELL_WIDTH)
        rows = self.rows or max(1, height // CELL_HEIGHT)
        return rows, columns

    def cells(self) -> int:
        rows, columns = self.grid_shape()
        return rows * columns

    def on_resize(self) -> None:
        if self.size.width and self.size.height:  # not while its tab is hidden
            self.data_changed()

    def _layout(self) -> list[Plot]:
        """The grid's charts, made again when its shape changed (the new ones at once:
        the old ones are still the grid's children until their removal is done)."""
        shape = self.grid_shape()
        if shape != self._shape:
            grid = self.query_one(Grid)
            self._shape = shape
            rows, columns = shape
            grid.styles.grid_size_rows, grid.styles.grid_size_columns = rows, columns
            grid.remove_children()
            self._plots = [Plot() for _ in range(rows * columns)]
            grid.mount_all(self._plots)
            self._shown.clear()
        return self._plots

    # -- what is shown -------------------------------------------------------------
    def matching(self) -> list[str]:
        names = self.source.names()
        if not self.pattern:
            return names
        pattern = self.pattern.lower()
        glob = any(c in pattern for c in "*?[")
        return [n for n in names if (fnmatch.fnmatchcase(n.lower(), pattern) if glob
                                     else pattern in n.lower())]

    def pages(self, count: int) -> int:
        return max(1, math.ceil(count / self.cells()))

    def view(self) -> View:
        return View(log_y=self.log_y, smoothing=self.weight if self.smoothing_on else 0.0,
                    xlim=self.xlim, by_time=self.by_time)

    def page_names(self) -> list[str]:
        names = self.matching()
        self.page = min(self.page, self.pages(len(names)) - 1)
        cells = self.cells()
        return names[self.page * cells:(self.page + 1) * cells]

    def data_changed(self, note: str | None = None) -> None:
        """Redraw the charts of this page whose data (or view) changed."""
        if not self.is_mounted:
            return
        if note is not None:
            self.note = note
        plots = self._layout()
        names = self.page_names()
        self.focus_index = min(self.focus_index, max(0, len(names) - 1))
        view = self.view()
        for index, plot in enumerate(plots):
            name = names[index] if index < len(names) else None
            plot.display = name is not None
            if name is None:
                self._shown.pop(index, None)
                continue
            drawn = (name, self.source.version(name), view)
            if self._shown.get(index) != drawn:
                self._shown[index] = drawn
                plot.show(self.source.title(name, self.by_time),
                          self.source.series(name, self.by_time), view)
            plot.set_focused(index == self.focus_index)
            plot.set_crosshair(self.crosshair if index == self.focus_index else None)
        self.update_status(len(self.matching()))

    def update_status(self, count: int) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{self.kind}: ", style="bold")
        if count == 0:
            text.append(self.empty if not self.pattern else "no metric matches the pattern",
                        style="dim")
        else:
            rows, columns = self.grid_shape()
            text.append(f"page {self.page + 1}/{self.pages(count)} · {count} "
                        f"chart{'s' * (count != 1)} · "
                        f"{rows}x{columns}", style="bold")
        text.append(f" · x: {'time' if self.by_time else 'step'}")
        if self.pattern:
            text.append(f" · pattern {one_line(self.pattern, limit=40)!r}")
        if self.xlim is not None:
            text.append(" · zoomed (0 back)")
        if self.note:
            text.append(f" · {self.note}", style="dim italic")
        self.query_one(".ws-status", Static).update(text)

    def cost(self) -> float:
        """Seconds the charts shown took to build, last time: what drawing them again
        costs, about (the screen spaces its redraws by it)."""
        return sum(p.build_cost for p in self._plots if p.display)

    def focused_plot(self) -> Plot | None:
        plots = [p for p in self._plots if p.display]
        return plots[self.focus_index] if self.focus_index < len(plots) else None

    def redraw(self) -> None:
        """Every chart again (the view changed)."""
        self._shown.clear()
        self.data_changed()

    # -- moving about ----------------------------------------------------------------
    def move_focus(self, delta: int) -> None:
        """The next (or previous) chart; past the page's end, the next page."""
        count = len(self.page_names())
        if not count:
            return
        index = self.focus_index + delta
        if 0 <= index < count:
            self.focus_index = index
        else:
            total = self.pages(len(self.matching()))
            self.page = (self.page + (1 if index >= count else -1)) % total
            self.focus_index = 0 if index >= count else max(0, len(self.page_names()) - 1)
        self.crosshair = None
        self.data_changed()

    def toggle_x(self) -> None:
        self.by_time, self.xlim, self.crosshair = not self.by_time, None, None
        self.redraw()

    def x_range(self) -> tuple[float, float] | None:
        """The x range of the focused chart as drawn."""
        plot = self.focused_plot()
        if plot is None or plot.prepared.empty:
            return None
        return plot.prepared.x0, plot.prepared.x1

    def action_cross(self, steps: int) -> None:
        shown = self.x_range()
        plot = self.focused_plot()
        if shown is None or plot is None:
            return
        low, high = shown
        if self.crosshair is None:
            wanted = low / 2 + high / 2
        else:
            step = (high / 2 - low / 2) * 2 / CROSSHAIR_STEPS
            wanted = min(high, max(low, self.crosshair + steps * step))
        self.crosshair = plot.nearest_x(wanted, steps)
        plot.set_crosshair(self.crosshair)  # that chart alone

    def action_crosshair_off(self) -> None:
        self.crosshair = None
        plot = self.focused_plot()
        if plot is not None:
            plot.set_crosshair(None)

    def action_zoom(self, factor: float) -> None:
        shown = self.x_range()
        if shown is None:
            return
        low, high = shown
        middle = self.crosshair if self.crosshair is not None else low / 2 + high / 2
        half = (high / 2 - low / 2) * factor
        if factor > 1 and self.xlim is None:
            return  # all of it is shown already
        self.xlim = (middle - half, middle + half)
        if factor > 1 and half > 0:
            whole = self._whole_range()
            if whole is not None and self.xlim[0] <= whole[0] and self.xlim[1] >= whole[1]:
                self.xlim = None
        self.redraw()

    def _whole_range(self) -> tuple[float, float] | None:
        kept, self.xlim = self.xlim, None
        plot = self.focused_plot()
        whole = None
        if plot is not None:
            from .plot_data import prepare

            found = prepare(plot.series, self.view())
            whole = None if found.empty else (found.x0, found.x1)
        self.xlim = kept
        return whole

    def action_zoom_back(self) -> None:
        self.xlim = None
        self.redraw()

    def action_log(self) -> None:
        self.log_y = not self.log_y
        self.redraw()

    def action_smooth(self) -> None:
        self.smoothing_on = not self.smoothing_on
        self.redraw()

    def action_weight(self, delta: int) -> None:
        here = min(range(len(WEIGHTS)), key=lambda i: abs(WEIGHTS[i] - self.weight))
        self.weight = WEIGHTS[max(1, min(len(WEIGHTS) - 1, here + delta))]
        self.smoothing_on = True
        self.redraw()

    def action_shape(self, rows: int, columns: int) -> None:
        now_rows, now_columns = self.grid_shape()
        self.rows = max(1, min(8, now_rows + rows))
        self.columns = max(1, min(6, now_columns + columns))
        self.data_changed()

    def action_page(self, delta: int) -> None:
        self.page = (self.page + delta) % self.pages(len(self.matching()))
        self.focus_index, self.crosshair = 0, None
        self.data_changed()

    def action_pattern(self) -> None:
        pattern = self.query_one(Input)
        pattern.value = self.pattern
        pattern.display = True
        pattern.focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.pattern = message.value.strip()
        self.page, self.focus_index, self.crosshair = 0, 0, None
        message.input.display = False
        self.focus()
        self.data_changed()
