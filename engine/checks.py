"""Argument checks for the tracking API, each raising UsageError with the value."""

import math
import numbers
import re
import sys
from datetime import UTC, datetime

from .errors import UsageError
from .validate import TEXT_MAX, is_utf8

METRIC_NAME = re.compile(r"[A-Za-z0-9_\-/.:=><+()% ]{1,200}")  # whole: fullmatch
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
CATEGORIES = ("code", "input", "output")
_FLOAT_MAX = int(sys.float_info.max)


def metric_name(name) -> str:
    if not isinstance(name, str) or not METRIC_NAME.fullmatch(name) or not name.strip():
        raise UsageError(f"invalid metric name {name!r}: use 1 to 200 letters, digits, "
                         "spaces and -_/.:=><+()%")
    return name


def metric_value(name: str, value) -> float | int | bool:
    """A number or bool (numpy scalars of every kind become Python ones); never a
    string, an array or an integer too large for a float."""
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        number = int(value)
        if abs(number) > _FLOAT_MAX:
            raise UsageError(f"metric {name!r}: the integer {str(number)[:20]}... is too "
                             "large for a float, and readers could not compare it")
        return number
    if isinstance(value, numbers.Real):
        return float(value)
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind == "b" and getattr(value, "ndim", None) == 0:  # numpy.bool_ is no Integral
        return bool(value)
    if kind is not None:
        raise UsageError(f"metric {name!r} is a numpy array ({kind!r} kind, shape "
                         f"{getattr(value, 'shape', '?')}): runyard records one number "
                         "per metric and step; log each value under its own name")
    raise UsageError(f"metric {name!r} must be an int, float or bool, not "
                     f"{type(value).__name__} {value!r}"[:300])


def metrics_dict(metrics) -> dict:
    """A checked copy of a metrics dict."""
    if not isinstance(metrics, dict):
        raise UsageError(f"metrics must be a dict of names to numbers, not "
                         f"{type(metrics).__name__} {metrics!r}")
    return {metric_name(k): metric_value(k, v) for k, v in metrics.items()}


def step(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise UsageError(f"step must be a non-negative int, got {value!r}")
    return int(value)


def seconds(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value):
        raise UsageError(f"time must be a finite number of seconds, got {value!r}")
    return float(value)


def timestamp(value) -> float:
    """Seconds since the epoch from a number, a datetime or 'YYYY-MM-DD hh:mm:ss.zzzzzz'."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(f"timestamp must look like 'YYYY-MM-DD hh:mm:ss.zzzzzz', got "
                             f"{value!r}") from None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool) and \
            math.isfinite(value):
        return float(value)
    else:
        raise UsageError(f"timestamp must be a string, datetime or number, got {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # Simvue's timestamps are UTC
    return moment.timestamp()


def log_level(level) -> str:
    if level not in LOG_LEVELS:
        raise UsageError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return level


def message(text) -> str:
    if not isinstance(text, str):
        raise UsageError(f"an event message must be a string, not {type(text).__name__} "
                         f"{text!r}")
    if not is_utf8(text):
        raise UsageError(f"an event message cannot hold lone surrogates: {text[:40]!r}...")
    if len(text) > TEXT_MAX:
        raise UsageError(f"an event message may have at most {TEXT_MAX} characters, not "
                         f"{len(text)}")
    return text


def category(value) -> str:
    if value not in CATEGORIES:
        raise UsageError(f"category must be one of {', '.join(CATEGORIES)}, got {value!r}")
    return value


def positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise UsageError(f"{name} must be a positive int, got {value!r}")
    return value


def positive_number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value) or value <= 0:
        raise UsageError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be True or False, got {value!r}")
    return value


def path(what: str, value) -> str:
    """A file system path given as ``str`` or ``os.PathLike``."""
    import os

    try:
        text = os.fspath(value)
    except TypeError:
        text = None
    if not isinstance(text, str) or not text or "\x00" in text:
        raise UsageError(f"{what} must be a path (str or os.PathLike), got "
                         f"{value!r}"[:300])
    return text
