"""The supervisor's last act: record how its run ended, even on a full disk.

The exit record is one atomic rewrite of ``attrs.json``, which needs free space.
When it fails, the supervisor says its last words (stop_reason.py) and retries
every half second until it succeeds (space came back), a signal tells it to stop,
or ``RUNYARD_EXIT_RETRY`` seconds (default 300) pass. It keeps beating meanwhile
(a heartbeat is a time stamp, it needs no space), so the run reads ``running``
while it waits; if it gives up, the run reads ``lost``, with the cause taken from
its last words.
"""

import contextlib
import math
import os
import signal
import sys
import time
import traceback

from .layout import RunPaths
from .lifecycle import beat, finalize_run
from .stop_reason import cause_of, describe, last_words, system_words

EXIT_RETRY = 300.0
RETRY_EVERY = 0.5
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def say(message: str) -> None:
    """One line in the supervisor's log (its stdout). On a full disk the log may
    have no room left either: then the line is lost, and nothing else is."""
    with contextlib.suppress(OSError):
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)


def say_traceback(exc: BaseException) -> None:
    with contextlib.suppress(OSError):
        traceback.print_exception(exc, file=sys.stdout)
        sys.stdout.flush()


def exit_retry_seconds() -> float:
    """How long to retry a failed exit record: ``RUNYARD_EXIT_RETRY`` or EXIT_RETRY."""
    try:
        seconds = float(os.environ.get("RUNYARD_EXIT_RETRY") or EXIT_RETRY)
    except ValueError:
        return EXIT_RETRY
    return seconds if math.isfinite(seconds) and seconds >= 0 else EXIT_RETRY


def record_exit(paths: RunPaths, status: str, *, error: str | None = None,
                cause: str | None = None) -> bool:
    """Write the exit record, retrying as above; False if the supervisor gave up."""
    try:
        finalize_run(paths, status, error=error, cause=cause)
        return True
    except OSError as exc:
        failure = exc
    seconds = exit_retry_seconds()
    why = cause_of(failure)
    if why:
        say(last_words(why, f"cannot write the exit record: {system_words(failure)}"))
    say(f"Cannot write the exit record ({describe(failure)}); retrying for up to "
        f"{seconds:g} s")
    stop: list[int] = []
    previous = {signum: signal.signal(signum, lambda n, _f: stop.append(n))
                for signum in STOP_SIGNALS}
    try:
        return _retry(paths, status, error, cause, time.monotonic() + seconds, stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _retry(paths: RunPaths, status: str, error: str | None, cause: str | None,
           deadline: float, stop: list[int]) -> bool:
    while not stop and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            beat(paths)
        time.sleep(RETRY_EVERY)
        try:
            finalize_run(paths, status, error=error, cause=cause)
        except OSError:
            continue
        say("Wrote the exit record: space came back")
        return True
    reason = f"signal {signal.Signals(stop[0]).name}" if stop else "time is up"
    say(f"Gave up writing the exit record ({reason}): the run is left lost")
    return False
