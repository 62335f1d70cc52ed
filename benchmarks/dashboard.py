"""The dashboard as a user meets it: the real app in a tmux pane at 80x24, read with
``tmux capture-pane``, each figure next to a comparator measured in the same run.

- ``first``: from starting ``runyard dash --root R`` to its first page (the summary
  line and the newest runs on screen) and to every run listed (the summary gives the
  full count and no longer says "loading"), at each ``--runs`` size, median of
  ``--repeat`` after a warm-up; comparators: a bare Textual DataTable app with as many
  rows, started the same way, and a bare orjson scan of every attrs.json in this process.
- ``cpu``: CPU of the dashboard process and its children over ``--seconds`` idle
  (200 runs), then while one run logs 10 points/s (3 metrics, ``runyard.engine.Run`` in
  another process) on the runs table, then on that run's detail screen.
- ``big``: a run of 100,000 steps x 3 metrics: from Enter to a chart drawn (braille on
  screen) and to its full history (no "loading history" on screen and the x axis
  starting in the first 1% of steps, waited for up to 60 s after the first chart),
  median of ``--repeat`` openings, each in a new dashboard; comparator: orjson
  parsing that run's metrics files in this process.
- ``overlay``: 10 ended runs of 10,000 steps x 3 metrics, all tagged (``A``): from
  ``v`` to their charts overlaid (braille under "runs overlaid:"), and to the whole
  of them overlaid (no "loading history" on screen, the x axis from step 0); then 10
  live runs
  logging 10 points/s each (3 metrics), overlaid the same way: CPU over ``--seconds``.
- ``latency``: a value logged by another process to the value in the METRIC column,
  p50/p95 over ``--writes`` isolated writes; comparator: another process polling the
  metrics file every 1 ms for the same values (with no dashboard running).
- ``keys``: ``j``/``k`` (ten down, ten up, within the first page) to the highlighted
  (reverse video) row moving, p50/p95.
- ``rss``: the dashboard's peak RSS (VmHWM) once every run is listed, and after the
  big run's history.

Times start just before the tmux command that starts the app or sends the key, and end
at the first capture-pane that shows the change (a capture every ~5 ms).

Usage: python benchmarks/dashboard.py [--runs 200,10000,50000] [--seconds 60]
       [--only first,cpu,big,overlay,latency,keys,rss] [--repeat 3] [--writes 50]
       [--keep DIR]
"""

import argparse
import datetime
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import dash_children as kids
import orjson
import textual
from dash_roots import Child, bare_scan, count_runs, newest_names, populate, root_with
from dash_screens import (
    BRAILLE_DOT,
    Table,
    first_page,
    highlighted,
    listed,
    median,
    met,
    ratio,
    report_first,
    report_keys,
    report_latency,
    row_of,
    secs,
    shown_in_row,
    summary_line,
    x_range,
)
from tmux_pane import Server

ITEMS = ("first", "cpu", "big", "overlay", "latency", "keys", "rss")
OVERLAID = 10  # runs compared at once
OVERLAY_STEPS = 10_000
BIG_STEPS = 100_000
TIMEOUT = 300.0
HISTORY_WAIT = 60.0  # after the first chart, for the whole history


def script(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.py"
    path.write_text(text)
    return path


def dash(server: Server, root: Path):
    return server.pane([sys.executable, "-m", "runyard.app.cli", "dash", "--root", str(root)])


# -- 1. first screen -------------------------------------------------------------
def time_bare_app(server: Server, app: Path, rows: int) -> float:
    pane = server.pane([sys.executable, str(app), str(rows)])
    try:
        started = pane.release()
        wanted = [f"{rows} rows", "bare-000000", f"bare-{min(rows, 3) - 1:06d}"]
        seen, _ = pane.wait(lambda s: all(w in s for w in wanted), TIMEOUT, "bare app")
        return seen - started
    finally:
        pane.close()


def time_runyard(server: Server, root: Path, count: int, names: list[str]):
    """(seconds to the first page, seconds to every run listed, peak RSS in MB)."""
    pane = dash(server, root)
    try:
        started = pane.release()
        page, _ = pane.wait(first_page(names), TIMEOUT, "runyard's first page")
        every, _ = pane.wait(listed(count), TIMEOUT, f"all {count} runs listed")
        return page - started, every - started, pane.peak_rss_mb()
    finally:
        pane.close()


def first_screen(server, table, base: Path, tmp: Path, sizes, repeat: int) -> None:
    app = script(tmp, "bare_app", kids.BARE_APP)
    for count in sizes:
        root = root_with(base, count)
        names = newest_names(root, 3)
        got: dict[str, list[float]] = {}
        for round_ in range(repeat + 1):  # round 0 warms the caches, not counted
            result = {"bare_app": time_bare_app(server, app, count)}
            result["page"], result["all"], result["rss"] = time_runyard(
                server, root, count, names)
            start = time.perf_counter()
            bare_scan(root)
            result["scan"] = time.perf_counter() - start
            if round_:
                for key, value in result.items():
                    got.setdefault(key, []).append(value)
        report_first(table, count, {k: median(v) for k, v in got.items()}, got)


# -- 2. CPU ------------------------------------------------------------------------
def cpu_over(pane, seconds: float) -> float:
    """Percent of one core used by the pane's command over a window of ``seconds``."""
    cpu, start = pane.cpu_seconds(), time.monotonic()
    time.sleep(seconds)  # the measured window itself, not a wait for anything
    return 100 * (pane.cpu_seconds() - cpu) / (time.monotonic() - start)


def live_root(tmp: Path, count: int = 200) -> Path:
    """A fresh root of ``count`` ended runs, for measures that add live runs to it."""
    root = Path(tempfile.mkdtemp(prefix="live-", dir=tmp)) / "runs"
    populate(root, count)
    return root


def put_cursor_on(pane, name: str) -> None:
    pane.keys("Home")
    pane.wait(lambda s: name in (highlighted(s) or (0, ""))[1], 30, f"cursor on {name}",
              escapes=True)


def dash_on_live_root(server, tmp: Path):
    """The dashboard started on a fresh root of 200 ended runs, all listed: (root, pane)."""
    root = live_root(tmp)
    pane = dash(server, root)
    pane.release()
    pane.wait(listed(200), TIMEOUT, "200 runs listed")
    return root, pane


def cpu(server, table, tmp: Path, seconds: float) -> None:
    root, pane = dash_on_live_root(server, tmp)
    logger = None
    try:
        idle = cpu_over(pane, seconds)
        logger = Child(script(tmp, "logger", kids.LOGGER), str(root), "bench-live", "10")
        logger.line()
        pane.wait(lambda s: any("bench-live" in x and "running" in x for x in s.split("\n")),
                  60, "the live run on the table")
        on_table = cpu_over(pane, seconds)
        put_cursor_on(pane, "bench-live")
        pane.keys("Enter")
        pane.wait(lambda s: "bench-live" in summary_line(s) and BRAILLE_DOT.search(s), 60,
                  "the live run's detail screen")
        on_detail = cpu_over(pane, seconds)
    finally:
        if logger:
            logger.finish()
        pane.close()
    print(f"CPU over {seconds:.0f} s: idle {idle:.2f}%, one run logging 10 points/s: "
          f"runs table {on_table:.2f}%, its detail screen {on_detail:.2f}%", flush=True)
    table.add(f"CPU idle, 200 runs, {seconds:.0f} s", f"{idle:.2f}%")
    table.add("CPU, 1 run at 10 pt/s, table", f"{on_table:.2f}%", f"{idle:.2f}% idle",
              ratio(on_table, idle), "<= 3%", met(on_table <= 3))
    table.add("CPU, 1 run at 10 pt/s, detail", f"{on_detail:.2f}%", f"{idle:.2f}% idle",
              ratio(on_detail, idle), "<= 5%", met(on_detail <= 5))


# -- 3. a big run ------------------------------------------------------------------
def big_root(base: Path, tmp: Path) -> Path:
    root = base / "big" / "runs"
    if count_runs(root) != 1:
        if root.exists():
            shutil.rmtree(root)
        started = time.perf_counter()
        child = Child(script(tmp, "big_run", kids.BIG_RUN), str(root), str(BIG_STEPS))
        child.line(TIMEOUT)
        child.finish()
        print(f"created a run of {BIG_STEPS} steps in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    return root


def parse_history(root: Path) -> float:
    """Seconds for orjson to parse every line of the run's metrics files, here."""
    meta = next(p for p in root.iterdir() if p.name.endswith(".meta"))
    start = time.perf_counter()
    for path in meta.glob("metrics*.jsonl"):
        with open(path, "rb") as f:
            for line in f:
                orjson.loads(line)
    return time.perf_counter() - start


def from_step_zero(screen: str) -> bool:
    """The chart's x axis starts at the first steps: the whole history is drawn, not
    only its tail (a downsampled column may start a few steps in)."""
    try:
        return float(x_range(screen).split(" .. ")[0]) < BIG_STEPS / 100
    except ValueError:
        return False


def open_big(server, root: Path) -> dict:
    pane = dash(server, root)
    loading = []

    def drawn(screen: str) -> bool:
        if "loading history" in screen.lower():
            loading.append(True)
        return bool(BRAILLE_DOT.search(screen))

    def full(screen: str) -> bool:
        return drawn(screen) and "loading history" not in screen.lower() and \
            from_step_zero(screen)
    try:
        pane.release()
        pane.wait(row_of("big-history"), TIMEOUT, "the big run on the table")
        start = time.monotonic()
        pane.keys("Enter")
        first, screen = pane.wait(drawn, TIMEOUT, "a chart of the big run")
        got = {"drawn": first - start, "full": None}
        try:
            done, screen = pane.wait(full, HISTORY_WAIT, "the big run's full history")
            got["full"] = done - start
        except TimeoutError:  # the chart stays on the tail: said in the figure
            screen = pane.screen()
        return {**got, "axis": x_range(screen), "loading_seen": bool(loading),
                "rss": pane.peak_rss_mb(), "child_rss": pane.children_peak_mb}
    finally:
        pane.close()


def big(server, table, base: Path, tmp: Path, repeat: int) -> None:
    """The big run opened ``repeat`` times (each in a new dashboard): the medians."""
    root = big_root(base, tmp)
    floor = median([parse_history(root) for _ in range(3)])
    rounds = [open_big(server, root) for _ in range(max(1, repeat))]
    drawn = [r["drawn"] for r in rounds]
    fulls = [r["full"] for r in rounds]
    got = rounds[-1]
    first = median(drawn)
    full = median(fulls) if all(fulls) else None
    axis = got["axis"]
    print(f"open a run of {BIG_STEPS} steps x 3 metrics (median of {len(rounds)}): chart "
          f"drawn {first:.2f} s ({min(drawn):.2f}-{max(drawn):.2f}), full history "
          + (f"{full:.2f} s ({min(fulls):.2f}-{max(fulls):.2f})" if full else
             f"not in {HISTORY_WAIT:.0f} s in every round")
          + f" (\"loading history\" {'seen' if got['loading_seen'] else 'never shown'}; "
          f"x axis {axis}); orjson parse of its metrics files {floor:.2f} s; peak RSS "
          f"{got['rss']:.0f} MB (its history reader process: {got['child_rss']:.0f} MB)",
          flush=True)
    table.add("big run: Enter to a chart", secs(first), aim="<= 0.3 s", met=met(first <= 0.3))
    table.add("big run: Enter to full history",
              secs(full) if full else f"never (steps {axis})", f"{secs(floor)} orjson parse",
              ratio(full, floor) if full else "-", "<= 1.0 s", met(bool(full) and full <= 1.0))
    table.add("peak RSS, big run open",
              f"{got['rss']:.0f} MB + {got['child_rss']:.0f} MB history reader")


# -- 4. an overlay of many runs ------------------------------------------------------
def overlay_root(base: Path, tmp: Path) -> Path:
    root = base / "overlay" / "runs"
    if count_runs(root) != OVERLAID:
        if root.exists():
            shutil.rmtree(root)
        for n in range(OVERLAID):
            child = Child(script(tmp, "big_run", kids.BIG_RUN), str(root), str(OVERLAY_STEPS),
                          f"sweep-{n:02d}")
            child.line(TIMEOUT)
            child.finish()
    return root


def overlaid(screen: str) -> bool:
    return "runs overlaid:" in screen and bool(BRAILLE_DOT.search(screen))


def wholly_overlaid(screen: str) -> bool:
    """Overlaid from their first steps: their histories read, not only their tails."""
    if not overlaid(screen) or "loading history" in screen.lower():
        return False
    try:
        return float(x_range(screen).split(" .. ")[0]) < OVERLAY_STEPS / 100
    except ValueError:
        return False


def compare_all(pane, count: int, whole: bool = False) -> tuple[float, float | None]:
    """Tag every run listed, press v; seconds from v to the charts overlaid, and
    (``whole``) to the whole runs overlaid."""
    pane.keys("A")
    pane.wait(lambda s: f"{count} tagged" in summary_line(s), 60, f"{count} runs tagged")
    start = time.monotonic()
    pane.keys("v")
    seen, _ = pane.wait(overlaid, TIMEOUT, "the runs overlaid")
    if not whole:
        return seen - start, None
    done, _ = pane.wait(wholly_overlaid, TIMEOUT, "the whole runs overlaid")
    return seen - start, done - start


def overlay(server, table, base: Path, tmp: Path, seconds: float) -> None:
    pane = dash(server, overlay_root(base, tmp))
    try:
        pane.release()
        pane.wait(listed(OVERLAID), TIMEOUT, f"{OVERLAID} runs listed")
        drawn, whole = compare_all(pane, OVERLAID, whole=True)
    finally:
        pane.close()
    root = Path(tempfile.mkdtemp(prefix="live-", dir=tmp)) / "runs"
    loggers = []
    try:
        for n in range(OVERLAID):
            loggers.append(Child(script(tmp, "logger", kids.LOGGER), str(root),
                                 f"live-{n:02d}", "10"))
            loggers[-1].line()
        pane = dash(server, root)
        pane.release()
        pane.wait(listed(OVERLAID), TIMEOUT, f"{OVERLAID} live runs listed")
        compare_all(pane, OVERLAID)
        live = cpu_over(pane, seconds)
        pane.close()
    finally:
        for logger in loggers:
            logger.finish()
    print(f"overlay of {OVERLAID} runs x {OVERLAY_STEPS} steps x 3 metrics: first drawn "
          f"{drawn:.2f} s after v, whole runs {whole:.2f} s; CPU over {seconds:.0f} s with "
          f"{OVERLAID} live runs (10 points/s each) overlaid: {live:.2f}%", flush=True)
    table.add(f"overlay {OVERLAID} x {OVERLAY_STEPS // 1000}k steps: v to charts",
              secs(drawn))
    table.add(f"overlay {OVERLAID} x {OVERLAY_STEPS // 1000}k steps: v to whole runs",
              secs(whole), aim="<= 1.0 s", met=met(whole <= 1.0))
    table.add(f"CPU, {OVERLAID} live runs overlaid", f"{live:.2f}%", aim="<= 5%",
              met=met(live <= 5))


# -- 5 and 6. a value to screen, a key to screen -------------------------------------
JITTER = random.Random(11)


def spacing() -> None:
    """Time between two writes, so that each is seen on its own. The writer flushes
    every 50 ms: a fixed spacing would lock every write to one phase of that cycle
    (always just before a flush, or always just after), so a random part samples it."""
    time.sleep(0.3 + JITTER.uniform(0, 0.05))


def screen_latency(pane, writer: Child, values: list[float]) -> list[float]:
    delays = []
    for value in values:
        writer.send(repr(value))
        sent = float(writer.line())
        seen, _ = pane.wait(shown_in_row("bench-latency", f"{value:.4g}"), 30,
                            f"{value} on screen")
        delays.append(seen - sent)
        spacing()
    return delays


def floor_latency(poller: Child, writer: Child, values: list[float]) -> list[float]:
    delays = []
    for value in values:
        poller.send(repr(value))
        poller.line()  # ready
        writer.send(repr(value))
        sent = float(writer.line())
        delays.append(float(poller.line(30)) - sent)
        spacing()
    return delays


def key_latency(pane, presses: int) -> list[float]:
    put_cursor_on(pane, "")
    _, screen = pane.wait(highlighted, 30, "a highlighted row", escapes=True)
    before = highlighted(screen)
    delays = []
    for i in range(presses):
        key = "jk"[i // 10 % 2]  # ten down, ten up: within the first page, no scrolling
        start = time.monotonic()
        pane.keys(key)
        seen, screen = pane.wait(lambda s, b=before: highlighted(s) not in (None, b), 30,
                                 f"the highlight to move ({key})", escapes=True)
        delays.append(seen - start)
        before = highlighted(screen)
    return delays


def latency_and_keys(server, table, tmp: Path, items: set, writes: int) -> None:
    root, pane = dash_on_live_root(server, tmp)
    writer = None
    try:
        if "keys" in items:
            report_keys(table, key_latency(pane, writes))
        if "latency" not in items:
            return
        writer = Child(script(tmp, "writer", kids.WRITER), str(root), "bench-latency")
        run_id = writer.line()
        writer.send("99.5")
        writer.line()
        pane.wait(shown_in_row("bench-latency", "99.5"), 60, "the writer's first value")
        ours = screen_latency(pane, writer, [100.5 + i for i in range(writes)])
        pane.close()
        pane = None
        poller = Child(script(tmp, "poller", kids.POLLER),
                       str(root / f"{run_id}.meta" / "metrics.jsonl"))
        floor = floor_latency(poller, writer, [100.5 + writes + i for i in range(writes)])
        poller.proc.kill()
        poller.finish()
        report_latency(table, ours, floor)
    finally:
        if writer:
            writer.finish()
        if pane:
            pane.close()


# -- the whole ---------------------------------------------------------------------
def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="200,10000,50000",
                        help="sizes for the first screen, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="each CPU window")
    parser.add_argument("--only", default=",".join(ITEMS), help=f"some of {','.join(ITEMS)}")
    parser.add_argument("--repeat", type=int, default=3,
                        help="first-screen rounds counted; openings of the big run")
    parser.add_argument("--writes", type=int, default=50, help="values and key presses")
    parser.add_argument("--keep", metavar="DIR",
                        help="create the big roots here, keep them, reuse them next time")
    args = parser.parse_args()
    args.sizes = [int(n) for n in args.runs.split(",") if n]
    args.items = set(args.only.split(","))
    if args.items - set(ITEMS) or not 1 <= args.writes <= 800:
        parser.error(f"--only takes {','.join(ITEMS)}; --writes 1 to 800")
    return args


def main() -> None:
    args = arguments()
    tmp = Path(tempfile.mkdtemp(prefix="runyard-benchdash-"))
    base = Path(args.keep) if args.keep else tmp
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M}, {platform.node()}, {os.cpu_count()} "
          f"cores, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
          f"Textual {textual.__version__}, tmux 80x24", flush=True)
    server, table = None, Table()
    try:
        server = Server()
        if "first" in args.items:
            first_screen(server, table, base, tmp, args.sizes, args.repeat)
        elif "rss" in args.items:  # RSS alone: one round at the largest size
            first_screen(server, table, base, tmp, args.sizes[-1:], 1)
        if "cpu" in args.items:
            cpu(server, table, tmp, args.seconds)
        if "big" in args.items:
            big(server, table, base, tmp, args.repeat)
        if "overlay" in args.items:
            overlay(server, table, base, tmp, args.seconds)
        if args.items & {"latency", "keys"}:
            latency_and_keys(server, table, tmp, args.items, args.writes)
    finally:
        if server:
            server.close()
        shutil.rmtree(tmp)
    print()
    table.print()


if __name__ == "__main__":
    main()
