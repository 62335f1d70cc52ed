"""The detail screen's tabs, in one table: adding a tab is a file and a line here.

Each line: the pane's id (what the screen knows it by), its label, the widget made
for one opened run (the widget mixes in run_tab.RunTab), and which runs have it:
a flow run shows its steps and their story, any other run everything else. The
order is the tabs' order (the System tab last: the tabs before keep their places).
"""

from collections.abc import Callable
from dataclasses import dataclass

from textual.widget import Widget

from .alerts import AlertsTab
from .events import EventsTab
from .files import FilesTab
from .info import InfoTab
from .instances import InstancesTab
from .metrics import MetricsTab
from .output import OutputTab
from .steps import StepsTab
from .system import SystemTab


@dataclass(frozen=True)
class OpenedRun:
    """What a tab is made from: the run as opened."""

    reading: object   # run_reading.RunReading: what has been read of it so far
    meta_dir: object  # its .meta folder
    info: object      # engine RunInfo, as the screen opened it


@dataclass(frozen=True)
class Tab:
    id: str
    label: str
    make: Callable[[OpenedRun], Widget]
    plain: bool = True   # on the screen of a run that is not a flow
    flow: bool = False   # on a flow run's screen


TABS = (
    Tab("steps", "Steps", lambda run: StepsTab(run.info, id="step-table"),
        plain=False, flow=True),
    Tab("metrics", "Metrics", lambda run: MetricsTab(run.reading, id="metrics-grid")),
    Tab("events", "Events", lambda run: EventsTab(run.reading, id="event-log"), flow=True),
    Tab("alerts", "Alerts", lambda run: AlertsTab(run.reading.tail, id="alert-text")),
    Tab("instances", "Instances", lambda run: InstancesTab(run.meta_dir, id="instances-tab")),
    Tab("files", "Files",
        lambda run: FilesTab(run.meta_dir, run.info.paths.run_dir, id="files-tab")),
    Tab("info", "Info", lambda run: InfoTab(id="info-tab"), flow=True),
    Tab("output", "Output", lambda run: OutputTab(run.reading, id="output-log"), flow=True),
    Tab("system", "System", lambda run: SystemTab(run.reading, id="system-grid")),
)


def tabs_of(is_flow: bool) -> tuple[Tab, ...]:
    """The tabs of a flow run's screen, or of any other run's."""
    return tuple(tab for tab in TABS if (tab.flow if is_flow else tab.plain))
