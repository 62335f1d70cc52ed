"""SIGTERM ends a tracked run ``terminated``, as Ctrl-C does.

Slurm's ``scancel`` and walltime limit (and most batch systems) stop a job with
SIGTERM, whose default is to die at once: the run turned ``lost`` and its last
queued points were never written. While a run is open in this process, SIGTERM
raises :class:`Terminated` (a ``SystemExit`` with code 143, as a shell reports a
process ended by SIGTERM) in the main thread instead: ``with Run()`` ends the run
``terminated``, ``finally`` blocks run, and a run left open without ``with`` is
ended ``terminated`` on the way out.

Someone else's SIGTERM is not taken over. The handler is installed only from the
main thread (the only one Python lets set handlers), only while SIGTERM has its
default disposition (an engine worker's own handler, or the user's, stays), and
put back to the default once no run is open, if it is still ours. A SIGTERM that
comes when no run is open does what the default does: the process dies by it.
"""

import os
import signal
import threading
from collections.abc import Callable

EXIT_CODE = 128 + signal.SIGTERM


class Terminated(SystemExit):
    """SIGTERM arrived while a run was open in this process."""

    def __init__(self):
        super().__init__(EXIT_CODE)


_state = {"received": False, "any_open": None}


def _on_sigterm(signum, frame) -> None:
    any_open = _state["any_open"]
    if any_open is None or not any_open():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as if we had never been here
        os.kill(os.getpid(), signal.SIGTERM)
        return
    _state["received"] = True
    raise Terminated


def install(any_open: Callable[[], bool]) -> None:
    """Turn SIGTERM into Terminated while ``any_open()``: from the main thread, over the
    default disposition only."""
    _state["any_open"] = any_open
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)


def restore(any_open: Callable[[], bool]) -> None:
    """Put the default back once no run is open, if our handler is still the one."""
    if any_open() or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def received() -> bool:
    """Whether SIGTERM was turned into Terminated in this process."""
    return _state["received"]
