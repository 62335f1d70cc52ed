"""The System tab: the run's resource metrics (engine/resources.py logs them as
``resources/...``), CPU, memory and each GPU's utilisation and memory, with units."""

import re

from .charts import RunCharts
from .run_metrics import RESOURCES, RunMetrics, is_resource

# what engine/resources.py records, and how a person reads it
KNOWN = (
    (re.compile(r"cpu\.usage\.percentage"), "CPU", "%"),
    (re.compile(r"memory\.usage"), "memory (RSS)", "MiB"),
    (re.compile(r"gpu\.utilisation\.percentage\.(\d+)"), "GPU {} utilisation", "%"),
    (re.compile(r"gpu\.memory\.usage\.(\d+)"), "GPU {} memory", "MiB"),
)


def resource_title(name: str, _by_time: bool = False) -> str:
    """``resources/cpu.usage.percentage`` as ``CPU (%)``; a name runyard does not know
    is shown as it is."""
    short = name[len(RESOURCES):]
    for pattern, what, unit in KNOWN:
        match = pattern.fullmatch(short)
        if match:
            return f"{what.format(*match.groups())} ({unit})"
    return short


class SystemTab(RunCharts):
    def __init__(self, reading, **kwargs):
        super().__init__(RunMetrics(reading, is_resource, resource_title),
                         empty="no resource metrics recorded (CPU, memory, GPU)",
                         kind="system", **kwargs)
