"""The runs screen: every run in a table, filtered, sorted, tagged and controlled."""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static

from ..filter_query import FilterError, parse
from ..messages import (
    CompareWanted,
    ControlRuns,
    MetricChooserWanted,
    ModelRefreshed,
    OpenRun,
    RowsShown,
    StartWanted,
    TagsWanted,
    ViewWanted,
)
from ..model import folder_counts
from ..refresher import MIN_REFRESH_GAP
from ..safe_text import one_line
from ..state import Snapshot
from ..widgets.footer import KeyBar
from ..widgets.glyphs import RED, status_symbol
from ..widgets.runs_table import RunsTable, TableHeader
from ..widgets.static_text import redraw


def shortened(text: str, cells: int) -> Text:
    """User text (a filter may be pasted from a run's name) made visible, cut to
    ``cells`` with an ellipsis."""
    shown = Text(one_line(text, limit=cells + 1), style="italic")
    shown.truncate(cells, overflow="ellipsis")
    return shown


def status_counts(counts: dict, present: list[str], room: int) -> Text:
    """The runs of each status in ``room`` cells if it can: in words ("4 running,
    1 paused"), else with the table's status symbols in their colours ("4▶ 1‖"),
    which always fit the 80 columns the summary has."""
    if not present:
        return Text(" none")
    words = " " + ", ".join(f"{counts[s]} {s}" for s in present)
    if len(words) <= room:
        text = Text()
        for index, status in enumerate(present):
            text.append(", " if index else " ")
            text.append(f"{counts[status]} {status}")
        return text
    text = Text()
    for status in present:
        symbol, style = status_symbol(status)
        text.append(f" {counts[status]}")
        text.append(symbol, style=style or "")
    return text


class RunsScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open", id="open"),
        Binding("s", "start", "Start", id="start"),
        Binding("S", "start_again", "Start again", show=False, id="start-again"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("r", "resume", "Resume", id="resume"),
        Binding("c", "close_run", "Close", id="close"),
        Binding("space", "tag", "Tag", id="tag"),
        Binding("A", "tag_all", "Tag all shown", show=False, id="tag-all"),
        Binding("v", "compare", "Compare tagged", id="compare"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("o", "sort", "Sort", id="sort"),
        Binding("O", "reverse", "Reverse sort", show=False, id="reverse"),
        Binding("f", "folders", "Folders", show=False, id="folders"),
        Binding("m", "metric", "Metric column", show=False, id="metric"),
        Binding("escape", "clear", "Clear filter/tags", show=False, id="clear"),
    ]

    REFRESH_GAP = MIN_REFRESH_GAP
    tagged: reactive[frozenset] = reactive(frozenset, init=False)  # bound to the app's

    def __init__(self, watching: str):
        super().__init__()
        self.snapshot = Snapshot()  # what the table draws, as the last refresh left it
        self.watching = watching  # how the root is watched, for the summary line
        self._drawn: dict[str, Text] = {}  # what each Static shows now
        self._view: tuple = ()  # the view the table last drew in full
        self._shown: list[str] = []  # the rows on screen last said
        self._error: str | None = None  # the model's error the summary shows
        self._resumed = False  # ScreenResume comes once as the screen is first shown

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-body"):
            yield Static(id="summary")
            yield Static(id="folder-details")
            yield TableHeader(id="table-header")
            yield RunsTable(id="runs-table").data_bind(RunsScreen.tagged)
            with Vertical(id="filter-box"):
                yield Input(placeholder="filter: words, status:running tag:gpu OR -tag:x "
                            "meta:lr>=1e-3 has:k metric:loss<0.1 alert:critical  "
                            "(enter applies, esc clears)", id="filter-input")
                yield Static(id="filter-error")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#table-header", TableHeader).table = self.table
        self.query_one("#filter-box").display = False
        self.table.focus()
        self.refresh_view()

    def on_screen_resume(self) -> None:
        """Back from another screen: the runs changed unseen meanwhile (a hidden table is
        not redrawn on every refresh), so draw it all once, from the app's latest."""
        if not self._resumed:  # shown the first time: on_mount has just drawn it all
            self._resumed = True
            return
        if self.is_mounted:
            self.snapshot = getattr(self.app, "snapshot", self.snapshot)
            self.refresh_view()

    def model_refreshed(self, message: ModelRefreshed) -> None:
        """A refresh's snapshot (the app hands it over while this screen shows)."""
        self.snapshot = message.snapshot
        self.refresh_view(message.changed, message.redraw)

    def watch_tagged(self) -> None:
        if self.is_mounted:
            self.update_summary()

    def current_run_id(self) -> str | None:
        try:
            return self.table.current_id()
        except NoMatches:
            return None

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def refresh_view(self, changed: set[str] | None = None, redraw: set[str] = frozenset()
                     ) -> None:
        """Draw what changed: the whole table when the view did (runs came or went, a
        new sort or filter: ``changed`` None), else only the rows of ``changed`` and
        ``redraw`` runs and of live runs (their TIME goes on). The summary line is
        redrawn only when its text changes, the header only with the view. Nothing
        while the screen has no table: a refresh can arrive while it is composed
        (on_mount draws it all) or after its widgets went (the app ends)."""
        try:
            table = self.table
        except NoMatches:
            return
        snapshot = self.snapshot
        header = self.query_one("#table-header", TableHeader)
        table.snapshot = header.snapshot = snapshot
        new_view = changed is None or snapshot.view is not self._view
        if new_view:  # (a metric: filter's view also changes as cells are read)
            self._view = snapshot.view
            table.refresh_rows()
            header.refresh()
        else:
            table.refresh_ids(changed | redraw | snapshot.active)
        if new_view or changed or snapshot.error != self._error:
            self.update_summary()
        self.say_rows_shown()

    def say_rows_shown(self) -> None:
        """Other rows on screen (a new view, a scroll): their cells are wanted."""
        shown = self.table.visible_ids()
        if shown != self._shown:
            self._shown = shown
            self.post_message(RowsShown(shown))

    def update_summary(self) -> None:
        model = self.snapshot
        counts = model.counts
        order = ("running", "paused", "lost", "failed", "created", "terminated",
                 "completed", "unreadable")
        present = [s for s in order if counts.get(s)]
        shown = f"{len(model.view)} of {len(model.runs)} runs" if model.filter_text \
            else f"{len(model.runs)} runs"
        if not model.ready:
            shown = "reading the runs"
        elif model.loading:  # the first screen came before every run was read
            shown = model.loading
        text = Text(shown)
        if model.filter_text:  # right after the count, so that 80 columns show it
            text.append("  filter: ")
            text.append_text(shortened(model.filter_text, self._filter_room(shown)))
            text.append(";")
        else:
            text.append(":")
        self._error = model.error
        tail = Text()
        if self.tagged:
            tail.append(f"  {len(self.tagged)} tagged", style="bold")
        watch = Text(f"  watch: {self.watching}", style="dim")
        room = self._width() - 2 - text.cell_len - tail.cell_len - watch.cell_len
        if model.error:  # said before the counts are: at least its first 30 cells
            error = shortened(model.error, max(30, room - 8 * len(present)))
            error.stylize(RED)
            error.style = ""
            tail.append("  ")
            tail.append_text(error)
            room -= 2 + error.cell_len
        text.append_text(status_counts(counts, present, room))
        text.append_text(tail)
        text.append_text(watch)
        self.show("#summary", text)
        details = model.folder_info
        box = self.query_one("#folder-details", Static)
        if details and (details["description"] or details["tags"] or details["metadata"]):
            meta = ", ".join(f"{k}={v}" for k, v in details["metadata"].items())
            line = Text(one_line(details["path"], limit=100), style="bold")
            line.append(" " + one_line(f"{details['description']} "
                                       f"{' '.join('#' + t for t in details['tags'])} {meta}"
                                       .strip(), limit=300))
            self.show("#folder-details", line)
        # Setting ``display``, even to what it was, relayouts the screen
        shown = bool(details and (details["description"] or details["tags"] or
                                  details["metadata"]))
        if box.display != shown:
            box.display = shown

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def _filter_room(self, shown: str) -> int:
        """Cells the filter may take on the summary line: what the screen's width
        leaves beside the count and a few status counts (30 cells at 80 columns)."""
        return max(12, min(200, self._width() - 2 - len(shown) - len("  filter: ") - 24))

    def show(self, selector: str, text: Text) -> None:
        """Update a Static only when its text changed (relayout only if its height may)."""
        before = self._drawn.get(selector)
        if before != text:
            self._drawn[selector] = text
            redraw(self.query_one(selector, Static), before, text)

    # -- actions -----------------------------------------------------------
    def action_open(self) -> None:
        run_id = self.table.current_id()
        if run_id:
            self.post_message(OpenRun(run_id))

    def action_start(self) -> None:
        self.post_message(StartWanted())

    def action_start_again(self) -> None:
        self.post_message(StartWanted(again=True, run_id=self.table.current_id()))

    def action_pause(self) -> None:
        self.post_message(ControlRuns("pause", self.table.selected_ids()))

    def action_resume(self) -> None:
        self.post_message(ControlRuns("resume", self.table.selected_ids()))

    def action_close_run(self) -> None:
        self.post_message(ControlRuns("close", self.table.selected_ids()))

    def action_tag(self) -> None:
        current = self.table.current_id()
        if current:
            self.post_message(TagsWanted(self.tagged ^ {current}))
            self.table.action_cursor(1)

    def action_tag_all(self) -> None:
        """Tag every run the filter shows (all of them tagged already: untag them)."""
        shown = frozenset(self.snapshot.view)
        if not shown:
            return
        wanted = self.tagged - shown if shown <= self.tagged else self.tagged | shown
        self.post_message(TagsWanted(wanted))
        self.notify(f"{len(wanted)} runs tagged", timeout=2)

    def action_compare(self) -> None:
        tagged = [i for i in self.snapshot.view if i in self.tagged]
        if len(tagged) < 2:
            self.notify("Tag two runs or more to compare them (space tags one, A every "
                        "run shown)", severity="warning", timeout=4)
            return
        self.post_message(CompareWanted(tagged))

    def action_filter(self) -> None:
        self.query_one("#filter-box").display = True
        box = self.query_one("#filter-input", Input)
        box.value = self.snapshot.filter_text
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.set_filter(event.value):
            self.close_filter_box()

    def on_input_changed(self, event: Input.Changed) -> None:
        """An error shown goes (or changes) as the text is mended."""
        if self.query_one("#filter-error", Static).display:
            try:
                parse(event.value)
            except FilterError as exc:
                self.show_filter_error(str(exc))
            else:
                self.show_filter_error(None)

    def close_filter_box(self) -> None:
        self.show_filter_error(None)
        self.query_one("#filter-box").display = False
        self.table.focus()

    def show_filter_error(self, error: str | None) -> None:
        """The reason a filter was refused, on one line under the input (or none)."""
        line = self.query_one("#filter-error", Static)
        if error is not None:
            line.update(Text(one_line(error, limit=300), style=f"bold {RED}"))
        if line.display != (error is not None):
            line.display = error is not None

    def set_filter(self, text: str) -> bool:
        """Filter by ``text``, or, if it cannot be understood, say why under the input
        and keep the filter before it; whether it was applied."""
        settings = self.snapshot.settings
        try:
            wanted = settings.filtered(text)
        except FilterError as exc:
            self.show_filter_error(str(exc))
            return False
        self.post_message(ViewWanted(wanted))
        if wanted.column_metric != settings.column_metric:
            self.notify(f"Metric column: {one_line(wanted.column_metric, limit=60)} "
                        "(the filter compares it)", timeout=3)
        return True

    def action_clear(self) -> None:
        if self.query_one("#filter-box").display:
            self.close_filter_box()
        if self.snapshot.filter_text:
            self.set_filter("")
        elif self.tagged:
            self.post_message(TagsWanted(frozenset()))

    def on_key(self, event) -> None:
        box = self.query_one("#filter-input", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            self.close_filter_box()
            self.set_filter("")

    def action_sort(self) -> None:
        wanted = self.snapshot.settings.sorted_by_next()
        self.post_message(ViewWanted(wanted))
        self.notify(f"Sorted by {wanted.sort_key}", timeout=2)

    def action_reverse(self) -> None:
        self.post_message(ViewWanted(self.snapshot.settings.reversed()))

    def action_folders(self) -> None:
        from .folders import FolderScreen

        def chosen(folder: str | None) -> None:
            if folder is None:
                return
            words = [w for w in self.snapshot.filter_text.split()
                     if not w.startswith("folder:")]
            if folder != "/":
                words.append(f'folder:"{folder}"' if '"' not in folder
                             and any(c.isspace() or c == "|" for c in folder)
                             else f"folder:{folder}")
            text = " ".join(words)
            try:
                parse(text)
            except FilterError:  # what was left of the filter was not whole: the folder
                text = words[-1] if folder != "/" else ""
            self.set_filter(text)

        self.app.push_screen(FolderScreen(folder_counts(self.snapshot.runs)), chosen)

    def action_metric(self) -> None:
        self.post_message(MetricChooserWanted())

    def on_runs_table_highlighted(self, _message) -> None:
        self.say_rows_shown()
