"""The records of a run's series files: how they are encoded and decoded.

metrics.jsonl  [step, seconds since start, epoch seconds, {name: value}(, instance)]
               (the compact line; older files hold the same as an object:
               {"s": step, "t": seconds, "ts": epoch seconds, "v": {...}, "instance": ...})
events.jsonl   {"ts": epoch seconds, "level": "info", "msg": text, ...}
alerts.jsonl   {"ts": epoch seconds, "alert": name, "state": "ok"|"critical", "value": ...}
files.jsonl    {"ts": ..., "name": ..., "category": ..., "path": ..., "size": ..., ...}

JSON has no NaN or infinities, so a non-finite metric value is written as the
string "NaN", "Infinity" or "-Infinity"; metric values are never strings
otherwise, so decoding is unambiguous.

``encode_point`` is the one encoder of a metric line (``Run.log_metrics`` inlines
its common case: orjson, checked for a NaN or an infinity written as null), and
``encode_record`` of every other line (events, alert changes, saved files): orjson,
and the standard library's exact encoder for what orjson refuses, an integer beyond
64 bits. The bytes are orjson's wherever it can write the record.

``decode_points`` decodes many metric lines at once, for a reader of a long
history: one orjson call for all, the common case split into columns by the
builtins, and every line that is not plainly a compact point of numbers decoded
alone, as below. ``decode_record`` is how every reader turns a line into a record: JSON decoded
as ``untrusted.decode_json`` does it, then every field a reader uses checked
for its type (docs/format.md). A line that fails is a bad line, reported with
its file and line and skipped; it never makes the run unreadable. A decoded
metric record has its values decoded too (floats for the non-finite strings).
"""

import contextlib
import json
import math

import orjson

from .alerts import STATES as ALERT_STATES
from .checks import CATEGORIES, LOG_LEVELS
from .shapes import (
    COUNT,
    NUMBER,
    OBJECT,
    TEXT,
    TEXT_OR_NULL,
    Kind,
    WrongShape,
    brief,
    check_fields,
    is_number,
    label,
    one_of,
    scalar_map,
)
from .untrusted import decode_json

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_ROUNDED = float(2**63)  # orjson's floats from here up may be integers it rounded
_NUMBERS = frozenset((int, float))  # what a value of a plain point may be (never a bool)
SCALAR_OR_NULL = Kind(lambda v: v is None or isinstance(v, str | bool) or is_number(v),
                      "a string, a number, a bool or null")

FIELDS = {
    "metrics": {"s": (COUNT, False), "t": (NUMBER, False), "ts": (NUMBER, False),
                "v": (OBJECT, True), "instance": (TEXT, False)},
    "events": {"ts": (NUMBER, False), "level": (one_of(*LOG_LEVELS), False),
               "msg": (TEXT, True), "instance": (TEXT, False)},
    "alerts": {"ts": (NUMBER, False), "alert": (TEXT, True),
               "state": (one_of(*ALERT_STATES), True), "value": (SCALAR_OR_NULL, False)},
    "files": {"ts": (NUMBER, False), "name": (TEXT, True),
              "category": (one_of(*CATEGORIES), False), "path": (TEXT, False),
              "size": (COUNT, False), "mime": (TEXT, False), "sha256": (TEXT, False),
              "source": (TEXT_OR_NULL, False)},
}


def encode_value(value: float | int | bool):
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_value(value) -> float | int | bool | None:
    if isinstance(value, str):
        return _NON_FINITE.get(value)
    return value


def metric_record(step: int, seconds: float, timestamp: float, values: dict) -> dict:
    """A metric point in the older object form (still read; tests and demos write it)."""
    return {"s": step, "t": seconds, "ts": timestamp,
            "v": {name: encode_value(v) for name, v in values.items()}}


NEWLINE = orjson.OPT_APPEND_NEWLINE
POINT = ("s", "t", "ts", "v", "instance")  # the fields of a compact line, in order


def encode_point(point: tuple) -> bytes:
    """A metric point ``(step, seconds, epoch seconds, values[, instance])`` of
    checked arguments as one compact line, newline included."""
    try:
        line = orjson.dumps(point, option=NEWLINE)
    except TypeError:  # orjson stops at 64-bit integers; json does not
        return _exact_line([*point[:3], _finite(point[3]), *point[4:]])
    if b":null" in line:  # orjson writes NaN and the infinities as null
        line = orjson.dumps((*point[:3], _finite(point[3]), *point[4:]), option=NEWLINE)
    return line


def encode_record(record: dict) -> bytes:
    """An event, an alert change or a saved file's record as one compact line, newline
    included. A float that is not finite is written as null (an alert's value of NaN:
    only metric values have names for them). TypeError or ValueError if it is no JSON."""
    try:
        return orjson.dumps(record, option=NEWLINE)
    except TypeError:  # orjson stops at 64-bit integers (and refuses what json does too)
        return _exact_line(record)


def _exact_line(value) -> bytes:
    """``value`` as compact JSON by the standard library, which writes integers of any
    size exactly (and refuses NaN, where orjson writes null)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8") + b"\n"


def _finite(values: dict) -> dict:
    return {name: encode_value(value) for name, value in values.items()}


def series_kind(file_name: str) -> str | None:
    """``metrics`` for ``metrics.jsonl`` and ``metrics.w0.jsonl``; None if not a series."""
    kind = file_name.split(".", 1)[0]
    return kind if kind in FIELDS and file_name.endswith(".jsonl") else None


def decode_record(line: bytes, kind: str | None, exact: bool | None = None) -> dict:
    """One line as a checked record; ValueError (one line) if it is not one.

    ``exact`` as for ``untrusted.decode_json``.
    """
    try:
        record = decode_json(line, exact)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if kind == "metrics" and isinstance(record, list):
        record = _from_compact(record)
    elif not isinstance(record, dict):
        raise ValueError("not a JSON object")
    if kind is None:
        return record
    check_fields(record, FIELDS[kind])
    if kind == "metrics":
        record["v"] = _metric_values(record["v"])
    elif kind == "files" and "metadata" in record:
        scalar_map("metadata", record["metadata"])
    return record


def _from_compact(line: list) -> dict:
    """A compact metric line as the record its object form is; its fields are then
    checked as the object's are."""
    if len(line) not in (4, 5):
        raise WrongShape(f"a metric line holds 4 or 5 values, not {len(line)}")
    return dict(zip(POINT, line, strict=False))


def _metric_values(values: dict) -> dict:
    decoded = {}
    for name, value in values.items():
        if isinstance(value, str):
            if value not in _NON_FINITE:
                raise WrongShape(f"'v.{label(name)}' must be a number, not {brief(value)}")
            value = _NON_FINITE[value]
        elif not (isinstance(value, bool) or is_number(value)):
            raise WrongShape(f"'v.{label(name)}' must be a number, not {brief(value)}")
        decoded[name] = value
    return decoded


def decode_points(lines: list[bytes]) -> tuple[int, dict, list]:
    """Many metric lines at once: (how many are plain compact points, their values as
    columns ``{name: (steps, times, values)}``, and every other line that is not
    blank as ``(index, record)``, or ``(index, reason)`` if it is a bad line).

    orjson reads an integer beyond 64 bits as the nearest float, where the exact
    reader keeps it whole: a point with a number of that size anywhere (a float,
    then, of at least 2**63) is decoded alone, exactly. (Looking for long runs of
    digits in the text instead cost a third of the whole read.)"""
    items = [None] * len(lines)  # every line alone: one of them is not JSON
    with contextlib.suppress(orjson.JSONDecodeError):
        items = orjson.loads(b"[" + b",".join(line or b"null" for line in lines) + b"]")
    bulk = _same_shape_columns(items)
    if bulk is not None:  # the common case, checked and split by the builtins at once
        return len(items), bulk, []
    plain, columns, others = 0, {}, []
    for index, (line, item) in enumerate(zip(lines, items, strict=True)):
        if _plain_point(item):
            step, seconds = item[0], item[1]
            for name, value in item[3].items():
                column = columns.get(name)
                if column is None:
                    column = columns[name] = ([], [], [])
                column[0].append(step)
                column[1].append(seconds)
                column[2].append(value)
            plain += 1
        elif line.strip():
            try:
                others.append((index, decode_record(line, "metrics")))
            except ValueError as exc:
                others.append((index, str(exc)))
    return plain, columns, others


def _plain_point(item) -> bool:
    """Whether ``item`` (as orjson read a line) is a compact point that
    ``decode_record`` would take as it is: exact types, no number orjson may have
    rounded."""
    return (type(item) is list and len(item) in (4, 5) and type(item[0]) is int and
            item[0] >= 0 and type(item[3]) is dict and
            type(item[1]) in (int, float) and type(item[2]) in (int, float) and
            (len(item) == 4 or type(item[4]) is str) and
            _NUMBERS.issuperset(map(type, item[3].values())) and
            -_ROUNDED < item[1] < _ROUNDED and -_ROUNDED < item[2] < _ROUNDED and
            min(item[3].values(), default=0) > -_ROUNDED and
            max(item[3].values(), default=0) < _ROUNDED)


def _same_shape_columns(items: list) -> dict | None:
    """The columns of ``items`` if every one is a compact point of the same metrics,
    in the same order, that ``_plain_point`` would take (exact types,
    no number orjson may have rounded); None for anything else, which is then read
    point by point. A run logs the same metrics at every step: its history is read
    by a few passes of the builtins instead of a Python loop over the points."""
    if not items or set(map(type, items)) != {list} or set(map(len, items)) != {4}:
        return None
    steps, times, stamps, points = zip(*items, strict=True)  # all of length 4
    if set(map(type, steps)) != {int} or min(steps) < 0 or \
            set(map(type, points)) != {dict}:
        return None
    for column in (times, stamps):
        if not set(map(type, column)) <= _NUMBERS or \
                not -_ROUNDED < min(column) <= max(column) < _ROUNDED:
            return None
    names = set(map(tuple, points))
    if len(names) != 1 or not (names := names.pop()):
        return None
    columns = {}
    for name in names:
        values = [point[name] for point in points]
        if not set(map(type, values)) <= _NUMBERS or \
                not -_ROUNDED < min(values) <= max(values) < _ROUNDED:
            return None
        columns[name] = (list(steps), list(times), values)
    return columns


def last_changes(changes, by_time: bool) -> dict:
    """name -> the value of its last change, from ``(name, time, value)`` in the order
    read. The rule for alert states: with one writer's file, the last in file order;
    with several files merged (``by_time``), the latest by time, the one read later
    winning a tie."""
    found: dict = {}
    when: dict = {}
    for name, moment, value in changes:
        moment = moment if by_time else 0
        if moment >= when.get(name, moment):
            when[name], found[name] = moment, value
    return found
