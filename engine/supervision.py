"""What every run supervisor does, whatever its run's kind (supervisor.py starts
the one a run needs: module_supervisor.py, command_supervisor.py, flow_runner.py):
the heartbeat, control.json (pause, resume, close), the signals that close a
run, its Slurm job (a walltime signal, a requeue), the stalled and walltime
alerts, and the exit record.
"""

import contextlib
import json
import os
import signal
import time

from .ending import record_exit, say, say_traceback
from .layout import CONTROL, RunPaths
from .lifecycle import FINAL_STATES, beat, clear_pause_marker, pause_marker
from .meta import read_attrs, update_attrs
from .request import parse_request, post_request_unlocked, read_request_bytes
from .run_end import STATUS_REQUEST
from .slurm import at_walltime
from .spec import read_spec
from .stop_reason import cause_of, describe, last_words, system_words
from .untrusted import read_json
from .work import InstanceBook

TICK = 0.1
BEAT_EVERY = 2.0
REMIND_EVERY = 0.5
CONTROL_EVERY = TICK / 2
REQUEST_MAX = 4096  # status-request.json: {"status": "..."}
EARLY_SIGNALS: list[int] = []  # received before the supervisor could obey them


class Supervisor:
    def __init__(self, paths: RunPaths):
        self.paths = paths
        self.spec = read_spec(paths.meta_dir)
        self.book = InstanceBook(paths)
        self.closing = False
        self.paused = False
        self.slurm: dict | None = None  # its Slurm job, when it runs as one (slurm.py)
        self.walltime = False  # closing because the job's time is up
        self.time_watch = None  # the walltime alert's watch (walltime.py), if asked for
        self._request_seen: bytes | None = None  # the content of control.json last read
        self._next_beat = 0.0
        self._next_progress = 0.0
        self._next_control = 0.0
        self.stall = None
        if self.spec.stalled_after and self.spec.kind != "flow":  # steps watch themselves
            from .stall import EngineStall

            self.stall = EngineStall(paths.meta_dir, self.spec.stalled_after, self.log)
        self.env = {**os.environ, "RUNYARD_ROOT": str(paths.root),
                    "RUNYARD_RUN_ID": paths.id}
        for name in ("RUNYARD_PARAMS", "RUNYARD_INPUTS"):  # a flow step's, or none
            self.env.pop(name, None)
        if self.spec.params:
            self.env["RUNYARD_PARAMS"] = json.dumps(self.spec.params)
        if self.spec.inputs:
            self.env["RUNYARD_INPUTS"] = json.dumps(self.spec.inputs)

    # -- shared by both kinds -------------------------------------------
    def install_signals(self) -> None:
        def close(signum, _frame):
            if signum == signal.SIGTERM and self.slurm and at_walltime(self.slurm):
                self.walltime = True
                self.log("Received Slurm's walltime signal: closing")
            else:
                self.log(f"Received signal {signal.Signals(signum).name}: closing")
            self.closing = True
            # tasks on other machines (Dask) read this at their next save()
            post_request_unlocked(self.paths.meta_dir, "closed")

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, close)
        for signum in EARLY_SIGNALS:  # came while the attempt was being set up
            close(signum, None)

    def log(self, message: str) -> None:
        say(message)

    def tick(self) -> None:
        now = time.time()
        if now >= self._next_beat:
            beat(self.paths)
            self._next_beat = now + BEAT_EVERY
        if time.monotonic() >= self._next_control:
            # not on every answer of a busy pool: a few reads of control.json per TICK
            self._next_control = time.monotonic() + CONTROL_EVERY
            self.read_control()
        if self.stall is not None:
            self.stall.tick(now, self.paused)
        if self.time_watch is not None:
            self.time_watch.tick(now)

    def read_control(self) -> None:
        """Obey a new request. New means other content, never a newer mtime: two
        requests within one timestamp tick (NFS: a second) are both seen."""
        data = read_request_bytes(self.paths.meta_dir)
        if data is None or data == self._request_seen:
            return
        self._request_seen = data
        wanted = parse_request(data)
        if wanted is None:
            self.log(f"Ignored control.json: it holds no request ({len(data)} bytes)")
            return
        if wanted.want == "closed":
            self.closing = True
        elif wanted.want == "paused" and not self.paused:
            self.set_paused(True)
        elif wanted.want == "running" and self.paused:
            self.set_paused(False)

    def set_paused(self, paused: bool) -> None:
        (self.pause_work if paused else self.resume_work)()
        self.paused = paused
        (pause_marker if paused else clear_pause_marker)(self.paths)

    def pause_work(self) -> None:
        """Freeze the run's work (each kind knows how to reach it)."""
        raise NotImplementedError

    def resume_work(self) -> None:
        raise NotImplementedError

    def finish(self, status: str, error: str | None = None) -> None:
        if self.stall is not None:
            self.stall.end()  # before the exit record: a reader then sees both at once
        if self.time_watch is not None:
            self.time_watch.end()
        if status == "completed":
            # the meta folder is the group's to write in a shared root: a FIFO planted
            # here would hold the run open for good, so only a small regular file counts
            with contextlib.suppress(OSError, AttributeError):
                wanted = read_json(self.paths.meta(STATUS_REQUEST), REQUEST_MAX).get(
                    "status", status)
                status = wanted if wanted in FINAL_STATES else status
        if status == "terminated" and self.walltime:
            if self.requeue():
                return
            error = "the Slurm job reached its time limit: resume to continue"
        elif status == "terminated" and self.slurm and self.job_cancelled():
            error = f"Slurm job {self.slurm['job']} was cancelled: resume to continue"
        if record_exit(self.paths, status, error=error):
            self.log(f"Run ended {status}" + (f": {error}" if error else ""))

    def note_slurm_job(self, attrs: dict) -> None:
        """Running as the run's Slurm job: its node and the end of its time limit go
        into the run's record (the time left, and how a SIGTERM is read)."""
        from .slurm import queue, this_job

        mine, slurm = this_job(), attrs.get("slurm")
        if mine is None or not isinstance(slurm, dict) or slurm.get("job") != mine[0]:
            return
        job = queue([mine[0]]).get(mine[0])
        slurm = {**slurm, "node": mine[1] or None, "ends": job.ends if job else None}
        update_attrs(self.paths.meta_dir, lambda a: a.update(slurm=slurm), None)
        self.slurm = slurm
        if self.spec.walltime_alert and slurm["ends"]:
            from .walltime import WalltimeWatch

            self.time_watch = WalltimeWatch(self.paths.meta_dir, self.spec.walltime_alert,
                                            slurm["ends"], self.log)
        self.log(f"Slurm job {mine[0]} on {mine[1]}" +
                 (f", time limit at {time.ctime(job.ends)}" if job and job.ends else ""))

    def job_cancelled(self) -> bool:
        """Whether Slurm is ending this run's job (scancel, preemption): why it closes."""
        from .slurm import queue

        job = queue([self.slurm["job"]], fresh=True).get(self.slurm["job"])
        return job is not None and job.state in ("CANCELLED", "COMPLETING", "PREEMPTED")

    def requeue(self) -> bool:
        """After the walltime signal: submit the next attempt, if the run allows one
        more; it continues the unfinished work from the saved states."""
        from .slurm import SlurmError, submit_attempt

        done = (self.slurm or {}).get("requeues", 0)
        if done >= self.spec.requeue:
            self.log(f"Walltime: no requeue left ({done} of {self.spec.requeue} used)")
            return False
        attrs = read_attrs(self.paths.meta_dir)
        self.paths.meta(CONTROL).unlink(missing_ok=True)  # the close was this job's
        try:
            job = submit_attempt(self.paths, attrs.get("name", ""), self.spec,
                                 dict(os.environ), attrs.get("attempt", 0) + 1, done + 1)
        except (SlurmError, OSError) as exc:
            self.log(f"Walltime: the next attempt could not be submitted: {exc}")
            return False
        self.log(f"Walltime: attempt {attrs.get('attempt', 0) + 1} queued as Slurm job "
                 f"{job} (requeue {done + 1} of {self.spec.requeue})")
        return True

    def fail_run(self, exc: Exception) -> int:
        """The supervisor itself failed: last words first (on a full disk the log may
        take one more line only), then stop the work and record the run failed."""
        cause = cause_of(exc)
        if cause:
            self.log(last_words(cause, system_words(exc)))
        else:
            self.log(f"Supervisor failed: {type(exc).__name__}: {exc}")
            say_traceback(exc)
        try:
            self.abandon_work()
        except OSError as stop_failure:  # the record below matters more
            self.log(f"Could not stop the run's work: {describe(stop_failure)}")
        error = f"supervisor stopped: {describe(exc)}" if cause else f"supervisor failed: {exc}"
        if record_exit(self.paths, "failed", error=error, cause=cause):
            self.log(f"Run ended failed: {error}")
        return 1

    def abandon_work(self) -> None:
        """Stop whatever still works for the run: it is about to be recorded failed."""
