"""Where everything lives in a runs root.

```
<root>/
  .runyard/            the root's own records (schema, name index, folder details)
  <id>/                the run's working directory: the user's own files
  <id>.meta/           everything runyard keeps about the run
```
docs/format.md describes every file.
"""

from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class RunPaths:
    """The paths of one run under a root."""

    root: Path
    id: str

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
