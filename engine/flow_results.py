"""What a flow run gave: per step its status, output files, metrics and run folder."""

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from .flow_graph import FlowError
from .layout import ARTIFACTS, RunPaths


def step_outputs(paths: RunPaths, pattern: str = "*") -> list[Path]:
    """The files a run produced in its folder and those it saved with category
    ``output``, sorted; ``pattern`` matches the relative path or the file name."""
    found = []
    for base in (paths.run_dir, paths.meta(ARTIFACTS) / "output"):
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            relative = path.relative_to(base)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            if fnmatch.fnmatchcase(relative.as_posix(), pattern) or \
                    fnmatch.fnmatchcase(path.name, pattern):
                found.append(path)
    return found


@dataclass
class StepResult:
    """What one step of a flow run gave."""

    alias: str
    status: str                          # a run status, or "pending" if it never started
    run_id: str | None = None
    name: str | None = None
    path: Path | None = None             # the step run's folder
    outputs: list[Path] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)   # name -> last, count, min, max, last_step
    error: str | None = None

    def values(self, metric: str) -> list:
        """Every recorded value of ``metric``, in order."""
        if self.path is None:
            return []
        from .layout import METRICS
        from .series import decode_value
        from .summary import read_series

        records, _bad = read_series(RunPaths(self.path.parent, self.run_id).meta_dir, METRICS)
        return [decode_value(r["v"][metric]) for r in records
                if isinstance(r.get("v"), dict) and metric in r["v"]]


def flow_results(root: Path, run_id: str, aliases: list[str] | None = None) -> list[StepResult]:
    """The results of a flow run: one per returned step (or per alias asked)."""
    from .spec import read_spec
    from .store import find_run, load_run
    from .summary import metric_summary

    info = find_run(root, run_id)
    if info.attrs.get("kind") != "flow":
        raise FlowError(f"run {info.name} is not a flow run")
    link = info.attrs.get("flow") or {}
    steps = link.get("steps", {})
    returns = link.get("returns")
    if returns is None:  # the spec is readable by its owner only: attrs come first
        returns = read_spec(info.meta_dir).flow["graph"]["returns"]
    results = []
    for alias in aliases or returns:
        record = steps.get(alias) or {}
        step_id = record.get("run")
        if not step_id:
            results.append(StepResult(alias, record.get("status", "pending"),
                                      error=record.get("error")))
            continue
        step = load_run(root, step_id)
        metrics, _bad = metric_summary(step.meta_dir)
        results.append(StepResult(alias, step.status, step.id, step.name, step.paths.run_dir,
                                  step_outputs(step.paths), metrics,
                                  (step.attrs.get("exit") or {}).get("error")))
    return results
