"""A run's control request, ``control.json``: the one module that writes and reads it.

    {"want": "paused", "seq": 3, "id": "9f1c2a7b4e0d5c6a",
     "time": "2026-11-22T05:10:00.120+00:00", "user": "ana", "host": "node7"}

``want`` is what the run should be: ``running``, ``paused`` or ``closed``. Each
request carries a fresh random ``id`` and a ``seq`` one above the request it
replaced, so two requests never look alike: the supervisor recognises a new one
by its content, never by the file's modification time (NFS stamps in whole
seconds; even a local disk gives two quick writes one time). A reader only acts
on the latest request, so a pause and a resume in one breath leave the run
running, as asked last.

The file is untrusted input: it is read only if it is a regular file of at most
``MAX_BYTES``, holding an object whose ``want`` is one of ``WANTS``; anything
else is no request.
"""

import json
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_json_atomic
from .layout import ATTRS_LOCK, CONTROL
from .meta import append_log, locked, now_iso
from .procs import host_name, user_name

WANTS = ("running", "paused", "closed")
VERBS = {"running": "Resume", "paused": "Pause", "closed": "Close"}
MAX_BYTES = 4096


@dataclass(frozen=True)
class Request:
    want: str
    seq: int = 0
    id: str = ""
    time: str = ""
    user: str = ""
    host: str = ""


def read_request_bytes(meta_dir: Path) -> bytes | None:
    """The request file's bytes; None if there is none, or it is not a small regular
    file (a FIFO must not block the reader, a link to /dev/zero must not fill it)."""
    try:
        fd = os.open(meta_dir / CONTROL, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:  # missing, a symlink (ELOOP), unreadable: no request
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, MAX_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= MAX_BYTES else None


def parse_request(data: bytes | None) -> Request | None:
    """The request in ``data``, or None if it holds none that can be used."""
    if data is None:
        return None
    try:
        record = json.loads(data)
    except ValueError:  # not JSON, or not UTF-8
        return None
    if not isinstance(record, dict) or record.get("want") not in WANTS:
        return None
    seq = record.get("seq")
    fields = {name: record[name] for name in ("id", "time", "user", "host")
              if isinstance(record.get(name), str)}
    return Request(record["want"], seq if type(seq) is int and seq >= 0 else 0, **fields)


def read_request(meta_dir: Path) -> Request | None:
    return parse_request(read_request_bytes(meta_dir))


def _write(meta_dir: Path, want: str, seq: int) -> Request:
    request = Request(want, seq, secrets.token_hex(8), now_iso(), user_name(), host_name())
    write_json_atomic(meta_dir / CONTROL, request.__dict__)
    return request


def post_request(meta_dir: Path, want: str,
         decide: Callable[[Request | None], bool] | None = None) -> Request | None:
    """Ask for ``want``: under the run's attrs lock, ``decide(current request)`` says
    whether to write it (it may raise to refuse); the runner log names who asked.
    Returns the request written, or None if ``decide`` found nothing to do."""
    if want not in WANTS:
        raise ValueError(f"a request wants one of {', '.join(WANTS)}, not {want!r}")
    with locked(meta_dir / ATTRS_LOCK):
        current = read_request(meta_dir)
        if decide is not None and not decide(current):
            return None
        request = _write(meta_dir, want, (current.seq if current else 0) + 1)
        append_log(meta_dir, f"{VERBS[want]} requested by {request.user}@{request.host} "
                             f"(request {request.seq})")
    return request


def post_request_unlocked(meta_dir: Path, want: str) -> Request:
    """Ask for ``want`` without the lock: for a signal handler, which may have
    interrupted its own process while it held the lock."""
    current = read_request(meta_dir)
    return _write(meta_dir, want, (current.seq if current else 0) + 1)

