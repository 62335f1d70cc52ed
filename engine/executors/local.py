"""The local executor: worker processes on this machine, each in its own process group
(so pause and close reach whatever a module starts), talking over two pipes.

A worker whose last instance took less than QUICK seconds is sent its next task
while it runs the current one: the task waits in its pipe, so the worker does not
sit idle for a round trip through the supervisor between two quick instances.
Tasks go to idle workers first. A worker runs its tasks in order and answers each,
so the first unanswered task is the one under way and the other has not begun. A
task sent ahead can wait behind an instance that turns out long while another
worker is free: that costs at most one instance per worker, and only after a
quick one.
"""

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field

from ..layout import RunPaths
from ..untrusted import open_log
from .base import Executor

QUICK = 0.05  # seconds: an instance quicker than this gets the next task sent ahead


@dataclass
class Worker:
    name: str
    proc: subprocess.Popen
    tasks: object
    results: object
    buffer: bytes = b""
    ready: bool = False
    inflight: deque = field(default_factory=deque)  # task keys (or "done") sent, in order
    alive: bool = True
    since: float = 0.0  # when its current task began (about: sent, or the last answer)
    quick: bool = False  # its last task took less than QUICK seconds

    @property
    def busy(self) -> str | None:
        """The task under way (or about to be): the first one not answered."""
        return self.inflight[0] if self.inflight else None


class LocalExecutor(Executor):
    name = "local"

    @classmethod
    def start(cls, paths: RunPaths, spec, env: dict, todo: int) -> "LocalExecutor":
        return cls(paths, max(1, min(spec.workers, todo or 1)), env)

    def __init__(self, paths: RunPaths, size: int, env: dict):
        self.paths = paths
        self.env = env
        self.selector = selectors.DefaultSelector()
        self.workers: list[Worker] = []
        self._count = 0
        for _ in range(size):
            self.spawn()

    def spawn(self) -> Worker:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        name = f"w{self._count}"
        self._count += 1
        log = open_log(self.paths.meta(f"log/{name}.log"))  # the child's, closed below
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "runyard.engine.worker", str(self.paths.root),
             self.paths.id, name, str(task_r), str(result_w)],
            pass_fds=(task_r, result_w), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            cwd=self.paths.run_dir, env=self.env, start_new_session=True)
        log.close()
        os.close(task_r)
        os.close(result_w)
        os.set_blocking(result_r, False)
        worker = Worker(name, proc, os.fdopen(task_w, "w"), result_r)
        self.selector.register(result_r, selectors.EVENT_READ, worker)
        self.workers.append(worker)
        return worker

    def idle(self) -> list[Worker]:
        return [w for w in self.workers if w.alive and w.ready and not w.inflight]

    def ahead(self) -> list[Worker]:
        """Workers busy with a quick instance, which may be sent the next one now."""
        return [w for w in self.workers if w.alive and w.quick and len(w.inflight) == 1
                and w.inflight[0] != "done"]

    def send(self, worker: Worker, task: dict) -> None:
        if not worker.inflight:
            worker.since = time.monotonic()
        worker.inflight.append(task.get("key", task["op"]))
        try:
            worker.tasks.write(json.dumps(task) + "\n")
            worker.tasks.flush()
        except BrokenPipeError:
            pass  # the worker died; poll() reports it

    def poll(self, timeout: float) -> list[tuple[Worker, dict]]:
        """Answers that arrived, and ``{"op": "died"}`` for workers that ended."""
        events = []
        for key, _mask in self.selector.select(timeout):
            worker = key.data
            try:
                chunk = os.read(worker.results, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                events.append((worker, self._bury(worker)))
                continue
            worker.buffer += chunk
            *lines, worker.buffer = worker.buffer.split(b"\n")
            for line in lines:
                answer = json.loads(line)
                if answer.get("op") == "ready":
                    worker.ready = True
                    continue
                if worker.inflight:
                    worker.inflight.popleft()
                    now = time.monotonic()
                    worker.quick, worker.since = now - worker.since < QUICK, now
                events.append((worker, answer))
        return events

    def _bury(self, worker: Worker) -> dict:
        self.selector.unregister(worker.results)
        os.close(worker.results)
        with contextlib.suppress(OSError):
            worker.tasks.close()
        worker.alive = False
        code = worker.proc.wait()
        key, *unstarted = worker.inflight or [None]
        worker.inflight.clear()
        return {"op": "died", "key": key, "code": code, "ready": worker.ready,
                "unstarted": unstarted}

    def reap(self) -> list[tuple[Worker, dict]]:
        """Workers that exited while something they started keeps their pipe open."""
        return [(w, self._bury(w)) for w in self.alive() if w.proc.poll() is not None]

    def _signal_groups(self, signum: int) -> None:
        """``signum`` to each live worker's process group: what a module starts too."""
        for worker in self.workers:
            if worker.alive:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(worker.proc.pid, signum)

    def pause(self) -> None:
        self._signal_groups(signal.SIGSTOP)  # no CPU at all until resumed

    def resume(self) -> None:
        self._signal_groups(signal.SIGCONT)

    def close(self) -> None:
        # (a paused run is resumed first by its supervisor: a stopped group sees nothing)
        self._signal_groups(signal.SIGTERM)  # the worker saves nothing more and exits

    def remind_close(self) -> None:
        """SIGTERM again to each live worker process (not its group): a signal sent to
        a process goes to any one of its threads, and one whose main thread is blocked
        in a read must get it there (the worker's handler acts once)."""
        for worker in self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.proc.pid, signal.SIGTERM)

    def describe(self) -> str:
        return f"{len(self.alive())} local worker processes"

    def pids(self) -> list[int]:
        return [w.proc.pid for w in self.workers if w.alive]

    def alive(self) -> list[Worker]:
        return [w for w in self.workers if w.alive]

    def finish(self) -> None:
        for worker in self.alive():
            try:
                worker.tasks.write(json.dumps({"op": "exit"}) + "\n")
                worker.tasks.flush()
            except BrokenPipeError:
                pass

    def kill(self) -> None:
        self._signal_groups(signal.SIGKILL)
        for worker in self.alive():
            self._bury(worker)
