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


import os
import signal
import sys
from pathlib import Path

from .ending import say
from .errors import RunyardError
from .layout import RunPaths
from .lifecycle import start_run
from .run_end import STATUS_REQUEST
from .spec import read_spec
from .stop_reason import STARTED, cause_of, describe, last_words, system_words
from .supervision import EARLY_SIGNALS


def main(argv: list[str]) -> int:
    # Slurm's walltime signal may come as the job starts (its resolution is 60 s):
    # held until the supervisor can close gracefully, not the default death
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda number, _frame: EARLY_SIGNALS.append(number))
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
        from .module_supervisor import ModuleSupervisor as kind
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
