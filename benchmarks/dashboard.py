"""The dashboard's figures (issue aims in brackets):

1. from a ``log_metrics`` call to the value on screen, median and p95 over 100
   writes, inotify mode (p95 under 250 ms); the baseline, measured in the same
   run, is another process polling the file every millisecond;
2. time to the first full screen and peak memory with 10,000 runs and
   1,000,000 metric points in the root (under 2 s and 400 MB); the baseline is
   ``list_runs()`` of the same root;
3. CPU used over 30 s with nothing changing (under 2%).

Usage: python benchmarks/dashboard.py [--runs N] [--points P] [--idle S] [--keep DIR]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

LATENCY = textwrap.dedent("""
    import asyncio, json, sys, time
    from pathlib import Path
    from runyard.app.dashboard import RunyardApp
    from runyard.app.widgets.glyphs import short_number
    from runyard.engine import Run

    async def main(root, writes):
        run = Run(root=root)
        run.config(disable_resources_metrics=True)
        run.init(name="bench-live")
        run.log_metrics({"loss": -1.5})
        app = RunyardApp(Path(root))
        delays = []
        async with app.run_test(size=(100, 30)) as pilot:
            table = app.screen.table
            def shown():
                return " ".join(table.render_line(y).text for y in range(3))
            while "-1.5" not in shown():
                await pilot.pause(0.01)
            for i in range(writes):
                value = i + 0.5  # each one shows differently in the METRIC column
                run.log_metrics({"loss": value})
                sent = time.perf_counter()
                while short_number(value) not in shown():
                    if time.perf_counter() - sent > 10:
                        raise SystemExit(f"{value} not on screen after 10 s")
                    await asyncio.sleep(0.002)
                delays.append(time.perf_counter() - sent)
                await asyncio.sleep(0.05)
        run.close()
        print(json.dumps(delays))

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
""")

BASELINE = textwrap.dedent("""
    import json, os, sys, time
    from runyard.engine import Run
    from runyard.engine.jsonl import SeriesReader
    run = Run(root=sys.argv[1])
    run.config(disable_resources_metrics=True)
    run.init(name="bench-baseline")
    path = os.path.join(sys.argv[1], run.id + ".meta", "metrics.jsonl")
    reader = SeriesReader(path)
    delays = []
    for i in range(int(sys.argv[2])):
        run.log_metrics({"loss": i + 0.5})
        sent = time.perf_counter()
        while not reader.read_new()[0]:
            time.sleep(0.001)
        delays.append(time.perf_counter() - sent)
    run.close()
    print(json.dumps(delays))
""")

FIRST_SCREEN = textwrap.dedent("""
    import asyncio, json, resource, sys, time
    started = time.perf_counter()
    from pathlib import Path
    from runyard.app.dashboard import RunyardApp

    async def main(root, idle):
        app = RunyardApp(Path(root))
        async with app.run_test(size=(120, 40)) as pilot:
            table = app.screen.table
            while not (app.model.view and all(i in app.model.cells
                                               for i in table.visible_ids())):
                await pilot.pause(0.02)
            first = time.perf_counter() - started
            cpu0 = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
            wall0 = time.perf_counter()
            await pilot.pause(idle)
            cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) - cpu0
            wall = time.perf_counter() - wall0
        rss = next(int(l.split()[1]) for l in open("/proc/self/status")
                   if l.startswith("VmHWM:")) / 1024
        print(json.dumps({"first": first, "rss": rss, "idle_cpu": cpu / wall,
                          "runs": len(app.model.runs)}))

    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
""")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def populate(root: Path, runs: int, points: int) -> None:
    from runyard.engine import finalize_run, init_run_meta, make_run, start_run
    from runyard.engine.jsonl import append_records
    from runyard.engine.series import metric_record

    per_run = max(1, points // runs)
    for i in range(runs):
        paths = make_run(root)
        init_run_meta(paths, folder=f"/sweep/{i % 50}", tags=["bench"])
        start_run(paths)
        append_records(paths.meta("metrics.jsonl"), [
            metric_record(s, s * 0.1, 1.7e9 + s, {"loss": 1 / (s + 1)})
            for s in range(per_run)])
        finalize_run(paths, "completed")
        if (i + 1) % 2000 == 0:
            print(f"  created {i + 1} runs", file=sys.stderr)


def run_json(code: str, *args) -> object:
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], check=True,
                         capture_output=True, text=True, timeout=900).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--keep", metavar="DIR", help="build the big root here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small"
        small.mkdir()
        ours = run_json(LATENCY, small, args.writes)
        base = run_json(BASELINE, small, args.writes)
        p50, p95 = statistics.median(ours) * 1000, percentile(ours, 0.95) * 1000
        b50, b95 = statistics.median(base) * 1000, percentile(base, 0.95) * 1000
        print(f"log call to screen, {args.writes} writes: median {p50:.0f} ms, p95 "
              f"{p95:.0f} ms (baseline, a reader polling every ms: median {b50:.0f} ms, "
              f"p95 {b95:.0f} ms; ratio p95 {p95 / max(b95, 1e-9):.1f}x) "
              f"[aim p95 < 250 ms: {'yes' if p95 < 250 else 'NO'}]")

        big = Path(args.keep or tmp) / "big"
        if not big.exists():
            started = time.perf_counter()
            populate(big, args.runs, args.points)
            print(f"created {args.runs} runs with {args.points} points in "
                  f"{time.perf_counter() - started:.0f} s")
        from runyard.engine import list_runs

        started = time.perf_counter()
        count = len(list_runs(big))
        listing = time.perf_counter() - started
        figures = run_json(FIRST_SCREEN, big, args.idle)
        print(f"first full screen with {figures['runs']} runs: {figures['first']:.2f} s "
              f"(list_runs alone: {listing:.2f} s for {count} runs) "
              f"[aim < 2 s: {'yes' if figures['first'] < 2 else 'NO'}]")
        print(f"peak memory: {figures['rss']:.0f} MB "
              f"[aim < 400 MB: {'yes' if figures['rss'] < 400 else 'NO'}]")
        print(f"idle CPU over {args.idle:.0f} s: {figures['idle_cpu'] * 100:.2f}% "
              f"[aim < 2%: {'yes' if figures['idle_cpu'] < 0.02 else 'NO'}]")


if __name__ == "__main__":
    main()
