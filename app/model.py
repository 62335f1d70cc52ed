"""The dashboard's picture of a runs root (plain Python: no textual here).

The model reads one small file per run to list (``attrs.json``), re-reads a run
only when its files change, and computes table cells (last value and trend of a
metric, alerts) lazily, for the rows on screen, from the ends of files.
"""

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from runyard.engine import load_run
from runyard.engine.errors import RunyardError
from runyard.engine.folders import folder_details
from runyard.engine.meta import parse_iso
from runyard.engine.store import RunInfo, load_runs, run_ids
from runyard.engine.tail import CriticalAlerts, RecentValues

from .filter_query import Subject, evaluate, folder_of, uses_cells
from .state import SORT_KEYS, Snapshot, ViewSettings

__all__ = ["SORT_KEYS", "Cell", "RunsModel"]

ACTIVE = ("running", "paused")
WATCHED = ("running", "paused", "created")  # a created run may start at any moment
MAX_NAMES = 1000  # metric names offered by the metric chooser
FIRST_PAGE = 200  # runs read before the first screen; more than a screen holds
LOAD_BATCH = 5000  # runs read at a time behind it


@dataclass
class Cell:
    """What the table shows beside a run's attributes, with what it was read from."""

    stamp: tuple = ()
    last: float | None = None
    trend: list = field(default_factory=list)
    critical: list = field(default_factory=list)
    recent: RecentValues | None = None  # follows the metric column's metric
    alerts: CriticalAlerts | None = None  # follows the alerts files


def progress_text(info: RunInfo) -> str:
    """Instances done/total, or the fraction reported, and the time left (eta_text)."""
    from .eta_text import progress_text as text

    return text(info)


def step_link(info: RunInfo) -> dict:
    """For a step of a flow run: its flow run's id (``run``) and its ``alias``."""
    link = info.attrs.get("flow")
    return link if isinstance(link, dict) and "alias" in link else {}


def subject(info: RunInfo, cell: "Cell | None") -> Subject:
    """A run as the filter sees it: its listing and what its table cells know."""
    if cell is None:
        return Subject(info)
    known = {}
    if cell.recent is not None and cell.last is not None:
        known[cell.recent.metric] = cell.last
    return Subject(info, known, cell.critical)


class RunsModel:
    """A root's runs, read and kept up to date by one thread (the dashboard's refresh
    thread), which alone changes it and hands the UI ``snapshot()`` values."""

    def __init__(self, root: Path):
        self.root = root
        self.runs: dict[str, RunInfo] = {}
        self.view: list[str] = []
        self.settings = ViewSettings()
        self.grouped: set[str] = set()  # step runs shown under their flow run
        self._active: set[str] = set()   # kept up to date as runs are (re)read
        self._root_mtime: int | None = None
        self.cells: dict[str, Cell] = {}
        self.error: str | None = None
        self.pending: list[str] = []  # ids not read yet, oldest first
        self.total = 0  # runs in the root at the first read
        self.metric_names: set[str] = set()  # seen in the cells read, up to MAX_NAMES
        self._published: Snapshot | None = None
        self._runs_changed = self._cells_changed = True  # since the last snapshot
        self._view_changed = True
        self._folder: tuple = ()  # (the folder filtered by, its details) last read

    # -- reading ---------------------------------------------------------
    def load_all(self) -> None:
        """Read every run now (what the command line and tests want)."""
        self.load_first(page=None)

    def load_first(self, page: int | None = 0) -> None:
        """Read the newest ``page`` runs (all if None); the others wait in ``pending``,
        newest first, for ``load_more`` (the dashboard's refresh thread) to read them
        behind the first screen. ``page`` 0: FIRST_PAGE."""
        if page == 0:
            page = FIRST_PAGE
        try:
            self._root_mtime = self._mtime()
            ids = run_ids(self.root)
            self.error = None
        except RunyardError as exc:
            ids, self.error = [], str(exc)
        first = ids if page is None else ids[-page:]
        self.pending = ids[: len(ids) - len(first)]
        self.total = len(ids)
        self.runs = {info.id: info for info in load_runs(self.root, first)}
        self._runs_changed = True
        self._active = {i for i, info in self.runs.items() if info.status in WATCHED}
        self.apply_view()

    def load_more(self, count: int = 0) -> set[str]:
        """Read ``count`` (LOAD_BATCH) more of the pending runs, newest first; their ids."""
        count = count or LOAD_BATCH
        batch, self.pending = self.pending[-count:], self.pending[:-count]
        infos = load_runs(self.root, reversed(batch))
        for info in infos:
            self.runs[info.id] = info
            self._note(info)
        self._runs_changed = True
        return {info.id for info in infos}

    def loading(self) -> str:
        """'loading 4,000 of 50,000 runs' while runs wait to be read, else ''."""
        if not self.pending:
            return ""
        return f"loading {self.total - len(self.pending):,} of {self.total:,} runs"

    def _mtime(self) -> int | None:
        """The root's mtime, or None while it is too recent to trust: on a coarse
        clock (1 s on some filesystems) a change in the same tick would not show."""
        try:
            mtime = self.root.stat().st_mtime_ns
        except OSError:
            return None
        return mtime if mtime < (time.time() - 2) * 1e9 else None

    def _note(self, info: RunInfo) -> None:
        (self._active.add if info.status in WATCHED else self._active.discard)(info.id)

    def rescan(self) -> set[str]:
        """Pick up runs that appeared or disappeared; their ids."""
        mtime = self._mtime()
        if mtime is not None and mtime == self._root_mtime and self.error is None:
            return set()  # no entry of the root was added, removed or renamed
        try:
            ids = set(run_ids(self.root))
            self._root_mtime = mtime
            self.error = None
        except RunyardError as exc:
            self.error = str(exc)
            return set()
        if self.pending:  # still to be read by load_more, not new (unless gone)
            self.pending = [i for i in self.pending if i in ids]
            ids -= set(self.pending)
        known = set(self.runs)
        if ids == known:
            return set()
        for run_id in known - ids:
            del self.runs[run_id]
            self.cells.pop(run_id, None)
            self._active.discard(run_id)
        for run_id in ids - known:
            self.runs[run_id] = load_run(self.root, run_id)
            self._note(self.runs[run_id])
        self._runs_changed = self._cells_changed = True
        return ids ^ known

    def reload(self, run_ids_: set[str]) -> set[str]:
        """Read these runs again; the ids whose listing changed."""
        changed = set()
        for run_id in run_ids_:
            if not (self.root / f"{run_id}.meta").is_dir():
                continue
            info = load_run(self.root, run_id)
            old = self.runs.get(run_id)
            if old is None or old.attrs != info.attrs or old.status != info.status or \
                    old.error != info.error:
                changed.add(run_id)
            self.runs[run_id] = info
            self._runs_changed = True
            self._note(info)
        return changed

    def active(self) -> list[str]:
        """Runs whose files can change: live ones, and created ones about to start."""
        return list(self._active)

    def refresh_active(self) -> set[str]:
        """Heartbeat re-scan: new or vanished runs, and the live ones' status."""
        return self.rescan() | self.reload(set(self.active()))

    # -- the view ----------------------------------------------------------
    def set_settings(self, settings: ViewSettings) -> None:
        """Another filter, sort or metric column (not yet applied: see apply_view);
        the cells go when their metric does."""
        if settings.column_metric != self.settings.column_metric:
            self.cells = {}
            self._cells_changed = True
        self.settings = settings

    def uses_cells(self) -> bool:
        """Whether the filter needs every run's cells, not only those on screen."""
        return uses_cells(self.settings.query)

    def apply_view(self) -> None:
        query, cells = self.settings.query, self.cells
        ids = [i for i, info in self.runs.items()
               if evaluate(query, subject(info, cells.get(i)))] \
            if query.alternatives else list(self.runs)
        ids.sort(key=lambda i: self._sort_value(self.runs[i]), reverse=self.settings.reverse)
        self.view, self.grouped = self._grouped(ids)
        self._view_changed = True

    def _grouped(self, ids: list[str]) -> tuple[list[str], set[str]]:
        """A flow run's steps right under it, in the flow's order (a step whose flow
        run is filtered out stands on its own)."""
        shown = set(ids)
        children: dict[str, list[str]] = {}
        top = []
        for run_id in ids:
            parent = step_link(self.runs[run_id]).get("run")
            if parent in shown and parent != run_id:
                children.setdefault(parent, []).append(run_id)
            else:
                top.append(run_id)
        if not children:
            return ids, set()
        view = []
        for run_id in top:
            view.append(run_id)
            steps = children.get(run_id)
            if steps:
                order = list((self.runs[run_id].attrs.get("flow") or {}).get("steps") or {})
                rank = {alias: n for n, alias in enumerate(order)}
                steps.sort(key=lambda i: (rank.get(step_link(self.runs[i]).get("alias"),
                                                   len(rank)), i))
                view += steps
        return view, {i for steps in children.values() for i in steps}

    def _sort_value(self, info: RunInfo):
        key = self.settings.sort_key
        if key == "created":
            return info.id
        if key == "duration":
            return info.duration() or 0.0
        if key == "started":
            moment = parse_iso(info.attrs.get("started"))
            return moment.timestamp() if moment else 0.0
        if key == "progress":
            progress = info.attrs.get("progress") or {}
            total = progress.get("total") or 0
            return progress.get("done", 0) / total if total else -1.0
        return str(getattr(info, key, "") or "").lower()

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for info in self.runs.values():
            counts[info.status] = counts.get(info.status, 0) + 1
        return counts

    def folder_filter(self) -> str | None:
        return folder_of(self.settings.query)

    def folder_info(self) -> dict | None:
        folder = self.folder_filter()
        if not folder:
            return None
        try:
            return folder_details(self.root, folder)
        except ValueError:
            return None

    # -- what the UI draws ----------------------------------------------------------
    def snapshot(self, again: bool = False) -> Snapshot:
        """The runs as they are now, as values the model will not change: the dicts
        are copied only when they changed since the last snapshot. ``again``: read the
        filtered folder's details again (a heartbeat re-scan), not only when the
        folder filtered by changes."""
        last = self._published
        if last is None or self._runs_changed:
            runs, counts = MappingProxyType(dict(self.runs)), MappingProxyType(self.counts())
        else:
            runs, counts = last.runs, last.counts
        cells = MappingProxyType(dict(self.cells)) if last is None or self._cells_changed \
            else last.cells
        view = tuple(self.view) if last is None or self._view_changed else last.view
        folder = self.folder_filter()
        if again or not self._folder or self._folder[0] != folder:
            self._folder = (folder, self.folder_info())
        self._runs_changed = self._cells_changed = self._view_changed = False
        self._published = Snapshot(
            settings=self.settings, runs=runs, view=view, grouped=frozenset(self.grouped),
            cells=cells, counts=counts, active=frozenset(self._active),
            loading=self.loading(), error=self.error, folder_info=self._folder[1],
            metric_names=tuple(sorted(self.metric_names)), ready=True)
        return self._published

    # -- cells ----------------------------------------------------------
    def cell(self, run_id: str) -> Cell:
        """The metric and alert cells of a run, re-read only if its files grew."""
        self.update_cell(run_id)
        return self.cells[run_id]

    def update_cell(self, run_id: str) -> bool:
        """Bring a run's cells up to date; whether what they show changed. Only the
        files that grew are read again (the metrics files for the metric column, the
        alerts files for the alert column)."""
        meta = self.root / f"{run_id}.meta"
        stamp = _series_stamp(meta)
        old = self.cells.get(run_id)
        if old is not None and old.stamp == stamp:
            return False
        cell = Cell(stamp=stamp)
        metrics, alerts = _split_stamp(stamp)
        before = _split_stamp(old.stamp) if old is not None else None
        metric = self.settings.column_metric
        same_metric = old is not None and old.recent is not None and \
            old.recent.metric == metric  # the metric column may have switched meanwhile
        cell.recent = old.recent if same_metric else RecentValues(meta, metric)
        if same_metric and before[0] == metrics:
            cell.last, cell.trend = old.last, old.trend
        else:
            trend = cell.recent.update()  # only what the files gained
            cell.trend = [v for v in trend if math.isfinite(v)]
            cell.last = trend[-1] if trend else None
        cell.alerts = old.alerts if old is not None else CriticalAlerts(meta)
        if before is not None and before[1] == alerts:
            cell.critical = old.critical
        else:
            cell.critical = cell.alerts.update()  # only what the files gained
        self.cells[run_id] = cell
        self._cells_changed = True
        if len(self.metric_names) < MAX_NAMES:
            self.metric_names |= cell.recent.names
        return old is None or (old.last, old.trend, old.critical) != \
            (cell.last, cell.trend, cell.critical)


def folder_counts(runs) -> list[tuple[str, int]]:
    """Every folder of these runs, with the runs in it and under it."""
    counts: dict[str, int] = {}
    for info in runs.values():
        parts = info.folder.strip("/").split("/") if info.folder != "/" else []
        for depth in range(len(parts) + 1):
            folder = "/" + "/".join(parts[:depth])
            counts[folder] = counts.get(folder, 0) + 1
    return sorted(counts.items())


def _split_stamp(stamp: tuple) -> tuple[tuple, tuple]:
    """A cell's stamp as (the metrics files', the alerts files')."""
    return (tuple(s for s in stamp if s[0].startswith("metrics")),
            tuple(s for s in stamp if s[0].startswith("alerts")))


def _series_stamp(meta: Path) -> tuple:
    """The names and sizes of the files a cell is read from (links not followed: the
    readers refuse them, and one may loop)."""
    stamp = []
    try:
        with os.scandir(meta) as entries:
            for entry in entries:
                if entry.name.endswith(".jsonl") and entry.name.startswith(("metrics",
                                                                             "alerts")):
                    stamp.append((entry.name, entry.stat(follow_symlinks=False).st_size))
    except OSError:  # gone, or not a folder we can read: nothing to show
        pass
    return tuple(sorted(stamp))
