"""The work of a run: its instances and their saved states.

A new run's ``instances/plan.json`` lists its instances and iterations, once:

    {"instances": ["/data/a.txt", "/data/b.txt"], "iterations": 1}

Each (instance, iteration) is a unit of work with the key ``<index>-<iteration>``
(``00001-0``) and a record:

    {"instance": "/data/a.txt", "iteration": 0, "status": "done", "attempts": 1,
     "state": "7", "state_size": 1, "saved": 1795..., "started": ..., "ended": ...,
     "error": null, "failures": 0, "kills": 0, "killed": null}

``status`` is ``pending``, ``running``, ``done`` or ``failed``. A unit that no
file mentions is pending, its record read from the plan. Its whole-file record,
``instances/<key>.json``, is written (atomically) only when there is something
to keep: a ``save(state)``, a run of it long enough to show (running_mark.py), a
failure, a kill. Its end ``done`` is a line in a journal of the process that ran
it (done_journal.py), over whatever whole-file record it has. The process
running a unit is its record's only writer while it runs (it holds the unit's
lock, instance_lock.py). A record left ``running`` by a process that died is
unfinished work, resumed from its last saved state. ``failures`` counts the
runs that failed (the retry limit), ``kills`` those whose worker was killed from
outside, and ``killed`` names the signal of the kill that ended the last run
(None once it runs again; see kills.py). ``done.json`` appears once ``done()``
has returned.

Runs made before the plan have a whole-file record for every unit, pending ones
included, and no plan: both are read.
"""

import json
import os
import sys
import time
from pathlib import Path

from .atomic import write_all, write_json_atomic
from .done_journal import DONE_DIR, DoneJournals
from .instance_lock import make_shared
from .layout import DONE_MARK, INSTANCES, RunPaths
from .shapes import COUNT, NUMBER_OR_NULL, TEXT, TEXT_OR_NULL, TEXTS, WrongShape, check_fields
from .untrusted import INSTANCE_MAX, MiB, NotReadable, read_json

PLAN = "plan.json"
PLAN_MAX = 512 * MiB  # the plan of a run's 10**6 units, with long paths
PLAN_FIELDS = {"instances": (TEXTS, True), "iterations": (COUNT, True)}
FINISHED = ("done",)
# every field the engine and the dashboard read, with its type (docs/format.md)
RECORD = {"instance": (TEXT, True), "iteration": (COUNT, False), "status": (TEXT, True),
          "attempts": (COUNT, False), "failures": (COUNT, False), "state": (TEXT, False),
          "state_size": (COUNT, False), "saved": (NUMBER_OR_NULL, False),
          "started": (NUMBER_OR_NULL, False), "ended": (NUMBER_OR_NULL, False),
          "error": (TEXT_OR_NULL, False), "kills": (COUNT, False),
          "killed": (TEXT_OR_NULL, False), "log": (TEXT, False), "log_from": (COUNT, False),
          "log_to": (COUNT, False)}
BAD_RECORD_FAILURES = sys.maxsize  # beyond any --max-attempts: never retried


def work_key(index: int, iteration: int) -> str:
    return f"{index:05d}-{iteration}"


class InstanceBook:
    """Reads and writes the instance records of one run (kept by a reader between
    reads: the done journals are read on from where it stopped, the plan once)."""

    def __init__(self, paths: RunPaths):
        self.paths = paths
        self.folder = paths.meta(INSTANCES)
        self.folder_name = str(self.folder)  # strings on the hot path: no pathlib
        self.journals = DoneJournals(self.folder_name)
        self._plan: tuple[list[str], int] | None = None

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
        failed, saying why, with nothing else lost, even if a journal says the unit
        is done (someone spoiled or planted the file: said, not passed over).
        """
        done = self.journals.read().get(key)
        record = self._read_file(key)
        if record is None:
            record = self._planned(key)
            if record is None:
                return None
        return _with_done(record, done)

    def _read_file(self, key: str) -> dict | None:
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

    def plan(self) -> tuple[list[str], int] | None:
        """The run's instances and iterations, None for a run made before plans;
        NotReadable if its plan cannot be read or is not one."""
        if self._plan is None:
            if not os.path.isdir(self.folder_name):  # none yet, or not a folder: no work
                return None
            path = os.path.join(self.folder_name, PLAN)
            try:
                plan = read_json(path, PLAN_MAX)
            except FileNotFoundError:
                return None
            try:
                if not isinstance(plan, dict):
                    raise WrongShape("not a JSON object")
                check_fields(plan, PLAN_FIELDS)
            except WrongShape as exc:
                raise NotReadable(path, f"is not a plan of instances: {exc}") from None
            self._plan = (plan["instances"], plan["iterations"])
        return self._plan

    def _planned(self, key: str) -> dict | None:
        """The pending record of ``key`` as the plan gives it."""
        plan = self.plan()
        index, _, iteration = key.partition("-")
        if plan is None or not (index.isdigit() and iteration.isdigit()):
            return None
        instances, iterations = plan
        if int(index) >= len(instances) or int(iteration) >= iterations:
            return None
        return new_record(instances[int(index)], int(iteration))

    def write(self, key: str, record: dict, fsync: bool = False) -> None:
        """Keep ``record``: a line of this process's journal once it is done, else
        its whole-file record, replaced."""
        if record.get("status") == "done" and not fsync:
            self.journals.append(key, record)
        else:
            write_json_atomic(self.name(key), record, fsync=fsync, compact=True)

    def create(self, instances: list[str], iterations: int) -> None:
        """A new run's plan, with the folders its units' records and journals go in
        (written before it is started). They are made in a hidden folder that
        becomes ``instances/`` once whole, so no reader sees a plan half written."""
        staging = self.folder.with_name(f".{INSTANCES}.{os.urandom(4).hex()}")
        staging.mkdir()
        _write_new(os.path.join(staging, PLAN),
                   {"instances": instances, "iterations": iterations})
        (staging / DONE_DIR).mkdir()
        make_shared(str(staging))  # what the instances' locks are taken on
        os.rename(staging, self.folder)

    def keys(self) -> list[str]:
        """The keys of every unit, planned or with a record; NotReadable (an OSError)
        if they cannot be had: the engine must not take an unreadable folder or plan
        for one without work."""
        return sorted(self._listed() | set(self._plan_keys()))

    def _listed(self) -> set[str]:
        """The keys of the whole-file records in the folder."""
        try:
            names = os.listdir(self.folder)
        except (FileNotFoundError, NotADirectoryError):
            return set()
        except OSError as exc:
            raise NotReadable(self.folder, f"cannot be listed ({exc.strerror})") from None
        return {name[:-5] for name in names
                if name.endswith(".json") and not name.startswith(".") and name != PLAN}

    def _plan_keys(self) -> list[str]:
        plan = self.plan()
        if plan is None:
            return []
        count, iterations = len(plan[0]), plan[1]
        return [work_key(index, iteration) for index in range(count)
                for iteration in range(iterations)]

    def records(self) -> dict[str, dict]:
        """Every unit's record, by key, in key order."""
        listed = self._listed()
        done = self.journals.read()
        found = {}
        for key in sorted(listed | set(self._plan_keys())):
            record = self._read_file(key) if key in listed else None
            if record is None:
                record = self._planned(key) or {}
            found[key] = _with_done(record, done.get(key)) if record else record
        return found

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

    def close(self) -> None:
        self.journals.close()


def _with_done(record: dict, done: dict | None) -> dict:
    """A unit's record (its file's, or the plan's) with its done line over it; a bad
    record stays as it is, whatever a journal says."""
    return {**record, **done} if done is not None and not record.get("bad") else record


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
