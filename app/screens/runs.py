"""The runs screen: every run in a table, filtered, sorted, tagged and controlled."""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from ..model import SORT_KEYS
from ..refresher import MIN_REFRESH_GAP
from ..safe_text import one_line
from ..widgets.runs_table import RunsTable, TableHeader
from ..widgets.static_text import redraw


class RunsScreen(Screen):
    BINDINGS = [
        Binding("enter", "open", "Open", id="open"),
        Binding("s", "start", "Start", id="start"),
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
            yield Input(placeholder="filter: words, status:running tag:gpu folder:/a "
                        "meta:lr=0.1  (enter applies, esc clears)", id="filter-input")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#table-header", TableHeader).table = self.table
        self.query_one("#filter-input", Input).display = False
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
        if changed is None or view != self._view:
            self._view = list(view)
            table.refresh_rows()
            self.query_one("#table-header", TableHeader).refresh()
        else:
            table.refresh_ids(changed | redraw | set(self.model.active()))
        if changed is None or changed or self.model.error != self._error:
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
        text = Text(f"{shown}: {', '.join(parts) or 'none'}")
        self._error = model.error
        if self.table.tagged:
            text.append(f"  {len(self.table.tagged)} tagged", style="bold")
        if model.filter_text:
            text.append("  filter: ")
            text.append(one_line(model.filter_text, limit=60), style="italic")
        if model.error:
            text.append("  " + one_line(model.error, limit=200), style="red")
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
        box = self.query_one("#filter-input", Input)
        box.display = True
        box.value = self.model.filter_text
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.set_filter(event.value)
        event.input.display = False
        self.table.focus()

    def set_filter(self, text: str) -> None:
        self.model.filter_text = text.strip()
        self.model.apply_view()
        self.refresh_view()
        self.app.refresh_cells()

    def action_clear(self) -> None:
        box = self.query_one("#filter-input", Input)
        if box.display:
            box.display = False
            self.table.focus()
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
            box.display = False
            self.set_filter("")
            self.table.focus()

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
                words.append(f"folder:{folder}")
            self.set_filter(" ".join(words))

        self.app.push_screen(FolderScreen(self.model.folders()), chosen)

    def action_metric(self) -> None:
        self.app.cycle_metric()

    def on_runs_table_highlighted(self, _message) -> None:
        self.app.refresh_cells()
