"""The runs table: a line-API ScrollView that renders only the rows on screen.

A DataTable measures every cell of every row (about 3 s for 10,000 rows here);
this widget draws each visible line from the model when Textual asks for it,
so 10,000 runs cost what 24 do. Rows are addressed by run id: updates only
refresh, nothing is rebuilt.
"""

import time
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..formatting import duration, short_time
from ..model import progress_text, step_link
from ..safe_text import one_line
from ..state import Snapshot
from . import glyphs
from .glyphs import GREEN, RED, YELLOW, fit_number, sparkline, status_symbol


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    priority: int  # lower is kept longer when the terminal is narrow


COLUMNS = (
    Column("mark", "", 1, 0), Column("state", "", 1, 0), Column("name", "NAME", 14, 0),
    Column("status", "STATUS", 10, 0), Column("alerts", "AL", 2, 1),
    Column("metric", "METRIC", 8, 2), Column("trend", "TREND", 8, 2),
    Column("progress", "PROGRESS", 9, 3), Column("folder", "FOLDER", 12, 4),
    Column("duration", "TIME", 7, 5), Column("started", "STARTED", 11, 6),
    Column("tags", "TAGS", 12, 7),
)
# shown only while a run on screen has a Slurm job: its id, node and time left
SLURM_COLUMN = Column("slurm", "SLURM JOB", 17, 3)
GAP = 1


def layout(width: int, slurm: bool = False) -> list[tuple[Column, int]]:
    """The columns that fit in ``width``, with widths; NAME takes what is left."""
    chosen = list(COLUMNS)
    if slurm:
        chosen.insert(chosen.index(next(c for c in COLUMNS if c.key == "folder")),
                      SLURM_COLUMN)
    while len(chosen) > 4 and sum(c.width + GAP for c in chosen) > width:
        chosen.remove(max(chosen, key=lambda c: c.priority))
    spare = max(0, width - sum(c.width + GAP for c in chosen))
    return [(c, c.width + (min(spare, 30) if c.key == "name" else 0)) for c in chosen]


def fit(text: str, width: int) -> str:
    """``text`` (from a run: shown, never obeyed) cut or padded to ``width``."""
    text = one_line(text, limit=width + 1)
    if len(text) > width:
        return text[: max(0, width - 1)] + ("…" if glyphs.UNICODE else "~")
    return text.ljust(width)


def slurm_cell(info) -> str:
    """``1234 cn12 1:02:03``: a run's Slurm job, its node and time left (live runs)."""
    slurm = info.attrs.get("slurm")
    if not isinstance(slurm, dict):
        return ""
    parts = [str(slurm.get("job", "?"))]
    if info.status in ("running", "paused"):
        if slurm.get("node"):
            parts.append(str(slurm["node"]))
        ends = slurm.get("ends")
        if isinstance(ends, int | float):
            parts.append(duration(max(0.0, ends - time.time())))
    return " ".join(parts)


class RunsTable(ScrollView, can_focus=True):
    """Every run of the model's view, one line each; a cursor and tagged rows."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; overflow-x: hidden; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
    ]
    cursor = reactive(0, always_update=True, repaint=False)  # watch_cursor repaints two lines

    class Highlighted(Message):
        def __init__(self, run_id: str | None):
            super().__init__()
            self.run_id = run_id

    tagged: reactive[frozenset] = reactive(frozenset, init=False)  # the screen's

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.snapshot = Snapshot()  # set by the screen before each redraw
        self._shown: tuple = ()
        # The run under the cursor, by id. The view can change under the cursor at
        # any refresh (a run started above it, another sort or filter); an action
        # must hit the run the user chose, not whatever now sits at its row.
        self._current: str | None = None
        self._slurm_for: tuple = (None, -1)  # (snapshot, top) slurm_shown() looked at
        self._slurm = False

    # -- data ----------------------------------------------------------------
    def refresh_rows(self, keep: str | None = None) -> None:
        """The view changed: resize, keep the cursor on the same run if it is there."""
        view = self.snapshot.view
        if keep is not None:
            self._current = keep
        self.virtual_size = Size(0, len(view))  # as wide as it is: columns are laid out to fit
        index = self._index(self._current)
        if index is None:  # the run went (or was filtered out): stay at the same height
            index = min(self.cursor, max(0, len(view) - 1))
            self._current = view[index] if view else None
        self.cursor = index
        self.refresh()

    def rows_shown(self) -> int:
        """Lines of runs on screen (a scrollbar takes none of them: it is beside)."""
        return max(1, self.scrollable_content_region.height)

    def refresh_ids(self, run_ids: set[str]) -> None:
        """Redraw the lines of these runs that are on screen, and nothing else."""
        if not run_ids:
            return
        top = self.scroll_offset.y
        for y, run_id in enumerate(self.snapshot.view[top: top + self.rows_shown()]):
            if run_id in run_ids:
                self.refresh_line(top + y)  # a line of the view, not of the screen

    def _index(self, run_id: str | None) -> int | None:
        view = self.snapshot.view
        if run_id is None:
            return None
        if 0 <= self.cursor < len(view) and view[self.cursor] == run_id:
            return self.cursor  # the common case, without a search
        try:
            return view.index(run_id)
        except ValueError:
            return None

    def current_id(self) -> str | None:
        """The run under the cursor, if it is still in the view (before the user or a
        refresh chose one: the top row)."""
        if self._current is None:
            view = self.snapshot.view
            return view[min(self.cursor, len(view) - 1)] if view else None
        return self._current if self._index(self._current) is not None else None

    def visible_ids(self) -> list[str]:
        top = self.scroll_offset.y
        return list(self.snapshot.view[top: top + self.rows_shown()])

    def selected_ids(self) -> list[str]:
        """The tagged runs, or the one under the cursor."""
        tagged = [i for i in self.snapshot.view if i in self.tagged]
        current = self.current_id()
        return tagged or ([current] if current else [])

    def watch_tagged(self, old: frozenset, new: frozenset) -> None:
        """Repaint the rows whose mark changed (all of them when many did)."""
        changed = old ^ new
        if len(changed) > 50:
            self.refresh()
        else:
            self.refresh_ids(set(changed))

    # -- moving ----------------------------------------------------------------
    def watch_cursor(self, old: int, cursor: int) -> None:
        height = self.rows_shown()
        top = self.scroll_offset.y
        if cursor < top:
            self.scroll_to(y=cursor, animate=False)  # a scroll redraws it all
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False)
        else:  # the lines the cursor left and reached, nothing else
            self.refresh_line(old)
            self.refresh_line(cursor)
        # Only news is news: a refresh sets the cursor again to keep it on its run,
        # and answering that with another refresh would loop forever.
        shown = (self.scroll_target_y, self._current)
        if shown != self._shown:
            self._shown = shown
            self.post_message(self.Highlighted(self._current))

    def move_to(self, index: int) -> None:
        """Put the cursor on row ``index`` of the view (clamped)."""
        view = self.snapshot.view
        if not view:
            return
        index = max(0, min(len(view) - 1, index))
        self._current = view[index]
        self.cursor = index

    def action_cursor(self, delta: int) -> None:
        here = self._index(self._current)
        self.move_to((self.cursor if here is None else here) + delta)

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.rows_shown() - 1))

    def action_jump(self, where: int) -> None:
        self.move_to(where if where >= 0 else len(self.snapshot.view) - 1)

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.snapshot.view))

    # -- drawing ---------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        view = self.snapshot.view
        width = self.scrollable_content_region.width  # the scrollbar's columns are not ours
        blank = Style()  # a blank line needs a style, even an empty one (NO_COLOR filters it)
        if index >= len(view):
            return Strip.blank(width, blank)
        run_id = view[index]
        info = self.snapshot.runs.get(run_id)
        if info is None:
            return Strip.blank(width, blank)
        selected = run_id == (self._current or self.current_id())
        base = Style(reverse=True) if selected and self.has_focus else \
            Style(bold=True, underline=True) if selected else Style()
        segments = []
        for column, cell_width in layout(width, self.slurm_shown()):
            text, style = self._cell(column.key, run_id, info, cell_width)
            segments.append(Segment(fit(text, cell_width), base + style))
            segments.append(Segment(" " * GAP, base))
        return Strip(segments).crop(0, width).extend_cell_length(width, base)

    def slurm_shown(self) -> bool:
        """Whether a run on screen has a Slurm job (then its column is shown)."""
        top = self.scroll_offset.y
        if self._slurm_for[0] is not self.snapshot or self._slurm_for[1] != top:
            runs = self.snapshot.runs
            self._slurm_for = (self.snapshot, top)  # by identity: a snapshot is big
            self._slurm = any(isinstance(getattr(runs.get(i), "attrs", {}).get("slurm"), dict)
                              for i in self.snapshot.view[top: top + self.rows_shown()])
        return self._slurm

    def _cell(self, key: str, run_id: str, info, width: int) -> tuple[str, Style]:
        if key == "mark":
            return ("•" if glyphs.UNICODE else "*") if run_id in self.tagged else " ", \
                Style(bold=True, color=YELLOW)
        if key == "state":
            symbol, style = status_symbol(info.status)
            return symbol, Style.parse(style) if style else Style()
        if key == "status":
            _symbol, style = status_symbol(info.status)
            return info.status, Style.parse(style) if style else Style()
        if key == "name":
            if run_id in self.snapshot.grouped:  # a step, under its flow run
                branch = "└ " if glyphs.UNICODE else "- "
                return branch + str(step_link(info).get("alias")), Style()
            return info.name or info.id, Style(bold=True)
        if key == "folder":
            return info.folder, Style(dim=True)
        if key == "tags":
            return ",".join(info.tags), Style(italic=True)
        if key == "progress":
            return progress_text(info), Style()
        if key == "started":
            started = short_time(info.attrs.get("started"))
            return (started[5:] if len(started) > 5 else started), Style(dim=True)
        if key == "duration":
            return duration(info.duration()), Style()
        if key == "slurm":
            return slurm_cell(info), Style(dim=info.status not in ("queued", "running",
                                                                  "paused"))
        cell = self.snapshot.cells.get(run_id)
        if cell is None:
            return "", Style()
        if key == "metric":
            return fit_number(cell.last, width), Style()
        if key == "trend":
            return sparkline(cell.trend, width), Style(color=GREEN)
        if key == "alerts":
            if cell.critical:
                return ("⚠" if glyphs.UNICODE else "!") + str(len(cell.critical)), \
                    Style(bold=True, color=RED)
            return "", Style()
        return "", Style()


class TableHeader(ScrollView):
    """The column titles, laid out exactly as the table below them."""

    DEFAULT_CSS = """
    TableHeader { height: 1; background: $panel; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.snapshot = Snapshot()  # set by the screen before each redraw
        self.table: RunsTable | None = None  # whose columns these title

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.table is not None:  # the table's width: its scrollbar takes the rest
            width = min(width, self.table.scrollable_content_region.width)
        style = Style(bold=True)
        segments = []
        slurm = self.table.slurm_shown() if self.table is not None else False
        for column, cell_width in layout(width, slurm):
            title = column.title
            if column.key == "metric" and self.snapshot.metric:
                title = self.snapshot.metric.upper()
            if column.key == self.snapshot.sort_key or (column.key == "duration" and
                                                     self.snapshot.sort_key == "duration"):
                title += ("↓" if self.snapshot.reverse else "↑") if glyphs.UNICODE else \
                    ("v" if self.snapshot.reverse else "^")
            segments.append(Segment(fit(title, cell_width) + " " * GAP, style))
        return Strip(segments).crop(0, width).extend_cell_length(self.size.width, style)
