"""The supervisor: one detached process per run attempt.

``python -m runyard.engine.supervisor ROOT RUN_ID``

It writes the run's lock (so the run is ``running`` while it lives and ``lost``
the moment it dies), beats the heartbeat, owns the workers (or the command),
follows ``control.json`` (pause, resume, close) and SIGTERM, and writes the
exit record. Work already done is never redone: it reads the instance records
and runs only what is unfinished.

If it fails (a full disk, most often), it says why in its log's last words,
stops the run's work and records the run ``failed`` with the cause, retrying the
record until space returns (ending.py).
"""

import contextlib
import json
import os
import signal
import sys
import time
from collections import deque
from pathlib import Path

from .ending import record_exit, say, say_traceback
from .errors import RunyardError
from .jsonl import append_records
from .kills import Kills, describe_exit, instance_name, killed_by
from .layout import CONTROL, SUPERVISOR_EVENTS, RunPaths
from .lifecycle import FINAL_STATES, beat, clear_pause_marker, pause_marker, start_run
from .meta import read_attrs, update_attrs
from .request import parse_request, post_request_unlocked, read_request_bytes
from .run_end import STATUS_REQUEST
from .slurm import at_walltime
from .spec import module_change, read_spec, refresh_module
from .stop_reason import STARTED, cause_of, describe, last_words, system_words
from .work import InstanceBook

TICK = 0.1
BEAT_EVERY = 2.0
REMIND_EVERY = 0.5
CONTROL_EVERY = TICK / 2


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
        for signum in _EARLY:  # came while the attempt was being set up
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
        self.signal_work(signal.SIGSTOP if paused else signal.SIGCONT)
        self.paused = paused
        (pause_marker if paused else clear_pause_marker)(self.paths)

    def signal_work(self, signum: int) -> None:
        raise NotImplementedError

    def finish(self, status: str, error: str | None = None) -> None:
        if self.stall is not None:
            self.stall.end()  # before the exit record: a reader then sees both at once
        if self.time_watch is not None:
            self.time_watch.end()
        request = self.paths.meta(STATUS_REQUEST)
        if status == "completed" and request.exists():
            with contextlib.suppress(ValueError, OSError, AttributeError):
                wanted = json.loads(request.read_text()).get("status", status)
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


class ModuleSupervisor(Supervisor):
    """Runs a module's unfinished instances on a pool of workers, then done()."""

    def main(self) -> None:
        refused = self.note_module_change()
        if refused is not None:  # a flow's step: it runs the module it was prepared with
            self.finish("failed", error=refused)
            return
        records = self.book.records()
        limit = self.spec.max_attempts
        # the retry limit counts failures, not closes or kills
        self.todo = deque(k for k, r in records.items() if r.get("status") != "done" and not
                          (r.get("status") == "failed" and r.get("failures", 1) >= limit))
        self.early_deaths = 0
        self.kills = Kills(limit)  # killed instances run again, this many times at most
        self.failed = sum(1 for k, r in records.items() if r.get("status") == "failed"
                          and k not in self.todo)
        self.fatal: str | None = None
        self.done_state = "not yet"  # -> "asked" -> "ok" | "failed"
        self.counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for key, record in records.items():  # kept in memory from here on
            status = "pending" if key in self.todo else record.get("status", "pending")
            self.counts[status if status in self.counts else "pending"] += 1
        self.in_flight: set[str] = set()  # sent and not answered: their progress counts
        self.began = time.time()  # the rate so far, for the time left, is this attempt's
        self.began_at = (self.counts["done"] + self.counts["failed"]) / max(1, len(records))
        try:
            self.pool = self.make_pool()
        except RunyardError as exc:  # no cluster to be had (no Slurm here): say why
            self.finish("failed", error=str(exc))
            return
        self.log(f"Attempt with {len(self.todo)} of {len(records)} instances to run")
        while not self.closing and not self.finished():
            self.tick()
            self.progress()
            if not self.paused:
                self.dispatch()
            for worker, answer in self.pool.poll(TICK) + self.reap():
                self.handle(worker, answer)
        self.end()

    def note_module_change(self) -> str | None:
        """A module changed since the run recorded it runs as it is now: a warning in
        the run's events and this log says so (spec.refresh_module). A flow's step
        is refused instead, as a step started with a changed module is: the error."""
        attrs = read_attrs(self.paths.meta_dir)
        step = attrs.get("flow") if isinstance(attrs.get("flow"), dict) else {}
        if step.get("alias") is not None:
            change = module_change(self.paths.meta_dir, self.spec)
            if change is None:
                return None
            return (f"run module {change[0]}: a flow's step runs the module the flow was "
                    "prepared with; prepare() it again")
        warning = refresh_module(self.paths.meta_dir, self.spec, attrs.get("attempt", 1))
        if warning:
            self.log(warning[:1].upper() + warning[1:])
            append_records(self.paths.meta(SUPERVISOR_EVENTS),
                           [{"ts": time.time(), "level": "warning", "msg": warning}])
        return None

    def reap(self) -> list:
        reap = getattr(self.pool, "reap", None)
        return reap() if reap else []

    def make_pool(self):
        if self.spec.executor in ("dask", "slurm"):
            from .dask_pool import DaskPool

            return DaskPool(self.paths, self.spec, self.env)
        from .pool import LocalPool

        size = max(1, min(self.spec.workers, len(self.todo) or 1))
        return LocalPool(self.paths, size, self.env)

    def signal_work(self, signum: int) -> None:
        self.pool.signal_all(signum)

    def abandon_work(self) -> None:
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.kill()  # what they saved stays; their instances resume from there

    def busy(self) -> bool:
        return any(w.busy for w in self.pool.alive())

    def finished(self) -> bool:
        if self.fatal:
            return True
        if self.todo or self.busy():
            return False
        if self.failed or self.kills.given_up:
            return True
        return self.done_state in ("ok", "failed")

    def dispatch(self) -> None:
        for worker in self.pool.idle() + getattr(self.pool, "ahead", list)():
            if self.todo:  # idle workers first, then ahead to quick ones (pool.py)
                key = self.todo.popleft()
                self.in_flight.add(key)
                self.pool.send(worker, {"op": "run", "key": key})
                self.count("pending", "running")
            elif not self.failed and not self.kills.given_up and \
                    self.done_state == "not yet" and not self.busy():
                self.done_state = "asked"
                self.pool.send(worker, {"op": "done"})
                return
        if not self.pool.alive() and (self.todo or self.done_state == "asked"):
            self.pool.spawn()

    def handle(self, worker, answer: dict) -> None:
        op = answer.get("op")
        self.in_flight.discard(answer.get("key"))
        if op == "fatal":
            self.fatal = answer["error"]
        elif op == "done":
            self.done_state = "ok" if answer["ok"] else "failed"
            self.done_error = answer.get("error")
        elif op == "died":
            self.worker_died(answer)
        elif not answer["ok"]:
            self.failed += 1
            self.count("running", "failed")
        else:
            self.count("running", "done")

    def count(self, before: str, after: str) -> None:
        self.counts[before] -= 1
        self.counts[after] += 1

    def worker_died(self, answer: dict) -> None:
        key, code = answer.get("key"), answer.get("code")
        for waiting in reversed(answer.get("unstarted", ())):  # sent, never begun
            self.todo.appendleft(waiting)
            self.count("running", "pending")
        if answer.get("closed"):  # a task that read the close request before we did
            self.closing = True
        if self.closing:
            return
        if not answer.get("ready", True):
            self.early_deaths += 1
            if self.early_deaths >= 3:  # it will not get better: do not respawn forever
                self.fatal = (f"worker processes exit before they start (exit code {code}); "
                              f"see {self.paths.meta('log')}/w*.log")
                return
        signame = answer.get("killed") or killed_by(code)
        if key == "done":
            if signame and self.kills.again("done", "done()", signame):
                self.done_state = "not yet"  # it is marked only once it returns: ask again
                self.log(f"done() was killed by {signame}: running it again")
            elif not signame:
                self.done_state, self.done_error = "failed", f"worker died ({describe_exit(code)})"
        elif key:
            self.instance_died(key, code, signame)
        if self.todo or self.done_state == "not yet":
            self.pool.spawn()

    def instance_died(self, key: str, code: int | None, signame: str | None) -> None:
        record = self.book.read(key) or {}
        if record.get("status") == "done":  # it died after finishing: keep the work
            self.count("running", "done")
        elif signame:  # killed from outside: not its failure; again, a bounded number
            # a run killed before its record said 'running' (running_mark.py) counts too
            unrecorded = record.get("status") != "running"
            record.update(status="pending", ended=time.time(), killed=signame,
                          kills=record.get("kills", 0) + 1, error=None,
                          attempts=record.get("attempts", 0) + unrecorded)
            self.book.write(key, record)
            self.count("running", "pending")
            name = instance_name(record)
            if self.kills.again(key, name, signame):
                self.todo.append(key)
                self.log(f"{name[:1].upper()}{name[1:]} was killed by {signame}: running it "
                         "again from its last saved state")
            else:
                self.log(f"{name[:1].upper()}{name[1:]} was killed by {signame} "
                         f"{self.kills.limit} times: left for a resume")
        else:
            record.update(status="failed", ended=time.time(),
                          failures=record.get("failures", 0) + 1,
                          error=f"worker process died ({describe_exit(code)})")
            self.book.write(key, record)
            self.failed += 1
            self.count("running", "failed")

    def progress(self, force: bool = False, recount: bool = False) -> None:
        now = time.time()
        if not force and now < self._next_progress:
            return
        self._next_progress = now + 0.5
        counts = self.book.counts() if recount else dict(self.counts)
        counts["total"] = sum(counts.values())
        eta = self.eta(counts, now)
        update_attrs(self.paths.meta_dir, lambda a: a.update(progress=counts, eta=eta), None)

    def eta(self, counts: dict, now: float) -> dict | None:
        """The fraction done (finished instances, and the fractions the running ones
        reported) and the time left at this attempt's rate (eta.py)."""
        from .eta import BAD, eta_record, time_left, unit_progress

        total = counts["total"]
        if not total:
            return None
        partial = sum(e["fraction"] for k, e in unit_progress(self.paths.meta_dir).items()
                      if k in self.in_flight and e["fraction"] not in (None, BAD))
        fraction = min(1.0, (counts["done"] + counts["failed"] + partial) / total)
        return eta_record(fraction, time_left(fraction, self.began_at, now - self.began), now)

    def end(self) -> None:
        if self.closing:
            self.stop_workers()
        else:
            self.pool.stop()
            self.wait_workers(5.0)
            self.pool.kill()
        # the records themselves, at the end, unless every instance answered done: then
        # each wrote its done record before answering, and the counts are those records'
        recount = self.counts["done"] != sum(self.counts.values())
        try:
            self.progress(force=True, recount=recount)
        except OSError as exc:  # a full disk: the exit record below is what matters
            self.log(f"Could not record the final progress: {describe(exc)}")
        if self.fatal:
            self.finish("failed", error=self.fatal)
        elif self.closing and self.done_state != "ok":
            self.finish("terminated", error="closed")
        elif self.failed:
            total = len(self.book.keys())
            self.finish("failed", error=f"{self.failed} of {total} instances failed")
        elif self.done_state == "failed":
            self.finish("failed", error=f"done() failed: {self.done_error}")
        elif self.kills.given_up:  # resumable: nothing failed, something was killed
            self.finish("terminated", error=self.kills.summary())
        else:
            self.finish("completed")

    def stop_workers(self) -> None:
        if self.done_state == "asked":
            self.wait_for_done()
        if self.paused:  # continued first, so that SIGTERM finds the workers running
            self.pool.signal_all(signal.SIGCONT)
            clear_pause_marker(self.paths)
        self.pool.signal_all(signal.SIGTERM)
        self.wait_workers(self.spec.grace, remind=signal.SIGTERM)
        self.pool.kill()
        for key, record in self.book.records().items():
            if record.get("status") == "running":  # interrupted: resumable as it is
                record["status"] = "pending"
                self.book.write(key, record)

    def wait_for_done(self) -> None:
        """Closing while done() runs: let it finish, so it is never run twice."""
        if self.paused:
            self.set_paused(False)
        while self.done_state == "asked" and self.pool.alive():
            for worker, answer in self.pool.poll(TICK) + self.reap():
                self.handle(worker, answer)
            beat(self.paths)

    def wait_workers(self, seconds: float, remind: int | None = None) -> None:
        """Wait for the workers to end; ``remind``: send them that signal again every
        half second (see LocalPool.remind)."""
        deadline = time.monotonic() + seconds
        next_reminder = time.monotonic() + REMIND_EVERY
        while self.pool.alive() and time.monotonic() < deadline:
            for worker, answer in self.pool.poll(TICK):
                if answer.get("op") == "done":
                    self.handle(worker, answer)
            beat(self.paths)
            if remind is not None and time.monotonic() >= next_reminder:
                getattr(self.pool, "remind", lambda _signum: None)(remind)
                next_reminder = time.monotonic() + REMIND_EVERY


_EARLY: list[int] = []  # signals received before the supervisor could obey them


def main(argv: list[str]) -> int:
    # Slurm's walltime signal may come as the job starts (its resolution is 60 s):
    # held until the supervisor can close gracefully, not the default death
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: _EARLY.append(number))
    paths = RunPaths(Path(argv[0]), argv[1])
    say(f"{STARTED} (pid {os.getpid()})")  # first: earlier attempts' last words end here
    try:
        attrs = start_run(paths)
    except RunyardError as exc:  # another supervisor has it: leave it alone, in one line
        say(f"Not started: {exc}")
        return 3
    except OSError as exc:  # nothing started: the run stays as it was
        cause = cause_of(exc)
        say(last_words(cause, system_words(exc)) if cause else
            f"Could not start the attempt: {describe(exc)}")
        return 1
    say(f"Attempt {attrs.get('attempt')} of run {paths.id}")
    paths.meta(STATUS_REQUEST).unlink(missing_ok=True)  # a past attempt's wish
    spec_kind = read_spec(paths.meta_dir).kind
    if spec_kind == "flow":
        from .flow_runner import FlowSupervisor as kind
    elif spec_kind == "command":
        from .command_supervisor import CommandSupervisor as kind
    else:
        kind = ModuleSupervisor
    supervisor = kind(paths)
    supervisor.note_slurm_job(attrs)
    supervisor.install_signals()
    try:
        supervisor.main()
    except Exception as exc:  # the run must not be left running: record why it ended
        return supervisor.fail_run(exc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
