"""Reading and updating a run's meta side-car.

``attrs.json`` is the run's record: its attributes and its lifecycle markers
(``started``, ``lock``, ``exit``, ...). It is the one file a listing reads.
Several processes of one run may update it (the tracking process, the
supervisor, a resume), so every update is a read-modify-write under an
exclusive ``flock`` on ``attrs.lock``, ending in an atomic replace. Each update
appends one line to the runner log, under the same lock.
"""

import fcntl
import json
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .atomic import write_atomic
from .attrs_schema import attrs_ok, check_attrs
from .errors import LockTimeout, SchemaError, UnreadableRun, UsageError
from .layout import ATTRS, ATTRS_LOCK, META_SUFFIX, RUNNER_LOG, SCHEMA
from .shapes import WrongShape, brief, is_int
from .untrusted import ATTRS_MAX, MiB, open_for_writing, open_lock, read_json


def now_iso() -> str:
    """The current time, ISO 8601 in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_iso(text) -> datetime | None:
    """An ISO 8601 time, or None if there is none or it cannot be read (a hand edit).

    Years 1 and 9999 are refused too: shifted to another time zone they leave
    the range of ``datetime`` and raise, where a reader needs a time or None.
    """
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if not 1 < moment.year < 9999:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def log_stamp() -> str:
    """A runner log timestamp: ISO 8601 local time with its offset (reference 004)."""
    return datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")


def check_schema(attrs: dict, where: Path | str) -> dict:
    schema = attrs.get("schema")
    if not (is_int(schema) and schema == SCHEMA):
        if is_int(schema) and SCHEMA < schema < 10**6:
            raise SchemaError(f"{where} has schema {schema}, this runyard reads schema "
                              f"{SCHEMA}: upgrade runyard to read it")
        shown = "None" if schema is None else brief(schema)
        raise SchemaError(f"{where} has unknown schema {shown} (expected {SCHEMA})")
    return attrs


_ATTRS = "/" + ATTRS


def read_attrs(meta_dir: Path | str, run_id: str | None = None) -> dict:
    """A run's attributes, every field it has of the type docs/format.md gives
    (attrs_schema.py); UnreadableRun or SchemaError, one line, if they cannot be used.
    ``run_id``: the run whose meta folder it is, when the caller knows (a listing).
    """
    # a plain string (a listing reads thousands), joined as os.path.join would
    path = meta_dir + _ATTRS if type(meta_dir) is str and meta_dir.endswith(META_SUFFIX) \
        else os.path.join(meta_dir, ATTRS)
    try:
        attrs = read_json(path, ATTRS_MAX)
    except FileNotFoundError:
        raise UnreadableRun(f"{path} is missing") from None
    except OSError as exc:  # NotReadable says which file and why
        raise UnreadableRun(str(exc)) from None
    if type(attrs) is dict and type(schema := attrs.get("schema")) is int and \
            schema == SCHEMA and run_id is not None and attrs.get("id", run_id) == run_id \
            and attrs_ok(attrs):
        return attrs  # as the checks below would find it, at a fraction of their cost
    if not isinstance(attrs, dict):
        raise UnreadableRun(f"{path} does not hold a JSON object")
    check_schema(attrs, meta_dir)
    try:
        check_attrs(attrs)
    except WrongShape as exc:
        raise UnreadableRun(f"{path}: {exc}") from None
    name = os.path.basename(meta_dir)
    folder_id = name.removesuffix(META_SUFFIX)
    if "id" in attrs and attrs["id"] != folder_id and name.endswith(META_SUFFIX):
        # a meta folder renamed (two swapped by someone who can write the root): its
        # processes and requests would go to the other run
        raise UnreadableRun(f"{path} is the record of run {attrs['id']}, not of {folder_id}")
    return attrs


def encode_record(record: dict, what: str, limit: int = ATTRS_MAX) -> bytes:
    """A whole-file record as written (as ``write_json_atomic`` does); UsageError if
    it is larger than readers accept."""
    data = (json.dumps(record, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
            ).encode("utf-8")
    if len(data) > limit:
        raise UsageError(f"{what} would take {len(data)} bytes, more than the "
                         f"{limit // MiB} MiB a reader accepts")
    return data


def append_log(meta_dir: Path, message: str) -> None:
    """One runner log line: timestamp, then a capitalised message."""
    line = f"{log_stamp()} {message[:1].upper()}{message[1:]}\n"
    fd = open_for_writing(meta_dir / RUNNER_LOG)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


LOCK_WAIT = 60.0  # seconds; RUNYARD_LOCK_WAIT overrides (a test, a very slow NFS)


@contextmanager
def locked(lock_file: Path):
    """Hold an exclusive lock on ``lock_file`` (on NFS, flock maps onto fcntl locks).

    Locks are held for a read-modify-write, milliseconds. Lock files are private to
    the run's owner (``open_lock``), and a lock held far longer than any update
    (another process of the owner's, hung) is not waited for forever: LockTimeout (a
    RunyardError, one line) after LOCK_WAIT.
    """
    fd = open_lock(lock_file)
    try:
        _flock_within(fd, lock_file, float(os.environ.get("RUNYARD_LOCK_WAIT") or LOCK_WAIT))
        yield
    finally:
        os.close(fd)


def _flock_within(fd: int, lock_file: Path, wait: float) -> None:
    deadline = time.monotonic() + wait
    pause = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(f"{lock_file} has been held by another process for more "
                                  f"than {wait:g} s; try again, or see who holds it "
                                  f"(fuser {lock_file})") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.2)


def update_attrs(meta_dir: Path, change: Callable[[dict], None],
                 message: str | None) -> dict:
    """Apply ``change`` to the attributes in place, write them, log ``message``
    (None for routine updates such as progress, which would flood the log)."""
    with locked(meta_dir / ATTRS_LOCK):
        attrs = read_attrs(meta_dir)
        change(attrs)
        try:
            check_attrs(attrs)  # never write what a reader would refuse
        except WrongShape as exc:
            raise UsageError(f"the run's attributes would be unreadable: {exc}") from None
        write_atomic(meta_dir / ATTRS, encode_record(attrs, "the run's attributes"))
        if message:
            append_log(meta_dir, message)
    return attrs
