"""A flow attached to a platform: its lifecycle (prepare, run, stop, results) and
its stage, read from the task's records; ``Local`` runs each step on this machine.
The Dask platform is in flow_dask.py.
"""

import contextlib
import shutil
import time
from pathlib import Path

from .atomic import write_json_atomic
from .errors import RunyardError
from .flow_graph import FlowError, PromisedTask, apply_changes, content_id, resolve
from .flow_results import StepResult, flow_results
from .flow_state import active_runs, idle_for, read_state, set_stage, task_dir, update_state
from .meta import now_iso
from .root import ensure_root, resolve_root
from .stop_reason import describe

DEFAULT_IDLE_TIMEOUT = 3600.0


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
