"""``runyard show RUN``: everything known about one run."""

import json
import sys

from runyard.engine import UnreadableRun, find_run, resolve_root
from runyard.engine.kills import instance_name
from runyard.engine.summary import alert_states, event_summary, metric_summary
from runyard.engine.units import metric_units
from runyard.engine.work import InstanceBook

from ..eta_text import run_progress_line
from ..formatting import duration, json_safe, short_time, slurm_text, table
from ..safe_text import one_line, visible
from . import help_of


def add_parser(sub):
    parser = sub.add_parser("show", help=help_of("show"),
                            description="Show one run: RUN is an id, an id prefix or a name.")
    parser.add_argument("run", metavar="RUN")
    parser.add_argument("--json", action="store_true", help="print a JSON object")
    return parser


def details(info) -> tuple[dict, list]:
    """The run's listing fields plus metadata, description, metrics, events, alerts."""
    metrics, bad_m = metric_summary(info.meta_dir)
    for name, units in metric_units(info.attrs).items():
        if name in metrics:
            metrics[name]["units"] = units
    events, bad_e = event_summary(info.meta_dir)
    alerts, bad_a = alert_states(info.meta_dir)
    data = info.summary()
    data.update({
        "metadata": info.attrs.get("metadata", {}),
        "description": info.attrs.get("description", ""),
        "scheduler": info.attrs.get("scheduler"),
        "exit": info.attrs.get("exit"),
        "origin": info.attrs.get("origin"),  # the run it was started again from
        "run_dir": str(info.paths.run_dir),
        "metrics": metrics,
        "events": events,
        "alerts": alerts,
        "killed": InstanceBook(info.paths).killed(),  # instances whose worker was killed
        "progress": run_progress_line(info),
    })
    link = info.attrs.get("flow")
    if isinstance(link, dict):
        data["flow"] = link  # a flow run: its steps; a step: its flow run and alias
    return data, [*bad_m, *bad_e, *bad_a]


def run(args) -> int:
    root = resolve_root(args.root)
    info = find_run(root, args.run)
    if info.error:
        raise UnreadableRun(f"run {info.id} is unreadable: {info.error}")
    data, bad_lines = details(info)
    for bad in bad_lines:
        print(f"runyard: skipped a bad line: {one_line(bad)}", file=sys.stderr)
    if args.json:
        data["bad_lines"] = [str(bad) for bad in bad_lines]
        json.dump(json_safe(data), sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    else:
        print(render(data))
    return 0


def render(data: dict) -> str:
    """The run as text. Every value from the run is shown, never obeyed (``one_line``
    escapes control characters and newlines, so no value can fake a line)."""
    o = one_line
    lines = [f"{o(data['name'])}  ({data['id']})",
             f"  status:      {o(data['status'])}" + _exit_note(data.get("exit"),
                                                                data.get("reason")),
             f"  folder:      {o(data['folder'])}",
             f"  tags:        {o(', '.join(data['tags'])) or '-'}",
             f"  created:     {short_time(data['created'])}",
             f"  started:     {short_time(data['started'])}",
             f"  ended:       {short_time(data['ended'])}",
             f"  duration:    {duration(data['duration'])}",
             *([f"  progress:    {data['progress']}"] if data.get("progress") else []),
             f"  host/user:   {o(data['host'])} / {o(data['user'])}",
             f"  directory:   {o(data['run_dir'])}"]
    if data.get("slurm"):
        lines.append("  slurm job:   " + slurm_text(data["slurm"]))
    if data.get("origin"):
        lines.append(f"  started from: run {o(data['origin'])} (started again from it)")
    if data["description"]:
        lines.append("  description: " + indented(data["description"]))
    if data["scheduler"]:
        lines.append("  scheduler:   " + o(", ".join(f"{k}={v}" for k, v in
                                                     data["scheduler"].items())))
    for key, value in data["metadata"].items():
        lines.append(f"  meta {o(key)}: {o(value)}")
    lines += [f"  {o(instance_name(k))}: killed ({o(k['killed'])})" +
              (f", {k['kills']} times" if k["kills"] > 1 else "") for k in data["killed"]]
    lines += _metrics_block(data["metrics"])
    lines += _events_block(data["events"])
    lines += [f"  alert {o(a['name'])}: {o(a['state'])}" for a in data["alerts"]]
    lines += _flow_block(data.get("flow"))
    return "\n".join(lines)


def indented(text) -> str:
    """A multi-line value, its later lines indented under the first, shown as data."""
    return visible(text, multiline=True).replace("\n", "\n               ")


def _flow_block(link: dict | None) -> list[str]:
    if not link:
        return []
    if "steps" not in link:
        return ["", f"step {one_line(link.get('alias'))} of flow run "
                    f"{one_line(link.get('run'))}"]
    rows = [[alias, step.get("status", "?"), step.get("run") or "-", step.get("error") or ""]
            for alias, step in link["steps"].items()]
    return ["", f"flow {one_line(link.get('name'))} (task {one_line(link.get('task'))}):",
            table(["STEP", "STATUS", "RUN", "ERROR"], rows, max_width={3: 50})]


def _exit_note(exit_record: dict | None, reason: str | None = None) -> str:
    if exit_record and exit_record.get("error"):
        return f" ({one_line(exit_record['error'])})"
    if reason:  # a lost run: its supervisor said why before it gave up
        return f" ({reason}, by the last words in log/supervisor.log)"
    return ""


def _metrics_block(metrics: dict) -> list[str]:
    if not metrics:
        return ["", "no metrics"]
    headers = ["METRIC", "LAST", "MIN", "MAX", "COUNT", "STEP"]
    rows = [[name, _num(m["last"]), _num(m["min"]), _num(m["max"]), str(m["count"]),
             str(m["last_step"])] for name, m in metrics.items()]
    if any(m.get("units") for m in metrics.values()):
        headers.append("UNITS")
        for row, m in zip(rows, metrics.values(), strict=True):
            row.append(one_line(m.get("units", ""), limit=20))
    if any(m.get("nonfinite") for m in metrics.values()):  # min and max leave them out
        headers.append("NAN/INF")
        for row, m in zip(rows, metrics.values(), strict=True):
            row.append(str(m.get("nonfinite", 0)))
    return ["", table(headers, rows, max_width={0: 30})]


def _events_block(events: dict) -> list[str]:
    lines = ["", f"{events['count']} events" + (", the last:" if events["count"] else "")]
    for event in events["last"]:
        level = one_line(event.get("level", "info"), limit=12)
        lines.append(f"  {level:7} {indented(event.get('msg', ''))}")
    return lines


def _num(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "-" if value is None else str(value)
