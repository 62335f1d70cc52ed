"""How a ``Run`` handle ends its run: ``set_status``, ``close``, the end of a
``with`` block, and the exit of a process that left runs open (SIGTERM ends them
``terminated``; otherwise their queued records are written and the run is left
unfinished, or put back as it was before ``reconnect(reopen=True)``).
"""

import atexit
import os
import time

from . import run_signals
from .errors import UnreadableRun, UsageError
from .layout import STATUS_REQUEST
from .lifecycle import FINAL_STATES, finalize_run
from .run_fork import FORKED
from .run_live import CLOSED, CREATED, LIVE_RUNS, NEW, RUNNING, any_live_run
from .writer import EVENT

_time = time.time


class EndMixin:
    def set_status(self, status: str) -> bool:
        """End the run as ``completed``, ``failed`` or ``terminated`` (close() keeps it)."""
        gate = self._gate("set_status", RUNNING)
        if gate is not None:
            return gate
        if status not in FINAL_STATES:
            raise UsageError(f"status must be one of {', '.join(FINAL_STATES)}, got "
                             f"{status!r}")
        self._writer.flush()
        try:
            if self._attached:  # the engine ends the run; it honours this request
                from .atomic import write_json_atomic

                write_json_atomic(self._paths.meta(STATUS_REQUEST), {"status": status})
            else:
                finalize_run(self._paths, status)
        except OSError as exc:
            return self._operational("set_status", exc)
        self._final_status = status
        return True

    def close(self) -> bool:
        """Write everything queued and end the run ``completed`` (unless set otherwise)."""
        if self._mode == "disabled":
            return True
        if self._in_context:
            raise UsageError("close() called inside 'with Run()': the with block closes "
                             "the run when it ends")
        if self._state == NEW:
            raise UsageError("close() called before init()")
        if self._state == CLOSED:
            return True  # as Simvue's: closing a closed run changes nothing
        if self._state == FORKED:
            return self._inert("close")
        return self._shutdown("completed")

    def _shutdown(self, status: str, error: str | None = None) -> bool:
        if self._state == FORKED:
            return False  # the parent ends its run
        with run_signals.ending(any_live_run):  # a SIGTERM now waits until it is written
            return self._end(status, error)

    def _end(self, status: str, error: str | None) -> bool:
        if self._tracked and self._state == RUNNING:  # close() waits, others kill
            ok = self._finish_processes(kill=status != "completed")
            if not ok and status == "completed":
                status, error = "failed", "a process added with add_process() failed"
        was = self._state
        self._state = CLOSED
        LIVE_RUNS.discard(self)
        if was == CREATED or self._paths is None:
            return True
        if self._writer is not None:
            self._writer.stop()
            if self._deferred is not None:  # suppress_errors=False: the last write failed
                error, self._deferred = self._deferred, None
                raise error
        if self._final_status is None and not self._attached:
            try:
                finalize_run(self._paths, status, error=error)
            except (OSError, UnreadableRun) as exc:  # UnreadableRun: spoiled under us
                return self._operational("close", exc)
            self._final_status = status
        return self._errors == 0

    def __enter__(self):
        self._in_context = True
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._in_context = False
        if self._mode == "disabled" or self._state in (NEW, CLOSED, FORKED):
            return False
        if exc_type is None:
            self._shutdown("completed")
        elif issubclass(exc_type, KeyboardInterrupt):
            self._record_exit_event("warning", "Interrupted (KeyboardInterrupt)")
            self._shutdown("terminated", error="KeyboardInterrupt")
        elif issubclass(exc_type, run_signals.Terminated):
            self._record_exit_event("warning", "Interrupted (SIGTERM)")
            self._shutdown("terminated", error="SIGTERM")
        else:
            import traceback

            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self._record_exit_event("error", f"Run failed with an exception:\n{text}")
            self._shutdown("failed", error=f"{exc_type.__name__}: {exc}")
        return False

    def _record_exit_event(self, level: str, message: str) -> None:
        if self._state == RUNNING:
            self._queue.append((EVENT, {"ts": _time(), "level": level, "msg": message}))


@atexit.register
def _flush_at_exit() -> None:
    """A process that ends without close() keeps every queued record on disk; one that
    ends because of SIGTERM ends its runs terminated."""
    for run in list(LIVE_RUNS):
        if run._writer is not None and run._owner_pid == os.getpid():
            if run_signals.received():
                run._record_exit_event("warning", "Interrupted (SIGTERM)")
                run._shutdown("terminated", error="SIGTERM")
                continue
            if run._attached:  # the engine ends it, and judges abandonment itself
                run._writer.stop()
                continue
            run.kill_all_processes()  # in sessions of their own: no orphans left behind
            run._writer.queue.append((EVENT, {
                "ts": _time(), "level": "warning",
                "msg": "The process ended without close(): the run is left unfinished"
                if run._reopened is None else
                f"The process ended without close(): the run is {run._reopened} again"}))
            if run._reopened is not None:  # never lost: it had ended before
                run._shutdown(run._reopened)
                continue
            run._writer.stop()
