"""The run lifecycle as small named steps.

Each step writes one marker (a file, or a key of ``attrs.json``) and logs one
line in the runner log:

    make_run        creates <id>/                        (not listed yet)
    init_run_meta   creates <id>.meta/ in one rename      -> created
    start_run       writes ``started``, ``lock``, heartbeat -> running
    beat            refreshes the heartbeat
    pause_marker / clear_pause_marker                    -> paused / running
    finalize_run    writes ``exit``                      -> completed | failed | terminated

A run that stops without ``finalize_run`` turns ``lost`` (see status.py);
``start_run`` on a finished or lost run begins a new attempt under the same id.
"""

import contextlib
import os
from pathlib import Path

from .atomic import sweep_stale_temps, write_atomic, write_json_atomic
from .errors import RunyardError
from .ids import new_run_id
from .layout import ATTRS, HEARTBEAT, INSTANCES, PAUSED, PROC, SCHEMA, RunPaths
from .meta import append_log, now_iso, update_attrs
from .names import claim_name, claim_random_name, release_name
from .procs import host_name, process_lock, scheduler_context, user_name
from .root import ensure_root
from .status import DEFAULT_TIMEOUT, run_status
from .validate import check_description, check_folder, check_metadata, check_tags, check_timeout

FINAL_STATES = ("completed", "failed", "terminated")


def make_run(root: Path, run_id: str | None = None) -> RunPaths:
    """Create a run's working directory under a fresh, unique id."""
    root = ensure_root(root)
    for _ in range(100):
        paths = RunPaths(root, run_id or new_run_id())
        try:
            paths.run_dir.mkdir()
            return paths
        except FileExistsError:
            if run_id is not None:
                raise RunyardError(f"run {run_id} already exists in {root}") from None
    raise RunyardError(f"could not create a unique run id in {root}")


def new_attrs(paths: RunPaths, *, name: str, folder: str = "/", tags=(), metadata=None,
              description: str = "", timeout: float = DEFAULT_TIMEOUT,
              extra: dict | None = None) -> dict:
    """The attributes of a run just created (checked; raises ValueError)."""
    return {
        "schema": SCHEMA,
        "id": paths.id,
        "name": name,
        "folder": check_folder(folder),
        "tags": check_tags(list(tags)),
        "metadata": check_metadata(metadata or {}),
        "description": check_description(description),
        "timeout": check_timeout(timeout),
        "host": host_name(),
        "user": user_name(),
        "scheduler": scheduler_context(),
        "created": now_iso(),
        **(extra or {}),
    }


def init_run_meta(paths: RunPaths, *, name: str | None = None, **attrs) -> dict:
    """Create ``<id>.meta`` whole, in one rename, so no reader sees half of it."""
    try:
        if name is None:
            name = claim_random_name(paths.root, paths.id)
        else:
            claim_name(paths.root, name, paths.id)
    except BaseException:
        with contextlib.suppress(OSError):
            paths.run_dir.rmdir()
        raise
    tmp = _new_folder(paths.root, f".{paths.id}.init-")
    try:
        record = new_attrs(paths, name=name, **attrs)
        (tmp / "log").mkdir()
        write_json_atomic(tmp / ATTRS, record)
        append_log(tmp, f"Initialized run {paths.id} named {name}")
        os.rename(tmp, paths.meta_dir)
    except BaseException:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        release_name(paths.root, name, paths.id)
        with contextlib.suppress(OSError):
            paths.run_dir.rmdir()  # made by make_run, still empty: nothing half-created
        raise
    return record


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new folder with a fresh name, its mode 0777 less the umask (mkdtemp makes
    0700: a group sharing a runs directory could not read each other's runs)."""
    for _ in range(100):
        folder = parent / f"{prefix}{os.urandom(4).hex()}"
        try:
            folder.mkdir(0o777)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary folder name in {parent}")


def discard_new_run(paths: RunPaths, name: str | None) -> None:
    """Undo ``make_run`` and ``init_run_meta`` of a run whose start failed before its
    supervisor was launched: its folders and its name go, as if never made. The meta
    folder is first renamed to a ``.``-name, so no reader sees it half removed."""
    if paths.meta_dir.exists():
        doomed = paths.root / f".{paths.id}.discard"
        try:
            os.rename(paths.meta_dir, doomed)
        except OSError:
            doomed = paths.meta_dir
        import shutil  # here: it loads bz2 and lzma, which a run's start never needs

        shutil.rmtree(doomed, ignore_errors=True)
    if name is not None:
        with contextlib.suppress(OSError):
            release_name(paths.root, name, paths.id)
    with contextlib.suppress(OSError):
        paths.run_dir.rmdir()  # still empty: nothing has run in it


def start_run(paths: RunPaths, pid: int | None = None) -> dict:
    """Mark the run started by process ``pid`` (this one by default): a new attempt.

    Checked and written under the attrs lock, so of two processes starting one
    run at once, exactly one succeeds; the other gets a RunyardError.
    """
    lock = process_lock(pid)

    def change(attrs: dict) -> None:
        status = run_status(attrs, paths.meta_dir)
        if status in ("running", "paused"):
            owner = attrs.get("lock", {})
            raise RunyardError(f"run {attrs.get('name')!r} ({paths.id}) is {status} under "
                               f"pid {owner.get('pid')} on {owner.get('host')}")
        # only once the run is ours: a beat before the check would make a run lost on
        # another host look alive, and clearing the marker would unpause a live one
        beat(paths)
        clear_pause_marker(paths)
        attrs.setdefault("started", now_iso())
        attrs["attempt"] = attrs.get("attempt", 0) + 1
        attrs["lock"] = lock
        attrs.pop("exit", None)
        attrs.pop("ended", None)

    attrs = update_attrs(paths.meta_dir, change,
                         f"Started by pid {lock['pid']} on {lock['host']}")
    sweep_run_temps(paths)
    return attrs


def sweep_run_temps(paths: RunPaths) -> None:
    """Remove what interrupted writes of earlier attempts left (see atomic.py)."""
    now = os.stat(paths.meta(HEARTBEAT)).st_mtime  # just beaten: the filesystem's clock
    for folder in (paths.meta_dir, paths.meta(INSTANCES), paths.meta(PROC)):
        sweep_stale_temps(folder, now)


def beat(paths: RunPaths) -> None:
    """Refresh the heartbeat: its modification time is the last sign of life."""
    heartbeat = paths.meta(HEARTBEAT)
    try:
        os.utime(heartbeat)
    except FileNotFoundError:
        heartbeat.touch()


def pause_marker(paths: RunPaths) -> None:
    write_atomic(paths.meta(PAUSED), now_iso() + "\n")
    append_log(paths.meta_dir, "Paused")


def clear_pause_marker(paths: RunPaths) -> None:
    try:
        paths.meta(PAUSED).unlink()
    except FileNotFoundError:
        return
    append_log(paths.meta_dir, "Resumed")


def finalize_run(paths: RunPaths, status: str, *, error: str | None = None,
                 exit_code: int | None = None, cause: str | None = None) -> dict:
    """Write the exit record: the run ends ``completed``, ``failed`` or ``terminated``
    (``cause``: a word of stop_reason.CAUSES when the storage stopped it)."""
    if status not in FINAL_STATES:
        raise ValueError(f"a run ends {', '.join(FINAL_STATES)}, not {status!r}")
    ended = now_iso()
    record = {"status": status, "time": ended}
    if error is not None:
        record["error"] = error
    if exit_code is not None:
        record["code"] = exit_code
    if cause is not None:
        record["cause"] = cause

    def change(attrs: dict) -> None:
        attrs["exit"] = record
        attrs["ended"] = ended

    paths.meta(PAUSED).unlink(missing_ok=True)
    return update_attrs(paths.meta_dir, change, f"Finished {status}")
