"""What ``benchmarks/dashboard.py`` looks for on the screen, and how it prints figures."""

import re
import statistics

from tmux_pane import reversed_lines

AIM_FIRST = {200: 0.8, 10_000: 1.2, 50_000: 1.5}  # issue 11: seconds to the first page
BRAILLE_DOT = re.compile("[\u2801-\u28ff]")  # a braille cell with at least one dot


class Table:
    """The closing table: one row per figure."""

    def __init__(self):
        self.rows: list[tuple[str, ...]] = []

    def add(self, figure, ours, theirs="-", ratio="-", aim="-", met="-"):
        self.rows.append((figure, ours, theirs, ratio, aim, met))

    def print(self) -> None:
        head = ("figure", "runyard", "comparator", "ratio", "aim", "met")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(len(head))]
        for row in [head, tuple("-" * w for w in widths), *self.rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def median(values):
    return statistics.median(values)


def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def secs(value: float) -> str:
    return f"{value:.2f} s"


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs > 0 else "-"


def met(ok: bool) -> str:
    return "yes" if ok else "NO"


def summary_line(screen: str) -> str:
    return screen.split("\n", 1)[0]


def listed(count: int):
    """The summary gives the full count and no longer says it is loading."""
    pattern = re.compile(rf"\b({count}|{count:,}) runs\b")

    def check(screen: str) -> bool:
        line = summary_line(screen)
        return bool(pattern.search(line)) and "loading" not in line.lower()
    return check


def first_page(names: list[str]):
    """A summary line is up and the newest runs' rows are drawn."""
    def check(screen: str) -> bool:
        line = summary_line(screen).lower()
        return ("runs" in line or "loading" in line) and \
            all(name[:12] in screen for name in names)
    return check


def row_of(name: str):
    return lambda s: any(name in line for line in s.split("\n")[1:])


def highlighted(screen_e: str):
    """The table's highlighted row: (line, text), or None."""
    rows = [r for r in reversed_lines(screen_e) if 0 < r[0] < 23]
    return rows[0] if rows else None


def x_range(screen: str) -> str:
    """The first and last x tick labels of the last chart on screen: the line under
    the frame's bottom edge (``└┬──┬┘``, or ``+-`` without Unicode) that follows its
    last braille line."""
    lines = screen.split("\n")
    last = max((i for i, line in enumerate(lines) if BRAILLE_DOT.search(line)), default=-1)
    for index in range(max(0, last), len(lines) - 1):
        if lines[index].lstrip().startswith(("└", "+-")):
            labels = lines[index + 1].split()
            return f"{labels[0]} .. {labels[-1]}" if labels else "?"
    return "?"


def shown_in_row(name: str, text: str):
    return lambda s: any(name in line and text in line.split() for line in s.split("\n"))


def report_first(table, count: int, m: dict, got: dict) -> None:
    n = len(got["page"])
    print(f"first screen, {count} runs (median of {n}; runyard's first page min "
          f"{min(got['page']):.2f} s): first page {m['page']:.2f} s, all listed "
          f"{m['all']:.2f} s, peak RSS {m['rss']:.0f} MB; bare DataTable app "
          f"{m['bare_app']:.2f} s; bare orjson scan {m['scan']:.2f} s", flush=True)
    aim = AIM_FIRST.get(count)
    table.add(f"first page, {count} runs", secs(m["page"]), f"{secs(m['bare_app'])} bare app",
              ratio(m["page"], m["bare_app"]), f"<= {aim} s" if aim else "-",
              met(m["page"] <= aim) if aim else "-")
    # below 10,000 runs a scan takes milliseconds and starting Python is the whole story
    base, what = ("scan", "bare scan") if count >= 10_000 else ("bare_app", "bare app")
    table.add(f"all listed, {count} runs", secs(m["all"]), f"{secs(m[base])} {what}",
              ratio(m["all"], m[base]), "filled in behind" if count >= 50_000 else "-")
    table.add(f"peak RSS, {count} runs listed", f"{m['rss']:.0f} MB")


def report_keys(table, delays: list[float]) -> None:
    print(f"keypress to repaint, {len(delays)} presses of j and k: p50 {ms(median(delays))}, "
          f"p95 {ms(p95(delays))}", flush=True)
    table.add("key to repaint, p50", ms(median(delays)))
    table.add("key to repaint, p95", ms(p95(delays)))


def report_latency(table, ours: list[float], floor: list[float]) -> None:
    print(f"logged value to screen, {len(ours)} writes: p50 {ms(median(ours))}, p95 "
          f"{ms(p95(ours))}; a process polling the file every 1 ms: p50 "
          f"{ms(median(floor))}, p95 {ms(p95(floor))}", flush=True)
    table.add("value to screen, p50", ms(median(ours)), f"{ms(median(floor))} file poll",
              ratio(median(ours), median(floor)))
    table.add("value to screen, p95", ms(p95(ours)), f"{ms(p95(floor))} file poll",
              ratio(p95(ours), p95(floor)), "<= 100 ms", met(p95(ours) <= 0.1))
