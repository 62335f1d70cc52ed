"""The Dask executor: instances as tasks on a dask.distributed cluster (and the base
of the Slurm executor, whose cluster is Slurm jobs: slurm.py).

The supervisor stays on the launching machine; each instance becomes a task
that a Dask worker runs with the same InstanceRunner as the local workers,
reading and writing the run's records in the runs directory, which must be
shared between the machines. State, ``done()``, failure and resume behave as
locally; a worker that dies mid-instance is replaced by Dask, and the instance
restarts elsewhere from its last saved state.

Pause and close cannot signal processes on other machines: a task reads the
run's ``control.json`` at each ``save()``, waits there while the run is paused
and stops there when it is closed. Use one thread per Dask worker process
(``--nthreads 1``): a run module runs in the run's folder as its working
directory.
"""

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..layout import RunPaths
from ..request import read_request
from ..spec import RunSpec, module_copy
from .base import Executor

_runners: dict = {}


class RunClosed(BaseException):
    """Raised in save() when the run was closed; not an Exception, so user code's
    ``except Exception`` does not swallow it."""


def _control(paths: RunPaths) -> str | None:
    """What the run's latest request wants (its content, as the supervisor reads it)."""
    wanted = read_request(paths.meta_dir)
    return wanted.want if wanted else None


def _obey(paths: RunPaths) -> None:
    """At a save(): wait while the run is paused; stop if it was closed."""
    want = _control(paths)
    while want == "paused":
        time.sleep(0.2)
        want = _control(paths)
    if want == "closed":
        raise RunClosed


def _copy_version(paths: RunPaths) -> tuple | None:
    """Which copy of the module the run holds: a resume that takes up a changed module
    replaces it (spec.refresh_module), and a worker kept from an earlier attempt must
    not run the module it imported then."""
    try:
        info = os.stat(module_copy(paths.meta_dir))
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def run_task(root: str, run_id: str, op: str, key: str | None) -> dict:
    """One instance (or ``done()``) on a Dask worker."""
    from ..worker import InstanceRunner

    paths = RunPaths(Path(root), run_id)
    runner = _runners.get((root, run_id))
    recorded = _copy_version(paths)
    if runner is not None and runner.version != recorded:  # a resume took up a change
        runner.close()
        runner = None
    if runner is None:
        from ..spec import read_spec

        spec = read_spec(paths.meta_dir)
        os.environ["RUNYARD_PARAMS"] = json.dumps(spec.params)  # seen at import too
        name = f"dask-{socket.gethostname()}-{os.getpid()}"
        runner = InstanceRunner(paths, name, Path(spec.module),
                                on_save=lambda: _obey(paths))
        runner.params = json.dumps(spec.params)
        runner.version = recorded
        _runners[(root, run_id)] = runner
    os.chdir(paths.run_dir)
    os.environ["RUNYARD_PARAMS"] = runner.params  # a flow step's, as local workers see them
    try:
        return runner.done() if op == "done" else runner.run(key)
    finally:
        runner.handle._writer.flush()


@dataclass
class Slot:
    name: str
    busy: str | None = None
    future: object = None
    alive: bool = True
    ready: bool = True


class DaskExecutor(Executor):
    name = "dask"

    @classmethod
    def start(cls, paths: RunPaths, spec: RunSpec, env: dict, todo: int) -> "DaskExecutor":
        return cls(paths, spec)

    def __init__(self, paths: RunPaths, spec: RunSpec):
        self.paths = paths
        self.cluster = None
        self.address = spec.scheduler
        self.client = self.connect(spec)
        self.slots = [Slot(f"d{i}") for i in range(spec.workers)]
        self.stopping = False

    def connect(self, spec: RunSpec):
        """A client of the scheduler given, or of a cluster of this machine that this
        supervisor owns (``self.cluster``, closed with the run)."""
        from distributed import Client, LocalCluster

        if spec.scheduler:
            return Client(spec.scheduler, timeout=30)
        self.cluster = LocalCluster(n_workers=spec.workers, threads_per_worker=1,
                                    processes=True, dashboard_address=None)
        return Client(self.cluster)

    def describe(self) -> str:
        where = self.address or f"a cluster of this machine ({len(self.slots)} workers)"
        return f"Dask: {len(self.slots)} tasks at once on {where}"

    def spawn(self) -> None:
        """Dask replaces lost workers itself."""

    def idle(self) -> list[Slot]:
        return [] if self.stopping else [s for s in self.slots if s.busy is None]

    def alive(self) -> list[Slot]:
        if self.stopping:
            return [s for s in self.slots if s.busy is not None]
        return list(self.slots)

    def send(self, slot: Slot, task: dict) -> None:
        slot.busy = task.get("key", task["op"])
        slot.future = self.client.submit(run_task, str(self.paths.root), self.paths.id,
                                         task["op"], task.get("key"), pure=False)

    def poll(self, timeout: float) -> list[tuple[Slot, dict]]:
        from distributed import wait

        busy = [s for s in self.slots if s.future is not None]
        if not busy:
            time.sleep(timeout)
            return []
        try:
            wait([s.future for s in busy], timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return []
        events = []
        for slot in busy:
            if slot.future.done():
                events.append((slot, self._answer(slot)))
                slot.busy, slot.future = None, None
        return events

    def _answer(self, slot: Slot) -> dict:
        future = slot.future
        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            return {"op": "died", "key": slot.busy, "code": None}
        error = future.exception()
        if isinstance(error, RunClosed):  # it may read the close before the supervisor
            return {"op": "died", "key": slot.busy, "code": None, "closed": True}
        if type(error).__name__ == "KilledWorker":  # its worker process died under it
            # (the OOM killer, the nanny's memory limit, a lost node) as many times as
            # Dask retries: a kill from outside, as a local worker's SIGKILL (kills.py)
            return {"op": "died", "key": slot.busy, "code": None, "killed": "KilledWorker"}
        if slot.busy == "done":
            return {"op": "done", "ok": False, "error": f"{type(error).__name__}: {error}"}
        return {"key": slot.busy, "ok": False, "error": f"{type(error).__name__}: {error}"}

    # Pause and close reach tasks on other machines through the run's control.json,
    # which each reads at its next save() (the module's docstring): nothing to signal.
    def pause(self) -> None:
        """Tasks wait at their next save() while the run is paused."""

    def resume(self) -> None:
        """Waiting tasks go on at once."""

    def close(self) -> None:
        self.stopping = True  # running tasks stop at their next save()

    def finish(self) -> None:
        self.stopping = True

    def kill(self) -> None:
        self.stopping = True
        futures = [s.future for s in self.slots if s.future is not None]
        if futures:
            self.client.cancel(futures)
        for slot in self.slots:
            slot.busy, slot.future = None, None
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
