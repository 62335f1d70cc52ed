"""An instance's ``running`` record, written only once the instance has run a moment.

The record that says an instance is under way (``status: running``, the attempt
counted, ``started``) is for people: ``runyard show`` and the dashboard. Nothing
that decides what runs again reads it: a record that is not ``done`` is
unfinished work, resumed from its saved state, whatever its status says. Writing
it before every ``run()`` cost a whole-file write (a new file and a rename) per
instance, as much as the instance's end. So a worker writes it only for an
instance that has run ``RUNNING_AFTER`` seconds without saving (a ``save()``
writes it anyway), or that is stopped from outside before then.

Every write of the instance's record goes through ``write``, under one lock, so
the late ``running`` record never lands over a newer one.
"""

import sys
import threading
import time
from collections.abc import Callable

RUNNING_AFTER = 0.2  # seconds an instance runs before its record says so
LOOK_EVERY = 0.05


class RunningMark:
    def __init__(self, write: Callable[[str, dict], None]):
        self._write = write  # (key, record): the atomic write of an instance's record
        self._lock = threading.Lock()
        self._due: tuple[str, dict, float] | None = None  # key, record, when to write
        self._thread: threading.Thread | None = None
        self._asleep = False  # the thread waits for _wake: nothing was under way
        self._wake = threading.Event()

    def begin(self, key: str, record: dict) -> None:
        """``record`` (in memory: running) starts; written if it runs long enough."""
        with self._lock:
            self._due = (key, record, time.monotonic() + RUNNING_AFTER)
            if self._asleep:
                self._asleep = False
                self._wake.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="runyard-running-mark",
                                            daemon=True)
            self._thread.start()

    def write(self, key: str, record: dict, **changes) -> None:
        """Change ``record`` and write it now (a save, the instance's end)."""
        with self._lock:
            self._due = None
            record.update(changes)
            self._write(key, record)

    def now(self) -> None:
        """Write the running record at once if it is still due (the worker is stopped
        mid-instance: the attempt happened)."""
        with self._lock:
            due, self._due = self._due, None
            if due is not None:
                self._write(due[0], due[1])

    def _loop(self) -> None:
        while True:
            time.sleep(LOOK_EVERY)
            with self._lock:
                due = self._due
                self._asleep = due is None
            if due is None:  # an idle worker's thread costs nothing until begin()
                self._wake.wait()
                self._wake.clear()
                continue
            with self._lock:
                due = self._due
                if due is None or time.monotonic() < due[2]:
                    continue
                self._due = None
                try:
                    self._write(due[0], due[1])
                except OSError as exc:  # a full disk: the instance's own writes fail too
                    print(f"Could not record {due[0]} running: {exc}", file=sys.stderr)
