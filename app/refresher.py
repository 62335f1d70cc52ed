"""The dashboard's refresh thread: re-reads what changed, at most five times a second.

It owns the runs model: it alone reads the root into it and changes it, and after
each refresh it posts a ``Snapshot`` (state.py) for the screens to draw from. The
UI asks for another filter, sort or metric column with ``want``; the thread applies
it at once (no gap to wait out) and posts the snapshot that results.

One long-lived thread instead of a worker per refresh: a refresh costs the
files it reads and one message to the screens, not a worker's start, its state
messages and a timer to space it from the next. The thread wakes when the
watcher marks paths (or the screen asks, ``poke``), waits out the gap since the
last refresh (changes in between are taken together), re-reads the runs behind
the paths and posts ``ModelRefreshed``; every RESCAN_EVERY seconds it also
re-scans the root and the live runs (the heartbeat that catches what the watcher
missed and turns runs with a stale heartbeat ``lost``).
"""

import threading
import time
from collections.abc import Callable

from textual.message import Message

from runyard.engine.series import series_kind

from .messages import ModelRefreshed
from .model import RunsModel
from .state import ViewSettings
from .watch import RootWatcher

RESCAN_EVERY = 3.0
# At most five refreshes a second while changes stream in (the eye follows no more);
# a change after a quiet moment is drawn at once.
MIN_REFRESH_GAP = 0.2
DETAIL_GAP = 0.35  # while a detail screen shows, whose charts redraw three times a second
CELL_SERIES = ("metrics", "alerts")  # what the table's cells are read from


class RefreshFailed(Message):
    """A refresh raised; the thread goes on with the next one."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = error


class Refresher:
    def __init__(self, model: RunsModel, watcher: RootWatcher,
                 post: Callable[[Message], object]):
        self.model = model
        self.watcher = watcher
        self.post = post
        self.visible: list[str] = []  # the ids on screen, set by the UI thread
        self.count = 0  # refreshes done
        self.gap = MIN_REFRESH_GAP  # the least time between two refreshes, set by the UI
        self._wanted: ViewSettings | None = None  # settings the UI asked for, not applied
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._hurry = threading.Event()  # settings wanted, or stop: no gap waited out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="runyard-refresh",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._hurry.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def poke(self) -> None:
        """Refresh soon (the watcher saw changes, or other rows came on screen)."""
        self._wake.set()

    def want(self, settings: ViewSettings) -> None:
        """List the runs with these settings (from the UI thread): applied at once."""
        with self._lock:
            self._wanted = settings
        self._hurry.set()
        self._wake.set()

    def _take_wanted(self) -> ViewSettings | None:
        with self._lock:
            wanted, self._wanted = self._wanted, None
        return wanted

    def _first(self) -> None:
        """The newest runs, read before anything else: the first screen's."""
        try:
            self.model.load_first()
        except Exception as exc:  # shown; the heartbeat re-scan tries again
            self.post(RefreshFailed(exc))
        self.model.apply_view()
        self.post(ModelRefreshed(self.model.snapshot(), None, set()))

    def _loop(self) -> None:
        self._first()
        last = 0.0
        next_rescan = time.monotonic() + RESCAN_EVERY
        while not self._stop.is_set():
            self._wake.wait(max(0.0, next_rescan - time.monotonic()))
            if self._stop.is_set():  # stop() woke it: no gap waited out
                return
            self._hurry.clear()  # before the look: a want from now on ends the gap
            wanted = self._take_wanted()
            if wanted is None:  # changes in the gap are taken together; a want ends it
                self._hurry.wait(max(0.0, last + self.gap - time.monotonic()))
            if self._stop.is_set():
                return
            self._wake.clear()
            wanted = self._take_wanted() or wanted
            rescan = time.monotonic() >= next_rescan
            paths = self.watcher.take()
            try:
                if wanted is not None:
                    self.model.set_settings(wanted)
                    self.model.apply_view()
                changed, redraw = refresh(self.model, paths, rescan, list(self.visible))
                if self.model.pending:  # the runs the first screen did not read, behind it
                    changed |= self.model.load_more()
                    self.model.apply_view()
                    self._wake.set()  # the next batch after this refresh, not after a wait
                snapshot = self.model.snapshot(again=rescan)
            except Exception as exc:  # shown; the next refresh tries again
                self.post(RefreshFailed(exc))
                changed, redraw, snapshot = None, set(), None
            now = time.monotonic()
            if changed or redraw or self.model.pending:
                last = now  # a refresh that drew nothing (a heartbeat) delays no other
            if rescan:
                next_rescan = now + RESCAN_EVERY
            self.count += 1
            if snapshot is not None:
                # new settings: the whole table again (changed None), as with a new view
                self.post(ModelRefreshed(snapshot, None if wanted else changed, paths,
                                         redraw, rescan))


def refresh(model: RunsModel, paths: set[str], rescan: bool, visible: list[str]
            ) -> tuple[set[str], set[str]]:
    """Re-read what the paths point at: (runs whose listing changed, runs whose
    metric or alert cells changed)."""
    changed: set[str] = set()
    root = str(model.root)
    touched, grew = set(), set()
    for path in paths:
        parent, _, rest = path.removeprefix(root + "/").partition("/")
        if parent.endswith(".meta"):
            run_id = parent[: -len(".meta")]
            kind = series_kind(rest)
            if kind in CELL_SERIES:  # the run's cells changed, not its listing
                grew.add(run_id)
            elif kind is None and "/" not in rest:  # attrs, lock, exit, heartbeat...
                touched.add(run_id)
            # events, files, logs and instance records: the detail screen's business
        elif not rest and not parent.startswith("."):
            rescan = True  # an entry of the root itself
    if rescan:
        changed |= model.refresh_active()
    changed |= model.reload(touched)
    if changed:
        model.apply_view()
    # Cells of live runs and of runs whose files changed are brought up to date; a
    # row that just came on screen gets its cells once, and the heartbeat re-scan
    # checks every row on screen (a finished run's files do not grow).
    due = set(model.active()) | touched | grew
    due |= set(visible) if rescan else {i for i in visible if i not in model.cells}
    if model.uses_cells():  # a metric: or alert: filter: every run needs its cells once
        due |= {i for i in model.runs if i not in model.cells}
    redraw = {run_id for run_id in due if run_id in model.runs and model.update_cell(run_id)}
    if redraw and model.uses_cells():
        model.apply_view()  # which runs match changed with their cells
    return changed, redraw
