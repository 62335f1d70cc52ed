"""Progress within a run and within its instances, and the time left.

A run module (``current_run().log_progress(0.4)`` or ``progress(0.4)``) or a
tracked script (``run.log_progress(0.4)``) reports the fraction done of what it
works on now. The call only keeps the number; the writer thread records it at
most every ``WRITE_EVERY`` seconds, and only when it changed:

- a worker of the engine (an attached handle, working on an instance) in its own
  whole file ``progress.<writer>.json``: ``{"key": "00001-0", "instance": ...,
  "fraction": 0.4, "ts": ..., "started": ...}`` (``key`` null once that instance
  ended; ``"run": true`` and no key from a command's ``Run()``, whose progress
  is the run's); the supervisor folds them into the run's;
- a run's own figure in ``attrs.json`` as ``"eta": {"fraction": 0.42,
  "left": 310.5, "at": ...}`` (``left`` null: too little to go on), written by
  the supervisor of a module run (instances done plus the fractions of those
  running, over the total) or by a tracked script's writer thread.

The time left comes from the rate so far (in this attempt): ``None``, shown as
"?", until the fraction has grown by ``MIN_GAIN`` over ``MIN_SECONDS``.
Everything read back may come from someone else's run: a fraction that is not a
finite number is bad, one outside [0, 1] is clamped.
"""

import math
import numbers
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

WRITE_EVERY = 0.5
MIN_GAIN = 0.01
MIN_SECONDS = 2.0
PREFIX, SUFFIX = "progress.", ".json"
FILE_MAX = 64 * 1024  # a progress file is a few hundred bytes; more is not one


def check_fraction(value) -> float:
    """A fraction done as given to ``log_progress``: a finite number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value) or not 0 <= value <= 1:
        raise UsageError(f"progress is a fraction done, a number from 0 to 1, got {value!r}")
    return float(value)


def time_left(fraction: float, start_fraction: float, elapsed: float) -> float | None:
    """Seconds left at the rate so far; None when there is too little to go on."""
    gained = fraction - start_fraction
    if elapsed < MIN_SECONDS or gained < MIN_GAIN:
        return None
    return max(0.0, elapsed * (1.0 - fraction) / gained)


def eta_record(fraction: float, left: float | None, now: float) -> dict:
    return {"fraction": round(fraction, 6), "left": None if left is None else round(left, 1),
            "at": round(now, 3)}


# -- reading (hostile input) ---------------------------------------------------
BAD = "bad"


def clean_fraction(value):
    """A fraction read from a file: a float in [0, 1] (clamped), None if absent,
    or BAD if it is not a finite number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return BAD
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float's range: a number, far above 1
        return 1.0 if value > 0 else 0.0
    if not math.isfinite(number):
        return BAD
    return min(1.0, max(0.0, number))


def clean_seconds(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


@dataclass(frozen=True)
class Eta:
    """What is known of a run's (or an instance's) progress, cleaned."""

    fraction: float | str | None = None  # BAD when the record holds no number
    left: float | None = None  # seconds left when it was recorded; None: unknown
    at: float | None = None  # when it was recorded

    def left_now(self, now: float) -> float | None:
        if self.left is None or self.at is None:
            return None
        return max(0.0, self.left - max(0.0, now - self.at))


def run_eta(attrs: dict) -> Eta | None:
    """A run's recorded progress (``attrs["eta"]``), cleaned; None if it has none."""
    record = attrs.get("eta")
    if record is None:
        return None
    if not isinstance(record, dict):
        return Eta(BAD)
    fraction = clean_fraction(record.get("fraction"))
    return Eta(BAD if fraction is None else fraction, clean_seconds(record.get("left")),
               clean_seconds(record.get("at")))


def _progress_records(meta_dir: Path):
    """Every worker's progress record that can be read (whole JSON objects)."""
    from .untrusted import NotReadable, read_json

    try:
        names = [n for n in os.listdir(meta_dir) if n.startswith(PREFIX) and
                 n.endswith(SUFFIX)]
    except OSError:
        return
    for name in names:
        try:
            record = read_json(meta_dir / name, FILE_MAX)
        except (NotReadable, OSError, ValueError):
            continue
        if isinstance(record, dict):
            yield record


def _entry(record: dict) -> dict:
    return {"fraction": clean_fraction(record.get("fraction")),
            "ts": clean_seconds(record.get("ts")) or 0.0,
            "started": clean_seconds(record.get("started"))}


def unit_progress(meta_dir: Path) -> dict[str, dict]:
    """Per unit key, the newest progress its workers recorded (cleaned):
    ``{"fraction", "ts", "started"}``. Files that cannot be read are skipped."""
    found: dict[str, dict] = {}
    for record in _progress_records(meta_dir):
        if not isinstance(record.get("key"), str):
            continue
        entry = _entry(record)
        old = found.get(record["key"])
        if old is None or entry["ts"] >= old["ts"]:
            found[record["key"]] = entry
    return found


def command_progress(meta_dir: Path) -> dict | None:
    """The newest run-wide progress (``"run": true``) that an engine command's
    ``Run()`` recorded, cleaned; None if none did."""
    newest = None
    for record in _progress_records(meta_dir):
        if record.get("run") is True:
            entry = _entry(record)
            if newest is None or entry["ts"] >= newest["ts"]:
                newest = entry
    return newest


def unit_eta(entry: dict, now: float) -> Eta:
    """An instance's progress and time left, from its worker's record."""
    fraction, ts, started = entry["fraction"], entry["ts"], entry["started"]
    if fraction is None or fraction == BAD or started is None:
        return Eta(fraction)
    return Eta(fraction, time_left(fraction, 0.0, ts - started), ts)


# -- showing ---------------------------------------------------------------------
def fraction_text(fraction) -> str:
    if fraction is None:
        return ""
    if fraction == BAD:
        return "bad"
    return f"{math.floor(fraction * 100):d}%"


def left_text(seconds: float | None) -> str:
    """``12s``, ``4m``, ``3h10m``, ``2d``, ``>99d``; ``?`` when unknown."""
    if seconds is None:
        return "?"
    if seconds >= 100 * 86400:  # 1e308 seconds from a hostile record fits too
        return ">99d"
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{seconds // 86400}d"
