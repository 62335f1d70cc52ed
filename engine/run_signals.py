"""SIGTERM ends a tracked run ``terminated``, as Ctrl-C does.

Slurm's ``scancel`` and walltime limit (and most batch systems) stop a job with
SIGTERM, whose default is to die at once: the run turned ``lost`` and its last
queued points were never written. While a run is open in this process, SIGTERM
raises :class:`Terminated` (a ``SystemExit`` with code 143, as a shell reports a
process ended by SIGTERM) in the main thread instead: ``with Run()`` ends the run
``terminated``, ``finally`` blocks run, and a run left open without ``with`` is
ended ``terminated`` on the way out.

While a run writes its last data (``ending``), a SIGTERM waits: a repeat of the
one being handled (within ``UNWIND_SECONDS``) is dropped, any other is acted on
once the data is written (Terminated if a run is still open, else the default).

Someone else's SIGTERM is not taken over. The handler is installed only from the
main thread (the only one Python lets set handlers), only while SIGTERM has its
default disposition (an engine worker's own handler, or the user's, stays), and
put back to the default once no run is open, if it is still ours. A SIGTERM that
comes when no run is open does what the default does: the process dies by it.
"""

import os
import signal
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

EXIT_CODE = 128 + signal.SIGTERM
# a SIGTERM this soon after the one being handled is a repeat (Slurm's default
# KillWait: SIGKILL comes after it anyway)
UNWIND_SECONDS = 30.0


class Terminated(SystemExit):
    """SIGTERM arrived while a run was open in this process."""

    def __init__(self):
        super().__init__(EXIT_CODE)


_state = {"received": False, "at": -UNWIND_SECONDS, "ending": 0, "waiting": False,
          "any_open": None}


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _die_by_default() -> None:
    if _main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    else:  # ours stays; called again, it finds no run and comes back here
        _state["any_open"] = None
    os.kill(os.getpid(), signal.SIGTERM)


def _terminate() -> None:
    _state["received"], _state["at"] = True, time.monotonic()
    raise Terminated


def _on_sigterm(signum, frame) -> None:
    if time.monotonic() - _state["at"] < UNWIND_SECONDS:
        return  # a repeat must not cut short what the first one started
    if _state["ending"]:
        _state["waiting"] = True  # acted on once the run's last data is written
        return
    any_open = _state["any_open"]
    if any_open is not None and any_open():
        _terminate()
    _die_by_default()


def install(any_open: Callable[[], bool]) -> None:
    """Turn SIGTERM into Terminated while ``any_open()``: from the main thread, over the
    default disposition only."""
    _state["any_open"] = any_open
    if _main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


@contextmanager
def starting(any_open: Callable[[], bool]):
    """Around a run's start: a SIGTERM waits until the run is started, then ends it
    ``terminated`` (without this it killed the process with the run's lock written
    and the run read ``lost``). A run only created (not started) is left as it is
    and the process dies by the signal, as by default."""
    install(any_open)
    with ending(any_open):
        yield


@contextmanager
def ending(any_open: Callable[[], bool]):
    """Around a run's last writes: a SIGTERM waits for them. After the last run ended,
    the default disposition comes back, if ours is still the handler."""
    _state["ending"] += 1
    try:
        yield
    finally:
        _state["ending"] -= 1
        if not _state["ending"]:
            waiting, _state["waiting"] = _state["waiting"], False
            if any_open():
                if waiting:
                    _terminate()
            elif waiting:
                _die_by_default()
            elif _main_thread() and signal.getsignal(signal.SIGTERM) is _on_sigterm and \
                    time.monotonic() - _state["at"] >= UNWIND_SECONDS:
                # (kept while the process leaves because of a SIGTERM: repeats are dropped)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)


def received() -> bool:
    """Whether SIGTERM was turned into Terminated in this process."""
    return _state["received"]
