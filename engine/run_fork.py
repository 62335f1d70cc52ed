"""A ``Run`` handle in a process forked from the one that owns its run.

The child gets a copy of the handle, of its queue and of its writer, but not the
writer's thread: the run belongs to the parent. So in the child the handle turns
inert: every recording call (``log_metrics``, ``log_event``, ``set_status``,
``save_file``, ``close``...) records nothing and returns False, saying so once as
a warning, and neither ``close()`` nor the end of a ``with`` block writes the
parent's queued records a second time or ends its run. A child that should
record starts a ``Run`` of its own.
"""

import os
import weakref

FORKED = "forked"


class ForkMixin:
    """The inert state of a Run after a fork; mixed into ``Run``."""

    _forked_from = 0
    _inert_warned = False

    def _become_inert(self) -> None:
        """Drop the copied queue and writer, so nothing the parent queued is written."""
        self._forked_from = self._owner_pid
        self._state = FORKED
        self._writer = self._queue = self._resources = None
        self._deferred = None  # the parent's failure, for the parent to raise

    def _inert(self, what: str) -> bool:
        if not self._inert_warned:
            self._inert_warned = True
            import logging  # here: only a forked copy that is used needs it

            logging.getLogger("runyard").warning(
                "runyard: %s() in process %d records nothing: run %r belongs to process %d, "
                "which this one was forked from; start a Run of its own here to record",
                what, os.getpid(), self.name, self._forked_from)
        return False


def make_forked_copies_inert(live_runs: weakref.WeakSet) -> None:
    """Turn the handles in ``live_runs`` inert in every process forked from now on."""

    def after_fork_in_child() -> None:
        for run in list(live_runs):
            run._become_inert()
        live_runs.clear()

    os.register_at_fork(after_in_child=after_fork_in_child)
