"""One run in detail: metrics, events, alerts, instances, attributes, output, live."""

import json
import time

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Log, Static, TabbedContent, TabPane

from runyard.engine import load_run
from runyard.engine.tail import RunTail, TextTail
from runyard.engine.work import InstanceBook

from ..formatting import duration, short_time
from ..model import critical_alerts, progress_text, step_link
from ..widgets.chart import MetricChart
from ..widgets.glyphs import short_number, status_symbol
from ..widgets.metric_sparks import MetricSparks

TABS = ("metrics", "events", "alerts", "instances", "info", "output")
FLOW_TABS = ("steps", "events", "info", "output")  # a flow run: its steps, first


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
        self.by_time = False
        self.info = load_run(root, run_id)
        self.is_flow = self.info.attrs.get("kind") == "flow"
        self.tabs = FLOW_TABS if self.is_flow else TABS
        self._polling = False
        self._again = False
        self._first = True

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
        self.update_info()
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
        update = self.tail.poll()
        info = load_run(self.root, self.run_id)
        output = []
        log_dir = self.meta_dir / "log"
        if log_dir.is_dir():
            for path in sorted(log_dir.iterdir()):
                if path.name == "runner" or path.suffix == ".log":
                    tail = self.logs.setdefault(path.name, TextTail(path))
                    output += [f"[{path.name}] {line}" for line in tail.read_new()]
        records = InstanceBook(info.paths).records() if (self.meta_dir /
                                                         "instances").is_dir() else {}
        steps = step_rows(self.root, info) if self.is_flow else []
        self.app.call_from_thread(self.apply, update, info, output, records, steps)

    def apply(self, update, info, output, records, steps=()) -> None:
        self.info = info
        self._polling = False
        sparks = self.query_one("#sparks", MetricSparks)
        if update.metrics or not sparks.metrics:
            sparks.update_metrics(self.tail.metrics)
            self.update_chart()
        if update.events:
            self.query_one("#event-log", Log).write_lines(
                [self.event_line(e) for e in update.events])
        if update.alerts or update.bad or self._first:
            self.update_alerts()
            self._first = False
        if output:
            self.query_one("#output-log", Log).write_lines(output)
        self.update_instances(records)
        self.update_steps(steps)
        self.update_title()
        self.update_info()
        if self._again:
            self._again = False
            self.poll()

    def on_worker_state_changed(self, event) -> None:
        if event.worker.group == "detail" and event.worker.is_finished and \
                event.worker.error is not None:
            self._polling = False
            self.notify(f"Reading run {self.run_id} failed: {event.worker.error}",
                        severity="error")

    # -- drawing ----------------------------------------------------------------
    def event_line(self, event: dict) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.get("ts") or 0))
        where = f" [{event['instance'].rsplit('/', 1)[-1]}]" if event.get("instance") else ""
        message = str(event.get("msg", "")).replace("\n", " | ")
        return f"{stamp} {event.get('level', 'info'):<8}{where} {message}"

    def update_title(self) -> None:
        info = self.info
        symbol, style = status_symbol(info.status)
        progress = progress_text(info)
        parts = [f"[{style}]{symbol} {info.status}[/]", escape(info.folder),
                 " ".join("#" + escape(t) for t in info.tags), progress,
                 duration(info.duration())]
        critical = [a for a, r in self.tail.alerts.items() if r.get("state") == "critical"]
        if critical:
            parts.append(f"[b red]alert: {escape(', '.join(critical))}[/]")
        title = f"[b]{escape(info.name or info.id)}[/b] ({info.id})  " + \
            "  ".join(p for p in parts if p)
        if self.is_flow:
            name = (info.attrs.get("flow") or {}).get("name", "?")
            title += f"\n[dim]flow[/dim] [b]{escape(str(name))}[/b][dim]: enter opens a " \
                     "step's run; p, r and c act on every step[/dim]"
        link = step_link(info)
        if link:
            title += f"\n[dim]step[/dim] [b]{escape(str(link.get('alias')))}[/b] [dim]of flow " \
                     f"run {escape(str(link.get('run')))}[/dim]"
        if info.error:
            title += f"\n[red]unreadable: {escape(info.error)}[/red]"
        self.query_one("#run-title", Static).update(title)

    def update_chart(self) -> None:
        sparks = self.query_one("#sparks", MetricSparks)
        name = sparks.selected_name()
        points = list(self.tail.metrics[name].points) if name else []
        self.query_one("#chart", MetricChart).show(name, points, self.by_time)

    def update_alerts(self) -> None:
        from runyard.engine.summary import alert_definitions

        lines = []
        definitions = {d["name"]: d for d in alert_definitions(self.meta_dir)}
        for name in sorted(set(definitions) | set(self.tail.alerts)):
            definition = definitions.get(name, {})
            last = self.tail.alerts.get(name, {})
            state = last.get("state", "ok")
            colour = "bold red" if state == "critical" else "green"
            rule = definition.get("rule") or definition.get("source", "")
            target = definition.get("metric") or definition.get("pattern") or ""
            limit = definition.get("threshold")
            if limit is None and "range_low" in definition:
                limit = f"{definition['range_low']}..{definition['range_high']}"
            when = time.strftime("%H:%M:%S", time.localtime(last["ts"])) if last else "-"
            value = last.get("value", "-")
            shown = short_number(value) if isinstance(value, int | float) else str(value)
            lines.append(f"[{colour}]{state:<8}[/] [b]{escape(name)}[/b]  "
                         f"{escape(str(target))} {escape(str(rule))} "
                         f"{escape(str(limit if limit is not None else ''))}  "
                         f"value {escape(shown)}  since {when}")
        history = [f"  {time.strftime('%H:%M:%S', time.localtime(r.get('ts') or 0))} "
                   f"{escape(r['alert'])} -> {r.get('state')}"
                   for r in list(self.tail.alert_history)[-20:]]
        if history:
            lines += ["", "[b]history[/b]", *history]
        for bad in self.tail.bad[-5:]:
            lines.append(f"[red]bad line: {escape(str(bad))}[/red]")
        self.query_one("#alert-text", Static).update("\n".join(lines) or "no alerts")

    def update_instances(self, records: dict) -> None:
        table = self.query_one("#instance-table", DataTable)
        for key, record in records.items():
            saved = record.get("saved")
            row = (str(record.get("instance", "")).rsplit("/", 1)[-1],
                   str(record.get("iteration", 0)), record.get("status", "?"),
                   str(record.get("attempts", 0)), f"{record.get('state_size', 0)} B",
                   time.strftime("%H:%M:%S", time.localtime(saved)) if saved else "-",
                   (record.get("error") or "")[:60])
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

    def update_info(self) -> None:
        info, attrs = self.info, self.info.attrs
        lines = [f"[b]id[/b] {info.id}", f"[b]name[/b] {escape(info.name)}",
                 f"[b]folder[/b] {escape(info.folder)}",
                 f"[b]tags[/b] {escape(', '.join(info.tags)) or '-'}",
                 f"[b]description[/b] {escape(attrs.get('description') or '-')}",
                 f"[b]created[/b] {short_time(attrs.get('created'))}  "
                 f"[b]started[/b] {short_time(attrs.get('started'))}  "
                 f"[b]ended[/b] {short_time(attrs.get('ended'))}",
                 f"[b]host/user[/b] {escape(str(attrs.get('host')))} / "
                 f"{escape(str(attrs.get('user')))}  [b]attempt[/b] {attrs.get('attempt', 0)}",
                 f"[b]run folder[/b] {escape(str(info.paths.run_dir))}"]
        if attrs.get("exit"):
            lines.append(f"[b]exit[/b] {escape(json.dumps(attrs['exit']))}")
        if attrs.get("scheduler"):
            lines.append(f"[b]scheduler[/b] {escape(json.dumps(attrs['scheduler']))}")
        lines += ["", "[b]metadata[/b]"] + [f"  {escape(str(k))} = {escape(str(v))}"
                                            for k, v in (attrs.get("metadata") or {}).items()]
        lines += ["", "[b]files[/b]", *self.file_lines()]
        self.query_one("#info-text", Static).update("\n".join(lines))

    def file_lines(self) -> list[str]:
        from runyard.engine.jsonl import read_all

        records, _bad = read_all(self.meta_dir / "files.jsonl")
        lines = [f"  {escape(r.get('category', '?'))}/{escape(r.get('name', '?'))}  "
                 f"{r.get('size', 0)} B  {escape(r.get('mime', ''))}" for r in records[-50:]]
        try:
            produced = sorted(p.name for p in self.info.paths.run_dir.iterdir())[:50]
        except OSError:
            produced = []
        lines += [f"  run folder: {escape(name)}" for name in produced]
        return lines or ["  none"]

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
        symbol, _style = status_symbol(status)
        rows.append((alias, (alias, f"{symbol} {status}", name, progress, took,
                             (record.get("error") or "")[:60])))
    return rows
