"""One run in detail: metrics, events, alerts, instances, attributes, output, live.

Files are read on a worker thread, which posts what it found (``RunRead``); the
screen only draws. Everything drawn from the run goes through detail_text.py,
which shows it as data, never as markup or terminal control.
"""

import os
from collections import deque
from dataclasses import dataclass, field

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Log, Static, TabbedContent, TabPane

from runyard.engine import load_run
from runyard.engine.jsonl import SeriesReader
from runyard.engine.layout import RunPaths
from runyard.engine.tail import RunTail, TextTail
from runyard.engine.work import InstanceBook

from ..formatting import duration
from ..model import critical_alerts, progress_text
from ..widgets.chart import MetricChart
from ..widgets.metric_sparks import MetricSparks
from ..widgets.static_text import redraw
from .detail_text import (
    alerts_text,
    event_lines,
    info_text,
    instance_row,
    output_line,
    step_row,
    title_text,
)

TABS = ("metrics", "events", "alerts", "instances", "info", "output")
FLOW_TABS = ("steps", "events", "info", "output")  # a flow run: its steps, first


@dataclass
class RunFiles:
    """What one read of the run's files found."""

    update: object                      # the RunTail's news
    info: object                        # the run, read again
    output: list = field(default_factory=list)
    records: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    files: list = field(default_factory=list)
    produced: list = field(default_factory=list)
    alert_defs: list = field(default_factory=list)
    reason: str | None = None           # why storage stopped the run, if it did
    problems: list = field(default_factory=list)  # parts that could not be read


class RunRead(Message):
    """A read of the run's files finished (posted from the worker thread)."""

    def __init__(self, found: RunFiles):
        super().__init__()
        self.found = found


class DetailScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("p", "pause", "Pause", id="detail-pause"),
        Binding("r", "resume", "Resume", id="detail-resume"),
        Binding("c", "close_run", "Close", id="detail-close"),
        Binding("right_square_bracket,tab", "tab(1)", "Next tab", key_display="]",
                id="next-tab"),
        Binding("left_square_bracket,shift+tab", "tab(-1)", "Previous tab",
                key_display="[", id="prev-tab"),
        Binding("up,k", "metric(-1)", "Previous metric", show=False, id="metric-up"),
        Binding("down,j", "metric(1)", "Next metric", show=False, id="metric-down"),
        Binding("x", "axis", "Step/time axis", show=False, id="axis"),
    ]

    def __init__(self, root, run_id: str):
        super().__init__()
        self.root = root
        self.run_id = run_id
        self.meta_dir = root / f"{run_id}.meta"
        self.tail = RunTail(self.meta_dir)
        self.logs: dict[str, TextTail] = {}
        self.files_reader = SeriesReader(self.meta_dir / "files.jsonl")
        self.saved_files: deque = deque(maxlen=50)
        self.by_time = False
        self.info = load_run(root, run_id)
        self.is_flow = self.info.attrs.get("kind") == "flow"
        self.tabs = FLOW_TABS if self.is_flow else TABS
        self._polling = False
        self._again = False
        self.reason: str | None = None
        self._drawn: dict[str, Text] = {}  # what each Static shows now

    def compose(self) -> ComposeResult:
        yield Static(id="run-title")
        with TabbedContent(id="tabs", initial=self.tabs[0]):
            if self.is_flow:
                with TabPane("Steps", id="steps"):
                    yield DataTable(id="step-table", cursor_type="row")
            with TabPane("Metrics", id="metrics"), Vertical():
                yield MetricSparks(id="sparks")
                yield MetricChart(id="chart")
            with TabPane("Events", id="events"):
                yield Log(max_lines=2000, id="event-log")
            with TabPane("Alerts", id="alerts"):
                yield Static(id="alert-text")
            with TabPane("Instances", id="instances"):
                yield DataTable(id="instance-table", cursor_type="row")
            with TabPane("Info", id="info"), VerticalScroll():
                yield Static(id="info-text")
            with TabPane("Output", id="output"):
                yield Log(max_lines=5000, id="output-log")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#instance-table", DataTable)
        table.add_columns("instance", "it", "status", "tries", "state", "saved", "error")
        tabs = self.query_one("#tabs", TabbedContent)
        for pane in ("metrics", "alerts", "instances"):
            if pane not in self.tabs:  # a flow run has none of its own: its steps do
                tabs.hide_tab(pane)
        if self.is_flow:
            steps = self.query_one("#step-table", DataTable)
            steps.add_columns("step", "status", "run", "progress", "duration", "error")
            steps.focus()
        self.update_title()
        self.poll()

    # -- refreshing -----------------------------------------------------------
    def files_changed(self, paths: set[str]) -> None:
        mine = str(self.meta_dir)
        if any(p.startswith(mine) for p in paths):
            self.poll()

    def poll(self) -> None:
        if self._polling:
            self._again = True  # rescheduled after the one in progress, never stacked
            return
        self._polling = True
        self.read_files()

    @work(thread=True, exit_on_error=False, group="detail")
    def read_files(self) -> None:
        """On a worker thread: what changed. A part that cannot be read (a folder
        another user closed, a file that is no file) is named, and the rest shown."""
        from runyard.engine.summary import alert_definitions

        found = RunFiles(self.tail.poll(), load_run(self.root, self.run_id))
        parts = (("output", "log/", self.read_logs),
                 ("records", "instances/", self.read_instances),
                 ("files", "files.jsonl", self.read_saved_files),
                 ("alert_defs", "alerts.json", alert_definitions))
        for field_name, what, read in parts:
            try:
                setattr(found, field_name, read(self.meta_dir))
            except OSError as exc:
                found.problems.append(f"{what}: {exc}")
        found.produced = self.run_folder_names(found.info.paths.run_dir)
        if self.is_flow:
            found.steps = step_rows(self.root, found.info)
        found.reason = found.info.reason
        self.post_message(RunRead(found))

    def read_logs(self, meta_dir) -> list[str]:
        lines = []
        try:
            with os.scandir(meta_dir / "log") as entries:
                names = sorted(e.name for e in entries)
        except FileNotFoundError:  # not yet
            return lines
        for name in names:
            if name == "runner" or name.endswith(".log"):
                tail = self.logs.setdefault(name, TextTail(meta_dir / "log" / name))
                lines += [output_line(name, line) for line in tail.read_new()]
        return lines

    def read_instances(self, meta_dir) -> dict:
        if not (meta_dir / "instances").is_dir():
            return {}
        return InstanceBook(RunPaths(self.root, self.run_id)).records()

    def read_saved_files(self, meta_dir) -> list[dict]:
        """The last saved files, read incrementally (files.jsonl only grows)."""
        records, _bad = self.files_reader.read_new()
        self.saved_files.extend(records)
        return list(self.saved_files)

    @staticmethod
    def run_folder_names(run_dir, most: int = 50, look: int = 10_000) -> list[str]:
        """The first names of the run's own folder (a folder of a million files is
        not listed whole on every refresh)."""
        names = []
        try:
            with os.scandir(run_dir) as entries:
                for entry in entries:
                    names.append(entry.name)
                    if len(names) >= look:
                        break
        except OSError:
            return []
        return sorted(names)[:most]

    def on_run_read(self, message: RunRead) -> None:
        found = message.found
        self.info = found.info
        self.reason = found.reason
        self._polling = False
        update = found.update
        sparks = self.query_one("#sparks", MetricSparks)
        if update.metrics or not sparks.metrics:
            sparks.update_metrics(self.tail.metrics)
            self.update_chart()
        if update.events:
            self.query_one("#event-log", Log).write_lines(
                [line for event in update.events for line in event_lines(event)])
        self.show_text("#alert-text", alerts_text(found.alert_defs, self.tail.alerts,
                                                  list(self.tail.alert_history),
                                                  self.tail.bad))
        if found.output:
            self.query_one("#output-log", Log).write_lines(found.output)
        self.update_instances(found.records)
        self.update_steps(found.steps)
        self.update_title()
        self.show_text("#info-text", info_text(found.info, found.files, found.produced,
                                               found.problems))
        if self._again:
            self._again = False
            self.poll()

    def show_text(self, selector: str, text: Text) -> None:
        """Update a Static only when its text changed (relayout only if its height may)."""
        before = self._drawn.get(selector)
        if before != text:
            self._drawn[selector] = text
            redraw(self.query_one(selector, Static), before, text)

    def on_worker_state_changed(self, event) -> None:
        if event.worker.group == "detail" and event.worker.is_finished and \
                event.worker.error is not None:
            self._polling = False
            self.notify(f"Reading run {self.run_id} failed: {event.worker.error}",
                        severity="error")

    # -- drawing ----------------------------------------------------------------
    def update_title(self) -> None:
        critical = [a for a, r in self.tail.alerts.items() if r.get("state") == "critical"]
        self.show_text("#run-title", title_text(self.info, critical, self.is_flow,
                                                self.reason))

    def update_chart(self) -> None:
        sparks = self.query_one("#sparks", MetricSparks)
        name = sparks.selected_name()
        stats = self.tail.metrics[name] if name else None
        self.query_one("#chart", MetricChart).show(
            name, list(stats.points) if stats else [], self.by_time,
            stats.nonfinite if stats else 0)

    def update_instances(self, records: dict) -> None:
        table = self.query_one("#instance-table", DataTable)
        for key, record in records.items():
            row = instance_row(record)
            if key in table.rows:
                for column, value in zip(table.columns, row, strict=True):
                    table.update_cell(key, column, value)
            else:
                table.add_row(*row, key=key)

    def update_steps(self, steps) -> None:
        if not self.is_flow:
            return
        table = self.query_one("#step-table", DataTable)
        for alias, row in steps:
            if alias in table.rows:
                for column, value in zip(table.columns, row, strict=True):
                    table.update_cell(alias, column, value)
            else:
                table.add_row(*row, key=alias)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "step-table":
            return
        record = (self.info.attrs.get("flow") or {}).get("steps", {}).get(event.row_key.value)
        if record and record.get("run"):
            self.app.open_run(record["run"])
        else:
            self.notify(f"step {event.row_key.value} has not started yet")

    # -- actions ------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_pause(self) -> None:
        self.app.control("pause", [self.run_id])

    def action_resume(self) -> None:
        self.app.control("resume", [self.run_id])

    def action_close_run(self) -> None:
        self.app.confirm_close([self.run_id])

    def action_tab(self, delta: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        index = self.tabs.index(tabs.active) if tabs.active in self.tabs else 0
        tabs.active = self.tabs[(index + delta) % len(self.tabs)]
        if tabs.active == "steps":
            self.query_one("#step-table", DataTable).focus()

    def action_metric(self, delta: int) -> None:
        self.query_one("#sparks", MetricSparks).move(delta)
        self.update_chart()

    def action_axis(self) -> None:
        self.by_time = not self.by_time
        self.update_chart()

    def critical(self) -> list[str]:
        return critical_alerts(self.meta_dir)


def step_rows(root, info) -> list[tuple[str, tuple]]:
    """A flow run's steps as table rows, each read from its own run (in a thread)."""
    rows = []
    for alias, record in ((info.attrs.get("flow") or {}).get("steps") or {}).items():
        status, name, progress, took = record.get("status", "pending"), "-", "", "-"
        if record.get("run"):
            step = load_run(root, record["run"])
            status, name = step.status, step.name or step.id
            progress, took = progress_text(step), duration(step.duration())
        rows.append((alias, step_row(alias, status, name, progress, took,
                                     record.get("error"))))
    return rows
