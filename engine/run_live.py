"""A ``Run`` handle's states, and the handles open in this process.

``LIVE_RUNS`` holds every handle that is recording (run_start.py adds it, run_end.py
takes it out): SIGTERM (run_signals.py), a fork (run_fork.py) and the process's exit
(run_end.py) act on these.
"""

import os
import weakref

from .run_fork import make_forked_copies_inert

NEW, CREATED, RUNNING, BROKEN, CLOSED = "new", "created", "running", "broken", "closed"

LIVE_RUNS: weakref.WeakSet = weakref.WeakSet()

make_forked_copies_inert(LIVE_RUNS)  # a child must not write its parent's records


def any_live_run() -> bool:
    """Whether a run is open in this process (not in one it was forked from)."""
    return any(run._owner_pid == os.getpid() for run in list(LIVE_RUNS))
