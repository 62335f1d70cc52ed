"""The records of a run's series files and how their values are encoded.

metrics.jsonl  {"s": step, "t": seconds since start, "ts": epoch seconds, "v": {name: value}}
events.jsonl   {"ts": epoch seconds, "level": "info", "msg": text, ...}
alerts.jsonl   {"ts": epoch seconds, "alert": name, "state": "ok"|"critical", "value": ...}

JSON has no NaN or infinities, so a non-finite metric value is written as the
string "NaN", "Infinity" or "-Infinity"; metric values are never strings
otherwise, so decoding is unambiguous.
"""

import math

_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


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
    return {"s": step, "t": seconds, "ts": timestamp,
            "v": {name: encode_value(v) for name, v in values.items()}}
