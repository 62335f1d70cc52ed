"""The background writer: the tracking API's only path to disk for series.

``log_metrics`` encodes its point into one line at once (``series.encode_point``:
one orjson call, no copy of the caller's dict) and appends the line to one
bytearray, ``lines``; ``log_event`` appends a ``(kind, record)`` tuple to a deque,
``queue``. Each is one C call, so cheap and safe between threads in CPython. (A
line is not kept on its own: orjson returns each in an allocation of 4 KiB.) What
is queued is counted, not listed: callers add to ``put``, the thread sets
``taken`` to the count it has taken, so the thread does nothing per point but
copy the lines once. A thread wakes every ``flush_interval`` seconds (or when
told), takes what is queued, encodes the events (``series.encode_record``) and
appends each series file in
one write. So another process can read a point about one flush interval after
the call, and a SIGKILL loses at most that interval. Lines that fail to write
are kept and written on the next round: an error elsewhere never discards
queued data.

The same thread refreshes the heartbeat, evaluates alerts on the data it
writes, and samples resource metrics, so a run needs one thread in all.
"""

import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import repeat, starmap

from .jsonl import JsonlWriter
from .layout import ALERTS, EVENTS, METRICS, RunPaths
from .lifecycle import beat
from .series import encode_record

METRIC, EVENT, ALERT = 0, 1, 2


class BackgroundWriter:
    """Queues series records and writes them from one thread."""

    def __init__(self, paths: RunPaths, *, queue_size: int, blocking: bool,
                 on_error: Callable[[str, BaseException], None],
                 flush_interval: float = 0.05, heartbeat_interval: float | None = 5.0,
                 suffix: str | None = None):
        self.paths = paths
        self.suffix = suffix  # a second writer of one run writes metrics.<suffix>.jsonl
        self.queue: deque = deque()  # events, alert transitions, flush waiters
        self.lines = bytearray()  # the metric lines queued, whole and in order
        self.queue_size = queue_size
        # records counted in (points and events, by the callers) and taken (by the
        # thread): put - taken is what is queued. A caller past ``mark`` (half the
        # queue beyond what was taken) asks full(), which wakes the thread early.
        self.put = self.taken = self.own = 0
        self.nudge_at = self.mark = max(1, queue_size // 2)
        self.blocking = blocking
        self.dropped = 0
        self._dropped_reported = 0
        self._on_error = on_error
        self._flush_interval = flush_interval
        self._heartbeat_interval = heartbeat_interval
        self._next_beat = 0.0
        self._wake = threading.Event()
        self._drained = threading.Condition()
        self._stop = False
        # encoded lines not yet written, per file: a list of chunks, so that a burst
        # of points is written from the one copy _take makes, never copied again
        self._pending: dict[int, list[bytes]] = {METRIC: [], EVENT: [], ALERT: []}
        self._files: dict[int, JsonlWriter] = {}
        # observers get each round's metric lines (bytes) and event records
        self.observers: list[Callable[[bytes, list], None]] = []
        self.tickers: list[Callable[[float], None]] = []
        self.closers: list[Callable[[], None]] = []  # last words, on the writer thread
        self._thread = threading.Thread(target=self._loop, name="runyard-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- the caller's side -------------------------------------------------
    def put_line(self, line: bytes) -> None:
        """Queue one encoded metric line of runyard's own (the resource sampler's;
        ``Run.log_metrics`` does this inline). ``own`` counts them: they are no sign
        that the user's code lives (stall.py)."""
        self.lines += line
        self.put += 1  # after the line: a count never runs ahead of the lines
        self.own += 1

    def queued(self) -> int:
        """Records put and not yet taken: a bound, not a census (callers logging in
        several threads at once may count two records as one)."""
        return self.put - self.taken

    def full(self) -> bool:
        """True if the queue is full; waits for room instead when blocking.

        Callers ask once the queue is half full, so the writer is woken early
        rather than at its next interval.
        """
        if self.queued() < self.queue_size:
            if not self._wake.is_set():
                self._wake.set()
            time.sleep(0)  # let the writer have the GIL: a little back-pressure, no drop
            return False
        if not self.blocking:
            self.dropped += 1
            return True
        with self._drained:
            self._wake.set()
            while self.queued() >= self.queue_size and self._thread.is_alive():
                self._drained.wait(0.1)
        return False

    def flush(self, timeout: float = 30.0) -> bool:
        """Write everything queued so far; True once it is on disk."""
        if not self._thread.is_alive():
            self._write_round()
            return not (self.lines or self.queue or any(self._pending.values()))
        done = threading.Event()
        self.queue.append((None, done))
        self._wake.set()
        return done.wait(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop

    def stop(self, timeout: float = 30.0) -> None:
        self._stop = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._write_round()  # anything left (for example if the thread never ran)
        for writer in self._files.values():
            writer.close()
        self._files.clear()

    # -- the thread's side -------------------------------------------------
    def _loop(self) -> None:
        while True:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            stopping = self._stop
            try:
                self._write_round()
                self._tick()
                if stopping:
                    for closer in self.closers:
                        closer()
                    self._write_round()
            except Exception as exc:  # the thread must outlive any bug
                self._on_error("the writer thread", exc)
            if stopping:
                return

    def _tick(self) -> None:
        now = time.time()
        if self._heartbeat_interval is not None and now >= self._next_beat:
            self._next_beat = now + self._heartbeat_interval
            try:
                beat(self.paths)
            except OSError as exc:
                self._on_error("heartbeat", exc)
        for ticker in self.tickers:
            try:
                ticker(now)
            except OSError as exc:
                self._on_error("alert or resource check", exc)

    def emit_alert(self, record: dict) -> None:
        """Queue an alert transition line (on the writer thread only)."""
        line = self._line(record)
        if line:
            self._pending[ALERT].append(line)

    def _write_round(self) -> None:
        metrics, events, alerts, waiters = self._take()
        try:
            if self.dropped != self._dropped_reported:
                count = self.dropped - self._dropped_reported
                self._dropped_reported = self.dropped
                events.append({"ts": time.time(), "level": "warning",
                               "msg": f"Dropped {count} records: the queue was full "
                                      f"(queue_size={self.queue_size})"})
            self._encode(metrics, events)  # first: once encoded, nothing is lost
            for record in alerts:
                self.emit_alert(record)
            self._flush_pending()
            for observer in self.observers:
                try:
                    observer(metrics, events)
                except Exception as exc:  # an alert bug must not stop the writing
                    self._on_error("evaluating alerts", exc)
        finally:
            for done in waiters:
                done.set()

    def _take(self) -> tuple[bytes, list, list, list]:
        events, alerts, waiters = [], [], []
        put = self.put  # first: every record counted here is in what is taken below
        queue = self.queue
        for kind, record in list(starmap(queue.popleft, repeat((), len(queue)))):
            if kind == EVENT:
                events.append(record)
            elif kind == ALERT:
                alerts.append(record)
            else:
                waiters.append(record)
        # after the deque: every line put before a waiter popped above is taken
        metrics = bytes(self.lines)
        del self.lines[: len(metrics)]  # each one C call: a line put meanwhile stays
        self.taken, self.mark = put, put + self.nudge_at
        with self._drained:
            self._drained.notify_all()
        return metrics, events, alerts, waiters

    def _encode(self, metrics: bytes, events: list) -> None:
        if metrics:
            self._pending[METRIC].append(metrics)
        if events:
            self._pending[EVENT].append(b"".join(map(self._line, events)))

    def _line(self, record: dict) -> bytes:
        try:
            return encode_record(record)
        except (TypeError, ValueError) as exc:  # checked input never gets here
            self._on_error("encoding a record", exc)
            return b""

    def _flush_pending(self) -> None:
        for kind, name in ((METRIC, METRICS), (EVENT, EVENTS), (ALERT, ALERTS)):
            chunks = self._pending[kind]
            if not chunks:
                continue
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            try:
                if kind not in self._files:
                    if self.suffix:
                        name = name.replace(".jsonl", f".{self.suffix}.jsonl")
                    self._files[kind] = JsonlWriter(self.paths.meta(name))
                written = self._files[kind].write_some(data)
            except OSError as exc:
                self._pending[kind] = [data]  # kept for the next round
                self._on_error(f"writing {name}", exc)
                continue
            self._pending[kind] = [data[written:]] if written < len(data) else []
