"""Where everything lives in a runs root.

```
<root>/
  .runyard/            the root's own records (schema, name index, folder details)
  <id>/                the run's working directory: the user's own files
  <id>.meta/           everything runyard keeps about the run
```
docs/format.md describes every file.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

SCHEMA = 1
ROOT_META = ".runyard"
META_SUFFIX = ".meta"

ATTRS = "attrs.json"
ATTRS_LOCK = "attrs.lock"
HEARTBEAT = "heartbeat"
PAUSED = "paused"
CONTROL = "control.json"      # requests: pause, resume, close (see request.py)
START_LOCK = "start.lock"     # held while a run's supervisor is being started
RUNNER_LOG = "log/runner"
METRICS = "metrics.jsonl"
EVENTS = "events.jsonl"
SUPERVISOR_EVENTS = "events.supervisor.jsonl"  # what a run's supervisor has to say
ALERTS = "alerts.jsonl"
ALERT_DEFS = "alerts.json"
ARTIFACTS = "artifacts"
STATUS_REQUEST = "status-request.json"  # the status a run's code asked to end with
FILES = "files.jsonl"                  # the files a run saved (run_files.py)
SUPERVISOR_ALERTS = "alerts.supervisor.jsonl"  # the alerts its supervisor watches
SUPERVISOR_LOG = "log/supervisor.log"  # the supervisor's output, every attempt's
OUTPUT_LOG = "log/output.log"          # a command run's output
INSTANCES = "instances"                # a module run's instance records (work.py)
DONE_MARK = "done.json"                # in INSTANCES: done() returned
PROC = "proc"                          # what the run executes: its owner's alone
SPEC = "proc/spec.json"                # what to run (spec.py)
ENV = "proc/env.json"                  # the environment it was started with
MODULE_COPY = "proc/module.py"         # the run module's copy
SLURM_SCRIPT = "proc/slurm.sh"         # its Slurm job's batch script (slurm.py)
SLURM_WORKERS_SCRIPT = "proc/slurm-workers.sh"  # its worker jobs' (executors/slurm.py)
LOGS = "log"                           # the logs: runner, supervisor, workers, jobs


def as_path(value, what: str = "root") -> Path:
    """``value`` as a Path: a ``str`` or any ``os.PathLike`` is taken wherever the
    engine takes a path (reference 004 passes strings); anything else, or an empty
    path (which would mean the current folder by accident), is a UsageError."""
    if isinstance(value, Path):
        return value
    try:
        text = os.fspath(value)
    except TypeError:
        raise UsageError(f"{what} must be a path (str or os.PathLike), not "
                         f"{type(value).__name__}") from None
    if not isinstance(text, str):
        raise UsageError(f"{what} must be a path (str or os.PathLike), not "
                         f"{type(text).__name__}")
    if not text:
        raise UsageError(f"{what} must be a path, not an empty string")
    return Path(text)


@dataclass(frozen=True)
class RunPaths:
    """The paths of one run under a root (given as any path; kept as a Path)."""

    root: Path
    id: str

    def __post_init__(self):
        if not isinstance(self.root, Path):
            object.__setattr__(self, "root", as_path(self.root))

    @property
    def run_dir(self) -> Path:
        return self.root / self.id

    @property
    def meta_dir(self) -> Path:
        return self.root / (self.id + META_SUFFIX)

    def meta(self, name: str) -> Path:
        return self.meta_dir / name


def root_meta(root: Path) -> Path:
    return root / ROOT_META


def series_files(meta_dir: Path, name: str) -> list[Path]:
    """A series and its extra writers' files: ``metrics.jsonl``, ``metrics.w0.jsonl``..."""
    stem = name[: -len(".jsonl")]
    extra = sorted(meta_dir.glob(f"{stem}.*.jsonl"))
    return [meta_dir / name, *extra]
