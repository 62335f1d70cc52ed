"""A run's status, derived from its files and never stored.

Precedence (DESIGN.md):
1. an exit record wins: ``completed``, ``failed`` or ``terminated``;
2. else a lock written on this host is checked against the process table (pid
   and start time): alive means ``running`` (``paused`` with a pause marker),
   dead means ``lost`` at once;
3. else (a lock from another host) a heartbeat younger than the run's timeout
   means ``running`` (or ``paused``); an older one means ``lost``;
4. a run never started is ``created``; one whose Slurm job was submitted for an
   attempt not yet begun is ``queued`` (slurm.py; store.py then asks Slurm what
   became of the job).
"""

import os
import stat
import time
from pathlib import Path

from .layout import HEARTBEAT, PAUSED
from .procs import host_name, lock_process_alive

STATES = ("created", "queued", "running", "paused", "completed", "failed", "terminated",
          "lost")
ACTIVE_STATES = ("running", "paused")
FINAL_STATES = ("completed", "failed", "terminated")  # what an exit record may say
DEFAULT_TIMEOUT = 60.0


def _marker(path: Path | str) -> os.stat_result | None:
    """A marker's stat if it is a regular file (never a link, a FIFO or a folder,
    which runyard does not write), else None."""
    try:
        info = os.lstat(path)
    except OSError:  # none, or cannot be seen: no sign
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def heartbeat_age(meta_dir: Path | str, now: float | None = None) -> float | None:
    """Seconds since the last heartbeat, or None if there never was one."""
    info = _marker(os.path.join(meta_dir, HEARTBEAT))
    if info is None:
        return None
    return (time.time() if now is None else now) - info.st_mtime


def _live_state(meta_dir: Path | str) -> str:
    return "paused" if _marker(os.path.join(meta_dir, PAUSED)) is not None else "running"


def run_status(attrs: dict, meta_dir: Path | str, now: float | None = None,
               seen_pids: dict | None = None, here: str | None = None) -> str:
    """The status of the run whose attributes are ``attrs``.

    ``seen_pids`` lets one listing look each process up once; ``here`` is this
    host's name (``host_name()``), which a listing looks up once.
    """
    exit_record = attrs.get("exit")
    if isinstance(exit_record, dict) and exit_record.get("status"):
        return str(exit_record["status"])
    slurm = attrs.get("slurm")
    if slurm is not None and slurm.get("for_attempt", 0) > attrs.get("attempt", 0):
        return "queued"  # its job was submitted for an attempt not begun yet
    lock = attrs.get("lock")
    if not isinstance(lock, dict):
        return "created"
    if lock.get("host") == (host_name() if here is None else here):
        return _live_state(meta_dir) if lock_process_alive(lock, seen_pids) else "lost"
    age = heartbeat_age(meta_dir, now)
    timeout = attrs.get("timeout") or DEFAULT_TIMEOUT
    if age is not None and age <= timeout:
        return _live_state(meta_dir)
    return "lost"
