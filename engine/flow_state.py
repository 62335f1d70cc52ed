"""A flow task's records: ``task.json`` and ``state.json`` under
``.runyard/flows/<task id>/``, read as untrusted (a shared root), changed under the
task's lock; and what they say of the task's stage and idleness.
"""

import contextlib
import math
import time
from pathlib import Path

from . import untrusted
from .atomic import write_json_atomic
from .errors import RunyardError
from .ids import is_run_id
from .layout import ROOT_META
from .meta import locked, now_iso

ACTIVE = ("running", "paused", "created")


def task_dir(root: Path, task_id: str) -> Path:
    return root / ROOT_META / "flows" / task_id


def read_json(path: Path) -> dict | None:
    """A task record (task.json, state.json): in a shared root, read as any run file
    is (a FIFO or a link planted there must not hang or mislead ``runyard flow``)."""
    try:
        value = untrusted.read_json(path, untrusted.ATTRS_MAX)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RunyardError(f"{path} cannot be read: {exc}") from None
    return value if isinstance(value, dict) else None


def read_state(folder: Path) -> dict | None:
    """``state.json``, its fields checked: in a shared root anyone of the group may
    have written it, so a field of the wrong type is dropped, never trusted."""
    state = read_json(folder / "state.json")
    if state is None:
        return None
    runs = state.get("runs")
    state["runs"] = [r for r in runs if isinstance(r, str) and is_run_id(r)] \
        if isinstance(runs, list) else []
    for key in ("last_active", "idle_timeout"):
        value = state.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value):
            state.pop(key, None)
    for key in ("stage", "since", "reason"):
        if not isinstance(state.get(key), str | None):
            state.pop(key, None)
    return state


def update_state(folder: Path, change) -> dict:
    """Change ``state.json`` under its lock; returns the new state."""
    folder.mkdir(parents=True, exist_ok=True)
    with locked(folder / "state.lock"):
        state = read_state(folder) or {}
        change(state)
        write_json_atomic(folder / "state.json", state)
    return state


def active_runs(root: Path, state: dict, task_id: str | None = None) -> list[str]:
    """The task's flow runs that are running, paused or about to start (with
    ``task_id``: only runs that are flow runs of that task, whatever state.json lists,
    so a run someone added to it is never closed by this task's stop())."""
    from .store import load_run

    active = []
    for run_id in state.get("runs", []):
        with contextlib.suppress(RunyardError, OSError):
            info = load_run(root, run_id)
            if task_id is not None and (info.attrs.get("kind") != "flow" or
                                        (info.attrs.get("flow") or {}).get("task") != task_id):
                continue
            if info.status in ACTIVE:
                active.append(run_id)
    return active


def idle_for(root: Path, state: dict, now: float | None = None,
             task_id: str | None = None) -> float | None:
    """Seconds the task has been idle (None while one of its runs is active)."""
    if active_runs(root, state, task_id):
        return None
    return (now or time.time()) - float(state.get("last_active", 0))


def set_stage(folder: Path, stage: str, reason: str | None = None) -> dict:
    def change(state: dict) -> None:
        if state.get("stage") != stage:
            state["stage"] = stage
            state["since"] = now_iso()
            state["reason"] = reason
    return update_state(folder, change)
