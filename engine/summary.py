"""Summaries of a run's series for ``runyard show``: metrics, events, alerts."""

import json
import math
from collections import deque
from pathlib import Path

from .jsonl import BadLine, read_all
from .layout import ALERT_DEFS, ALERTS, EVENTS, METRICS, series_files
from .series import decode_value


def read_series(meta_dir: Path, name: str) -> tuple[list[dict], list[BadLine]]:
    """Every record of a series from all its writers' files, in time order."""
    records: list[dict] = []
    bad: list[BadLine] = []
    files = series_files(meta_dir, name)
    for path in files:
        found, wrong = read_all(path)
        records += found
        bad += wrong
    if len(files) > 1:
        records.sort(key=lambda r: r.get("ts") or 0)
    return records, bad


def _update_metric(stats: dict, name: str, value, step) -> None:
    entry = stats.get(name)
    if entry is None:
        entry = stats[name] = {"last": None, "count": 0, "min": None, "max": None,
                               "last_step": None}
    entry["last"] = value
    entry["count"] += 1
    entry["last_step"] = step
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        entry["min"] = value if entry["min"] is None else min(entry["min"], value)
        entry["max"] = value if entry["max"] is None else max(entry["max"], value)


def metric_summary(meta_dir: Path) -> tuple[dict, list[BadLine]]:
    """Per metric name: last, count, min, max and last_step."""
    records, bad = read_series(meta_dir, METRICS)
    stats: dict = {}
    for record in records:
        values = record.get("v")
        if not isinstance(values, dict):
            continue
        for name, raw in values.items():
            _update_metric(stats, name, decode_value(raw), record.get("s"))
    return stats, bad


def event_summary(meta_dir: Path, last: int = 20) -> tuple[dict, list[BadLine]]:
    """The number of events and the last ``last`` of them."""
    records, bad = read_series(meta_dir, EVENTS)
    return {"count": len(records), "last": list(deque(records, maxlen=last))}, bad


def alert_definitions(meta_dir: Path) -> list[dict]:
    try:
        defs = json.loads((meta_dir / ALERT_DEFS).read_bytes())
    except (FileNotFoundError, ValueError):
        return []
    return [d for d in defs if isinstance(d, dict) and "name" in d] \
        if isinstance(defs, list) else []


def alert_states(meta_dir: Path) -> tuple[list[dict], list[BadLine]]:
    """Each alert with its current state (``ok`` until it first changes)."""
    records, bad = read_series(meta_dir, ALERTS)
    states: dict[str, dict] = {d["name"]: {"name": d["name"], "state": "ok", "since": None}
                               for d in alert_definitions(meta_dir)}
    for record in records:
        name = record.get("alert")
        if not isinstance(name, str):
            continue
        states[name] = {"name": name, "state": record.get("state", "ok"),
                        "since": record.get("ts"), "value": record.get("value")}
    return list(states.values()), bad
