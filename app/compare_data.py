"""What the compare screen shows of a few runs, read off the UI thread (no textual).

Each compared run keeps a ``RunTail`` (its metrics' last values, min/max envelopes
for the overlay charts), polled again when the run's files change; the rows of the
side-by-side table are built from those and from the runs' listings.
"""

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from runyard.engine.history import History, read_all_behind, start_reader
from runyard.engine.store import RunInfo
from runyard.engine.tail import RunTail

from .formatting import duration, short_time

BACKLOG = 16 << 10  # a metrics file's end read line by line (its last values); the rest
ELSEWHERE = 4 << 20  # in bulk behind it: here, or by a child process from this size up
# (all the runs' skipped parts together: one child reads them all, on the other core)


@dataclass
class Compared:
    """One run being compared: its listing and its series as read so far."""

    info: RunInfo
    tail: RunTail
    history: History | None = None  # what the tail skipped of a long run, once read

    @property
    def id(self) -> str:
        return self.info.id

    def last_values(self) -> dict:
        """Each metric's last value: from the tail, or, for a metric the run stopped
        logging before its tail, from its history once read."""
        found = {name: stats.last for name, stats in self.tail.metrics.items()}
        if self.history is not None:
            for name, summary in self.history.summaries.items():
                found.setdefault(name, summary.last)
        return found



def read_runs(root: Path, infos: list[RunInfo], known: dict[str, Compared]) -> dict:
    """Each run's series brought up to date (``known`` ones only read on: what was
    appended); run id -> Compared, in the order of ``infos``. A long run's start is
    not read here: ``read_histories`` reads it, behind the first drawing."""
    found = {}
    for info in infos:
        compared = known.get(info.id)
        if compared is None:
            compared = Compared(info, RunTail(root / f"{info.id}.meta", first_backlog=BACKLOG))
        compared.info = info
        compared.tail.poll()
        found[info.id] = compared
    return found


def without_history(runs: dict) -> list[Compared]:
    """The runs whose tail skipped the start of their files, not read yet."""
    return [c for c in runs.values() if c.tail.skipped and c.history is None]


def reader_ahead(root: Path, infos: list[RunInfo]):
    """A history reader started now (history.start_reader) when the runs' metrics
    files hold ELSEWHERE bytes or more before their tails; else None."""
    before = 0
    for info in infos:
        try:
            with os.scandir(root / f"{info.id}.meta") as found:
                for entry in found:
                    if entry.name.startswith("metrics") and entry.name.endswith(".jsonl") \
                            and entry.is_file(follow_symlinks=False):
                        before += max(0, entry.stat(follow_symlinks=False).st_size - BACKLOG)
        except OSError:
            continue  # its tail says what it holds
    return start_reader() if before >= ELSEWHERE else None


def read_histories(runs: list[Compared], stop=None, child=None) -> bool:
    """What the runs' tails skipped, read (by one child process for all of them from
    ELSEWHERE bytes: ``child`` if one was started ahead) and given to each; False if
    ``stop()`` came true first."""
    found = read_all_behind([dict(c.tail.skipped) for c in runs], stop=stop,
                            child_from=ELSEWHERE, child=child)
    if found is None:
        return False
    for compared, history in zip(runs, found, strict=True):
        compared.history = history
    return True


@dataclass
class Row:
    """One line of the side-by-side table: a key and each run's value, as text, and
    whether they differ."""

    key: str
    values: list = field(default_factory=list)  # raw values, one per run (None: absent)
    shown: list = field(default_factory=list)  # as text
    differs: bool = False


def _same(values: list) -> bool:
    first = values[0]
    for value in values[1:]:
        if isinstance(first, float) and isinstance(value, float) and \
                math.isnan(first) and math.isnan(value):
            continue
        if type(value) is not type(first) or value != first:
            return False
    return True


def table_rows(runs: list[Compared], text=None) -> list[Row]:
    """The listing's fields, every metadata key and every metric's last value of the
    runs, one row each; ``text(value)`` writes a value for the screen (without it,
    ``shown`` is left empty: the screen writes only the rows it draws)."""
    rows = []

    def add(key: str, values: list) -> None:
        shown = [text(v) for v in values] if text is not None else []
        rows.append(Row(key, values, shown, not _same(values)))

    infos = [r.info for r in runs]
    add("status", [i.status for i in infos])
    add("folder", [i.folder for i in infos])
    add("tags", [", ".join(i.tags) for i in infos])
    add("started", [short_time(i.attrs.get("started")) for i in infos])
    add("duration", [duration(i.duration()) for i in infos])
    metadata = [i.attrs.get("metadata") if isinstance(i.attrs.get("metadata"), dict)
                else {} for i in infos]
    for key in sorted({k for m in metadata for k in m}):
        add(f"meta {key}", [m.get(key) for m in metadata])
    lasts = [r.last_values() for r in runs]
    for name in sorted({n for last in lasts for n in last}):
        add(f"last {name}", [last.get(name) for last in lasts])
    return rows


def relative(value, baseline) -> str:
    """How far ``value`` is from the baseline's, as a signed percentage ('' where that
    means nothing: not two finite numbers, or a baseline of 0)."""
    numbers = (int, float)
    if not isinstance(value, numbers) or not isinstance(baseline, numbers) or \
            isinstance(value, bool) or isinstance(baseline, bool):
        return ""
    try:
        value, baseline = float(value), float(baseline)
    except OverflowError:
        return ""
    if not (math.isfinite(value) and math.isfinite(baseline)) or baseline == 0 or \
            value == baseline:
        return ""
    change = 100 * (value - baseline) / abs(baseline)
    return f"{change:+.3g}%"
