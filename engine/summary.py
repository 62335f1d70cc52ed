"""Summaries of a run's series for ``runyard show``: metrics, events, alerts.

Each summary reads every writer's file of a series a chunk at a time and keeps
only what it reports, so a long series costs time, not memory. Records from
several files are taken in time order (``ts``; a record without one counts as
0), as if the files were merged: of records with the same time, the one read
later wins.
"""

import heapq
import math
from collections import deque
from pathlib import Path

from .alerts import SOURCES
from .jsonl import BadLine, SeriesReader
from .layout import ALERT_DEFS, ALERTS, EVENTS, METRICS, series_files
from .series import last_changes
from .shapes import FLAG, NUMBER, TEXT, WrongShape, check_fields, one_of
from .untrusted import ALERT_DEFS_MAX, NotReadable, read_json

DEFINITION = {"name": (TEXT, True), "source": (one_of(*SOURCES), False),
              "rule": (TEXT, False), "metric": (TEXT, False), "pattern": (TEXT, False),
              "aggregation": (TEXT, False), "notification": (TEXT, False),
              "description": (TEXT, False), "threshold": (NUMBER, False),
              "range_low": (NUMBER, False), "range_high": (NUMBER, False),
              "window": (NUMBER, False), "frequency": (NUMBER, False),
              "trigger_abort": (FLAG, False)}


def each_record(meta_dir: Path, name: str, bad: list[BadLine]):
    """Every record of a series from all its writers' files, file by file; bad
    lines are added to ``bad``."""
    for path in series_files(meta_dir, name):
        for records, wrong in SeriesReader(path).chunks():
            bad += wrong
            yield from records


def read_series(meta_dir: Path, name: str) -> tuple[list[dict], list[BadLine]]:
    """Every record of a series from all its writers' files, in time order."""
    bad: list[BadLine] = []
    records = list(each_record(meta_dir, name, bad))
    if len(series_files(meta_dir, name)) > 1:
        records.sort(key=lambda r: r.get("ts", 0))
    return records, bad


def _update_metric(stats: dict, name: str, value, step, when: float) -> None:
    entry = stats.get(name)
    if entry is None:
        entry = stats[name] = {"last": None, "count": 0, "min": None, "max": None,
                               "last_step": None, "nonfinite": 0, "_when": when}
    entry["count"] += 1
    if when >= entry["_when"]:
        entry["last"], entry["last_step"], entry["_when"] = value, step, when
    if isinstance(value, float) and not math.isfinite(value):
        entry["nonfinite"] += 1  # NaN and the infinities: counted, never a min or max
    else:
        entry["min"] = value if entry["min"] is None else min(entry["min"], value)
        entry["max"] = value if entry["max"] is None else max(entry["max"], value)


def metric_summary(meta_dir: Path) -> tuple[dict, list[BadLine]]:
    """Per metric name: last, count, min, max (of the finite values), last_step and
    nonfinite (how many values were NaN or infinite)."""
    bad: list[BadLine] = []
    stats: dict = {}
    merged = len(series_files(meta_dir, METRICS)) > 1
    for record in each_record(meta_dir, METRICS, bad):
        when = record.get("ts", 0) if merged else 0
        for name, value in record["v"].items():
            _update_metric(stats, name, value, record.get("s"), when)
    for entry in stats.values():
        del entry["_when"]
    return stats, bad


def event_summary(meta_dir: Path, last: int = 20) -> tuple[dict, list[BadLine]]:
    """The number of events and the last ``last`` of them."""
    bad: list[BadLine] = []
    merged = len(series_files(meta_dir, EVENTS)) > 1
    newest: list = []  # a heap of (ts, order, event) when merging: the latest
    in_order: deque = deque(maxlen=last)  # one file: its last lines
    count = 0
    for record in each_record(meta_dir, EVENTS, bad):
        count += 1
        if not merged:
            in_order.append(record)
        elif len(newest) < last:
            heapq.heappush(newest, (record.get("ts", 0), count, record))
        elif last:
            heapq.heappushpop(newest, (record.get("ts", 0), count, record))
    events = [event for _, _, event in sorted(newest, key=lambda item: item[:2])] \
        if merged else list(in_order)
    return {"count": count, "last": events}, bad


def read_alert_definitions(meta_dir: Path) -> tuple[list[dict], list[BadLine]]:
    """The alert definitions of ``alerts.json`` whose fields have their types; the
    others as bad lines numbered by their place in the list."""
    path = meta_dir / ALERT_DEFS
    try:
        defs = read_json(path, ALERT_DEFS_MAX)
    except FileNotFoundError:
        return [], []
    except NotReadable as exc:
        return [], [BadLine(str(path), 0, f"cannot read: it {exc.why}")]
    if not isinstance(defs, list):
        return [], [BadLine(str(path), 0, "not a JSON list")]
    good, bad = [], []
    for number, definition in enumerate(defs, 1):
        try:
            if not isinstance(definition, dict):
                raise WrongShape("not a JSON object")
            check_fields(definition, DEFINITION)
        except WrongShape as exc:
            bad.append(BadLine(str(path), number, str(exc)))
            continue
        good.append(definition)
    return good, bad


def alert_definitions(meta_dir: Path) -> list[dict]:
    return read_alert_definitions(meta_dir)[0]


def alert_states(meta_dir: Path) -> tuple[list[dict], list[BadLine]]:
    """Each alert with its current state (``ok`` until it first changes)."""
    definitions, bad = read_alert_definitions(meta_dir)
    states: dict[str, dict] = {d["name"]: {"name": d["name"], "state": "ok", "since": None}
                               for d in definitions}
    merged = len(series_files(meta_dir, ALERTS)) > 1
    states.update(last_changes(
        ((r["alert"], r.get("ts", 0), {"name": r["alert"], "state": r["state"],
                                       "since": r.get("ts"), "value": r.get("value")})
         for r in each_record(meta_dir, ALERTS, bad)), merged))
    return list(states.values()), bad
