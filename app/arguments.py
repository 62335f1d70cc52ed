"""Argument types for numbers on the command line, checked before anything runs.

argparse turns the ``ArgumentTypeError`` these raise into one line naming the
option: ``runyard run: argument --grace: ...``.
"""

import argparse
import math


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (requeues)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1 (workers, iterations, attempts)."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}"
                                         ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds, got {text!r}")
    return value


def seconds(text: str) -> float:
    """A finite number of seconds, zero or more (a grace period, a wait)."""
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text!r}")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds greater than zero (an interval, a timeout)."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text!r}")
    return value
