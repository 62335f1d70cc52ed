"""The runyard dashboard: a Textual app over a runs directory, live, keyboard-driven.

Data flows one way: watchdog (on its own thread) marks paths dirty and wakes the
refresh thread (refresher.py), which owns the runs model, re-reads only the runs
behind those paths and posts ``ModelRefreshed`` with a snapshot (state.py); the
app keeps the latest and hands it to the screen on show, which redraws what
changed. A heartbeat re-scan every few seconds catches what the watcher missed
and turns runs with a stale heartbeat ``lost``.

The app owns what the user chose: the view's settings (filter, sort, metric
column) and the tagged runs are its reactives; screens ask for changes with
messages (messages.py) and never call the app. Control (start, pause, resume,
close) calls the engine's functions in workers; the runs it starts belong to
their own supervisors and outlive the dashboard.
"""

import os
import time
import warnings
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from runyard.engine import control as engine
from runyard.engine.errors import RunyardError
from runyard.engine.layout import ATTRS, META_SUFFIX
from runyard.engine.meta import parse_iso
from runyard.engine.spec import ModuleChanged

from .ascii_filter import AsciiFilter
from .crash import write_crash_report
from .formatting import run_label, runs_label
from .messages import (
    CompareWanted,
    ControlDone,
    ControlRuns,
    MetricChooserWanted,
    ModelRefreshed,
    OpenRun,
    RowsShown,
    StartWanted,
    TagsWanted,
    ViewWanted,
)
from .model import RunsModel
from .palette import BindingCommands
from .refresher import MIN_REFRESH_GAP, RESCAN_EVERY, Refresher, RefreshFailed
from .safe_text import one_line, visible
from .screens.confirm import ConfirmScreen
from .screens.detail import DetailScreen
from .screens.help import HelpScreen
from .screens.new_root import NewRootScreen
from .screens.runs import RunsScreen
from .state import Snapshot, ViewSettings
from .watch import RootWatcher, choose_mode
from .widgets import glyphs
from .widgets.pager import Pager
from .widgets.workspace import Workspace

KEEP_READINGS = 4  # runs whose detail screens' readings are kept after they close


class RunyardApp(App):
    TITLE = "runyard"
    CSS_PATH = Path(__file__).parent / "styles.tcss"  # absolute: subclasses live elsewhere
    COMMANDS = App.COMMANDS | {BindingCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("y", "copy('id')", "Copy run id", show=False, id="copy-id"),
        Binding("Y", "copy('path')", "Copy run folder path", show=False, id="copy-path"),
    ]

    settings: reactive[ViewSettings] = reactive(ViewSettings, init=False)
    tagged: reactive[frozenset] = reactive(frozenset, init=False)

    def __init__(self, root: Path, poll: float | None = None, no_poll: bool = False):
        super().__init__()
        self.root = root
        self.snapshot = Snapshot()  # the latest the refresh thread posted
        self.mode, self.interval, self.mode_reason = choose_mode(root, poll, no_poll)
        self.watcher = RootWatcher(root, self.mode, self.interval, self._dirty)
        self.refresher = Refresher(RunsModel(root), self.watcher, self.post_message)
        self._critical: dict[str, set[str]] = {}
        self._started = time.time()  # runs created since are watched from their start
        self.crash_error: BaseException | None = None
        self.quitting = False  # set by exit(): nothing new opens from then on
        self.crash_report: str | None = None  # where the traceback of a crash went
        self.readings: dict = {}  # run id -> run_reading.RunReading, the last KEEP_READINGS
        if not glyphs.UNICODE:  # the whole screen, Textual's own frame included
            self._filters.append(AsciiFilter())

    # -- start and stop ---------------------------------------------------
    def on_mount(self) -> None:
        self.sub_title = one_line(f"{self.root}  [watch: {self.watcher.describe()}]")
        # the refresh thread reads the newest runs first, the rest behind the screen
        self.push_screen(RunsScreen(self.watcher.describe()).data_bind(
            RunyardApp.tagged))
        if not self.root.exists():  # a new user's first `runyard`: offer to make it
            self.push_screen(NewRootScreen(self.root), self.root_made)
        try:
            self.watcher.start()
        except OSError as exc:
            self.notify(f"Watching {self.root} failed ({exc}); re-scanning every "
                        f"{RESCAN_EVERY:g} s instead", severity="warning")
        self.refresher.start()

    def root_made(self, then: str | None) -> None:
        if then is not None:  # watched and read from now on
            self.watcher.mark({str(self.root)})
            self.update_watches()
        if then == "start":
            self.open_start_form()

    def stop_background(self) -> None:
        """The refresh thread, control workers and the watcher, stopped before the
        screens go (Textual removes them before the app's own unmount): a refresh that
        finished while they went would post to a stack being emptied."""
        self.refresher.stop()  # refreshes first: they are what posts to the screens
        self.workers.cancel_group(self, "control")
        self.watcher.stop()

    def on_unmount(self) -> None:
        self.stop_background()  # again, for an app ended by neither exit() nor a crash

    def exit(self, *args, **kwargs) -> None:
        self.quitting = True
        self.stop_background()
        super().exit(*args, **kwargs)

    def push_screen(self, screen, callback=None, wait_for_dismiss=False, *, mode=None):
        """As Textual's, but a key pressed just after q (enter, s, ?) opens nothing: a
        screen mounted while the app shuts down finds none of its widgets."""
        if self.quitting:
            return None
        return super().push_screen(screen, callback, wait_for_dismiss, mode=mode)

    def notify(self, message: str, *, title: str = "", severity="information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification as plain text: it may quote a run's name, an alert's or
        an engine error, none of which may act as markup or terminal control."""
        super().notify(visible(message, multiline=True, limit=2000), title=one_line(title),
                       severity=severity, timeout=timeout, markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """An unexpected error ends the app with a non-zero code; its traceback goes to
        a file that ``runyard dash`` names, not over the user's terminal."""
        if self.crash_error is None:
            self.crash_error = error
            self.crash_report = write_crash_report(error)
            self.stop_background()
        super()._handle_exception(error)
        if self.crash_report:
            self._exit_renderables.clear()

    # -- live data --------------------------------------------------------------
    def _dirty(self) -> None:
        """On watchdog's thread: the first change of a batch wakes the refresh thread."""
        self.refresher.poke()

    def on_model_refreshed(self, message: ModelRefreshed) -> None:
        if not self.screen_stack or self._exit or not self.is_running:
            return  # shutting down: nothing left to draw on
        self.snapshot = message.snapshot
        self.refresher.gap = getattr(self.screen, "REFRESH_GAP", MIN_REFRESH_GAP)
        draw = getattr(self.screen, "model_refreshed", None)
        if draw is not None:  # a screen that shows runs
            draw(message)
        self.check_alerts()
        self.update_watches()

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        self.notify(f"Refresh failed: {message.error}", severity="error")

    def on_worker_state_changed(self, event) -> None:
        worker = event.worker
        if worker.group == "control" and worker.error is not None:
            self.notify(str(worker.error), severity="error")

    def on_rows_shown(self, message: RowsShown) -> None:
        """Other rows on screen: their metric and alert cells are read (soon)."""
        if message.run_ids != self.refresher.visible:
            self.refresher.visible = message.run_ids
            self.refresher.poke()

    def update_watches(self) -> None:
        folders = {self.root / f"{i}.meta" for i in self.snapshot.active}
        watched = getattr(self.screen, "watched_folders", None)
        if watched is not None:  # a run's own screen: its logs and instances too
            folders |= set(watched())
        self.watcher.watch(folders)

    def check_alerts(self) -> None:
        """Notify (and ring the bell once) when an alert of a run turns critical."""
        rang = False
        runs = self.snapshot.runs
        for run_id, cell in self.snapshot.cells.items():
            now = set(cell.critical)
            before = self._critical.get(run_id)
            self._critical[run_id] = now
            if before is None:
                if not self._new(runs.get(run_id)):
                    continue  # first sight of an older run: already critical is not news
                before = set()  # a run made since the dashboard started: all of it is
            for alert in sorted(now - before):
                info = runs.get(run_id)
                self.notify(f"Alert {alert!r} is critical on run "
                            f"{run_label(info) if info else run_id}", severity="error",
                            title="runyard alert", timeout=10)
                if not rang:
                    self.bell()
                    rang = True

    def _new(self, info) -> bool:
        """Whether the run was created after the dashboard started."""
        created = parse_iso(info.attrs.get("created")) if info is not None else None
        return created is not None and created.timestamp() >= self._started

    # -- what the user chose ----------------------------------------------------
    def watch_settings(self, settings: ViewSettings) -> None:
        self.refresher.want(settings)

    def on_view_wanted(self, message: ViewWanted) -> None:
        self.settings = message.settings

    def on_tags_wanted(self, message: TagsWanted) -> None:
        self.tagged = message.tagged

    def on_metric_chooser_wanted(self, _message: MetricChooserWanted) -> None:
        """A list of the metrics the runs read so far have, to pick the METRIC
        column's from (typing narrows it)."""
        from .screens.metric_chooser import MetricChooser

        names = self.snapshot.metric_names
        if not names:
            self.notify("No metrics read yet in the runs on screen", timeout=3)
            return

        def chosen(name: str | None) -> None:
            if name is not None and name != self.settings.column_metric:
                self.settings = self.settings.with_metric(name)
                self.notify(f"Metric column: {name}", timeout=2)

        self.push_screen(MetricChooser(names, self.settings.column_metric), chosen)

    # -- navigation ---------------------------------------------------------
    def on_open_run(self, message: OpenRun) -> None:
        """The run's detail screen; what was read of the run the last few times it was
        open is kept, so opening it again reads only what was appended since."""
        run_id = message.run_id
        reading = self.readings.pop(run_id, None)
        screen = DetailScreen(self.root, run_id, reading, self.snapshot.runs.get(run_id))
        self.readings[run_id] = screen.reading
        while len(self.readings) > KEEP_READINGS:
            self.readings.pop(next(iter(self.readings)))
        self.refresher.gap = screen.REFRESH_GAP
        self.push_screen(screen)
        self.update_watches()

    def on_compare_wanted(self, message: CompareWanted) -> None:
        from .screens.compare import CompareScreen

        infos = [self.snapshot.runs[i] for i in message.run_ids if i in self.snapshot.runs]
        self.push_screen(CompareScreen(self.root, infos))
        self.update_watches()

    def current_run_id(self) -> str | None:
        """The run the user looks at: the detail screen's, or the one under the cursor."""
        current = getattr(self.screen, "current_run_id", None)
        return current() if current is not None else None

    def action_copy(self, what: str) -> None:
        """The run's id (or its folder's path) to the user's own clipboard, through the
        terminal (OSC 52): over SSH it lands on the machine the user sits at. The
        terminal never says whether it took it, so the text is also shown, to select
        by hand where it did not (tmux needs set-clipboard on)."""
        run_id = self.current_run_id()
        if run_id is None:
            self.notify("No run to copy", timeout=2)
            return
        text = run_id if what == "id" else str((self.root / run_id).absolute())
        label = "run id" if what == "id" else "run folder's path"
        if os.environ.get("TERM", "dumb") in ("dumb", ""):
            self.notify(f"This terminal (TERM=dumb) cannot be asked to copy; the "
                        f"{label}: {text}", timeout=10)
            return
        self.copy_to_clipboard(text)
        self.notify(f"Copied the {label} to the clipboard: {text}\n(if it is not there, "
                    "the terminal refused OSC 52: select it here)", timeout=8)

    def action_help(self) -> None:
        from .tabs.files import FilesTab
        from .tabs.instances import InstancesTab

        screens = [("Everywhere", self.BINDINGS), ("Runs table", RunsScreen.BINDINGS),
                   ("Run detail", DetailScreen.BINDINGS),
                   ("Compare", __import__("runyard.app.screens.compare",
                                          fromlist=["CompareScreen"]).CompareScreen.BINDINGS),
                   ("Pagers: Events, Output, a file, an instance's output",
                    Pager.BINDINGS),
                   ("Metrics, System and compare charts", Workspace.BINDINGS),
                   ("Files tab", FilesTab.BINDINGS), ("Instances tab", InstancesTab.BINDINGS),
                   ("Moving in the table", __import__(
                       "runyard.app.widgets.runs_table", fromlist=["RunsTable"])
                    .RunsTable.BINDINGS)]
        self.push_screen(HelpScreen(screens))

    # -- control --------------------------------------------------------------
    def on_control_runs(self, message: ControlRuns) -> None:
        run_ids = message.run_ids
        if not run_ids:
            self.notify("No run selected", severity="warning", timeout=2)
            return
        if message.verb != "close":
            self.run_control(message.verb, run_ids)
            return
        infos = [self.snapshot.runs[i] for i in run_ids if i in self.snapshot.runs]
        if not infos:
            self.notify("No run selected", severity="warning", timeout=2)
            return
        question = f"Close {runs_label(infos)}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_control("close", run_ids)

        self.push_screen(ConfirmScreen(question + "\nTheir saved states are kept; "
                                       "resume continues them."), answered)

    @work(thread=True, exit_on_error=False, group="control")
    def run_control(self, verb: str, run_ids: list[str]) -> None:
        action = {"pause": engine.pause, "resume": engine.resume, "close": engine.close}[verb]
        done, failed = [], []
        with warnings.catch_warnings(record=True) as changed:  # never onto the screen
            warnings.simplefilter("always", ModuleChanged)
            for run_id in run_ids:
                try:
                    done.append(action(self.root, run_id))
                except RunyardError as exc:
                    failed.append(str(exc))
        past = {"pause": "Pausing", "resume": "Resumed", "close": "Closing"}[verb]
        if done:
            self.post_message(ControlDone(f"{past} {runs_label(done, most=5)}"))
        for warning in changed:  # a run module changed since the run recorded it
            if issubclass(warning.category, ModuleChanged):
                self.post_message(ControlDone(str(warning.message), warning=True))
        for problem in failed:
            self.post_message(ControlDone(problem, error=True))
        self.watcher.mark({str(self.root / f"{i}{META_SUFFIX}" / ATTRS) for i in run_ids})

    def on_control_done(self, message: ControlDone) -> None:
        severity = "error" if message.error else "warning" if message.warning else \
            "information"
        self.notify(message.text, severity=severity, timeout=8 if message.warning else 4)

    def on_start_wanted(self, message: StartWanted) -> None:
        """The start form: empty, or filled in from what the engine recorded for the
        run to start again (``again``: read by a worker, the spec is a run's file)."""
        if not message.again:
            self.open_start_form()
        elif message.run_id is None:
            self.notify("No run to start again", timeout=2)
        else:
            self.read_clone(message.run_id)

    @work(thread=True, exit_on_error=False, group="control")
    def read_clone(self, run_id: str) -> None:
        from .clone import CloneRefused, clone_form

        try:
            form = clone_form(self.root, run_id)
        except CloneRefused as exc:
            self.post_message(ControlDone(str(exc)))
            return
        self.call_from_thread(self.open_start_form, form)

    def open_start_form(self, clone=None) -> None:
        from runyard.engine.project import operation_names, slurm_defaults
        from runyard.engine.root import find_project_file

        from .run_request import slurm_text
        from .screens.start import StartScreen

        project = find_project_file()
        try:
            names = operation_names(project) if project else []
        except RunyardError:
            names = []
        try:
            defaults = slurm_defaults(project)
        except RunyardError:  # the form's check says what is wrong with it
            defaults = {}
        requeue = defaults.pop("requeue", None)

        def submitted(request) -> None:
            if request is not None:
                self.start_run(request)

        filled = {} if clone is None else {"values": clone.values, "base": clone.base,
                                           "origin": clone.label, "kept": clone.kept}
        self.push_screen(StartScreen(names, self.root, **filled,
                                     slurm_defaults=slurm_text(defaults, requeue)),
                         submitted)

    @work(thread=True, exit_on_error=False, group="control")
    def start_run(self, request) -> None:
        from .starting import start_from_request

        try:
            info, saved = start_from_request(self.root, request.request,
                                             request.save_as)
        except (RunyardError, ValueError) as exc:
            self.post_message(ControlDone(f"Not started: {exc}", error=True))
            return
        note = f"; saved as operation {saved!r}" if saved else ""
        how = f"Queued run {run_label(info)} as Slurm job {info.attrs['slurm']['job']}" \
            if info.status == "queued" else f"Started run {run_label(info)}"
        self.post_message(ControlDone(f"{how}{note}"))
        self.watcher.mark({str(self.root / info.id), str(info.meta_dir / ATTRS)})
