"""The Metrics tab: every metric of the run (but its resource metrics) as a chart."""

from .charts import RunCharts
from .run_metrics import RunMetrics, is_resource


class MetricsTab(RunCharts):
    def __init__(self, reading, **kwargs):
        super().__init__(RunMetrics(reading, lambda name: not is_resource(name)),
                         empty="no metrics yet", **kwargs)
