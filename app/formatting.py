"""Plain-text formatting for the command line (no rich: ``runyard ls`` must start fast)."""

import json
import math
import re
import unicodedata

import orjson

from runyard.engine.meta import parse_iso

from .safe_text import one_line


def short_time(iso: str | None) -> str:
    """An ISO timestamp as local ``YYYY-MM-DD HH:MM`` ("?" if it cannot be read)."""
    if not iso:
        return "-"
    moment = parse_iso(iso)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "?"


def json_safe(value):
    """``value`` with NaN and the infinities as the strings the series files use, so
    that the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def ascii_json(value) -> str:
    """``value`` as compact JSON in ASCII (every other character a ``\\u`` escape, as
    ``json.dumps`` writes it: nothing from a run reaches a terminal raw)."""
    return ascii_json_bytes(value).decode("ascii")


def ascii_json_bytes(value) -> bytes:
    """``ascii_json(value)``, encoded. orjson encodes it, several times quicker than
    ``json``, and its bytes are kept as they are when they are ASCII already (``ls
    --json`` writes megabytes); what orjson refuses (an integer beyond 64 bits) goes
    to ``json``."""
    try:
        data = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")
    if data.isascii():
        return data
    return _NON_ASCII.sub(_escaped, data.decode("utf-8")).encode("ascii")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def table(headers: list[str], rows: list[list[str]], max_width: dict[int, int] | None = None
          ) -> str:
    """Left-aligned columns separated by two spaces; long cells cut with an ellipsis.
    Cells are shown, never obeyed: control characters come out as ``\\x1b``. Widths
    are counted in terminal cells, so wide (CJK, emoji) names keep the columns."""
    max_width = max_width or {}
    cut = [[_cut(one_line(cell, limit=max_width.get(i) or 500), max_width.get(i))
            for i, cell in enumerate(row)] for row in rows]
    widths = [cells(h) for h in headers]
    for row in cut:
        widths = [max(w, cells(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in cut:
        lines.append("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def _char_cells(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in ("Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def cells(text: str) -> int:
    """How many terminal cells ``text`` takes (no rich here: the CLI starts fast)."""
    return len(text) if text.isascii() else sum(_char_cells(c) for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - cells(text))


def _cut(text: str, width: int | None) -> str:
    if width is None or cells(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        used += _char_cells(char)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def unique_prefixes(ids: list[str], minimum: int = 8) -> dict[str, str]:
    """The shortest prefix (at least ``minimum`` long) that tells each id apart.

    ``ids`` must be sorted: a prefix then only has to differ from its neighbours.
    """
    prefixes = {}
    for i, run_id in enumerate(ids):
        length = minimum
        for other in (ids[i - 1] if i else None, ids[i + 1] if i + 1 < len(ids) else None):
            if other is None:
                continue
            common = next((k for k, (a, b) in enumerate(zip(run_id, other, strict=False))
                           if a != b), min(len(run_id), len(other)))
            length = max(length, common + 1)
        prefixes[run_id] = run_id[:length]
    return prefixes


def run_label(info) -> str:
    """A run as a person names it: its name and id (shown, never obeyed)."""
    name = one_line(info.name, limit=60) if info.name else "(no name)"
    return f"{name} ({info.id})"


def runs_label(infos: list, most: int = 3) -> str:
    """``run a (id)``, or ``3 runs: a (id), b (id), ...``."""
    if len(infos) == 1:
        return "run " + run_label(infos[0])
    shown = ", ".join(run_label(i) for i in infos[:most])
    return f"{len(infos)} runs: {shown}{', ...' if len(infos) > most else ''}"


def slurm_text(slurm: dict) -> str:
    """A run's Slurm job (``store.slurm_summary``) for people:
    ``1234 on cn12, 1:02:03 left, requeued 1 time (pending: Priority)``."""
    text = one_line(slurm.get("job"))
    if slurm.get("node"):
        text += f" on {one_line(slurm['node'], limit=60)}"
    parts = [text]
    if slurm.get("time_left") is not None:
        parts.append(f"{duration(slurm['time_left'])} left")
    if slurm.get("requeues"):
        parts.append(f"requeued {slurm['requeues']} time" +
                     ("s" if slurm["requeues"] > 1 else ""))
    note = f" ({one_line(slurm['note'], limit=200)})" if slurm.get("note") else ""
    return ", ".join(parts) + note
