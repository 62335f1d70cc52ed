"""Following a run's series as they grow, for the dashboard (no textual here).

``RunTail`` reads every writer's file of a run incrementally from byte offsets:
a poll costs what was appended since the last one, never a re-read. It keeps a
bounded window of points per metric, running statistics, the last events and
each alert's state. ``RecentValues`` reads only the end of a metrics file, for
a table cell, and ``CriticalAlerts`` the alerts that are critical.

Each reads a file through a ``series_feed.Follower``: the table's cells and a
detail screen following the same live file read each appended byte once between
them, whichever thread reads first.
"""

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .history import Envelope, as_float, tally
from .jsonl import BadLine
from .layout import ALERTS
from .series import last_changes, series_kind
from .series_feed import Follower
from .untrusted import open_regular, read_upto

SERIES = ("metrics", "events", "alerts")
MAX_ALERTS = 10_000  # alert names a table cell follows in one file


@dataclass
class MetricStats:
    last: float | None = None
    min: float | None = None
    max: float | None = None
    count: int = 0
    last_step: int | None = None
    nonfinite: int = 0  # NaN and infinite floats: counted, not drawn, not in min/max
    points: deque = field(default_factory=lambda: deque(maxlen=2000))  # (step, t, value)
    envelope: Envelope = field(default_factory=Envelope)  # every finite point, downsampled

    def add(self, step, seconds, value) -> None:
        self.last, self.last_step = value, step
        number = tally(self, value)
        if number is not None:
            self.points.append((step, seconds, number))
            self.envelope.add(step, seconds, number)


@dataclass
class TailUpdate:
    metrics: bool = False
    events: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    bad: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.metrics or bool(self.events or self.alerts or self.bad)


class RunTail:
    """Everything a detail view shows of a run's series, kept up to date by ``poll``.

    Records come from ``SeriesReader`` (regular files only, bounded reads,
    every field checked), so ``metrics`` hold numbers, ``events`` and ``alerts``
    hold records whose fields have the types docs/format.md gives, and ``bad``
    (the last MAX_BAD) says which lines were skipped and why.
    """

    MAX_BAD = 200

    def __init__(self, meta_dir: Path, max_points: int = 2000, max_events: int = 2000,
                 first_backlog: int | None = None):
        self.meta_dir = meta_dir
        # A file's first read takes at most its last ``first_backlog`` bytes; what it
        # skipped of a metrics file is noted in ``skipped`` (path: (identity, end)),
        # for ``history.read_history`` to read behind the drawing.
        self.first_backlog = first_backlog
        self.skipped: dict[Path, tuple] = {}
        self.max_points = max_points
        self.readers: dict[Path, tuple[str, Follower]] = {}
        self.metrics: dict[str, MetricStats] = {}
        self.events: deque = deque(maxlen=max_events)
        self.event_count = 0
        self.alerts: dict[str, dict] = {}
        self.alert_history: deque = deque(maxlen=200)
        self.bad: list[BadLine] = []

    def _discover(self) -> None:
        try:
            names = os.listdir(self.meta_dir)
        except OSError:  # gone, not a folder, or not ours to read: nothing to follow
            return
        for name in names:
            kind = series_kind(name)
            if kind in SERIES:
                path = self.meta_dir / name
                if path not in self.readers:
                    self.readers[path] = (kind, Follower(path, kind))

    def poll(self) -> TailUpdate:
        """Read what was appended since the last poll (``events`` and ``alerts`` of
        the update keep the last ``max_events`` of it)."""
        self._discover()
        update = TailUpdate()
        update.events = deque(maxlen=self.events.maxlen)
        update.alerts = deque(maxlen=self.events.maxlen)
        for path, (kind, reader) in self.readers.items():
            first = kind == "metrics" and self.first_backlog is not None and reader.fresh
            for records, bad in reader.chunks(self.first_backlog if first else None):
                if first and reader.skipped is not None and path not in self.skipped:
                    self.skipped[path] = reader.skipped  # not lost: read behind
                    bad = [b for b in bad if b.line != 0 or "skipped" not in b.reason]
                update.bad += bad
                if records:
                    self._take(kind, records, update)
        update.events, update.alerts = list(update.events), list(update.alerts)
        self.bad = (self.bad + update.bad)[-self.MAX_BAD:]
        return update

    def _take(self, kind: str, records: list[dict], update: TailUpdate) -> None:
        if kind == "metrics":
            self._add_metrics(records)
            update.metrics = True
        elif kind == "events":
            self.events.extend(records)
            self.event_count += len(records)
            update.events.extend(records)
        else:
            for record in records:
                self.alerts[record["alert"]] = record
                self.alert_history.append(record)
            update.alerts.extend(records)

    def _add_metrics(self, records: list[dict]) -> None:
        for record in records:
            step, seconds = record.get("s"), record.get("t")
            for name, value in record["v"].items():
                stats = self.metrics.get(name)
                if stats is None:
                    stats = self.metrics[name] = MetricStats(
                        points=deque(maxlen=self.max_points))
                stats.add(step, seconds, value)


class RecentValues:
    """The last ``count`` values of one metric over every metrics file of a run,
    kept up to date incrementally: the first ``update`` reads at most ``window``
    bytes from the end of each file, later ones only what was appended (a table
    cell of a live run costs its new lines, not a re-read of its tail)."""

    def __init__(self, meta_dir: Path, metric: str, count: int = 24, window: int = 32768):
        self.meta_dir = meta_dir
        self.metric = metric
        self.count = count
        self.window = window
        self.readers: dict[str, Follower] = {}
        self.found: list[tuple[float, float]] = []  # (ts, value), the last ``count``
        self.names: set[str] = set()  # every metric seen in what was read (up to 1,000)

    def update(self) -> list[float]:
        """Read what is new; the last values, oldest first (non-finite ones too)."""
        try:
            names = [n for n in os.listdir(self.meta_dir) if series_kind(n) == "metrics"]
        except OSError:
            return self.values()
        added = False
        for name in names:
            reader = self.readers.get(name)
            if reader is None:
                reader = self.readers[name] = Follower(self.meta_dir / name, "metrics")
            for records, _bad in reader.chunks(self.window):  # the window: its first read
                for record in records:
                    if len(self.names) < 1000:
                        self.names.update(record["v"])
                    value = record["v"].get(self.metric)
                    if isinstance(value, int | float):
                        self.found.append((record.get("ts", 0.0), as_float(value)))
                        added = True
        if added:
            self.found.sort(key=lambda p: p[0])
            del self.found[: -self.count]
        return self.values()

    def values(self) -> list[float]:
        return [v for _, v in self.found]


class CriticalAlerts:
    """The alerts whose last change, over every writer's alerts file, was to critical
    (as ``summary.alert_states`` decides: by time where several files are merged, a
    later record winning a tie; in file order where there is one), kept up to date
    incrementally: each update reads what the files gained."""

    def __init__(self, meta_dir: Path):
        self.meta_dir = meta_dir
        self.readers: dict[str, Follower] = {}
        self.last: dict[str, dict[str, str]] = {}  # file -> alert -> its last state
        self.latest: dict[str, dict[str, tuple]] = {}  # file -> alert -> (time, state)

    def update(self) -> list[str]:
        """Read what is new; the names of the alerts that are critical."""
        try:
            names = [n for n in os.listdir(self.meta_dir) if series_kind(n) == "alerts"]
            for name in names:
                reader = self.readers.get(name)
                if reader is None:
                    reader = self.readers[name] = Follower(self.meta_dir / name, "alerts")
                    self.last[name], self.latest[name] = {}, {}
                for records, _bad in reader.chunks():
                    self._take(name, records)
        except OSError:  # gone, or not ours to read: what was read stands
            pass
        return self.critical()

    def _take(self, name: str, records: list[dict]) -> None:
        last, latest = self.last[name], self.latest[name]
        for record in records:
            alert, state, moment = record["alert"], record["state"], record.get("ts", 0)
            if alert not in last and len(last) >= MAX_ALERTS:
                continue  # a file of endless names costs a table cell no more
            last[alert] = state
            if moment >= latest.get(alert, (moment,))[0]:
                latest[alert] = (moment, state)

    def critical(self) -> list[str]:
        files = sorted(self.readers, key=lambda n: (n != ALERTS, n))  # as series_files
        if any(name != ALERTS for name in files):  # another writer's: merged by time
            states = last_changes(((alert, moment, state) for name in files
                                   for alert, (moment, state) in self.latest[name].items()),
                                  by_time=True)
        else:
            states = self.last.get(ALERTS, {})
        return [alert for alert, state in states.items() if state == "critical"]


class TextTail:
    """New complete lines of a growing text file (an output log); ``error`` says
    why the file cannot be read, while it cannot."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.error: str | None = None

    def read_new(self, limit: int = 1 << 20) -> list[str]:
        try:
            with open_regular(self.path) as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.offset:
                    self.offset = 0
                if size - self.offset > limit:  # a huge backlog: show its end
                    self.offset = size - limit
                f.seek(self.offset)
                data = read_upto(f, size - self.offset)
        except FileNotFoundError:
            return []
        except OSError as exc:
            self.error = str(exc)
            return []
        self.error = None
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return data[:end].decode("utf-8", "replace").split("\n")
