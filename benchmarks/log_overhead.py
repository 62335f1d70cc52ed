"""What logging costs, each figure next to a floor measured in the same run.

The floor writes the same records (step, seconds since start, epoch time and the
same realistic float values) in the simplest way there is: ``orjson.dumps`` of
``{"s", "t", "ts", "v"}`` appended to a buffered file in a plain loop, closed at
the end. Process figures are set against ``python -c pass``.

Printed, as the issue's table names them:
- ``log_metrics`` with 3 metrics, median and p99 per call over N calls (200,000
  by default), all in: the call itself plus its share of the writer thread's CPU
  (the writer holds the GIL while it encodes, so the caller's loop pays for it);
  the call alone is printed beside it;
- 10,000 calls plus ``close()`` (median of 21 rounds by default, runyard and the floor
  in turn: this machine is shared, and 9 rounds gave ratios from 0.8x to 1.9x under
  load), the calls and ``close()`` apart, and one atomic replace of a small file:
  ``close()`` ends a run with one (its exit record in ``attrs.json``), which the
  floor, recording no end, does not pay;
- how long after a call another process can read the point (p50, p99);
- ``import runyard.engine`` and an empty run's whole process, each in a fresh
  process; peak RSS of the N-call process; bytes per step on disk.

Usage: python benchmarks/log_overhead.py [--calls N] [--probes K] [--rounds R]
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import orjson

POOL = 4096  # distinct value dicts, cycled: a new dict per call, as user code makes
NAMES = ("loss", "accuracy", "lr")
READER = textwrap.dedent("""
    import json, sys, time
    from runyard.engine.jsonl import SeriesReader
    path, expected = sys.argv[1], int(sys.argv[2])
    reader = SeriesReader(path)
    with open(path, "rb") as f:  # only what comes from now on, from a line start
        data = f.read()
    reader.offset = data.rfind(b"\\n") + 1
    delays = []
    print("ready", flush=True)
    while len(delays) < expected:
        records, _ = reader.read_new()
        now = time.time()
        for record in records:
            if "probe" in record["v"]:
                delays.append(now - record["v"]["probe"])
        time.sleep(0.0005)
    print(json.dumps(delays), flush=True)
""")


def realistic_values(seed: int = 1) -> list[dict]:
    """Values as training code logs them: floats of 12 significant digits or so."""
    rnd = random.Random(seed)
    return [{name: round(rnd.random(), 12) for name in NAMES} for _ in range(POOL)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Floor:
    """The simplest orjson loop writing the same records."""

    def __init__(self, path: Path):
        self.path = path
        self.out = open(path, "ab")  # noqa: SIM115 (closed in close(), which is timed)
        self.step = 0
        self.t0 = time.monotonic()

    def log(self, values: dict) -> None:
        self.out.write(orjson.dumps({"s": self.step, "t": time.monotonic() - self.t0,
                                     "ts": time.time(), "v": values},
                                    option=orjson.OPT_APPEND_NEWLINE))
        self.step += 1

    def close(self) -> None:
        self.out.close()


def new_run(root: Path, blocking: bool = True):
    from runyard.engine import Run

    run = Run(root=root)
    run.config(disable_resources_metrics=True, queue_blocking=blocking)
    run.init()
    return run


def timed_calls(log, pool: list[dict], calls: int) -> tuple[list[int], float, float]:
    """Per-call wall times (ns), and the loop's CPU time: all threads, the caller's."""
    clock = time.perf_counter_ns
    costs = [0] * calls
    cpu, own = time.process_time(), time.thread_time()
    for i in range(calls):
        values = pool[i % POOL]
        t0 = clock()
        log(values)
        costs[i] = clock() - t0
    return costs, cpu, own


def per_call(costs: list[int], cpu: float, own: float, calls: int) -> dict:
    """Median and p99 all in: each call plus the mean share of the other threads' CPU
    (for the floor, which has no other thread, the share is about 0)."""
    others_us = max(0.0, (time.process_time() - cpu) - (time.thread_time() - own))
    share = others_us * 1e6 / calls
    alone = [c / 1000 for c in costs]
    return {"median": statistics.median(alone) + share, "p99": percentile(alone, 0.99) + share,
            "alone": (statistics.median(alone), percentile(alone, 0.99)), "share": share}


def measure_calls(folder: Path, pool: list[dict], calls: int) -> tuple[dict, dict]:
    run = new_run(folder / "calls")
    costs, cpu, own = timed_calls(run.log_metrics, pool, calls)
    run.close()
    ours = per_call(costs, cpu, own, calls)
    ours["bytes"] = (folder / f"calls/{run.id}.meta/metrics.jsonl").stat().st_size / calls
    floor = Floor(folder / "floor.jsonl")
    costs, cpu, own = timed_calls(floor.log, pool, calls)
    floor.close()
    base = per_call(costs, cpu, own, calls)
    base["bytes"] = floor.path.stat().st_size / calls
    return ours, base


def calls_and_close(folder: Path, pool: list[dict], calls: int, rounds: int) -> dict:
    """Median wall times (s) of ``calls`` calls plus close(), runyard and the floor in
    turn, and of the calls and of close() each: {"ours"|"floor": (total, calls, close)};
    "replace": one atomic replace of a small file, timed after each round. Each
    figure is its own median over the rounds."""
    times: dict[str, list[tuple[float, float]]] = {"ours": [], "floor": [], "replace": []}
    for r in range(rounds):
        run = new_run(folder / "rounds")
        start = time.perf_counter()
        for i in range(calls):
            run.log_metrics(pool[i % POOL])
        logged = time.perf_counter()
        run.close()
        times["ours"].append((logged - start, time.perf_counter() - logged))
        floor = Floor(folder / f"round{r}.jsonl")
        start = time.perf_counter()
        for i in range(calls):
            floor.log(pool[i % POOL])
        logged = time.perf_counter()
        floor.close()
        times["floor"].append((logged - start, time.perf_counter() - logged))
        times["replace"].append((replace_once(folder / "rounds", run.id), 0.0))
    median = statistics.median
    return {who: (median(a + b for a, b in found), median(a for a, _ in found),
                  median(b for _, b in found)) for who, found in times.items()}


def replace_once(root: Path, run_id: str) -> float:
    """One atomic replace of a run's attrs.json-sized file beside it, as the exit
    record is written (temp file, write, rename over the old one): a fixed cost of
    ending a run that the floor, which records no end, does not pay."""
    from runyard.engine.atomic import write_atomic

    meta = root / f"{run_id}.meta"
    data = (meta / "attrs.json").read_bytes()
    start = time.perf_counter()
    write_atomic(meta / "replaced.json", data)
    return time.perf_counter() - start


def start_reader(path: Path, probes: int) -> subprocess.Popen:
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), str(probes)],
                              stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready"
    return reader


def readable(path: Path, log, close, probes: int) -> tuple[float, float]:
    """p50 and p99 (ms) from a call's return to another process reading the point."""
    reader = start_reader(path, probes)
    for _ in range(probes):
        log({"probe": time.time(), "b": 1.0, "c": 2.0})
        time.sleep(0.01)
    close()
    delays = orjson.loads(reader.stdout.readline())
    reader.wait()
    return percentile(delays, 0.5) * 1000, percentile(delays, 0.99) * 1000


def measure_readable(folder: Path, probes: int) -> tuple[tuple, tuple]:
    run = new_run(folder / "probes")
    run.log_metrics({"probe": 0.0, "b": 1.0, "c": 2.0})
    run._writer.flush()
    ours = readable(folder / f"probes/{run.id}.meta/metrics.jsonl", run.log_metrics,
                    run.close, probes)
    floor = Floor(folder / "probes.jsonl")
    floor.log({"probe": 0.0, "b": 1.0, "c": 2.0})
    floor.out.flush()
    return ours, readable(floor.path, floor.log, floor.close, probes)


def process_times(codes: dict[str, str], env: dict, repeat: int = 15) -> dict[str, float]:
    """Median wall time of a fresh process running each of ``codes``, the codes taken
    in turn so that each round of them meets the same load. Compiled modules are
    cached as an installed package has them (PYTHONDONTWRITEBYTECODE, which some
    shells set, would time the compiling of every module instead): a warm-up round
    writes that cache first."""
    env = {**os.environ, **env}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    times: dict[str, list[float]] = {name: [] for name in codes}
    for round_ in range(repeat + 1):
        for name, code in codes.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env)
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(found) for name, found in times.items()}


def peak_rss_mb(calls: int, root: Path) -> float:
    code = textwrap.dedent(f"""
        from runyard.engine import Run
        run = Run(root={str(root)!r})
        run.init()
        for i in range({calls}):
            run.log_metrics({{"loss": 0.5, "accuracy": 0.25, "lr": 0.001}})
        run.close()
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would
        # report this benchmark's own size
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                print(int(line.split()[1]) / 1024)
    """)
    return float(subprocess.run([sys.executable, "-c", code], check=True, text=True,
                                capture_output=True).stdout)


def row(what: str, ours: float, floor: float, unit: str, fmt: str = ".2f") -> None:
    print(f"{what:34} {ours:9{fmt}} {floor:9{fmt}}  {ours / floor:6.2f}x  {unit}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    pool = realistic_values()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours, base = measure_calls(folder, pool, args.calls)
        rounds = calls_and_close(folder, pool, 10_000, args.rounds)
        (total, logged, closed), (total_floor, logged_floor, closed_floor) = \
            rounds["ours"], rounds["floor"]
        replaced = rounds["replace"][0]
        seen, seen_floor = measure_readable(folder, args.probes)
        found = process_times({"python": "pass", "import": "import runyard.engine",
                               "empty": "from runyard.engine import Run\nr = Run()\n"
                                        "r.init()\nr.close()"},
                              env={"RUNYARD_ROOT": str(folder / "empty")})
        python, imported, empty = found["python"], found["import"], found["empty"]
        rss = peak_rss_mb(args.calls, folder / "rss")
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; log_metrics with 3 metrics "
          f"(realistic floats), {args.calls} calls; floor: orjson loop, buffered file")
    print(f"{'':34} {'runyard':>9} {'floor':>9}  {'ratio':>7}")
    row("log_metrics median, all in", ours["median"], base["median"], "us")
    row("log_metrics p99, all in", ours["p99"], base["p99"], "us")
    print(f"  (the call alone: median {ours['alone'][0]:.2f} us, p99 {ours['alone'][1]:.2f} us;"
          f" the writer thread: {ours['share']:.2f} us a call)")
    row("10k calls + close()", total * 1000, total_floor * 1000, f"ms (median of {args.rounds})")
    print(f"  (the calls: {logged * 1000:.2f} ms, floor {logged_floor * 1000:.2f}; close(): "
          f"{closed * 1000:.2f} ms, floor {closed_floor * 1000:.2f}; medians each;")
    print(f"   close() ends the run with one atomic replace of attrs.json: such a replace "
          f"alone {replaced * 1000:.2f} ms here)")
    row("readable by another process, p50", seen[0], seen_floor[0], "ms (floor: its buffer)",
        ".1f")
    row("readable by another process, p99", seen[1], seen_floor[1], "ms", ".1f")
    row("import runyard.engine, process", imported, python, "s (floor: python -c pass)", ".3f")
    print(f"{'  import runyard.engine, added':34} {imported - python:9.3f}")
    row("empty run, whole process", empty, python, "s (floor: python -c pass)", ".3f")
    row("bytes per step on disk", ours["bytes"], base["bytes"], "bytes", ".1f")
    print(f"peak RSS ({args.calls} calls)  {rss:.1f} MB")
    aims = [("median <= 3 us", ours["median"] <= 3), ("p99 <= 20 us", ours["p99"] <= 20),
            ("10k calls + close <= 1.5x floor", total <= 1.5 * total_floor),
            ("import <= +0.03 s", imported - python <= 0.03), ("empty run <= 0.15 s",
                                                               empty <= 0.15),
            ("bytes per step <= 115", ours["bytes"] <= 115),
            ("readable p99 <= 100 ms", seen[1] <= 100)]
    print("aims: " + ", ".join(f"{text}: {'yes' if ok else 'NO'}" for text, ok in aims))


if __name__ == "__main__":
    main()
