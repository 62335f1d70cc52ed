"""Compare the tagged runs: a side-by-side table of their fields, metadata and last
metric values, the keys that differ marked, one run pinned as the baseline the
others are measured against. Live runs keep updating."""

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from runyard.engine.history import discard

from ..compare_data import (
    read_histories,
    read_runs,
    reader_ahead,
    relative,
    table_rows,
    without_history,
)
from ..messages import ModelRefreshed
from ..safe_text import one_line
from ..tabs.compare_metrics import CompareCharts
from ..widgets import glyphs
from ..widgets.footer import KeyBar
from ..widgets.glyphs import YELLOW, fit_number
from ..widgets.keyed_tabs import KeyedTabs
from ..widgets.throttle import CHART_GAP, Throttle

ROWS_SHOWN = 1000  # rows of the table at most: a row is a metadata key or a metric


def value_text(value) -> str:
    """A value from a run as one short line (numbers fitted, the rest made visible)."""
    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return fit_number(value, 10)
    return one_line(str(value), limit=40)


class CompareRead(Message):
    """A read of the compared runs finished; ``more``: their histories are being read
    (the start of long runs, which the tails skipped), another message follows."""

    def __init__(self, runs: dict, more: bool = False):
        super().__init__()
        self.runs = runs
        self.more = more


class CompareScreen(Screen):
    # the root refreshed (and the runs read on) once a second: as often as it redraws
    REFRESH_GAP = CHART_GAP
    BINDINGS = [
        Binding("escape", "back", "Back", id="compare-back"),
        Binding("b", "baseline", "Pin baseline", id="compare-baseline"),
        Binding("d", "differing", "Only differing", id="compare-differing"),
        Binding("right_square_bracket", "tab(1)", "Next tab", key_display="]",
                id="compare-next-tab"),
        Binding("left_square_bracket", "tab(-1)", "Previous tab", key_display="[",
                id="compare-prev-tab"),
    ]

    def __init__(self, root, infos: list):
        super().__init__()
        self.root = root
        self.infos = list(infos)  # RunInfo of each compared run, in the table's order
        self.ids = [i.id for i in self.infos]
        self.baseline: str | None = None
        self.only_differing = False
        self.runs: dict = {}  # id -> compare_data.Compared, as last read
        self._reading = False
        self._again = False
        self._note = ""  # what the charts' status line said of the histories
        # live runs: drawn again at most once a second (charts and tables are rebuilt)
        self._drawing = Throttle(self, self.draw, CHART_GAP, cost=self.drawing_cost)

    def compose(self) -> ComposeResult:
        yield Static(id="compare-title")
        with KeyedTabs(id="compare-tabs"):
            with TabPane("Charts", id="compare-charts-tab"):
                yield CompareCharts(id="compare-charts")
            with TabPane("Table", id="compare-table-tab"):
                yield DataTable(id="compare-table", cursor_type="cell", zebra_stripes=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#compare-charts", CompareCharts).focus()
        self.update_title()
        self.read()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """The shown tab's own keys work at once: the charts', or the table's."""
        charts = event.pane.id == "compare-charts-tab"
        self.query_one("#compare-charts" if charts else "#compare-table").focus()
        if self.runs:
            self.draw()

    # -- reading -------------------------------------------------------------
    def read(self) -> None:
        if self._reading:  # one read at a time; another after it if files changed
            self._again = True
            return
        self._reading = True
        self.read_runs(list(self.infos), dict(self.runs))

    # (a description: Textual's default is the repr of the arguments, every point read)
    @work(thread=True, exit_on_error=False, group="compare", description="compare read")
    def read_runs(self, infos: list, known: dict) -> None:
        from textual.worker import get_current_worker

        # the first read of long runs: a child process starts reading their start
        # while their tails are read here, on the other core
        child = reader_ahead(self.root, infos) if not known else None
        try:
            runs = read_runs(self.root, infos, known)
            behind = without_history(runs)
            self.post_message(CompareRead(runs, more=bool(behind)))  # the tails first
        except BaseException:
            discard(child)
            raise
        if behind:
            worker = get_current_worker()
            read_histories(behind, stop=lambda: worker.is_cancelled, child=child)
            self.post_message(CompareRead(runs))
        else:
            discard(child)

    def on_compare_read(self, message: CompareRead) -> None:
        first = not self.runs
        self.runs = message.runs
        charts = self.query_one("#compare-charts", CompareCharts)
        charts.note = "loading history" if message.more else ""
        self._drawing.soon(urgent=first or charts.note != self._note)
        self._note = charts.note
        if message.more:
            return  # the same read goes on
        self._reading = False
        if self._again:
            self._again = False
            self.read()

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "compare")  # and the history's child process

    def on_worker_state_changed(self, event) -> None:
        if event.worker.group == "compare" and event.worker.error is not None:
            self._reading = False
            self.notify(f"Reading the runs failed: {event.worker.error}", severity="error")

    def model_refreshed(self, message: ModelRefreshed) -> None:
        """A refresh of the root: the runs' listings as it read them, and their series
        read on where their files changed."""
        runs = message.snapshot.runs
        self.infos = [runs.get(i, info) for i, info in zip(self.ids, self.infos, strict=True)]
        mine = tuple(str(self.root / f"{i}.meta") for i in self.ids)
        if message.rescan or any(p.startswith(mine) for p in message.paths):
            self.read()

    def watched_folders(self) -> set:
        return {self.root / f"{i}.meta" for i in self.ids}

    def current_run_id(self) -> str | None:
        return self._cursor_run()

    # -- drawing -------------------------------------------------------------
    def ordered(self) -> list:
        """The runs read, the baseline first."""
        runs = [self.runs[i] for i in self.ids if i in self.runs]
        runs.sort(key=lambda r: r.id != self.baseline)
        return runs

    def update_title(self) -> None:
        text = Text(f"Comparing {len(self.ids)} runs", style="bold")
        if self.baseline is not None:
            info = next(i for i in self.infos if i.id == self.baseline)
            text.append("  baseline: ")
            text.append(one_line(info.name or info.id, limit=60), style=f"bold {YELLOW}")
        text.append("  only differing keys" if self.only_differing else "", style="bold")
        text.append("  b baseline  d differing  ] table", style="dim")
        self.query_one("#compare-title", Static).update(text)

    def drawing_cost(self) -> float:
        """What the charts shown cost to draw (the table is cheap)."""
        if self.query_one("#compare-tabs", TabbedContent).active == "compare-table-tab":
            return 0.0
        return self.query_one("#compare-charts", CompareCharts).cost()

    def draw(self) -> None:
        """The tab shown, as the runs were last read (the other when it is shown)."""
        if self.query_one("#compare-tabs", TabbedContent).active == "compare-table-tab":
            self.draw_table()
        else:
            self.query_one("#compare-charts", CompareCharts).show_runs(self.ordered(),
                                                                       self.baseline)
            self.update_title()

    def draw_table(self) -> None:
        table = self.query_one("#compare-table", DataTable)
        cursor = table.cursor_coordinate
        runs = self.ordered()
        table.clear(columns=True)
        mark = "◆ " if glyphs.UNICODE else "* "
        table.add_column("key", key="key")
        for run in runs:
            label = one_line(run.info.name or run.id, limit=30)
            table.add_column(Text(mark + label if run.id == self.baseline else label,
                                  style="bold"), key=run.id)
        base = 0 if self.baseline is not None and runs and runs[0].id == self.baseline \
            else None
        rows = [row for row in table_rows(runs)  # values written below, as drawn
                if row.differs or not self.only_differing]
        for row in rows[:ROWS_SHOWN]:
            name = one_line(row.key, limit=60)  # a metadata key or metric: from a run
            key = Text(("≠ " if glyphs.UNICODE else "! ") + name if row.differs
                       else "  " + name,
                       style=f"bold {YELLOW}" if row.differs else "dim")
            cells = [key]
            for index, value in enumerate(row.values):
                cell = Text(value_text(value))
                if base is not None and index != base:
                    change = relative(value, row.values[base])
                    if change:
                        cell.append(f" {change}", style="dim")
                cells.append(cell)
            table.add_row(*cells)
        if len(rows) > ROWS_SHOWN:  # a row each of 200,000 keys held the screen a minute
            table.add_row(Text(f"  ... {len(rows) - ROWS_SHOWN} more rows not shown "
                               "(runyard show --json has every key)", style="dim"),
                          *([""] * len(runs)))
        if table.row_count:
            table.cursor_coordinate = table.validate_cursor_coordinate(cursor)
        self.update_title()

    def _cursor_run(self) -> str | None:
        table = self.query_one("#compare-table", DataTable)
        column = table.cursor_coordinate.column
        runs = self.ordered()
        return runs[column - 1].id if 1 <= column <= len(runs) else None

    # -- actions -------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_baseline(self) -> None:
        """In the table: pin the run of the cursor's column as the baseline (again:
        unpin it). On the charts: the next run is the baseline (after the last: none)."""
        if self.query_one("#compare-tabs", TabbedContent).active == "compare-charts-tab":
            order = [i for i in self.ids if i in self.runs]
            at = order.index(self.baseline) + 1 if self.baseline in order else 0
            self.baseline = order[at] if at < len(order) else None
            self.draw()
            return
        run_id = self._cursor_run()
        if run_id is None:
            self.notify("Move to a run's column to pin it (left/right)", timeout=3)
            return
        self.baseline = None if run_id == self.baseline else run_id
        self.draw()
        if self.baseline is not None:
            self.query_one("#compare-table", DataTable).move_cursor(column=1)

    def action_differing(self) -> None:
        self.only_differing = not self.only_differing
        self.draw()

    def action_tab(self, delta: int) -> None:
        tabs = self.query_one("#compare-tabs", TabbedContent)
        panes = [p.id for p in tabs.query(TabPane)]
        if panes and tabs.active in panes:
            tabs.active = panes[(panes.index(tabs.active) + delta) % len(panes)]
