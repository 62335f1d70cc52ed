"""The supervisor of a module run: the run's unfinished instances on a pool of
workers (local processes or Dask), then ``done()`` once. Work already done is never
redone: it reads the instance records and runs only what is unfinished; a worker
killed from outside is not a failure (kills.py).
"""

import time
from collections import deque
from enum import Enum

from .errors import RunyardError
from .executors import Executor, executor_class
from .jsonl import append_records
from .kills import Kills, describe_exit, instance_name, killed_by
from .layout import SUPERVISOR_EVENTS
from .lifecycle import beat, clear_pause_marker
from .meta import read_attrs, update_attrs
from .spec import module_change, refresh_module
from .stop_reason import describe
from .supervision import REMIND_EVERY, TICK, Supervisor


class Done(Enum):
    """Where ``done()`` stands in an attempt: not asked yet, asked (a worker runs it),
    then ok or failed; killed while asked, it is not asked yet again (kills.py)."""

    NOT_YET = "not yet"
    ASKED = "asked"
    OK = "ok"
    FAILED = "failed"


DONE_MOVES = {Done.NOT_YET: {Done.ASKED}, Done.ASKED: {Done.OK, Done.FAILED, Done.NOT_YET},
              Done.OK: set(), Done.FAILED: set()}


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
        pending = set(self.todo)  # looked up once a unit: a deque's `in` is a scan
        self.early_deaths = 0
        self.kills = Kills(limit)  # killed instances run again, this many times at most
        self.failed = sum(1 for k, r in records.items() if r.get("status") == "failed"
                          and k not in pending)
        self.fatal: str | None = None
        self.done_state = Done.NOT_YET
        self.counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for key, record in records.items():  # kept in memory from here on
            status = "pending" if key in pending else record.get("status", "pending")
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
        return self.pool.reap()

    def make_pool(self) -> Executor:
        """The run's executor (executors/), its slots starting."""
        pool = executor_class(self.spec.executor).start(self.paths, self.spec, self.env,
                                                       len(self.todo))
        self.log(f"Instances run on {pool.describe()}")
        return pool

    def pause_work(self) -> None:
        self.pool.pause()

    def resume_work(self) -> None:
        self.pool.resume()

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
        return self.done_state in (Done.OK, Done.FAILED)

    def dispatch(self) -> None:
        for worker in self.pool.idle() + self.pool.ahead():
            if self.todo:  # idle workers first, then ahead to quick ones (executors/local.py)
                key = self.todo.popleft()
                self.in_flight.add(key)
                self.pool.send(worker, {"op": "run", "key": key})
                self.count("pending", "running")
            elif not self.failed and not self.kills.given_up and \
                    self.done_state is Done.NOT_YET and not self.busy():
                self.move_done(Done.ASKED)
                self.pool.send(worker, {"op": "done"})
                return
        if not self.pool.alive() and (self.todo or self.done_state is Done.ASKED):
            self.pool.spawn()

    def move_done(self, to: Done) -> None:
        """``done()``'s next state; a move DONE_MOVES does not allow is a bug, said."""
        if to not in DONE_MOVES[self.done_state]:
            raise RuntimeError(f"done() cannot go from {self.done_state.value!r} to "
                               f"{to.value!r}")
        self.done_state = to

    def handle(self, worker, answer: dict) -> None:
        op = answer.get("op")
        self.in_flight.discard(answer.get("key"))
        if op == "fatal":
            self.fatal = answer["error"]
        elif op == "done":
            self.move_done(Done.OK if answer["ok"] else Done.FAILED)
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
                self.move_done(Done.NOT_YET)  # it is marked only once it returns: ask again
                self.log(f"done() was killed by {signame}: running it again")
            elif not signame:
                self.move_done(Done.FAILED)
                self.done_error = f"worker died ({describe_exit(code)})"
        elif key:
            self.instance_died(key, code, signame)
        if self.todo or self.done_state is Done.NOT_YET:
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
            self.pool.finish()
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
        elif self.closing and self.done_state is not Done.OK:
            self.finish("terminated", error="closed")
        elif self.failed:
            total = len(self.book.keys())
            self.finish("failed", error=f"{self.failed} of {total} instances failed")
        elif self.done_state is Done.FAILED:
            self.finish("failed", error=f"done() failed: {self.done_error}")
        elif self.kills.given_up:  # resumable: nothing failed, something was killed
            self.finish("terminated", error=self.kills.summary())
        else:
            self.finish("completed")

    def stop_workers(self) -> None:
        if self.done_state is Done.ASKED:
            self.wait_for_done()
        if self.paused:  # continued first, so that the close finds the workers running
            self.pool.resume()
            clear_pause_marker(self.paths)
        self.pool.close()
        self.wait_workers(self.spec.grace, remind=True)
        self.pool.kill()
        for key, record in self.book.records().items():
            if record.get("status") == "running":  # interrupted: resumable as it is
                record["status"] = "pending"
                self.book.write(key, record)

    def wait_for_done(self) -> None:
        """Closing while done() runs: let it finish, so it is never run twice."""
        if self.paused:
            self.set_paused(False)
        while self.done_state is Done.ASKED and self.pool.alive():
            for worker, answer in self.pool.poll(TICK) + self.reap():
                self.handle(worker, answer)
            beat(self.paths)

    def wait_workers(self, seconds: float, remind: bool = False) -> None:
        """Wait for the workers to end; ``remind``: ask them to close again every half
        second (see LocalExecutor.remind_close)."""
        deadline = time.monotonic() + seconds
        next_reminder = time.monotonic() + REMIND_EVERY
        while self.pool.alive() and time.monotonic() < deadline:
            for worker, answer in self.pool.poll(TICK):
                if answer.get("op") == "done":
                    self.handle(worker, answer)
            beat(self.paths)
            if remind and time.monotonic() >= next_reminder:
                self.pool.remind_close()
                next_reminder = time.monotonic() + REMIND_EVERY
