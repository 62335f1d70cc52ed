"""The supervisor of a flow run: starts each step as a run of its own, in order.

Run by ``runyard.engine.supervisor`` for a run of kind ``flow``. A step starts
once every step it depends on completed; independent steps run side by side.
Its instances are its own files plus the outputs of the steps it takes input
from. The flow run's attributes say, per step alias, which run it is and its
status (``flow.steps``), and count the steps in ``progress``.

A new attempt (``runyard resume``, ``run(run_id=...)``) finds the step runs of
the earlier ones, leaves the completed ones alone, resumes those that ended
otherwise (from their saved states) and starts the rest. Pause, resume and
close of the flow run are passed on to the step runs that are running.
"""

import time
from dataclasses import asdict
from pathlib import Path

from . import control
from .atomic import write_json_atomic
from .errors import RunyardError
from .flow_cluster import cluster_address
from .flow_graph import dependencies, file_sha256
from .flow_results import step_outputs
from .flow_state import task_dir, update_state
from .instances import expand
from .layout import SPEC
from .meta import update_attrs
from .spec import RunSpec, read_spec
from .stall import DEFAULT_ENGINE
from .store import list_runs, load_run
from .supervision import TICK, Supervisor

ENDED = ("completed", "failed", "terminated", "lost")
LOOK_EVERY = 0.3


class FlowSupervisor(Supervisor):
    def main(self) -> None:
        flow = self.spec.flow
        self.root = self.paths.root
        self.steps = flow["graph"]["steps"]
        self.platform = flow.get("platform") or {"kind": "local"}
        self.task_id = flow.get("task")
        self.runs = self.find_step_runs()
        self.errors: dict[str, str] = {}   # steps that could not start, and why
        self.retried: set[str] = set()
        self.blocked: str | None = None    # why no further step starts
        self.published = None
        self.touch_task()
        statuses = self.statuses()
        for alias, status in statuses.items():  # an earlier attempt's unfinished steps
            if status in (*ENDED, "created") and status != "completed":
                self.retry(alias, status)
        self.log(f"Flow attempt over {len(self.steps)} steps; "
                 f"{sum(s == 'completed' for s in statuses.values())} already completed")
        while True:
            self.tick()
            statuses = self.statuses()
            if self.closing:
                break
            if not self.paused:
                self.advance(statuses)
                statuses = self.statuses()
            self.publish(statuses)
            if self.settled(statuses):
                break
            time.sleep(LOOK_EVERY)
        self.end()

    # -- reading ----------------------------------------------------------------------
    def find_step_runs(self) -> dict[str, str]:
        """Alias -> run id of this flow run's steps, from the runs themselves (a step
        started just before a crash is found even if it was never published)."""
        found: dict[str, tuple[str, str]] = {}
        for info in list_runs(self.root):
            link = info.attrs.get("flow") if isinstance(info.attrs.get("flow"), dict) else {}
            if link.get("run") == self.paths.id and isinstance(link.get("alias"), str):
                created = info.attrs.get("created", "")
                if link["alias"] not in found or created < found[link["alias"]][1]:
                    found[link["alias"]] = (info.id, created)
        return {alias: run_id for alias, (run_id, _c) in found.items()}

    def statuses(self) -> dict[str, str]:
        statuses = {}
        for step in self.steps:
            alias = step["alias"]
            if alias in self.runs:
                try:
                    statuses[alias] = load_run(self.root, self.runs[alias]).status
                except (RunyardError, OSError):
                    statuses[alias] = "unreadable"
            elif alias in self.errors:
                statuses[alias] = "failed"
        return statuses

    # -- acting -----------------------------------------------------------------------
    def advance(self, statuses: dict[str, str]) -> None:
        for step in self.steps:
            alias = step["alias"]
            status = statuses.get(alias)
            if status is None:
                deps = dependencies(step)
                if self.blocked is None and all(statuses.get(d) == "completed" for d in deps):
                    self.start_step(step)
            elif status == "lost" and alias not in self.retried:
                self.retry(alias, status)  # its supervisor died under us: once more
            elif status in ("failed", "terminated", "lost", "unreadable") and \
                    self.blocked is None:
                reason = self.errors.get(alias) or f"step {alias} {status}"
                self.blocked = reason
                self.log(f"Step {alias} ended {status}: no further step starts")

    def retry(self, alias: str, status: str) -> None:
        self.retried.add(alias)
        run_id = self.runs[alias]
        try:
            self.follow_cluster(run_id)
            if status == "created":  # made, but its supervisor was never launched
                control.launch(self.root, run_id)
            else:
                control.resume(self.root, run_id)
            self.log(f"Resumed step {alias} (run {run_id}), which was {status}")
        except (RunyardError, OSError) as exc:
            self.errors[alias] = f"step {alias} could not resume: {exc}"
            self.log(self.errors[alias])

    def follow_cluster(self, run_id: str) -> None:
        """A step on the task's own Dask cluster resumes on the cluster that runs now
        (prepare() after a stop or a suspension starts one at a new address)."""
        if self.platform["kind"] != "dask" or self.platform.get("scheduler"):
            return
        meta_dir = load_run(self.root, run_id).meta_dir
        spec = read_spec(meta_dir)
        if spec.executor != "dask":
            return
        address = cluster_address(task_dir(self.root, self.task_id))
        if not address:
            raise RunyardError("the flow task's Dask cluster is not running (the task "
                               "was stopped or suspended): prepare() it again")
        if address != spec.scheduler:
            spec.scheduler = address
            write_json_atomic(meta_dir / SPEC, asdict(spec), mode=0o600)

    def start_step(self, step: dict) -> None:
        alias = step["alias"]
        try:
            spec = self.step_spec(step)
            settings = step["settings"]
            parent = load_run(self.root, self.paths.id).attrs
            params = {f"params.{k}": v for k, v in settings.get("params", {}).items()
                      if isinstance(v, (str, int, float, bool))}
            info = control.start(
                self.root, spec, name=f"{parent.get('name', self.paths.id)}.{alias}",
                folder=step.get("folder") or parent.get("folder", "/"),
                tags=list(dict.fromkeys([*parent.get("tags", []), *settings.get("tags", [])])),
                metadata={**settings.get("metadata", {}), **params},
                description=step.get("description") or f"step {alias} of flow "
                                                       f"{parent.get('name')}",
                alerts=step.get("alerts") or None,
                extra={"flow": {"run": self.paths.id, "alias": alias, "task": self.task_id}})
        except (RunyardError, OSError, ValueError) as exc:
            self.errors[alias] = f"step {alias} could not start: {exc}"
            self.log(self.errors[alias])
            return
        self.runs[alias] = info.id
        self.log(f"Started step {alias} as run {info.id} ({info.name})")

    def step_spec(self, step: dict) -> RunSpec:
        settings = step["settings"]
        files = expand(step["instances"], Path(step["cwd"])) if step["instances"] else []
        for item in step["inputs"]:
            produced = step_outputs(load_run(self.root, self.runs[item["step"]]).paths,
                                    item["pattern"])
            if not produced:
                raise RunyardError(f"step {item['step']} produced no output matching "
                                   f"{item['pattern']!r}")
            files += [str(p) for p in produced]
        files = list(dict.fromkeys(files))
        common = {"workers": settings["workers"], "iterations": settings["iterations"],
                  "max_attempts": settings["max_attempts"], "grace": settings["grace"],
                  "params": settings.get("params", {}), "cwd": step["cwd"],
                  "stalled_after": settings.get("stalled_after", DEFAULT_ENGINE),
                  "on": settings.get("on", "here"), "slurm": settings.get("slurm", {}),
                  "requeue": settings.get("requeue", 0)}
        if step["kind"] == "command":
            argv = []
            for arg in step["argv"]:
                argv += files if arg == "{inputs}" else [arg]
            return RunSpec(kind="command", argv=argv, inputs=files, **common)
        if file_sha256(step["module"]) != step["module_sha256"]:
            raise RunyardError(f"module {step['module']} changed since the flow was "
                               "prepared: prepare() it again")
        executor = settings.get("executor") or ("dask" if self.platform["kind"] == "dask"
                                                else "local")
        scheduler = None
        if executor == "dask":
            scheduler = self.platform.get("scheduler") or \
                cluster_address(task_dir(self.root, self.task_id))
            if not scheduler:
                raise RunyardError("the flow task's Dask cluster is not running (the task "
                                   "was stopped or suspended): prepare() it again")
        return RunSpec(kind="module", module=step["module"], instances=files,
                       executor=executor, scheduler=scheduler, **common)

    # pause and resume reach the step runs through their own control files; a step
    # that has not yet obeyed the last one still gets the next (back to back, both count)
    def pause_work(self) -> None:
        self.follow_steps("paused")

    def resume_work(self) -> None:
        self.follow_steps("running")

    def follow_steps(self, want: str) -> None:
        """A pause or resume of the flow run, passed on to each step run."""
        for alias, run_id in self.runs.items():
            try:
                control.follow(self.root, run_id, want)
            except RunyardError as exc:
                self.log(f"Could not pass {want} on to step {alias}: {exc}")

    def settled(self, statuses: dict[str, str]) -> bool:
        if any(s not in ENDED and s not in ("unreadable",) for s in statuses.values()):
            return False  # something still runs
        if all(statuses.get(s["alias"]) == "completed" for s in self.steps):
            return True
        return self.blocked is not None

    def publish(self, statuses: dict[str, str], force: bool = False) -> None:
        steps = {}
        for step in self.steps:
            alias = step["alias"]
            record = {"run": self.runs.get(alias), "status": statuses.get(alias, "pending")}
            if alias in self.errors:
                record["error"] = self.errors[alias]
            steps[alias] = record
        counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for record in steps.values():
            status = record["status"]
            # terminated and lost steps resume with the flow run: still to do
            key = "done" if status == "completed" else "failed" if status == "failed" \
                else "running" if status in ("running", "paused", "created") else "pending"
            counts[key] += 1
        counts["total"] = len(self.steps)
        if not force and (steps, counts) == self.published:
            return
        self.published = (steps, counts)

        def change(attrs: dict) -> None:
            attrs.setdefault("flow", {})["steps"] = steps
            attrs["progress"] = counts
        update_attrs(self.paths.meta_dir, change, None)

    def touch_task(self) -> None:
        if not self.task_id:
            return
        folder = task_dir(self.root, self.task_id)
        if folder.is_dir():
            update_state(folder, lambda s: s.update(last_active=time.time()))

    # -- ending -----------------------------------------------------------------------
    def close_steps(self) -> None:
        for alias, run_id in self.runs.items():
            try:
                if load_run(self.root, run_id).status in ("running", "paused"):
                    control.close(self.root, run_id)
            except RunyardError as exc:
                self.log(f"Could not close step {alias}: {exc}")
        grace = max([s["settings"].get("grace", 10.0) for s in self.steps] + [10.0])
        deadline = time.monotonic() + grace + 30
        while time.monotonic() < deadline:
            if all(s in ENDED for s in self.statuses().values()):
                break
            self.tick()
            time.sleep(TICK)

    def end(self) -> None:
        if self.closing:
            if self.paused:
                self.paused = False
            self.close_steps()
        statuses = self.statuses()
        self.publish(statuses, force=True)
        self.touch_task()
        done = sum(statuses.get(s["alias"]) == "completed" for s in self.steps)
        if done == len(self.steps):
            self.finish("completed")
        elif self.closing:
            self.finish("terminated", error="closed")
        elif any(s == "failed" for s in statuses.values()):
            self.finish("failed", error=self.blocked or "a step failed")
        else:
            self.finish("terminated", error=self.blocked or "a step did not complete")
