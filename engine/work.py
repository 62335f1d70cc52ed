"""The work of a run: its instances and their saved states.

Each (instance, iteration) has one whole-file record,
``instances/<index>-<iteration>.json``:

    {"instance": "/data/a.txt", "iteration": 0, "status": "done", "attempts": 1,
     "state": "7", "state_size": 1, "saved": 1795..., "started": ..., "ended": ...,
     "error": null, "failures": 0, "kills": 0, "killed": null}

``status`` is ``pending``, ``running``, ``done`` or ``failed``. The process
running an instance is the record's only writer while it runs (it also holds
``<key>.lock``); ``save(state)`` replaces the record atomically at once. It is
written ``running`` only once the instance saves or has run a moment
(running_mark.py); a quick one goes from ``pending`` to ``done`` in one write. A
record left ``running`` by a process that died is unfinished work, resumed
from its last saved state. ``failures`` counts the runs that failed (the retry
limit), ``kills`` those whose worker was killed from outside, and ``killed``
names the signal of the kill that ended the last run (None once it runs again;
see kills.py). ``done.json`` appears once ``done()`` has returned.
"""

import json
import os
import sys
import time
from pathlib import Path

from .atomic import write_all, write_json_atomic
from .instance_lock import make_shared
from .layout import RunPaths
from .shapes import COUNT, NUMBER_OR_NULL, TEXT, TEXT_OR_NULL, WrongShape, check_fields
from .untrusted import INSTANCE_MAX, NotReadable, read_json

INSTANCES = "instances"
DONE_MARK = "done.json"
FINISHED = ("done",)
# every field the engine and the dashboard read, with its type (docs/format.md)
RECORD = {"instance": (TEXT, True), "iteration": (COUNT, False), "status": (TEXT, True),
          "attempts": (COUNT, False), "failures": (COUNT, False), "state": (TEXT, False),
          "state_size": (COUNT, False), "saved": (NUMBER_OR_NULL, False),
          "started": (NUMBER_OR_NULL, False), "ended": (NUMBER_OR_NULL, False),
          "error": (TEXT_OR_NULL, False), "kills": (COUNT, False),
          "killed": (TEXT_OR_NULL, False)}
BAD_RECORD_FAILURES = sys.maxsize  # beyond any --max-attempts: never retried


def work_key(index: int, iteration: int) -> str:
    return f"{index:05d}-{iteration}"


class InstanceBook:
    """Reads and writes the instance records of one run."""

    def __init__(self, paths: RunPaths):
        self.paths = paths
        self.folder = paths.meta(INSTANCES)
        self.folder_name = str(self.folder)  # strings on the hot path: no pathlib

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def name(self, key: str) -> str:
        """The record's path, as a string."""
        return f"{self.folder_name}/{key}.json"

    def read(self, key: str) -> dict | None:
        """The record of ``key``, None if there is none.

        A record that cannot be read or has a field of the wrong type (never
        written so by runyard, but anyone who can write the run can edit one)
        comes back as ``bad_record``: failed for good, so that the engine never
        runs it (its instance and saved state are unknown) and the run ends
        failed, saying why, with nothing else lost.
        """
        path = self.name(key)
        try:
            record = read_json(path, INSTANCE_MAX)
            if not isinstance(record, dict):
                raise WrongShape("not a JSON object")
            check_fields(record, RECORD)
        except FileNotFoundError:
            return None
        except OSError as exc:  # NotReadable: one line naming the file
            return bad_record(str(exc))
        except WrongShape as exc:
            return bad_record(f"{path}: {exc}")
        return record

    def write(self, key: str, record: dict, fsync: bool = False) -> None:
        write_json_atomic(self.name(key), record, fsync=fsync, compact=True)

    def create(self, instances: list[str], iterations: int) -> None:
        """The pending records of a new run (written before it is started).

        They are written into a hidden folder that becomes ``instances/`` once every
        record is whole, so no reader sees one half written, and none needs a
        temporary file and a rename of its own (a start of 1,000,000 units is that
        many files)."""
        staging = self.folder.with_name(f".{INSTANCES}.{os.urandom(4).hex()}")
        staging.mkdir()
        for index, instance in enumerate(instances):
            for iteration in range(iterations):
                name = os.path.join(staging, f"{work_key(index, iteration)}.json")
                _write_new(name, new_record(instance, iteration))
        make_shared(str(staging))  # what the instances' locks link to
        os.rename(staging, self.folder)

    def keys(self) -> list[str]:
        """The keys of every record; NotReadable (an OSError) if the folder cannot be
        listed: the engine must not take an unreadable folder for one without work."""
        try:
            names = os.listdir(self.folder)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise NotReadable(self.folder, f"cannot be listed ({exc.strerror})") from None
        return sorted(name[:-5] for name in names
                      if name.endswith(".json") and not name.startswith("."))

    def records(self) -> dict[str, dict]:
        return {key: self.read(key) or {} for key in self.keys()}

    def counts(self) -> dict[str, int]:
        counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for record in self.records().values():
            status = record.get("status", "pending")
            counts[status if status in counts else "pending"] += 1
        return counts

    def killed(self) -> list[dict]:
        """The instances whose last run was killed from outside (``killed`` is set):
        what ``runyard show`` lists (none if the folder cannot be listed: show is
        about the run, and says what it can)."""
        found = []
        try:
            records = self.records()
        except NotReadable:
            return []
        for key, record in records.items():
            if isinstance(record.get("killed"), str):
                kills = record.get("kills")
                found.append({"key": key, "instance": str(record.get("instance", "?")),
                              "iteration": record.get("iteration"),
                              "status": str(record.get("status", "pending")),
                              "killed": record["killed"],
                              "kills": kills if type(kills) is int else 1})
        return found

    def done_called(self) -> bool:
        return self.paths.meta(DONE_MARK).exists()

    def mark_done_called(self) -> None:
        write_json_atomic(self.paths.meta(DONE_MARK), {"time": time.time()}, fsync=True)


def _write_new(path: str, record: dict) -> None:
    data = json.dumps(record, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8") + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o666)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)


def bad_record(reason: str) -> dict:
    """What a record that cannot be used reads as: failed, never to be retried."""
    return {"instance": "?", "iteration": 0, "status": "failed", "attempts": 0,
            "failures": BAD_RECORD_FAILURES, "state": "", "state_size": 0, "saved": None,
            "started": None, "ended": None, "error": f"unreadable record: {reason}",
            "kills": 0, "killed": None, "bad": True}


def new_record(instance: str, iteration: int) -> dict:
    return {"instance": instance, "iteration": iteration, "status": "pending",
            "attempts": 0, "state": "", "state_size": 0, "saved": None, "started": None,
            "ended": None, "error": None, "failures": 0, "kills": 0, "killed": None}
