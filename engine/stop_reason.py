"""Why a run stopped, when the cause is the storage under it.

A run that fills its disk cannot always record why it stopped: its supervisor
retries the exit record (``exit.cause``) until space returns or it gives up, and
before anything else it writes its last words, one short line in
``log/supervisor.log``, which a file with room left in its last block can still
take:

    2026-11-29T20:36:37 Stopped: disk full (No space left on device)

A run that turns ``lost`` without an exit record is given the cause of the last
such line written after its supervisor's latest start line (``Supervisor
starting (pid N)``), so a stale cause of an earlier attempt is never shown.

Causes are a fixed vocabulary: whatever bytes a log holds, only these words
reach a listing, so nothing read from a run's log is printed from here.
"""

import errno
import os
from pathlib import Path

from .layout import SUPERVISOR_LOG
from .untrusted import open_regular

DISK_FULL = "disk full"
QUOTA = "disk quota exceeded"
READ_ONLY = "read-only filesystem"
CAUSES = {errno.ENOSPC: DISK_FULL, errno.EDQUOT: QUOTA, errno.EROFS: READ_ONLY}
LAST_WORDS = "Stopped: "
STARTED = "Supervisor starting"
TAIL_BYTES = 4096


def _storage_error(exc: BaseException | None) -> OSError | None:
    """The OSError with a storage cause that ``exc`` is or arose from, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in CAUSES:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def cause_of(exc: BaseException | None) -> str | None:
    """The storage cause of ``exc`` (a word of CAUSES), if it has one."""
    found = _storage_error(exc)
    return None if found is None else CAUSES[found.errno]


def system_words(exc: BaseException) -> str:
    """What the system said about ``exc`` (or the storage error behind it), and where."""
    found = _storage_error(exc) or exc
    if isinstance(found, OSError) and found.strerror:
        return found.strerror + (f": {found.filename}" if found.filename else "")
    return f"{type(found).__name__}: {found}"


def describe(exc: BaseException) -> str:
    """``exc`` in a few words: its storage cause first, if it has one."""
    cause = cause_of(exc)
    return f"{cause} ({system_words(exc)})" if cause else system_words(exc)


def last_words(cause: str, detail: str) -> str:
    return f"{LAST_WORDS}{cause} ({detail})"


def _log_tail(meta_dir: Path | str) -> str:
    """The end of the supervisor's log, or "" (never blocks, never follows a link)."""
    path = os.path.join(meta_dir, SUPERVISOR_LOG)
    if not os.access(path, os.F_OK, effective_ids=True):
        return ""  # none, as for most runs: found without raising (a listing asks often)
    try:
        with open_regular(path) as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - TAIL_BYTES))
            return f.read(TAIL_BYTES).decode("utf-8", errors="replace")
    except OSError:  # none, or not a regular file (untrusted.py)
        return ""


def lost_cause(meta_dir: Path | str) -> str | None:
    """The storage cause in the latest attempt's last words, if it left any."""
    cause = None
    for line in _log_tail(meta_dir).splitlines():
        _stamp, _sep, message = line.partition(" ")
        if message.startswith(STARTED):
            cause = None
        elif message.startswith(LAST_WORDS):
            words = message[len(LAST_WORDS):]
            cause = next((c for c in CAUSES.values() if words.startswith(c)), cause)
    return cause


def stop_reason(attrs: dict, status: str, meta_dir: Path | str) -> str | None:
    """Why a run with these attributes and status stopped, when storage was the cause."""
    if status == "lost":
        return lost_cause(meta_dir)
    record = attrs.get("exit")
    if isinstance(record, dict) and record.get("cause") in CAUSES.values():
        return record["cause"]
    return None
