"""A metric's whole history in bounded memory, for charts (no textual here).

A chart 80 columns wide cannot show 100,000 points, and keeping them all costs
memory a long run does not have to spare. ``Envelope`` keeps a metric's points
in at most 2 x SPAN buckets of consecutive points; each bucket keeps the range
of its steps, of its times and of its values, so a spike stays visible however
far the history is squeezed. When the buckets run out, neighbours merge and
each bucket holds twice as many points.

``read_history`` fills envelopes from the part of a metrics file a dashboard
skipped to draw the file's end first: lines are decoded a chunk at a time by
``series.decode_points`` (one orjson call for many lines; any line that is not
plainly a compact metric point is decoded alone, as every reader does, and named
as a bad line if it is one).
"""

import contextlib
import math
import os
from dataclasses import dataclass, field

import orjson

from .jsonl import BadLine
from .series import decode_points
from .untrusted import CHUNK, LINE_MAX, open_regular

SPAN = 512  # buckets kept after a merge; at most twice as many before it
MAX_BAD = 100  # bad lines listed; more are counted


@dataclass
class Bucket:
    count: int
    step_lo: float
    step_hi: float
    time_lo: float
    time_hi: float
    lo: float
    hi: float

    def add(self, step: float, seconds: float, value: float) -> None:
        self.count += 1
        self.step_lo, self.step_hi = min(self.step_lo, step), max(self.step_hi, step)
        self.time_lo, self.time_hi = min(self.time_lo, seconds), max(self.time_hi, seconds)
        self.lo, self.hi = min(self.lo, value), max(self.hi, value)

    def merge(self, other: "Bucket") -> None:
        self.count += other.count
        self.step_lo, self.step_hi = min(self.step_lo, other.step_lo), \
            max(self.step_hi, other.step_hi)
        self.time_lo, self.time_hi = min(self.time_lo, other.time_lo), \
            max(self.time_hi, other.time_hi)
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)


@dataclass
class Envelope:
    """A metric's finite points, downsampled to min/max buckets as they come."""

    per_bucket: int = 1
    buckets: list = field(default_factory=list)
    points: int = 0

    def add(self, step, seconds, value: float) -> None:
        """One finite point (``step`` or ``seconds`` None or not finite: drawn at 0)."""
        step = _coordinate(step)
        seconds = _coordinate(seconds)
        self.points += 1
        last = self.buckets[-1] if self.buckets else None
        if last is not None and last.count < self.per_bucket:
            last.add(step, seconds, value)
            return
        self.buckets.append(Bucket(1, step, step, seconds, seconds, value, value))
        if len(self.buckets) >= 2 * SPAN:
            self._halve()

    def extend(self, steps: list, times: list, values: list) -> None:
        """Many finite points at once (finite steps and times): buckets are built from
        slices, by the builtins, not point by point."""
        start = 0
        last = self.buckets[-1] if self.buckets else None
        if last is not None and last.count < self.per_bucket:
            start = min(len(values), self.per_bucket - last.count)
            last.merge(_bucket(steps, times, values, 0, start))
        # as wide as they will have to be, at once: not a bucket a point, halved and
        # halved again (a read of history comes 30,000 points at a time)
        while len(self.buckets) + -(-(len(values) - start) // self.per_bucket) >= 2 * SPAN:
            self._halve()
        index = start
        while index < len(values):
            end = index + self.per_bucket  # wider after a halving
            self.buckets.append(_bucket(steps, times, values, index, end))
            index = end
            if len(self.buckets) >= 2 * SPAN:
                self._halve()
        self.points += len(values)

    def _halve(self) -> None:
        merged = []
        for index in range(0, len(self.buckets) - 1, 2):
            first = self.buckets[index]
            first.merge(self.buckets[index + 1])
            merged.append(first)
        if len(self.buckets) % 2:
            merged.append(self.buckets[-1])
        self.buckets = merged
        self.per_bucket *= 2

    def spans(self, by_time: bool) -> list[tuple[float, float, float]]:
        """(x, lowest value, highest value) at each end of each bucket, x a step or a
        time: the chart spans exactly the steps (or times) the points have."""
        return self.spans_and_counts(by_time)[0]

    def spans_and_counts(self, by_time: bool) -> tuple[list, list]:
        """``spans(by_time)``, and how many points each stands for (a bucket's points
        shared by its two ends): what smoothing weighs each span by. One pass: the
        two agree even while another thread adds points."""
        spans, counts = [], []
        for b in list(self.buckets):
            first, last = (b.time_lo, b.time_hi) if by_time else (b.step_lo, b.step_hi)
            if last != first:
                spans += [(first, b.lo, b.hi), (last, b.lo, b.hi)]
                counts += [b.count / 2, b.count / 2]
            else:
                spans.append((first, b.lo, b.hi))
                counts.append(b.count)
        return spans, counts


def tally(stats, value) -> float | None:
    """Count one metric value into ``stats`` (its ``count``, ``nonfinite``, ``min`` and
    ``max``); the float to draw it at, or None: NaN and the infinities are counted,
    never drawn and never a min or max, and an int beyond a float's range is not
    drawn either."""
    stats.count += 1
    if isinstance(value, float) and not math.isfinite(value):
        stats.nonfinite += 1
        return None
    stats.min = value if stats.min is None else min(stats.min, value)
    stats.max = value if stats.max is None else max(stats.max, value)
    number = as_float(float(value) if isinstance(value, bool) else value)
    return number if math.isfinite(number) else None


def as_float(value: int | float) -> float:
    """A metric value as a float: an int beyond float's range is an infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _bucket(steps: list, times: list, values: list, start: int, end: int) -> Bucket:
    step, seconds, value = steps[start:end], times[start:end], values[start:end]
    return Bucket(len(value), min(step), max(step), min(seconds), max(seconds), min(value),
                  max(value))


def _coordinate(value) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = as_float(value)
        if math.isfinite(number):
            return number
    return 0.0


@dataclass
class Summary:
    """What the sparkline row says of a metric, over the points read."""

    count: int = 0
    nonfinite: int = 0
    min: float | int | None = None
    max: float | int | None = None
    last: object = None         # the value of the latest point read (NaN included)
    last_time: float = -math.inf  # its time

    def latest(self, seconds, value) -> None:
        """``value`` is the last one if no point read so far is later."""
        when = seconds if isinstance(seconds, int | float) and \
            not isinstance(seconds, bool) and math.isfinite(seconds) else -math.inf
        if when >= self.last_time:
            self.last, self.last_time = value, when


@dataclass
class History:
    """The envelopes and summaries of every metric of one stretch of a run's files."""

    envelopes: dict = field(default_factory=dict)
    summaries: dict = field(default_factory=dict)
    bad: list = field(default_factory=list)
    unlisted: int = 0  # bad lines beyond MAX_BAD, counted
    lines: int = 0

    def note(self, bad: BadLine) -> None:
        """A bad line: listed up to MAX_BAD, counted after that."""
        if len(self.bad) < MAX_BAD:
            self.bad.append(bad)
        else:
            self.unlisted += 1

    def all_bad(self) -> list[BadLine]:
        """The bad lines listed, and a line saying how many more there were."""
        if not self.unlisted:
            return list(self.bad)
        return [*self.bad, BadLine(self.bad[-1].path, self.bad[-1].line,
                                   f"{self.unlisted} more bad lines before the end "
                                   "read first, not listed")]

    def add_columns(self, name: str, steps: list, times: list, values: list) -> None:
        """Many points of one metric, every one finite (the fast path)."""
        summary = self.summaries.get(name)
        if summary is None:
            summary = self.summaries[name] = Summary()
            self.envelopes[name] = Envelope()
        summary.count += len(values)
        summary.latest(times[-1], values[-1])
        low, high = min(values), max(values)
        summary.min = low if summary.min is None else min(summary.min, low)
        summary.max = high if summary.max is None else max(summary.max, high)
        self.envelopes[name].extend(steps, times, [float(v) for v in values])

    def add(self, step, seconds, values: dict) -> None:
        self.lines += 1
        for name, value in values.items():
            summary = self.summaries.get(name)
            if summary is None:
                summary = self.summaries[name] = Summary()
                self.envelopes[name] = Envelope()
            number = tally(summary, value)
            summary.latest(seconds, value)
            if number is not None:
                self.envelopes[name].add(step, seconds, number)


def read_history(path, identity: tuple, end: int, history: History, progress=None,
                 stop=None) -> None:
    """Read the metric points of ``path`` before byte ``end`` (and the rest of the
    line ``end`` falls in, which a reader that skipped to ``end`` dropped) into
    ``history``. Nothing is read if the file is no longer the one ``identity``
    names. ``progress(bytes read)`` is called after each chunk; ``stop()`` true ends
    the read early."""
    name = str(path)
    with open_regular(path) as f:
        info = os.fstat(f.fileno())
        if (info.st_dev, info.st_ino) != identity:
            return
        done, pending, line_no = 0, b"", 0
        while done < end:
            if stop is not None and stop():
                return
            block = f.read(min(CHUNK, end - done))
            if not block:
                return  # cut meanwhile
            done += len(block)
            data = pending + block
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
            else:
                lines = data[:cut].split(b"\n")
                _take_lines(lines, line_no, name, history)
                line_no += len(lines)
                pending = data[cut + 1:]
            if len(pending) > LINE_MAX:  # as every reader: a line that long is skipped
                history.note(BadLine(name, line_no + 1, f"longer than {LINE_MAX} bytes"))
                pending = b""
            if progress is not None:
                progress(done)
        if pending:
            rest = f.read(LINE_MAX + 1 - len(pending))
            if b"\n" in rest:
                _take_lines([pending + rest[: rest.index(b"\n")]], line_no, name, history)


def _take_lines(lines: list[bytes], first: int, path: str, history: History) -> None:
    """``lines`` (the first numbered ``first + 1``) into ``history``: decoded in bulk
    by ``series.decode_points``, the lines it decoded alone first, as it gives them."""
    plain, columns, others = decode_points(lines)
    history.lines += plain
    for index, found in others:
        if isinstance(found, str):
            history.note(BadLine(path, first + index + 1, found))
        else:
            history.add(found.get("s"), found.get("t"), found["v"])
    for name, (steps, times, values) in columns.items():
        history.add_columns(name, steps, times, values)


def read_skipped(skipped: dict, history: History, progress=None, stop=None) -> None:
    """Every file's skipped part (``{path: (identity, end)}``) into ``history``; a file
    that cannot be read is one bad line. ``progress`` gets the bytes read over all."""
    before = 0
    for path, (identity, end) in skipped.items():
        try:
            read_history(path, identity, end, history,
                         None if progress is None else
                         lambda done, before=before: progress(before + done),
                         stop)
        except OSError as exc:
            history.note(BadLine(str(path), 0, f"cannot read: {exc}"))
        if stop is not None and stop():
            return
        before += end


# -- in another process ------------------------------------------------------------
# A big run's history is read by a child process, on the other core: read in a thread
# of the dashboard it competes for the GIL with the drawing and took 1.7x as long.
# The child runs ``_child`` (``python -P -c``: not a path of the current folder
# on sys.path, which may be a shared runs folder); it reads a
# request (orjson, one line) on stdin and answers on stdout with lines "p BYTES" while
# it reads, then "h SIZE" and SIZE bytes of the pickled History. Anything else (the
# child did not start, died, or answered nonsense) and the caller reads in-process.

def start_reader():
    """A child process that will read histories, started ahead of the request so that
    its start (~0.1 s: a Python and its imports) overlaps what the caller does in the
    meantime; None if none can start. Give it to ``read_all_elsewhere`` or ``discard``."""
    import subprocess
    import sys

    try:
        return subprocess.Popen([sys.executable, "-P", "-c",
                                 f"from {__name__} import _child; _child()"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, close_fds=True)
    except OSError:
        return None


def discard(child) -> None:
    """A reader not needed after all: told so (no request), and waited for."""
    import subprocess

    if child is None:
        return
    with contextlib.suppress(OSError):
        child.stdin.close()
    try:
        child.wait(5)
    except subprocess.TimeoutExpired:  # it did not end as told
        child.kill()
        child.wait()
    child.stdout.close()


def read_all_elsewhere(groups: list[dict], progress=None, stop=None, child=None
                       ) -> list[History] | None:
    """Several runs' skipped parts (one ``{path: (identity, end)}`` a run) read by one
    child process (``child``, from ``start_reader``, or one started now), a History
    for each; None where the child could not do it, or stop() came true.
    ``progress`` gets the bytes read over all."""
    import pickle

    request = orjson.dumps({"parent": os.getpid(), "groups": [
        [[str(path), list(identity), end] for path, (identity, end) in skipped.items()]
        for skipped in groups]})
    if child is None:
        child = start_reader()
    if child is None:
        return None
    try:
        child.stdin.write(request + b"\n")
        child.stdin.close()
        while True:
            if stop is not None and stop():
                return None
            line = child.stdout.readline(64)
            if line.startswith(b"p ") and line[2:-1].isdigit():
                if progress is not None:
                    progress(int(line[2:-1]))
                continue
            if line.startswith(b"h ") and line[2:-1].isdigit():
                size = int(line[2:-1])
                found = pickle.loads(child.stdout.read(size))
                if isinstance(found, list) and len(found) == len(groups) and \
                        all(isinstance(h, History) for h in found):
                    return found
                return None
            return None  # ended, or not our answer
    except (OSError, ValueError, EOFError, pickle.UnpicklingError):
        return None
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def read_behind(skipped: dict, progress=None, stop=None, child_from: int = 0
                ) -> History | None:
    """What the tail skipped, by a child process when there are ``child_from`` bytes
    or more and one can start, else here; None only when ``stop()`` came true."""
    found = read_all_behind([skipped], progress, stop, child_from)
    return None if found is None else found[0]


def read_all_behind(groups: list[dict], progress=None, stop=None, child_from: int = 0,
                    child=None) -> list[History] | None:
    """``read_behind`` for several runs at once (one child process for all of them,
    from ``child_from`` bytes in all: ``child`` if one was started ahead); None only
    when ``stop()`` came true."""
    found = None
    if sum(end for skipped in groups for _identity, end in skipped.values()) >= child_from:
        found = read_all_elsewhere(groups, progress, stop, child)
    else:
        discard(child)
    if found is None:
        found, before = [], 0
        for skipped in groups:
            if stop is not None and stop():
                return None
            history = History()
            read_skipped(skipped, history, None if progress is None else
                         lambda done, before=before: progress(before + done), stop)
            found.append(history)
            before += sum(end for _identity, end in skipped.values())
        if stop is not None and stop():
            return None
    return found


def _child() -> None:
    import pickle
    import sys

    line = sys.stdin.buffer.readline()
    if not line.strip():  # started ahead, and not needed after all
        return
    request = orjson.loads(line)
    parent = request["parent"]
    out = sys.stdout.buffer

    def progress(done: int) -> None:
        out.write(b"p %d\n" % done)
        out.flush()

    def gone() -> bool:
        return os.getppid() != parent

    histories, before = [], 0
    try:
        for files in request["groups"]:
            skipped = {path: (tuple(identity), end) for path, identity, end in files}
            history = History()
            read_skipped(skipped, history,
                         lambda done, before=before: progress(before + done), gone)
            histories.append(history)
            before += sum(end for _path, _identity, end in files)
        found = pickle.dumps(histories, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(b"h %d\n" % len(found) + found)
        out.flush()
    except (BrokenPipeError, KeyboardInterrupt):  # the dashboard went away
        os._exit(1)
