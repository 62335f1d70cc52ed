"""Finished instances, one line each: ``instances/done/<writer>.jsonl``.

An instance's end was a whole-file record replaced through a new temporary file,
and creating a file is the dearest system call a trivial instance makes (a new
inode: from 20 us on a quiet disk to 0.7 ms on a busy one, seen here). So each
process that runs instances appends a line to a journal of its own when one ends
``done``:

    {"key": "00003-0", "status": "done", "attempts": 1, "started": ..., "ended": ...,
     "error": null, "failures": 0, "kills": 0, "killed": null}

that is, the instance's record without what its whole-file record (or, before its
first write, the run's plan) already holds: ``instance``, ``iteration`` and the
saved ``state`` with its size and time. ``done`` is final: nothing runs an
instance again once a journal says so, and the record a reader sees is the
whole-file one (or the planned one) with the journal's fields over it.

Each journal has one writer, which appends whole lines with single writes; its
name is new for each process (pid and random), so no process appends after a
line that another, killed, left torn. A reader reads every journal
incrementally; a last line without its newline is a write in progress, and a
line that is not a done line of the fields below is skipped and counted (the
instance then counts as not done: at worst it runs again). Journals are read
through at most JOURNAL_MAX bytes each.
"""

import os
import re
import threading

from .jsonl import JsonlWriter, SeriesReader
from .series import encode_record
from .shapes import COUNT, NUMBER_OR_NULL, TEXT, TEXT_OR_NULL, WrongShape, check_fields, one_of
from .untrusted import MiB, NotReadable

DONE_DIR = "done"
JOURNAL_MAX = 4096 * MiB
KEY = re.compile(r"\d{5,7}-\d{1,7}")
# the fields of a done line; the whole-file record's others are not repeated
LINE = {"key": (TEXT, True), "status": (one_of("done"), True), "attempts": (COUNT, False),
        "failures": (COUNT, False), "started": (NUMBER_OR_NULL, False),
        "ended": (NUMBER_OR_NULL, False), "error": (TEXT_OR_NULL, False),
        "kills": (COUNT, False), "killed": (TEXT_OR_NULL, False), "log": (TEXT, False),
        "log_from": (COUNT, False), "log_to": (COUNT, False)}
OWN = ("instance", "iteration", "state", "state_size", "saved")  # not in a done line


class DoneJournals:
    """The done lines of one run's instances: written by this process, read from all."""

    def __init__(self, instances_folder: str):
        self.folder = os.path.join(instances_folder, DONE_DIR)
        self.done: dict[str, dict] = {}  # key -> the fields of its done line
        self.bad = 0  # lines skipped, in all journals
        self._readers: dict[str, SeriesReader] = {}
        self._seen: dict[str, tuple | None] = {}  # name -> (inode, size, mode) last read
        self._writer: JsonlWriter | None = None
        self._lock = threading.Lock()  # Dask may run several instances in one process

    def append(self, key: str, record: dict) -> None:
        """Record ``key`` done (``record`` is its whole record, state and all)."""
        line = {name: value for name, value in record.items() if name not in OWN}
        line["status"] = "done"
        data = encode_record({"key": key, **line})
        with self._lock:
            if self._writer is None:
                os.makedirs(self.folder, exist_ok=True)  # a run from before journals
                name = f"{os.getpid()}-{os.urandom(4).hex()}.jsonl"
                self._writer = JsonlWriter(os.path.join(self.folder, name))
            self._writer.write_lines(data)
            self.done[key] = line

    def read(self) -> dict[str, dict]:
        """Every key recorded done so far, with its fields; NotReadable (an OSError) if
        the folder of journals cannot be listed."""
        with self._lock:
            try:
                entries = list(os.scandir(self.folder))
            except (FileNotFoundError, NotADirectoryError):
                return self.done
            except OSError as exc:
                raise NotReadable(self.folder, f"cannot be listed ({exc.strerror})") from None
            for entry in entries:
                name = entry.name
                if not name.endswith(".jsonl") or name.startswith("."):
                    continue
                try:  # a journal as it was at the last read is not opened again
                    info = entry.stat(follow_symlinks=False)
                    seen = (info.st_ino, info.st_size, info.st_mode)
                except OSError:
                    seen = None
                if seen is None or self._seen.get(name) != seen:
                    self._read_journal(name)
                    self._seen[name] = seen
            return self.done

    def _read_journal(self, name: str) -> None:
        reader = self._readers.get(name)
        if reader is None:
            reader = self._readers[name] = SeriesReader(os.path.join(self.folder, name))
            reader.kind = None  # any JSON object; checked below
        lines, bad = reader.read_new(backlog=JOURNAL_MAX)
        self.bad += len(bad)
        for line in lines:
            try:
                check_fields(line, LINE)
            except WrongShape:
                self.bad += 1
                continue
            key = line.pop("key")
            if KEY.fullmatch(key):
                self.done[key] = line
            else:
                self.bad += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
