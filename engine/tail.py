"""Following a run's series as they grow, for the dashboard (no textual here).

``RunTail`` reads every writer's file of a run incrementally from byte offsets:
a poll costs what was appended since the last one, never a re-read. It keeps a
bounded window of points per metric, running statistics, the last events and
each alert's state. ``recent_values`` reads only the end of a metrics file, for
a table cell.
"""

import math
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .jsonl import BadLine, SeriesReader
from .series import decode_value

SERIES = ("metrics", "events", "alerts")


@dataclass
class MetricStats:
    last: float | None = None
    min: float | None = None
    max: float | None = None
    count: int = 0
    last_step: int | None = None
    points: deque = field(default_factory=lambda: deque(maxlen=2000))  # (step, t, value)

    def add(self, step, seconds, value) -> None:
        self.count += 1
        self.last, self.last_step = value, step
        if isinstance(value, bool):
            value = float(value)
        if isinstance(value, int | float) and not (isinstance(value, float) and
                                                   math.isnan(value)):
            self.min = value if self.min is None else min(self.min, value)
            self.max = value if self.max is None else max(self.max, value)
            self.points.append((step, seconds, float(value)))


@dataclass
class TailUpdate:
    metrics: bool = False
    events: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    bad: list = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.metrics or bool(self.events or self.alerts or self.bad)


class RunTail:
    def __init__(self, meta_dir: Path, max_points: int = 2000, max_events: int = 2000):
        self.meta_dir = meta_dir
        self.max_points = max_points
        self.readers: dict[Path, tuple[str, SeriesReader]] = {}
        self.metrics: dict[str, MetricStats] = {}
        self.events: deque = deque(maxlen=max_events)
        self.event_count = 0
        self.alerts: dict[str, dict] = {}
        self.alert_history: deque = deque(maxlen=200)
        self.bad: list[BadLine] = []

    def _discover(self) -> None:
        try:
            names = os.listdir(self.meta_dir)
        except FileNotFoundError:
            return
        for name in names:
            kind = name.split(".", 1)[0]
            if kind in SERIES and name.endswith(".jsonl"):
                path = self.meta_dir / name
                if path not in self.readers:
                    self.readers[path] = (kind, SeriesReader(path))

    def poll(self) -> TailUpdate:
        """Read what was appended since the last poll."""
        self._discover()
        update = TailUpdate()
        for kind, reader in self.readers.values():
            records, bad = reader.read_new()
            update.bad += bad
            if not records:
                continue
            if kind == "metrics":
                self._add_metrics(records)
                update.metrics = True
            elif kind == "events":
                self.events.extend(records)
                self.event_count += len(records)
                update.events += records
            else:
                for record in records:
                    if isinstance(record.get("alert"), str):
                        self.alerts[record["alert"]] = record
                        self.alert_history.append(record)
                update.alerts += records
        self.bad += update.bad
        return update

    def _add_metrics(self, records: list[dict]) -> None:
        for record in records:
            values = record.get("v")
            if not isinstance(values, dict):
                continue
            step, seconds = record.get("s"), record.get("t")
            for name, raw in values.items():
                stats = self.metrics.get(name)
                if stats is None:
                    stats = self.metrics[name] = MetricStats(
                        points=deque(maxlen=self.max_points))
                stats.add(step, seconds, decode_value(raw))


def recent_values(meta_dir: Path, metric: str, count: int = 24,
                  window: int = 32768) -> list[float]:
    """The last ``count`` values of ``metric``, from the ends of the metrics files."""
    import json

    found: list[tuple[float, float]] = []
    try:
        names = [n for n in os.listdir(meta_dir)
                 if n.startswith("metrics") and n.endswith(".jsonl")]
    except FileNotFoundError:
        return []
    for name in names:
        try:
            with open(meta_dir / name, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(max(0, size - window))
                chunk = f.read()
        except OSError:
            continue
        lines = chunk.split(b"\n")[1:-1] if size > window else chunk.split(b"\n")[:-1]
        for line in lines:
            try:
                record = json.loads(line)
                value = decode_value(record["v"][metric])
            except (ValueError, KeyError, TypeError):
                continue
            if isinstance(value, int | float):
                found.append((record.get("ts") or 0, float(value)))
    found.sort(key=lambda p: p[0])
    return [v for _, v in found[-count:]]


class TextTail:
    """New complete lines of a growing text file (an output log)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def read_new(self, limit: int = 1 << 20) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.offset:
                    self.offset = 0
                if size - self.offset > limit:  # a huge backlog: show its end
                    self.offset = size - limit
                f.seek(self.offset)
                data = f.read(size - self.offset)
        except OSError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return data[:end].decode("utf-8", "replace").split("\n")
