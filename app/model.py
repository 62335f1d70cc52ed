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

from runyard.engine import load_run
from runyard.engine.errors import RunyardError
from runyard.engine.folders import folder_details
from runyard.engine.meta import parse_iso
from runyard.engine.store import RunInfo, load_runs, run_ids
from runyard.engine.tail import RecentValues

from .filter_query import (
    FilterError,
    Query,
    Subject,
    evaluate,
    folder_of,
    metrics_of,
    parse,
    uses_cells,
)

ACTIVE = ("running", "paused")
WATCHED = ("running", "paused", "created")  # a created run may start at any moment
SORT_KEYS = ("created", "name", "status", "folder", "started", "duration", "progress")
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
    def __init__(self, root: Path):
        self.root = root
        self.runs: dict[str, RunInfo] = {}
        self.view: list[str] = []
        self.filter_text = ""  # as the user typed it; always a valid filter
        self.query = Query()  # filter_text, parsed
        self.sort_key = "created"
        self.reverse = True  # newest first
        self.metric: str | None = None
        self.grouped: set[str] = set()  # step runs shown under their flow run
        self._active: set[str] = set()   # kept up to date as runs are (re)read
        self._root_mtime: int | None = None
        self.cells: dict[str, Cell] = {}
        self.error: str | None = None
        self.pending: list[str] = []  # ids not read yet, oldest first
        self.total = 0  # runs in the root at the first read

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
        self._active = {i for i, info in self.runs.items() if info.status in WATCHED}
        self.apply_view()

    def load_more(self, count: int = 0) -> set[str]:
        """Read ``count`` (LOAD_BATCH) more of the pending runs, newest first; their ids."""
        count = count or LOAD_BATCH
        batch, self.pending = self.pending[-count:], self.pending[:-count]
        infos = load_runs(self.root, reversed(batch))
        runs = dict(self.runs)  # copy, change, swap: the UI thread may be iterating
        for info in infos:
            runs[info.id] = info
            self._note(info)
        self.runs = runs
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
        # Copy, change, then swap: the UI thread may be iterating the old dicts (a
        # dict that grows or shrinks under an iteration raises RuntimeError).
        runs, cells = dict(self.runs), dict(self.cells)
        for run_id in known - ids:
            del runs[run_id]
            cells.pop(run_id, None)
            self._active.discard(run_id)
        for run_id in ids - known:
            runs[run_id] = load_run(self.root, run_id)
            self._note(runs[run_id])
        self.runs, self.cells = runs, cells
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
            if old is None:  # a new key: copy and swap, as in rescan()
                self.runs = {**self.runs, run_id: info}
            else:
                self.runs[run_id] = info
            self._note(info)
        return changed

    def active(self) -> list[str]:
        """Runs whose files can change: live ones, and created ones about to start."""
        return list(self._active)

    def refresh_active(self) -> set[str]:
        """Heartbeat re-scan: new or vanished runs, and the live ones' status."""
        return self.rescan() | self.reload(set(self.active()))

    # -- the view ----------------------------------------------------------
    def set_filter(self, text: str) -> bool:
        """Filter by ``text`` (not yet applied: see apply_view); whether the metric
        column switched to the metric it compares. A filter that cannot be understood
        raises FilterError and the one before stays."""
        query = parse(text)
        metrics = metrics_of(query)
        if len(metrics) > 1:
            raise FilterError("metric: compares one metric at a time (the METRIC "
                              f"column's), not {', '.join(sorted(metrics))}")
        self.filter_text, self.query = text.strip(), query
        if metrics and metrics != {self.metric or "loss"}:
            self.metric = metrics.pop()
            self.cells.clear()
            return True
        return False

    def uses_cells(self) -> bool:
        """Whether the filter needs every run's cells, not only those on screen."""
        return uses_cells(self.query)

    def apply_view(self) -> None:
        query, cells = self.query, self.cells
        ids = [i for i, info in self.runs.items()
               if evaluate(query, subject(info, cells.get(i)))] \
            if query.alternatives else list(self.runs)
        ids.sort(key=lambda i: self._sort_value(self.runs[i]), reverse=self.reverse)
        self.view, self.grouped = self._grouped(ids)

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
        key = self.sort_key
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

    def folders(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for info in self.runs.values():
            parts = info.folder.strip("/").split("/") if info.folder != "/" else []
            for depth in range(len(parts) + 1):
                folder = "/" + "/".join(parts[:depth])
                counts[folder] = counts.get(folder, 0) + 1
        return sorted(counts.items())

    def folder_filter(self) -> str | None:
        return folder_of(self.query)

    def folder_info(self) -> dict | None:
        folder = self.folder_filter()
        if not folder:
            return None
        try:
            return folder_details(self.root, folder)
        except ValueError:
            return None

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
        metric = self.metric or "loss"
        same_metric = old is not None and old.recent is not None and \
            old.recent.metric == metric  # the metric column may have switched meanwhile
        cell.recent = old.recent if same_metric else RecentValues(meta, metric)
        if same_metric and before[0] == metrics:
            cell.last, cell.trend = old.last, old.trend
        else:
            trend = cell.recent.update()  # only what the files gained
            cell.trend = [v for v in trend if math.isfinite(v)]
            cell.last = trend[-1] if trend else None
        if before is not None and before[1] == alerts:
            cell.critical = old.critical
        else:
            cell.critical = critical_alerts(meta)
        self.cells[run_id] = cell
        return old is None or (old.last, old.trend, old.critical) != \
            (cell.last, cell.trend, cell.critical)


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


def critical_alerts(meta: Path) -> list[str]:
    """Alerts whose last change, over every writer's file, was to critical."""
    from runyard.engine.summary import alert_states

    try:
        states, _bad = alert_states(meta)
    except OSError:
        return []
    return [a["name"] for a in states if a.get("state") == "critical"]
