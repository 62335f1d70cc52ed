"""The runs screen: every run in a table, filtered, sorted, tagged and controlled."""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ..filter_query import FilterError, parse
from ..model import SORT_KEYS
from ..refresher import MIN_REFRESH_GAP
from ..safe_text import one_line
from ..widgets.glyphs import RED
from ..widgets.runs_table import RunsTable, TableHeader
from ..widgets.static_text import redraw


def shortened(text: str, cells: int) -> Text:
    """User text (a filter may be pasted from a run's name) made visible, cut to
    ``cells`` with an ellipsis."""
    shown = Text(one_line(text, limit=cells + 1), style="italic")
    shown.truncate(cells, overflow="ellipsis")
    return shown


class RunsScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open", id="open"),
        Binding("s", "start", "Start", id="start"),
        Binding("S", "start_again", "Start again", show=False, id="start-again"),
        Binding("p", "pause", "Pause", id="pause"),
        Binding("r", "resume", "Resume", id="resume"),
        Binding("c", "close_run", "Close", id="close"),
        Binding("space", "tag", "Tag", id="tag"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("o", "sort", "Sort", id="sort"),
        Binding("O", "reverse", "Reverse sort", show=False, id="reverse"),
        Binding("f", "folders", "Folders", show=False, id="folders"),
        Binding("m", "metric", "Metric column", show=False, id="metric"),
        Binding("escape", "clear", "Clear filter/tags", show=False, id="clear"),
    ]

    def __init__(self, model):
        super().__init__()
        self.model = model
        self._drawn: dict[str, Text] = {}  # what each Static shows now
        self._view: list[str] = []  # the view the table last drew in full
        self._error: str | None = None  # the model's error the summary shows
        self._resumed = False  # ScreenResume comes once as the screen is first shown

    def compose(self) -> ComposeResult:
        with Vertical(id="runs-body"):
            yield Static(id="summary")
            yield Static(id="folder-details")
            yield TableHeader(self.model, id="table-header")
            yield RunsTable(self.model, id="runs-table")
            with Vertical(id="filter-box"):
                yield Input(placeholder="filter: words, status:running tag:gpu OR -tag:x "
                            "meta:lr>=1e-3 has:k metric:loss<0.1 alert:critical  "
                            "(enter applies, esc clears)", id="filter-input")
                yield Static(id="filter-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#table-header", TableHeader).table = self.table
        self.query_one("#filter-box").display = False
        self.table.focus()
        self.refresh_view()

    def on_screen_resume(self) -> None:
        """Back from another screen: the runs changed unseen meanwhile (a hidden table is
        not redrawn on every refresh), so draw it all once."""
        if not self._resumed:  # shown the first time: on_mount has just drawn it all
            self._resumed = True
            return
        if self.is_mounted:
            self.app.refresher.gap = MIN_REFRESH_GAP
            self.refresh_view()
            self.app.refresh_cells()

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
        view = self.model.view
        new_view = changed is None or view != self._view
        if new_view:  # (a metric: filter's view also changes as cells are read)
            self._view = list(view)
            table.refresh_rows()
            self.query_one("#table-header", TableHeader).refresh()
        else:
            table.refresh_ids(changed | redraw | set(self.model.active()))
        if new_view or changed or self.model.error != self._error:
            self.update_summary()

    def update_summary(self) -> None:
        model = self.model
        counts = model.counts()
        order = ("running", "paused", "lost", "failed", "created", "terminated",
                 "completed", "unreadable")
        parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
        shown = f"{len(model.view)} of {len(model.runs)} runs" if model.filter_text \
            else f"{len(model.runs)} runs"
        if model.pending:  # the first screen came before every run was read
            shown = model.loading()
        text = Text(shown)
        if model.filter_text:  # right after the count, so that 80 columns show it
            text.append("  filter: ")
            text.append_text(shortened(model.filter_text, self._filter_room(shown)))
            text.append(";")
        else:
            text.append(":")
        text.append(f" {', '.join(parts) or 'none'}")
        self._error = model.error
        if self.table.tagged:
            text.append(f"  {len(self.table.tagged)} tagged", style="bold")
        if model.error:
            text.append("  " + one_line(model.error, limit=200), style=RED)
        text.append(f"  watch: {self.app.watcher.describe()}", style="dim")
        self.show("#summary", text)
        details = model.folder_info()
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

    def _filter_room(self, shown: str) -> int:
        """Cells the filter may take on the summary line: what the screen's width
        leaves beside the count and a few status counts (30 cells at 80 columns)."""
        width = self.size.width or self.app.size.width
        return max(12, min(200, width - 2 - len(shown) - len("  filter: ") - 24))

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
            self.app.open_run(run_id)

    def action_start(self) -> None:
        self.app.open_start_form()

    def action_start_again(self) -> None:
        self.app.start_again(self.table.current_id())

    def action_pause(self) -> None:
        self.app.control("pause", self.table.selected_ids())

    def action_resume(self) -> None:
        self.app.control("resume", self.table.selected_ids())

    def action_close_run(self) -> None:
        self.app.confirm_close(self.table.selected_ids())

    def action_tag(self) -> None:
        self.table.toggle_tag()
        self.update_summary()

    def action_filter(self) -> None:
        self.query_one("#filter-box").display = True
        box = self.query_one("#filter-input", Input)
        box.value = self.model.filter_text
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
        try:
            switched = self.model.set_filter(text)
        except FilterError as exc:
            self.show_filter_error(str(exc))
            return False
        self.model.apply_view()
        self.refresh_view()
        self.app.refresh_cells()
        if switched:
            self.notify(f"Metric column: {one_line(self.model.metric, limit=60)} "
                        "(the filter compares it)", timeout=3)
        return True

    def action_clear(self) -> None:
        if self.query_one("#filter-box").display:
            self.close_filter_box()
        if self.model.filter_text:
            self.set_filter("")
        elif self.table.tagged:
            self.table.tagged.clear()
            self.table.refresh()
            self.update_summary()

    def on_key(self, event) -> None:
        box = self.query_one("#filter-input", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            self.close_filter_box()
            self.set_filter("")

    def action_sort(self) -> None:
        keys = list(SORT_KEYS)
        self.model.sort_key = keys[(keys.index(self.model.sort_key) + 1) % len(keys)]
        self.model.reverse = self.model.sort_key in ("created", "started", "duration",
                                                     "progress")
        self.model.apply_view()
        self.refresh_view()
        self.app.refresh_cells()
        self.notify(f"Sorted by {self.model.sort_key}", timeout=2)

    def action_reverse(self) -> None:
        self.model.reverse = not self.model.reverse
        self.model.apply_view()
        self.refresh_view()
        self.app.refresh_cells()

    def action_folders(self) -> None:
        from .folders import FolderScreen

        def chosen(folder: str | None) -> None:
            if folder is None:
                return
            words = [w for w in self.model.filter_text.split()
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

        self.app.push_screen(FolderScreen(self.model.folders()), chosen)

    def action_metric(self) -> None:
        self.app.cycle_metric()

    def on_runs_table_highlighted(self, _message) -> None:
        self.app.refresh_cells()
