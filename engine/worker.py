"""A worker process: imports a run module once and runs instances for its supervisor.

``python -m runyard.engine.worker ROOT RUN_ID NAME TASK_FD RESULT_FD``

Tasks arrive as JSON lines on TASK_FD (``{"op": "run", "key": ...}``,
``{"op": "done"}``, ``{"op": "exit"}``); each answer is one JSON line on
RESULT_FD, in the order of the tasks; the next task may arrive while one runs
(executors/local.py). The user's own output goes to the worker's log, and each instance's
record says which bytes of it are that instance's (``log``, ``log_from``,
``log_to``: where the log ended before and after it ran, docs/format.md). The
worker dies
with its supervisor (PR_SET_PDEATHSIG), so a killed run leaves no orphan
writing into its records.
"""

import contextlib
import ctypes
import json
import os
import select
import signal
import sys
import time
import traceback
from pathlib import Path

from .context import set_current
from .errors import RunyardError
from .instance_lock import lock_instance
from .layout import RunPaths
from .modules import ModuleError, load_module
from .running_mark import RunningMark
from .spec import module_copy, read_spec
from .work import InstanceBook

STATE_MAX = 32 * 1024 * 1024  # bytes of a saved state: its record stays < INSTANCE_MAX
ERROR_MAX = 1024 * 1024  # characters of an instance's error kept in its record


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the parent check in save() still stops us
    if os.getppid() == 1:
        os._exit(1)


class InstanceRunner:
    """Runs instances of one module, saving their records; used by both executors."""

    def __init__(self, paths: RunPaths, writer_name: str, module_path: Path,
                 on_save=None, output_log: str | None = None):
        """``module_path``: the module as its author wrote it (its ``__file__``, its
        folder importable); the code that runs is the run's recorded copy of it."""
        self.paths = paths
        self.output_log = output_log  # log/<this> holds our stdout and stderr (local)
        self.book = InstanceBook(paths)
        self.mark = RunningMark(self.book.write)
        self.on_save = on_save  # called after every save (pause/close checks on Dask)
        _module, self.run_fn, self.done_fn = load_module(module_path,
                                                         module_copy(paths.meta_dir))
        from .run import Run

        self.handle = Run()
        self.handle.config(disable_resources_metrics=True)
        self.handle._attach(paths, writer_name)
        set_current(self.handle)

    def run(self, key: str) -> dict:
        """Run one instance to its end; the answer for the supervisor."""
        lock = lock_instance(self.book.folder_name, key)  # a straggler of a killed attempt?
        try:
            record = self.book.read(key)
            if record is None:
                return {"key": key, "ok": False, "error": f"no record for {key}"}
            if record.get("bad"):  # cannot be read: its instance and state are unknown
                return {"key": key, "ok": False, "error": record["error"]}
            if record.get("status") == "done":
                return {"key": key, "ok": True}
            return self._run_record(key, record)
        finally:
            os.close(lock)

    def _run_record(self, key: str, record: dict) -> dict:
        record.update(status="running", attempts=record.get("attempts", 0) + 1,
                      started=time.time(), error=None, killed=None)
        record.pop("log_to", None)
        record.update(self._output_at("log_from"))
        mark = self.mark
        mark.begin(key, record)  # on disk only if it runs a while (running_mark.py)
        self.handle._context = record["instance"]
        self.handle._begin_unit(key, record["started"])

        def save(state) -> None:
            if not isinstance(state, str):
                raise TypeError(f"save() takes the state as a string, not "
                                f"{type(state).__name__} {state!r}")
            size = len(state.encode("utf-8"))
            if size > STATE_MAX:  # the record must stay within what readers accept
                raise ValueError(f"save() takes a state of at most {STATE_MAX} bytes "
                                 f"(UTF-8), not {size}")
            mark.write(key, record, state=state, state_size=size, saved=time.time())
            if self.on_save is not None:
                self.on_save()

        try:
            self.run_fn(record["instance"], save, record.get("state", ""))
        except Exception as exc:  # the user's code: any failure fails this instance
            text = "".join(traceback.format_exception(exc))
            mark.write(key, record, status="failed", ended=time.time(),
                       failures=record.get("failures", 0) + 1,
                       error=f"{type(exc).__name__}: {exc}"[:ERROR_MAX],
                       **self._output_at("log_to"))
            self.handle.log_event(f"Instance {record['instance']} failed:\n{text}",
                                  log_level="error")
            return {"key": key, "ok": False, "error": record["error"]}
        except BaseException:  # stopped from outside (close, Ctrl-C): it did run
            with contextlib.suppress(OSError):  # the unwinding matters more than the count
                mark.now()
            raise
        finally:
            self.handle._context = None
            self.handle._end_unit()
        mark.write(key, record, status="done", ended=time.time(),
                   **self._output_at("log_to"))
        return {"key": key, "ok": True}

    def _output_at(self, field: str) -> dict:
        """``{field: N}``: where our output log ends now, what was printed flushed to it
        first (two flushes and an fstat: microseconds); {} where the output goes
        elsewhere (a Dask worker's is the cluster's) or cannot be told."""
        if self.output_log is None:
            return {}
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:
                    stream.flush()
            return {"log": self.output_log, field: os.fstat(1).st_size}
        except (OSError, ValueError):  # the module closed or replaced them
            return {}

    def done(self) -> dict:
        """Call done() once: its mark is written as soon as it returns."""
        if self.book.done_called():
            return {"op": "done", "ok": True}
        try:
            if self.done_fn is not None:
                self.done_fn()
        except Exception as exc:  # the user's done(): report, do not mark
            text = "".join(traceback.format_exception(exc))
            self.handle.log_event(f"done() failed:\n{text}", log_level="error")
            return {"op": "done", "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        self.book.mark_done_called()
        return {"op": "done", "ok": True}

    def close(self) -> None:
        self.handle._shutdown("completed")
        self.book.close()


class Tasks:
    """The supervisor's task lines, read from a pipe."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""

    def next(self) -> dict | None:
        """The next task, waiting for it; None once the supervisor closed the pipe."""
        while b"\n" not in self.buffer:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def waiting(self) -> bool:
        """True if the next task (or the end of the pipe) has already arrived."""
        return b"\n" in self.buffer or bool(select.select([self.fd], [], [], 0)[0])


def serve(paths: RunPaths, name: str, tasks: Tasks, results) -> None:
    runner = InstanceRunner(paths, name, Path(read_spec(paths.meta_dir).module),
                            output_log=f"{name}.log")  # executors/local.py: our stdout and stderr
    results.write(json.dumps({"op": "ready"}) + "\n")
    results.flush()
    for task in iter(tasks.next, None):
        if task["op"] == "exit":
            break
        answer = runner.done() if task["op"] == "done" else runner.run(task["key"])
        if not tasks.waiting():
            # no more work here for now: what was logged reaches the disk before the
            # supervisor hears of this answer (and so before done() or the run's end)
            runner.handle._writer.flush()
        results.write(json.dumps(answer) + "\n")
        results.flush()
    runner.close()


_terminating: list[int] = []


def _terminate(signum, _frame) -> None:
    """SIGTERM: exit 143, unwinding. Once: the supervisor repeats SIGTERM until the
    main thread gets it (one sent to a process may go to another of its threads),
    and a repeat must not cut the unwinding short."""
    if not _terminating:
        _terminating.append(signum)
        sys.exit(128 + signum)


def main(argv: list[str]) -> int:
    die_with_parent()
    # close: unwind run() (finally blocks, queued metrics) instead of dying mid-write
    signal.signal(signal.SIGTERM, _terminate)
    root, run_id, name, task_fd, result_fd = argv
    paths = RunPaths(Path(root), run_id)
    os.chdir(paths.run_dir)
    for fd in (int(task_fd), int(result_fd)):
        os.set_inheritable(fd, False)  # what the module starts must not hold our pipes
    with os.fdopen(int(result_fd), "w") as results:
        try:
            serve(paths, name, Tasks(int(task_fd)), results)
        except (ModuleError, RunyardError) as exc:
            results.write(json.dumps({"op": "fatal", "error": str(exc)}) + "\n")
            results.flush()
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
