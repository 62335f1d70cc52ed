"""``Experiment``: start a run module over instances from Python, without blocking.

    from runyard.engine import Experiment

    exp = Experiment("extract.py", instances=["data/*.txt"], workers=4)
    exp.start()          # returns at once; the run goes on without this process
    exp.pause()          # exp.resume(): as runyard pause and resume
    exp.join()           # wait for the end: "completed", "failed", ...

    Experiment("all.experiment").start()   # pyalma's file: module, instances, workers
"""

import os
from pathlib import Path

from .control import close, pause, resume, start, wait_for_end
from .errors import UsageError
from .instances import expand, read_experiment
from .layout import as_path
from .root import ensure_root, resolve_root
from .spec import RunSpec
from .store import RunInfo, load_run


class Experiment:
    """A run module over instances, or a pyalma ``.experiment`` file (its module,
    instances, workers and iterations; ``instances``, ``workers`` and ``iterations``
    given here replace the file's, as they do on ``runyard run``)."""

    def __init__(self, module: str | os.PathLike, instances=(), *,
                 workers: int | None = None, iterations: int | None = None,
                 name: str | None = None, folder: str = "/",
                 tags=(), metadata: dict | None = None, description: str = "",
                 executor: str = "local", scheduler: str | None = None,
                 max_attempts: int = 3, root: str | os.PathLike | None = None):
        if isinstance(instances, str | bytes | os.PathLike):
            raise UsageError(f"instances is a list of paths, globs or .batch files, not "
                             f"{instances!r}")
        self.root = resolve_root(root)
        module = str(as_path(module, "module"))
        self._patterns = [os.fspath(p) if isinstance(p, os.PathLike) else str(p)
                          for p in instances]
        if module.endswith(".experiment"):
            pyalma = read_experiment(Path(module))
            module = str(pyalma.module)
            self._patterns = self._patterns or pyalma.instances
            workers = pyalma.workers if workers is None else workers
            iterations = pyalma.iterations if iterations is None else iterations
        self.spec = RunSpec(kind="module", module=module, instances=[],
                            iterations=1 if iterations is None else iterations,
                            workers=1 if workers is None else workers, executor=executor,
                            scheduler=scheduler, max_attempts=max_attempts)
        self._attrs = {"name": name, "folder": folder, "tags": list(tags),
                       "metadata": metadata or {}, "description": description}
        self.run_id: str | None = None

    def start(self) -> str:
        """Launch the run (detached); returns its id as soon as it is running."""
        if self.run_id is not None:
            raise UsageError(f"this experiment was already started as run {self.run_id}")
        self.spec.instances = expand(self._patterns)
        info = start(ensure_root(self.root), self.spec, **self._attrs)
        self.run_id = info.id
        return info.id

    def _started(self) -> str:
        if self.run_id is None:
            raise UsageError("start() the experiment first")
        return self.run_id

    def info(self) -> RunInfo:
        return load_run(self.root, self._started())

    @property
    def status(self) -> str | None:
        return self.info().status if self.run_id else None

    def stop(self, wait: float | None = 30.0) -> str:
        """Close the run gracefully (resumable); its status once it ended."""
        info = self.info()
        if info.status in ("running", "paused"):
            info = close(self.root, info.id, wait=wait)
        return info.status

    def pause(self) -> None:
        """Freeze the run's work, as ``runyard pause`` does: its status reads ``paused``
        within a second."""
        pause(self.root, self._started())

    def resume(self) -> None:
        """Continue the paused run, or start a new attempt of a stopped, lost or failed
        one (only unfinished instances run, from their saved states), as ``runyard
        resume`` does; a new attempt has begun when it returns."""
        resume(self.root, self._started())

    def join(self, timeout: float | None = None) -> str:
        """Wait for the run to end (or ``timeout`` seconds); its status."""
        return wait_for_end(self.root, self._started(), timeout).status

    def __repr__(self) -> str:
        return f"Experiment({Path(self.spec.module).name!r}, run_id={self.run_id!r})"
