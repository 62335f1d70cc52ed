"""One run in detail: metrics, events, alerts, instances, attributes, output, live.

Files are read on a worker thread (run_reading.py), which posts what it found
(``RunRead``); the screen routes it to its tabs, each a widget of its own in
app/tabs/ (registry.py lists them), which draws it or keeps it until it is shown.
The screen itself keeps the title, the keys and the actions. Everything drawn
from the run goes through tabs/run_text.py, which shows it as data, never as
markup or terminal control.
"""

import time

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static, TabbedContent, TabPane

from runyard.engine import load_run
from runyard.engine.history import History, read_behind
from runyard.engine.series import series_kind
from runyard.engine.tail import SERIES

from ..messages import ControlRuns, ModelRefreshed, StartWanted
from ..refresher import DETAIL_GAP
from ..run_reading import RunFiles, RunReading
from ..tabs.charts import RunCharts
from ..tabs.registry import OpenedRun, tabs_of
from ..tabs.run_tab import RunTab
from ..tabs.run_text import title_text
from ..tabs.steps import step_rows
from ..widgets.footer import KeyBar
from ..widgets.keyed_tabs import KeyedTabs
from ..widgets.pager import Pager
from ..widgets.static_text import redraw
from ..widgets.throttle import CHART_GAP, Throttle


class HistoryRead(Message):
    """The history worker read more of the skipped points (``done``: all of them)."""

    def __init__(self, history: History | None, done: bool):
        super().__init__()
        self.history = history
        self.done = done


class RunRead(Message):
    """A read of the run's files finished (posted from the worker thread); ``light``:
    of its series alone; ``more``: the rest of the same read follows."""

    def __init__(self, found: RunFiles, light: bool = False, more: bool = False):
        super().__init__()
        self.found = found
        self.light = light
        self.more = more


class DetailScreen(Screen):
    REFRESH_GAP = DETAIL_GAP  # the root refreshed less often: the charts redraw ~3 a second
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("p", "pause", "Pause", id="detail-pause"),
        Binding("r", "resume", "Resume", id="detail-resume"),
        Binding("c", "close_run", "Close", id="detail-close"),
        Binding("S", "start_again", "Start again", show=False,
                id="detail-start-again"),
        Binding("right_square_bracket", "tab(1)", "Next tab", key_display="]",
                id="next-tab"),
        Binding("left_square_bracket", "tab(-1)", "Previous tab", key_display="[",
                id="prev-tab"),
        Binding("up,k", "metric(-1)", "Previous chart", show=False, id="metric-up"),
        Binding("down,j", "metric(1)", "Next chart", show=False, id="metric-down"),
        Binding("x", "axis", "Step/time axis", show=False, id="axis"),
    ]

    def __init__(self, root, run_id: str, reading: RunReading | None = None,
                 info=None):
        super().__init__()
        self.root = root
        self.run_id = run_id
        self.meta_dir = root / f"{run_id}.meta"
        self.reading = reading or RunReading.of(self.meta_dir)
        self.tail = self.reading.tail
        self._history_wanted = False  # a history worker runs (or ran) for this screen
        # charts are rebuilt whole: once a second while a run streams points
        self._metrics_drawing = Throttle(self, self.draw_metrics, CHART_GAP,
                                         cost=self.charts_cost)
        self._metrics_drawn = False  # the charts were drawn once (at once, then throttled)
        # as the refresh thread read it; read here only for a run it has not listed yet
        self.info = info if info is not None else load_run(root, run_id)
        self.is_flow = self.info.attrs.get("kind") == "flow"
        self.tabs = tuple(tab.id for tab in tabs_of(self.is_flow))
        self._tab_widgets: dict[str, RunTab] = {}  # tab id -> its widget
        self._polling = False
        self._again = False
        self._again_full = False
        self._last: RunFiles | None = None  # the last full read
        self.reason: str | None = None
        self._title: Text | None = None  # what the title shows now
        self._searching: Pager | None = None  # the pager the search input is for

    def compose(self) -> ComposeResult:
        yield Static(id="run-title")
        opened = OpenedRun(self.reading, self.meta_dir, self.info)
        with KeyedTabs(id="tabs", initial=self.tabs[0]):
            for tab in tabs_of(self.is_flow):
                widget = self._tab_widgets[tab.id] = tab.make(opened)
                with TabPane(tab.label, id=tab.id):
                    yield widget
        yield Input(placeholder="search: plain text, any case (enter finds, esc closes)",
                    id="pager-search")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#pager-search", Input).display = False
        self._tab_widgets[self.tabs[0]].focus()  # its keys at once (a flow run's steps)
        self.update_title()
        if self.tail.events or self.reading.output:  # opened again: draw what was read
            self.draw_metrics()
        self.poll()

    # -- refreshing -----------------------------------------------------------
    def model_refreshed(self, message: ModelRefreshed) -> None:
        """A refresh of the root (the app hands it over while this screen shows): the
        run's files that changed are read again; the heartbeat re-scan reads all."""
        self.files_changed(message.paths)
        if message.rescan:
            self.poll()

    def watched_folders(self) -> set:
        """Watched while this screen shows: the run's folder, its logs and instances."""
        return {self.meta_dir, self.meta_dir / "log", self.meta_dir / "instances"}

    def current_run_id(self) -> str:
        return self.run_id

    def files_changed(self, paths: set[str]) -> None:
        mine = str(self.meta_dir) + "/"
        changed = [p[len(mine):] for p in paths if p.startswith(mine) or p + "/" == mine]
        if changed:
            # a series growing (ten times a second for a busy run) needs only the tail
            self.poll(full=not all(series_kind(p) in SERIES for p in changed))

    def poll(self, full: bool = True) -> None:
        if self._polling:
            self._again = True  # rescheduled after the one in progress, never stacked
            self._again_full |= full
            return
        self._polling = True
        self.read_files(full or self._last is None)

    @work(thread=True, exit_on_error=False, group="detail")
    def read_files(self, full: bool = True) -> None:
        """On a worker thread: what changed (``full``: everything the screen shows, else
        the series alone)."""
        if not full:
            self.post_message(RunRead(RunFiles(self.tail.poll(), self.info), light=True))
            return
        update = self.tail.poll()
        if self._last is None:  # just opened: its metrics drawn first, then the rest
            self.post_message(RunRead(RunFiles(update, self.info), light=True, more=True))
            update = self.tail.poll()
        self.post_message(RunRead(self.reading.read_files(
            self.root, self.run_id, update, step_rows if self.is_flow else None)))

    def on_run_read(self, message: RunRead) -> None:
        """What a worker read, routed to the tabs (each draws it, or keeps it until it
        is shown)."""
        found = message.found
        self._polling = message.more  # the worker reads on
        if not message.light:
            self.info, self.reason, self._last = found.info, found.reason, found
        update = found.update
        if update.metrics or not self._metrics_drawn:
            self._metrics_drawing.soon(urgent=not self._metrics_drawn)
        # at once: a child process reads it on the other core while this one draws
        self.start_history()
        for tab in self._tab_widgets.values():
            tab.series_read(update)
        if message.light:  # the title's clock goes on with the metrics' next draw
            if not message.more:
                self._again_after()
            return
        for tab in self._tab_widgets.values():
            tab.files_read(found)
        self.update_title()
        self._again_after()

    def _again_after(self) -> None:
        if self._again:
            full, self._again, self._again_full = self._again_full, False, False
            self.poll(full)

    def on_tabbed_content_tab_activated(self, _event) -> None:
        tab = self.shown_tab()
        if tab is not None:
            tab.tab_shown()

    def shown_tab(self) -> RunTab | None:
        """The widget of the tab shown now (not always the one a late message names)."""
        return self._tab_widgets.get(self.query_one("#tabs", TabbedContent).active)

    def shown_grid(self) -> RunCharts | None:
        """The chart grid of the tab shown (Metrics, System), if it is one."""
        tab = self.shown_tab()
        return tab if isinstance(tab, RunCharts) else None

    def on_pager_search_wanted(self, message: Pager.SearchWanted) -> None:
        self._searching = message.pager
        search = self.query_one("#pager-search", Input)
        search.value = message.pager.matches.text
        search.display = True
        search.focus()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        if message.input.id == "pager-search" and self._searching is not None:
            message.stop()
            self.end_search().search(message.value)

    def end_search(self) -> Pager:
        """The search input hidden, its pager focused again."""
        pager, self._searching = self._searching, None
        self.query_one("#pager-search", Input).display = False
        pager.focus()
        return pager

    def on_worker_state_changed(self, event) -> None:
        if event.worker.group == "detail" and event.worker.is_finished and \
                event.worker.error is not None:
            self._polling = False
            self.notify(f"Reading run {self.run_id} failed: {event.worker.error}",
                        severity="error")

    # -- drawing ----------------------------------------------------------------
    def update_title(self) -> None:
        """The title, redrawn only when its text changed."""
        critical = [a for a, r in self.tail.alerts.items() if r.get("state") == "critical"]
        text = title_text(self.info, critical, self.is_flow, self.reason)
        if text != self._title:
            before, self._title = self._title, text
            redraw(self.query_one("#run-title", Static), before, text)

    def draw_metrics(self) -> None:
        """The charts of the grid shown (those whose data changed) and the title,
        together (one repaint of the screen), as the tail and the history have them."""
        self._metrics_drawn = True
        grid = self.shown_grid()
        if grid is not None:
            grid.draw()
        self.update_title()

    def charts_cost(self) -> float:
        grid = self.shown_grid()
        return grid.cost() if grid is not None else 0.0

    # -- the history ---------------------------------------------------------------
    def start_history(self) -> None:
        """Read what the tail skipped of the metrics files, once, behind the drawing."""
        if self._history_wanted or self.reading.history is not None or \
                not self.tail.skipped:
            return
        self._history_wanted = True
        self.read_history(dict(self.tail.skipped))

    @work(thread=True, exit_on_error=False, group="history")
    def read_history(self, skipped: dict) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        last_note = 0.0

        def progress(done: int) -> None:
            nonlocal last_note
            self.reading.history_read = done
            now = time.monotonic()
            if now - last_note > 0.2:
                last_note = now
                self.post_message(HistoryRead(None, False))

        def cancelled() -> bool:
            return worker.is_cancelled

        # on the other core where a child process can start; here where it cannot
        history = read_behind(skipped, progress, cancelled)
        if history is not None and not worker.is_cancelled:
            self.post_message(HistoryRead(history, True))

    def on_history_read(self, message: HistoryRead) -> None:
        if message.done:
            self.reading.history = message.history
            self.tail.bad = (self.tail.bad + message.history.all_bad())[-self.tail.MAX_BAD:]
            self.draw_metrics()  # min, max and NaN counts now cover the whole run
        elif (grid := self.shown_grid()) is not None:
            grid.draw()  # how far the reading got

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "history")

    # -- actions ------------------------------------------------------------------
    def action_back(self) -> None:
        if self._searching is not None:  # esc closes the search first
            self.end_search()
            return
        self.app.pop_screen()

    def action_start_again(self) -> None:
        self.post_message(StartWanted(again=True, run_id=self.run_id))

    def action_pause(self) -> None:
        self.post_message(ControlRuns("pause", [self.run_id]))

    def action_resume(self) -> None:
        self.post_message(ControlRuns("resume", [self.run_id]))

    def action_close_run(self) -> None:
        self.post_message(ControlRuns("close", [self.run_id]))

    def action_tab(self, delta: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        index = self.tabs.index(tabs.active) if tabs.active in self.tabs else 0
        tabs.active = self.tabs[(index + delta) % len(self.tabs)]

    def action_metric(self, delta: int) -> None:
        grid = self.shown_grid()
        if grid is not None:
            grid.move_focus(delta)

    def action_axis(self) -> None:
        for grid in self.query(RunCharts):
            grid.toggle_x()
