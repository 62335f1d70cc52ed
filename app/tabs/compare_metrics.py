"""The compared runs' metrics as the chart grid asks for them: one chart a metric,
one line a run in it, the baseline's first (and drawn in the first style)."""

from dataclasses import replace

from ..safe_text import one_line
from ..widgets.workspace import Workspace
from .run_metrics import RunMetrics, is_resource


class CompareMetrics:
    """A ``Workspace`` source over the runs a compare screen read (compare_data)."""

    def __init__(self):
        self.runs: list = []  # compare_data.Compared, the baseline first
        self.baseline: str | None = None

    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for run in self.runs:
            for name in RunMetrics(run, self._keep).names():
                seen.setdefault(name, None)
        return list(seen)

    @staticmethod
    def _keep(name: str) -> bool:
        return not is_resource(name)

    def version(self, name: str) -> tuple:
        return (self.baseline, *((run.id, RunMetrics(run, self._keep).version(name))
                                 for run in self.runs))

    def series(self, name: str, by_time: bool) -> list:
        found = []
        for index, run in enumerate(self.runs):
            if name not in run.tail.metrics and (run.history is None or
                                                 name not in run.history.envelopes):
                continue  # this run never logged it
            line = RunMetrics(run, self._keep).series(name, by_time)[0]
            label = one_line(run.info.name or run.id, limit=30)
            if run.id == self.baseline:
                label = "baseline " + label
            found.append(replace(line, label=label, style=index))
        return found

    def title(self, name: str, by_time: bool) -> str:
        return name


class CompareCharts(Workspace):
    """Every metric of the compared runs as a chart, the runs overlaid in each."""

    def __init__(self, **kwargs):
        self.data = CompareMetrics()
        super().__init__(self.data, empty="no metrics in these runs yet",
                         kind="runs overlaid", **kwargs)

    def show_runs(self, runs: list, baseline: str | None) -> None:
        self.data.runs, self.data.baseline = list(runs), baseline
        self.data_changed()
