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
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .atomic import write_json_atomic
from .errors import SchemaError, UnreadableRun
from .layout import ATTRS, ATTRS_LOCK, RUNNER_LOG, SCHEMA


def now_iso() -> str:
    """The current time, ISO 8601 in UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_iso(text) -> datetime | None:
    """An ISO 8601 time, or None if there is none or it cannot be read (a hand edit)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def log_stamp() -> str:
    """A runner log timestamp: ISO 8601 local time with its offset (reference 004)."""
    return datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")


def check_schema(attrs: dict, where: Path) -> dict:
    schema = attrs.get("schema")
    if schema != SCHEMA:
        if isinstance(schema, int) and schema > SCHEMA:
            raise SchemaError(f"{where} has schema {schema}, this runyard reads schema "
                              f"{SCHEMA}: upgrade runyard to read it")
        raise SchemaError(f"{where} has unknown schema {schema!r} (expected {SCHEMA})")
    return attrs


def read_attrs(meta_dir: Path) -> dict:
    """A run's attributes; UnreadableRun or SchemaError if they cannot be used."""
    path = meta_dir / ATTRS
    try:
        with open(path, "rb") as f:
            attrs = json.loads(f.read())
    except FileNotFoundError:
        raise UnreadableRun(f"{path} is missing") from None
    except PermissionError:
        raise UnreadableRun(f"{path} is not readable (permission denied)") from None
    except ValueError as exc:
        raise UnreadableRun(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(attrs, dict):
        raise UnreadableRun(f"{path} does not hold a JSON object")
    return check_schema(attrs, meta_dir)


def append_log(meta_dir: Path, message: str) -> None:
    """One runner log line: timestamp, then a capitalised message."""
    line = f"{log_stamp()} {message[:1].upper()}{message[1:]}\n"
    fd = os.open(meta_dir / RUNNER_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


@contextmanager
def locked(lock_file: Path):
    """Hold an exclusive lock on ``lock_file`` (on NFS, flock maps onto fcntl locks)."""
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def update_attrs(meta_dir: Path, change: Callable[[dict], None],
                 message: str | None) -> dict:
    """Apply ``change`` to the attributes in place, write them, log ``message``
    (None for routine updates such as progress, which would flood the log)."""
    with locked(meta_dir / ATTRS_LOCK):
        attrs = read_attrs(meta_dir)
        change(attrs)
        write_json_atomic(meta_dir / ATTRS, attrs)
        if message:
            append_log(meta_dir, message)
    return attrs
