"""The detail screen's texts, built from a run's (untrusted) data.

Every value from the run goes through ``visible()`` and into a Rich ``Text`` by
``append``: it is shown as it is, never read as markup (``[/boom]`` stays text)
and never obeyed as terminal control (``ESC ] 0 ;`` shows as ``\\x1b]0;``).
"""

import json
import time

from rich.text import Text

from runyard.engine.store import slurm_summary

from ..eta_text import instance_cells
from ..formatting import duration, short_time, slurm_text
from ..model import progress_text, step_link
from ..safe_text import one_line, visible
from ..widgets import glyphs
from ..widgets.glyphs import GREEN, RED, short_number, status_symbol

EVENT_LINES = 200  # lines of one event shown at most (a traceback, a dump)
DESCRIPTION = 2000  # characters of a description shown (the rest: runyard show --json)


def clock(seconds) -> str:
    """HH:MM:SS of an epoch time, "-" if there is none or it is not a time."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return "-"
    try:
        return time.strftime("%H:%M:%S", time.localtime(seconds))
    except (OverflowError, OSError, ValueError):
        return "?"


def _line(text: Text, label: str, value) -> None:
    text.append(label, style="bold")
    text.append(" ")
    text.append(one_line(value))
    text.append("\n")


def title_text(info, critical: list[str], is_flow: bool, reason: str | None = None) -> Text:
    """The title: name, id, status (and why it stopped, when storage stopped it)..."""
    symbol, style = status_symbol(info.status)
    text = Text()
    text.append(one_line(info.name or info.id, limit=80), style="bold")
    text.append(f" ({info.id})  ")
    text.append(f"{symbol} {info.status}", style=style or "")
    if reason:
        text.append(f" ({reason})", style=f"bold {RED}")
    parts = [info.folder, " ".join("#" + t for t in info.tags), progress_text(info),
             duration(info.duration())]
    for part in parts:
        if part:
            text.append("  " + one_line(part, limit=80))
    if critical:
        text.append("  alert: " + one_line(", ".join(critical), limit=80), style=f"bold {RED}")
    if is_flow:
        name = (info.attrs.get("flow") or {}).get("name", "?")
        text.append("\nflow ", style="dim")
        text.append(one_line(name, limit=80), style="bold")
        text.append(": enter opens a step's run; p, r and c act on every step", style="dim")
    link = step_link(info)
    if link:
        text.append("\nstep ", style="dim")
        text.append(one_line(link.get("alias"), limit=80), style="bold")
        text.append(" of flow run " + one_line(link.get("run"), limit=40), style="dim")
    if isinstance(info.attrs.get("slurm"), dict):
        text.append("\nslurm job ", style="dim")
        text.append(slurm_text(slurm_summary(info.attrs["slurm"], info.note)))
    if info.error:
        text.append("\nunreadable: " + one_line(info.error, limit=300), style=RED)
    return text


def info_text(info, files: list[dict], produced: list[str], problems=()) -> Text:
    attrs = info.attrs
    text = Text()
    for problem in problems:
        text.append(f"cannot read {one_line(problem, limit=300)}\n", style=RED)
    _line(text, "id", info.id)
    _line(text, "name", info.name or "-")
    _line(text, "folder", info.folder)
    _line(text, "tags", ", ".join(info.tags) or "-")
    text.append("created", style="bold")
    text.append(f" {short_time(attrs.get('created'))}  ")
    text.append("started", style="bold")
    text.append(f" {short_time(attrs.get('started'))}  ")
    text.append("ended", style="bold")
    text.append(f" {short_time(attrs.get('ended'))}\n")
    _line(text, "host/user", f"{attrs.get('host')} / {attrs.get('user')}  "
                             f"attempt {attrs.get('attempt', 0)}")
    _line(text, "run folder", info.paths.run_dir)
    if attrs.get("origin"):  # a run id (attrs_schema checked it)
        _line(text, "started from", f"run {attrs['origin']} (started again from it)")
    for key in ("exit", "scheduler"):
        if attrs.get(key):
            _line(text, key, json.dumps(attrs[key], default=str))
    if isinstance(attrs.get("slurm"), dict):  # checked by attrs_schema
        slurm = attrs["slurm"]
        _line(text, "slurm job", slurm_text(slurm_summary(slurm, info.note)))
        _line(text, "submitted", f"{short_time(slurm.get('submitted'))} for attempt "
                                 f"{slurm['for_attempt']}, SIGTERM "
                                 f"{slurm.get('signal', '?')} s before its time limit")
        _line(text, "job script", info.meta_dir / "proc" / "slurm.sh")
    text.append("description", style="bold")
    text.append(" " + visible(attrs.get("description") or "-", multiline=True,
                              limit=DESCRIPTION) + "\n")
    text.append("\nmetadata\n", style="bold")
    for key, value in (attrs.get("metadata") or {}).items():
        text.append(f"  {one_line(key, limit=200)} = {one_line(value)}\n")
    text.append("\nfiles\n", style="bold")
    for record in files[-50:]:
        text.append(f"  {one_line(record.get('category', '?'))}/"
                    f"{one_line(record.get('name', '?'))}  {one_line(record.get('size', 0))} B"
                    f"  {one_line(record.get('mime', ''))}\n")
    for name in produced:
        text.append(f"  run folder: {one_line(name)}\n")
    if not files and not produced:
        text.append("  none\n")
    text.rstrip()
    return text


def alerts_text(definitions: list[dict], alerts: dict, history: list[dict],
                bad: list) -> Text:
    by_name = {d["name"]: d for d in definitions if isinstance(d.get("name"), str)}
    text = Text()
    for name in sorted(set(by_name) | set(alerts)):
        definition = by_name.get(name, {})
        last = alerts.get(name, {})
        state = one_line(last.get("state", "ok"), limit=20)
        text.append(f"{state:<8}", style=f"bold {RED}" if state == "critical" else GREEN)
        text.append(" ")
        text.append(one_line(name, limit=100), style="bold")
        rule = definition.get("rule") or definition.get("source", "")
        target = definition.get("metric") or definition.get("pattern") or ""
        limit = definition.get("threshold")
        if limit is None and "range_low" in definition:
            limit = f"{definition['range_low']}..{definition.get('range_high')}"
        value = last.get("value", "-")
        shown = short_number(value) if isinstance(value, int | float) else value
        text.append(f"  {one_line(target, 100)} {one_line(rule, 40)} "
                    f"{one_line(limit if limit is not None else '', 60)}  "
                    f"value {one_line(shown, 40)}  since {clock(last.get('ts'))}\n")
    if history:
        text.append("\nhistory\n", style="bold")
        for record in history[-20:]:
            text.append(f"  {clock(record.get('ts'))} {one_line(record.get('alert'), 100)} "
                        f"-> {one_line(record.get('state'), 20)}\n")
    for line in bad[-5:]:
        text.append(f"bad line: {one_line(line, 300)}\n", style=RED)
    text.rstrip()
    return text if text.plain else Text("no alerts")


def event_lines(event: dict) -> list[str]:
    """One event as log lines: the first with time, level and instance, then the rest
    of a multi-line message (a traceback) indented."""
    where = ""
    if event.get("instance"):
        where = " [" + one_line(str(event["instance"]).rsplit("/", 1)[-1], 60) + "]"
    level = one_line(event.get("level", "info"), 12)
    lines = visible(event.get("msg", ""), multiline=True).split("\n")
    if len(lines) > EVENT_LINES:
        lines = [*lines[:EVENT_LINES], f"... ({len(lines) - EVENT_LINES} more lines)"]
    first = f"{clock(event.get('ts'))} {level:<8}{where} {lines[0]}"
    return [first, *("    " + line for line in lines[1:])]


def output_line(source: str, line: str) -> str:
    """A line of an output log as a terminal would have left it: what follows the last
    carriage return (a progress bar's final state), control characters shown."""
    line = line.rstrip("\r").rsplit("\r", 1)[-1]
    return f"[{one_line(source, 40)}] {visible(line, limit=4000)}"


def instance_status(record: dict) -> str:
    """``done``, ``failed``..., or ``killed (SIGKILL)`` for one whose last run a signal
    from outside ended (it runs again; ``x3`` when that happened more than once)."""
    status = one_line(record.get("status", "?"), 20)
    killed = record.get("killed")
    if not killed or status not in ("pending", "running"):
        return status
    kills = record.get("kills")
    times = f" x{kills}" if isinstance(kills, int) and kills > 1 else ""
    return f"killed ({one_line(killed, 12)}){times}"


STATE_SHOWN = 24  # characters of a saved state shown in the Instances table


def instance_row(record: dict) -> tuple:
    saved = record.get("saved")
    done, left = instance_cells(record)
    return (Text(one_line(str(record.get("instance", "")).rsplit("/", 1)[-1], 60)),
            Text(one_line(record.get("iteration", 0), 12)),
            Text(instance_status(record)),
            Text(one_line(record.get("attempts", 0), 12)), Text(done), Text(left),
            Text(state_cell(record)),
            Text(clock(saved) if saved else "-"),
            Text(one_line(record.get("error") or "", 60)))


def state_cell(record: dict) -> str:
    """The saved state itself, shortened (what a person wants to see: 'epoch 7'),
    with its size when it is cut; '-' before the first save."""
    state = record.get("state")
    if not isinstance(state, str) or not state:
        return "-"
    if len(state) <= STATE_SHOWN:
        return one_line(state, STATE_SHOWN)
    size = record.get("state_size")
    size = size if isinstance(size, int) and not isinstance(size, bool) else len(state)
    more = "…" if glyphs.UNICODE else "~"
    return f"{one_line(state[:STATE_SHOWN - 1], STATE_SHOWN)}{more} ({byte_size(size)})"


def byte_size(count: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def step_row(alias: str, status: str, name: str, progress: str, took: str,
             error) -> tuple:
    symbol, _style = status_symbol(status)
    return (Text(one_line(alias, 60)), Text(f"{symbol} {one_line(status, 20)}"),
            Text(one_line(name, 60)), Text(progress), Text(took),
            Text(one_line(error or "", 60)))
