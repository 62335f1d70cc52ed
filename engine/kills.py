"""How a worker process ended, and what that means for the work it had.

A worker killed from outside did nothing wrong: SIGKILL (the OOM killer, a node's
cleanup), SIGTERM, SIGINT or SIGHUP sent by someone else. Its instance is not
failed: it runs again from its last saved state, at once, until it was killed
``limit`` times in one attempt (``max_attempts``); then it is left pending, the
attempt ends ``terminated`` and a resume runs it again. So an instance the OOM
killer kills every time costs at most ``limit`` runs per attempt, and never
loops. A worker that dies of its own doing (a non-zero exit, SIGSEGV, SIGABRT,
SIGBUS, SIGFPE, SIGILL) fails its instance, which counts against the retry limit.
"""

import os
import signal

KILL_SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# the worker's own SIGTERM handler unwinds run() and exits 128 + 15
TERM_EXIT = 128 + signal.SIGTERM


def killed_by(code: int | None) -> str | None:
    """The name of the signal that killed a worker from outside, from its exit code
    (``Popen.returncode``: ``-N`` for signal N); None if it was not killed."""
    if code == TERM_EXIT:
        return signal.SIGTERM.name
    if code is None or code >= 0 or -code not in KILL_SIGNALS:
        return None
    return signal.Signals(-code).name


def describe_exit(code: int | None) -> str:
    """An exit code for a person: ``SIGSEGV``, ``exit code 3``."""
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class Kills:
    """The kills of one attempt: how often each instance (or ``done()``) was killed,
    and which were killed ``limit`` times and wait for a resume."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self.counts: dict[str, int] = {}
        self.given_up: dict[str, tuple[str, str]] = {}  # key -> (what, signal)

    def again(self, key: str, what: str, signame: str) -> bool:
        """Count a kill of ``key`` (``what``: its name for people); True if it may run
        again in this attempt."""
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.counts[key] < self.limit:
            return True
        self.given_up[key] = (what, signame)
        return False

    def summary(self) -> str:
        """Why the attempt ends: ``instance a.txt was killed (SIGKILL) 3 times: ...``."""
        signals = ", ".join(sorted({signame for _what, signame in self.given_up.values()}))
        if len(self.given_up) == 1:
            [(what, _signame)] = self.given_up.values()
            return f"{what} was killed ({signals}) {self.limit} times: resume to run it again"
        return (f"{len(self.given_up)} instances were killed ({signals}) {self.limit} times "
                "each: resume to run them again")


def instance_name(record: dict) -> str:
    """An instance as people know it: its file name (and iteration, past the first)."""
    name = os.path.basename(str(record.get("instance", "?")))
    iteration = record.get("iteration")
    return f"instance {name}" + (f" (iteration {iteration})" if iteration else "")
