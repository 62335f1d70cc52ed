"""The keeper of a Dask flow task's own cluster: one detached process per task.

``python -m runyard.engine.flow_cluster ROOT TASK_ID WORKERS``

It starts a scheduler and WORKERS single-threaded worker processes on
127.0.0.1, writes their address to ``cluster.json`` (with its own lock record,
so a reader can tell a dead keeper from a live one), and keeps them until the
task is stopped (``state.json`` leaves ``prepared``), SIGTERM, or the task has
been idle for longer than its idle timeout, which suspends it.

It owns ``cluster.json``: written and dropped here, and read here for the Dask
platform (flow_dask.py) and the flow runner (``cluster_address``).
"""

import contextlib
import fcntl
import os
import signal
import sys
import time
from pathlib import Path

from .atomic import write_json_atomic
from .errors import RunyardError
from .flow_state import idle_for, read_json, read_state, task_dir, update_state
from .meta import now_iso
from .procs import process_lock
from .untrusted import open_lock

CHECK_EVERY = 0.5
LOCK = "cluster.lock"


ANOTHER_KEEPER = 3  # the exit code of a keeper that found the task's cluster kept


def main(argv: list[str]) -> int:
    root, task_id, workers = Path(argv[0]), argv[1], int(argv[2])
    folder = task_dir(root, task_id)
    lock = open_lock(folder / LOCK)  # held while this process lives: one keeper a task
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # two prepare() at once: the other one's keeper keeps it
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} Another keeper holds this task's "
              "cluster", flush=True)
        return ANOTHER_KEEPER
    leaving = []
    signal.signal(signal.SIGTERM, lambda *_: leaving.append("SIGTERM"))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a dropped SSH session stops nothing
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    write_json_atomic(folder / "cluster.json", {"address": cluster.scheduler_address,
                                                "workers": workers, "lock": process_lock()},
                      mode=0o644)  # obeyed only if no one else could have written it
    up = time.time()  # the idle clock starts no earlier than this
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} Cluster up at {cluster.scheduler_address}",
          flush=True)
    why = "SIGTERM"
    try:
        while not leaving:
            found = reason_to_leave(root, folder, up)
            if found:
                why = found
                break
            time.sleep(CHECK_EVERY)
    finally:
        drop_record(folder)
        with contextlib.suppress(Exception):
            cluster.close(timeout=20)
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} Cluster released: {why}", flush=True)
    return 0


def leaving_because(root: Path, folder: Path, state: dict, up: float) -> str | None:
    """Why the keeper should let its cluster go, or None: the task was stopped, or it
    has been idle, since it was last active or since the cluster came up (whichever
    is later: a cluster slower to start than the idle timeout is not idle at birth),
    for longer than its idle timeout."""
    if state.get("stage") != "prepared":
        return f"the task is {state.get('stage')}"
    since = max(float(state.get("last_active", 0)), up)
    idle = idle_for(root, {**state, "last_active": since}, task_id=folder.name)
    if idle is not None and idle > float(state.get("idle_timeout", 3600)):
        return f"idle for {idle:.0f} s"
    return None


def reason_to_leave(root: Path, folder: Path, up: float) -> str | None:
    """``leaving_because``, decided again under the task's lock when it looks so: a
    prepare() renewing the task at that moment keeps the cluster, else the task is
    suspended and the record dropped before the lock is let go, so that prepare()
    starts a new cluster rather than hand over this one."""
    if leaving_because(root, folder, read_state(folder) or {}, up) is None:
        return None
    decided = []

    def change(state: dict) -> None:
        why = leaving_because(root, folder, state, up)
        if why is None:
            return
        if why.startswith("idle"):
            state.update(stage="suspended", since=now_iso(), reason=why)
        drop_record(folder)
        decided.append(why)
    update_state(folder, change)
    return decided[0] if decided else None


def keeper_alive(folder: Path) -> bool:
    """Whether a keeper process holds the task's cluster (its lock is taken)."""
    try:
        fd = open_lock(folder / LOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # and with it the lock, if it was taken here


def drop_record(folder: Path) -> None:
    """Remove ``cluster.json`` if it is this keeper's (a new keeper may have written its
    own since this one decided to go)."""
    try:
        record = read_json(folder / "cluster.json")
    except RunyardError:
        return
    lock = (record or {}).get("lock")
    if isinstance(lock, dict) and lock.get("pid") == os.getpid():
        (folder / "cluster.json").unlink(missing_ok=True)


def cluster_address(folder: Path) -> str | None:
    """The address of the task's own cluster while its keeper process lives."""
    from .procs import lock_process_alive

    record = own_cluster_record(folder)
    if not record or not lock_process_alive(record.get("lock") or {}):
        return None
    address = record.get("address")
    return address if isinstance(address, str) else None


def own_cluster_record(folder: Path) -> dict | None:
    """``cluster.json``, if this user's own keeper wrote it. It says where the steps
    go and whose process to stop: in a shared root another user could have put it
    there (pointing at their scheduler, or at one of our processes), so one that is
    not ours and not writable by us alone is not obeyed."""
    from .root import untrusted_because

    path = folder / "cluster.json"
    try:
        if untrusted_because(os.stat(path, follow_symlinks=False)) is not None:
            return None
        record = read_json(path)
    except (OSError, RunyardError):
        return None
    lock = record.get("lock") if record else None
    if not isinstance(lock, dict) or not isinstance(lock.get("pid"), int):
        return None
    return record


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
