"""Flows: define, attach to a platform, prepare, run with overrides, stop, results.

    from runyard.engine.flows import Dask, Local, flow, op

    @flow
    def lines_summary():
        lines = op("extract.py", instances=["data/*.txt"])
        return op("summarise.py", lines.outputs("*.txt"))

    task = Local(lines_summary())    # interpreted (or Dask(..., scheduler=...))
    task.prepare()                   # checked, recorded under a hash of its content
    run_id = task.run(config_extensions={"extract": {"workers": 4}})
    for result in task.results(run_id):
        print(result.alias, result.status, result.outputs)
    task.stop()                      # releases the platform

Stages (``get_stage()``): defined -> interpreted -> prepared <-> running ->
stopped; a prepared task idle for longer than its ``idle_timeout`` is
suspended. ``prepare()`` again makes a stopped or suspended task usable.

A flow run is a runyard run of kind ``flow``: a detached supervisor starts each
step as a run of its own (tagged with the flow run and its alias) in dependency
order, independent steps in parallel. Pausing, resuming and closing the flow
run act on its steps; resuming it redoes no finished step.

On disk, under the runs root::

    .runyard/flows/<task id>/task.json     the resolved graph and the platform
    .runyard/flows/<task id>/state.json    stage, its time, last activity, runs
    .runyard/flows/<task id>/cluster.json  Dask: the address of the task's own cluster
"""

import contextlib
import fnmatch
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import untrusted
from .atomic import write_json_atomic
from .errors import RunyardError
from .flow_graph import (
    FlowError,
    Outputs,
    PromisedTask,
    Step,
    apply_changes,
    content_id,
    flow,
    op,
    ref,
    resolve,
)
from .ids import is_run_id
from .layout import ARTIFACTS, ROOT_META, RunPaths
from .meta import locked, now_iso
from .root import ensure_root, resolve_root
from .stop_reason import describe
from .untrusted import open_log

__all__ = ["Dask", "FlowError", "Local", "Outputs", "PromisedTask", "Step", "StepResult",
           "flow", "flow_results", "op", "ref", "step_outputs"]

DEFAULT_IDLE_TIMEOUT = 3600.0
ACTIVE = ("running", "paused", "created")
CLUSTER_START_TIMEOUT = 120.0
KEEPER_STARTS = 3  # a cluster released for idling before prepare() saw it is started again


# -- the task's records -------------------------------------------------------------

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


# -- results --------------------------------------------------------------------------

def step_outputs(paths: RunPaths, pattern: str = "*") -> list[Path]:
    """The files a run produced in its folder and those it saved with category
    ``output``, sorted; ``pattern`` matches the relative path or the file name."""
    found = []
    for base in (paths.run_dir, paths.meta(ARTIFACTS) / "output"):
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            relative = path.relative_to(base)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            if fnmatch.fnmatchcase(relative.as_posix(), pattern) or \
                    fnmatch.fnmatchcase(path.name, pattern):
                found.append(path)
    return found


@dataclass
class StepResult:
    """What one step of a flow run gave."""

    alias: str
    status: str                          # a run status, or "pending" if it never started
    run_id: str | None = None
    name: str | None = None
    path: Path | None = None             # the step run's folder
    outputs: list[Path] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)   # name -> last, count, min, max, last_step
    error: str | None = None

    def values(self, metric: str) -> list:
        """Every recorded value of ``metric``, in order."""
        if self.path is None:
            return []
        from .layout import METRICS
        from .series import decode_value
        from .summary import read_series

        records, _bad = read_series(RunPaths(self.path.parent, self.run_id).meta_dir, METRICS)
        return [decode_value(r["v"][metric]) for r in records
                if isinstance(r.get("v"), dict) and metric in r["v"]]


def flow_results(root: Path, run_id: str, aliases: list[str] | None = None) -> list[StepResult]:
    """The results of a flow run: one per returned step (or per alias asked)."""
    from .spec import read_spec
    from .store import find_run, load_run
    from .summary import metric_summary

    info = find_run(root, run_id)
    if info.attrs.get("kind") != "flow":
        raise FlowError(f"run {info.name} is not a flow run")
    link = info.attrs.get("flow") or {}
    steps = link.get("steps", {})
    returns = link.get("returns")
    if returns is None:  # the spec is readable by its owner only: attrs come first
        returns = read_spec(info.meta_dir).flow["graph"]["returns"]
    results = []
    for alias in aliases or returns:
        record = steps.get(alias) or {}
        step_id = record.get("run")
        if not step_id:
            results.append(StepResult(alias, record.get("status", "pending"),
                                      error=record.get("error")))
            continue
        step = load_run(root, step_id)
        metrics, _bad = metric_summary(step.meta_dir)
        results.append(StepResult(alias, step.status, step.id, step.name, step.paths.run_dir,
                                  step_outputs(step.paths), metrics,
                                  (step.attrs.get("exit") or {}).get("error")))
    return results


# -- platforms ------------------------------------------------------------------------

class Platform:
    """A flow attached to a platform (interpreted). Subclasses: Local, Dask."""

    kind = "local"

    def __init__(self, task, *, root=None, idle_timeout: float = DEFAULT_IDLE_TIMEOUT):
        if callable(task) and getattr(task, "is_flow", False):
            task = task()
        if not isinstance(task, PromisedTask):
            raise FlowError(f"a platform takes a flow (a @flow function or what calling it "
                            f"returned), not {task!r}")
        if isinstance(idle_timeout, bool) or not isinstance(idle_timeout, (int, float)) \
                or idle_timeout <= 0:
            raise FlowError(f"idle_timeout is a positive number of seconds, not "
                            f"{idle_timeout!r}")
        self.task = task
        self.root = resolve_root(root)
        self.idle_timeout = float(idle_timeout)
        self.task_id: str | None = None
        self._content: dict | None = None

    # what subclasses add
    def platform(self) -> dict:
        return {"kind": self.kind}

    def ready(self, folder: Path) -> None:
        """Acquire what runs need (nothing locally)."""

    def release(self, folder: Path) -> None:
        """Let go of what ready() acquired."""

    # the lifecycle
    def _identify(self) -> str:
        if self._content is None:
            self._content = {"graph": resolve(self.task), "platform": self.platform()}
            self.task_id = content_id(self._content)
        return self.task_id

    @property
    def folder(self) -> Path:
        return task_dir(self.root, self._identify())

    def prepare(self) -> str:
        """Check the flow, record it under the hash of its content and ready the
        platform; returns the task id. Preparing the same flow again is harmless."""
        self._content = None  # modules may have changed since: look again
        task_id = self._identify()  # checked before anything is written
        ensure_root(self.root)
        folder = self.folder

        def change(state: dict) -> None:
            if state.get("stage") != "prepared":
                state.update(stage="prepared", since=now_iso(), reason=None)
            state.update(idle_timeout=self.idle_timeout, last_active=time.time())
            state.setdefault("runs", [])

        created = [f for f in (folder.parent, folder) if not f.exists()]  # flows/, <task>/
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not (folder / "task.json").exists():
                write_json_atomic(folder / "task.json", {"id": task_id, "created": now_iso(),
                                                         **self._content})
            update_state(folder, change)
        except OSError as exc:  # a full disk: one line, and no half-made task left
            for made in reversed(created):
                shutil.rmtree(made, ignore_errors=True)
            raise FlowError(f"cannot prepare flow {self.task.name!r} in {self.root}: "
                            f"{describe(exc)}") from None
        try:
            self.ready(folder)
        except BaseException:
            set_stage(folder, "stopped", "the platform could not be readied")
            raise
        return task_id

    def _state(self) -> dict | None:
        try:
            folder = self.folder
        except FlowError:
            return None  # it cannot be prepared as it is
        return read_state(folder)

    def get_stage(self) -> str:
        """interpreted, prepared, running, stopped or suspended: read from the runs
        directory, so every process sees the same truth."""
        state = self._state()
        if state is None:
            return "interpreted"
        stage = state.get("stage", "interpreted")
        if stage != "prepared":
            return stage
        idle = idle_for(self.root, state, task_id=self.task_id)
        if idle is None:
            return "running"
        if idle > float(state.get("idle_timeout", self.idle_timeout)):
            self.suspend(f"idle for {idle:.0f} s")
            return "suspended"
        return "prepared"

    def suspend(self, reason: str) -> None:
        folder = self.folder
        set_stage(folder, "suspended", reason)
        self.release(folder)

    def _require_ready(self, verb: str) -> None:
        stage = self.get_stage()
        if stage == "interpreted":
            raise FlowError(f"flow {self.task.name!r} is not prepared: call prepare() before "
                            f"{verb}")
        if stage in ("stopped", "suspended"):
            state = self._state() or {}
            why = f" ({state['reason']})" if state.get("reason") else ""
            raise FlowError(f"flow {self.task.name!r} is {stage}{why}: prepare() it again "
                            f"before {verb}")

    def run(self, overrides: dict | None = None, config_extensions: dict | None = None,
            run_id: str | None = None, detached: bool = False, *, name: str | None = None,
            folder: str = "/", tags=(), metadata: dict | None = None) -> str:
        """Run the prepared task (or resume flow run ``run_id``); returns the run id.
        Without ``detached`` it waits for the flow run to end."""
        from . import control
        from .spec import RunSpec

        self._require_ready("run()")
        if run_id is not None:
            if overrides or config_extensions:
                raise FlowError("a resumed flow run keeps its inputs and settings: give "
                                "overrides or config_extensions to a new run, not with run_id")
            run_id = self._resume(run_id)
        else:
            # The graph this process resolved from the flow's own code, never task.json
            # (a record in a root others may write: it must not choose what runs).
            graph = apply_changes(self._content["graph"], overrides, config_extensions)
            spec = RunSpec(kind="flow", flow={"task": self.task_id, "graph": graph,
                                              "platform": self.platform(),
                                              "root": str(self.root)})
            steps = {s["alias"]: {"run": None, "status": "pending"} for s in graph["steps"]}
            info = control.start(self.root, spec, name=name, folder=folder, tags=tags,
                                 metadata={"flow": self.task.name, **(metadata or {})},
                                 description=f"flow {self.task.name}",
                                 extra={"flow": {"task": self.task_id, "name": self.task.name,
                                                 "returns": graph["returns"],
                                                 "steps": steps}})
            run_id = info.id
            update_state(self.folder, lambda s: (s.setdefault("runs", []).append(run_id),
                                                 s.update(last_active=time.time())))
        if not detached:
            control.wait_for_end(self.root, run_id)
        return run_id

    def _resume(self, run_id: str) -> str:
        from . import control
        from .store import find_run

        info = find_run(self.root, run_id)
        mine = (info.attrs.get("flow") or {}).get("task")
        if info.attrs.get("kind") != "flow" or mine != self.task_id:
            raise FlowError(f"run {info.name} is not a run of this flow task "
                            f"({self.task_id})")
        if info.status == "completed":  # Malevich would run it again under that id
            raise FlowError(f"flow run {info.name} ({info.id}) completed: run(run_id=...) "
                            "resumes an interrupted flow run, and a completed run is kept "
                            "as it is; call run() without run_id to run the flow again")
        if info.status in ("lost", "terminated", "failed"):
            update_state(self.folder, lambda s: s.update(last_active=time.time()))
            control.resume(self.root, info.id)
        return info.id

    def stop(self, wait: float = 60.0) -> None:
        """Close this task's running flow runs gracefully (they stay resumable) and
        release the platform."""
        from . import control

        state = self._state()
        if state is None:
            raise FlowError(f"flow {self.task.name!r} was never prepared: nothing to stop")
        closing = active_runs(self.root, state, self.task_id)
        for run_id in closing:
            with contextlib.suppress(RunyardError):
                control.close(self.root, run_id)
        for run_id in closing:
            control.wait_for_end(self.root, run_id, wait)
        folder = self.folder
        set_stage(folder, "stopped", "stop() was called")
        update_state(folder, lambda s: s.update(last_active=time.time()))
        self.release(folder)

    def results(self, run_id: str | None = None) -> list[StepResult]:
        """For each step the flow returns: status, output files, metrics, run folder.
        Without ``run_id``: the task's latest run."""
        if run_id is None:
            runs = (self._state() or {}).get("runs", [])
            if not runs:
                raise FlowError(f"flow {self.task.name!r} has not run yet: run() it first, or "
                                "give the run_id of an earlier run")
            run_id = runs[-1]
        return flow_results(self.root, run_id)

    def status(self, run_id: str) -> str:
        from .store import find_run

        return find_run(self.root, run_id).status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.task.name!r}, stage={self.get_stage()!r})"


class Local(Platform):
    """The embedded engine on this machine: each step runs as a detached runyard run."""

    kind = "local"


class Dask(Platform):
    """Module steps run on a Dask cluster: ``scheduler`` (an address or a scheduler
    file), or, when none is given, a cluster of ``workers`` processes on this machine
    that the task owns from prepare() until it is stopped or suspended. Command
    steps run on this machine. The runs root must be shared with the workers."""

    kind = "dask"

    def __init__(self, task, *, scheduler: str | None = None, workers: int = 2, root=None,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT):
        super().__init__(task, root=root, idle_timeout=idle_timeout)
        if scheduler is not None and (not isinstance(scheduler, str) or not scheduler):
            raise FlowError(f"scheduler is an address such as tcp://host:8786, not "
                            f"{scheduler!r}")
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise FlowError(f"workers must be a positive integer, got {workers!r}")
        self.scheduler = scheduler
        self.workers = workers

    def platform(self) -> dict:
        if self.scheduler:
            return {"kind": "dask", "scheduler": self.scheduler}
        return {"kind": "dask", "scheduler": None, "workers": self.workers}

    def ready(self, folder: Path) -> None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise FlowError("the Dask platform needs dask.distributed: pip install "
                            "'runyard[dask]'") from None
        if self.scheduler:
            check_scheduler(self.scheduler)
            return
        for _ in range(KEEPER_STARTS):
            if hand_over(folder):  # up (already, or just now): the idle clock starts here
                return
            keeper = self._start_keeper(folder)
            deadline = time.monotonic() + CLUSTER_START_TIMEOUT
            while keeper.poll() is None and not cluster_address(folder):
                if time.monotonic() > deadline:
                    raise FlowError(f"the task's Dask cluster did not start within "
                                    f"{CLUSTER_START_TIMEOUT:.0f} s; the last line of "
                                    f"{folder / 'cluster.log'}: {last_log_line(folder)}")
                time.sleep(0.1)
            if keeper.poll() is not None and (read_state(folder) or {}).get("stage") != \
                    "suspended":  # it failed, or someone stopped the task: not idling
                raise FlowError(f"the task's Dask cluster stopped before prepare() could use "
                                f"it; the last line of {folder / 'cluster.log'}: "
                                f"{last_log_line(folder)}")
        raise FlowError(f"the task's Dask cluster was released for idling {KEEPER_STARTS} "
                        f"times before prepare() could hand it over: an idle_timeout of "
                        f"{self.idle_timeout:g} s is too short")

    def _start_keeper(self, folder: Path) -> subprocess.Popen:
        with open_log(folder / "cluster.log") as log:
            return subprocess.Popen([sys.executable, "-P", "-m", "runyard.engine.flow_cluster",
                                     str(self.root), self.task_id, str(self.workers)],
                                    cwd=folder, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=log, start_new_session=True, close_fds=True)

    def release(self, folder: Path) -> None:
        record = own_cluster_record(folder) if self.scheduler is None else None
        if not record:
            return
        if cluster_address(folder):  # the keeper still lives: ask it to go
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(record["lock"]["pid"], signal.SIGTERM)
        deadline = time.monotonic() + 30
        while cluster_address(folder) and time.monotonic() < deadline:
            time.sleep(0.1)


def check_scheduler(address: str) -> None:
    from distributed import Client

    try:
        client = Client(address, timeout=15)
    except (OSError, TimeoutError, ValueError) as exc:
        raise FlowError(f"cannot reach the Dask scheduler {address}: {exc}") from None
    client.close()


def hand_over(folder: Path) -> bool:
    """Whether the task's own cluster is up; if so its idle clock starts now (the task is
    handed over to the caller), else the task is made ready for a new keeper (prepared,
    active now: one that released its cluster for idling left it suspended). Under the
    task's lock, so a keeper deciding to release its cluster at this moment either sees
    the renewal and stays, or has already dropped its record and a new one is started."""
    handed = []

    def change(state: dict) -> None:
        handed.append(cluster_address(folder) is not None)
        if not handed[0] and state.get("stage") != "prepared":
            state.update(stage="prepared", since=now_iso(), reason=None)
        state["last_active"] = time.time()
    update_state(folder, change)
    return handed[0]


def last_log_line(folder: Path) -> str:
    """The last line of the keeper's ``cluster.log``, for an error message."""
    try:
        text = untrusted.read_bounded(folder / "cluster.log", untrusted.MiB)
    except OSError:  # none yet, or not a file we read
        text = b""
    lines = text.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else "(empty)"


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
