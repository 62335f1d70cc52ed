"""What a module run's supervisor asks of an executor (module_supervisor.py).

The supervisor keeps the run's state (which instances are left, ``done()``, the
kills and failures); an executor only runs what it is sent. Its slots are where
tasks run (a local worker process, a Dask slot); each task is ``{"op": "run",
"key": ...}`` or ``{"op": "done"}``, and ``poll`` gives back, per slot, what came of
it: an answer, or ``{"op": "died", "key": ..., "code": ...}`` (kills.py reads
the code), or ``{"op": "fatal", "error": ...}`` when nothing more can run.

The verbs: ``pause`` and ``resume`` freeze and continue the work (locally by
signals; elsewhere the tasks obey the run's control.json at their next save),
``close`` asks it to stop gracefully and ``remind_close`` asks again while the
supervisor waits, ``finish`` lets the slots go once no task is left, and ``kill``
ends everything at once. What was saved stays in either case.
"""

from abc import ABC, abstractmethod


class Executor(ABC):
    name = ""

    @classmethod
    @abstractmethod
    def start(cls, paths, spec, env: dict, todo: int) -> "Executor":
        """An executor for run ``paths`` (its spec, the workers' environment and how
        many instances are left), its slots starting."""

    # -- slots and tasks ------------------------------------------------------
    def spawn(self) -> None:
        """Another slot for a lost one (an executor that replaces them itself: none)."""
        return None

    @abstractmethod
    def idle(self) -> list:
        """Slots ready for a task."""

    def ahead(self) -> list:
        """Busy slots that may be sent their next task now (quick instances)."""
        return []

    @abstractmethod
    def alive(self) -> list:
        """Slots that may still answer."""

    @abstractmethod
    def send(self, slot, task: dict) -> None: ...

    @abstractmethod
    def poll(self, timeout: float) -> list[tuple[object, dict]]:
        """What came back within ``timeout`` seconds (see the module's docstring)."""

    def reap(self) -> list[tuple[object, dict]]:
        """Slots found gone without a word (polled less often than ``poll``)."""
        return []

    # -- the run's verbs ------------------------------------------------------
    @abstractmethod
    def pause(self) -> None: ...

    @abstractmethod
    def resume(self) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Stop gracefully: each task stops at once (its state is saved)."""

    def remind_close(self) -> None:
        """Ask again, while the supervisor waits for the slots to end."""
        return None

    @abstractmethod
    def finish(self) -> None:
        """No task is left: the slots may end."""

    @abstractmethod
    def kill(self) -> None:
        """End every slot now."""

    @abstractmethod
    def describe(self) -> str:
        """One line for the supervisor's log: where the instances run."""
