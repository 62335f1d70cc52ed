"""What logging costs the caller, and how soon another process sees it.

In one process and one run:
- per-call cost of ``log_metrics`` with 3 metrics (median, p99 over N calls,
  200,000 by default) and the total time of those calls plus ``close()``;
- how long after a call returns another process can read the point (p50, p99);
- the same figures for a baseline measured in the same run: the same records
  appended as JSON lines through a buffered file in a plain loop;
then, each in a fresh process: ``import runyard.engine``, an empty run's whole
process, peak RSS of the N-call process, and bytes per step on disk.

Usage: python benchmarks/log_overhead.py [--calls N] [--probes K]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

READER = textwrap.dedent("""
    import json, os, sys, time
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
            values = record.get("v", record)
            if "probe" in values:
                delays.append(now - values["probe"])

        time.sleep(0.0005)
    print(json.dumps(delays), flush=True)
""")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_reader(path: Path, probes: int) -> subprocess.Popen:
    reader = subprocess.Popen([sys.executable, "-c", READER, str(path), str(probes)],
                              stdout=subprocess.PIPE, text=True)
    assert reader.stdout.readline().strip() == "ready"
    return reader


def probe(log, probes: int) -> None:
    for _ in range(probes):
        log({"probe": 0.0, "b": 1.0, "c": 2.0}, stamp_probe=True)
        time.sleep(0.01)


def measure_runyard(root: Path, calls: int, probes: int, blocking: bool) -> dict:
    from runyard.engine import Run

    run = Run(root=root)
    run.config(disable_resources_metrics=True, queue_blocking=blocking)
    run.init(name=f"bench-{'blocking' if blocking else 'dropping'}")
    log_metrics = run.log_metrics
    clock = time.perf_counter_ns
    costs = [0] * calls
    start = time.perf_counter()
    for i in range(calls):
        t0 = clock()
        log_metrics({"loss": 0.5, "accuracy": 0.25, "lr": 0.001})
        costs[i] = clock() - t0
    metrics_path = root / f"{run.id}.meta/metrics.jsonl"
    reader = start_reader(metrics_path, probes)

    def log(values, stamp_probe):
        values["probe"] = time.time()
        log_metrics(values)

    loop_end = time.perf_counter()
    probe(log, probes)
    close_start = time.perf_counter()
    run.close()
    total = (loop_end - start) + (time.perf_counter() - close_start)
    delays = json.loads(reader.stdout.readline())
    reader.wait()
    return {"costs": costs, "total": total, "delays": delays, "dropped": run._writer.dropped,
            "bytes": metrics_path.stat().st_size, "rows": calls + probes - run._writer.dropped}


def measure_baseline(folder: Path, calls: int, probes: int) -> dict:
    path = folder / "baseline.jsonl"
    # a plain buffered file, closed later as part of what is timed
    out = open(path, "a", buffering=8192)  # noqa: SIM115
    clock = time.perf_counter_ns
    costs = [0] * calls
    t_start = time.monotonic()
    start = time.perf_counter()
    for i in range(calls):
        t0 = clock()
        out.write(json.dumps({"s": i, "t": time.monotonic() - t_start, "ts": time.time(),
                              "v": {"loss": 0.5, "accuracy": 0.25, "lr": 0.001}}) + "\n")
        costs[i] = clock() - t0
    loop_end = time.perf_counter()
    reader = start_reader(path, probes)

    def log(values, stamp_probe):
        values["probe"] = time.time()
        out.write(json.dumps({"s": 0, "t": 0.0, "ts": time.time(), "v": values}) + "\n")

    probe(log, probes)
    close_start = time.perf_counter()
    out.close()
    total = (loop_end - start) + (time.perf_counter() - close_start)
    delays = json.loads(reader.stdout.readline())
    reader.wait()
    return {"costs": costs, "total": total, "delays": delays}


def process_time(code: str, repeat: int = 7, env: dict | None = None) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True,
                       env={**os.environ, **(env or {})})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def report(name: str, data: dict) -> tuple[float, float, float, float, float]:
    costs_us = [c / 1000 for c in data["costs"]]
    med, p99 = statistics.median(costs_us), percentile(costs_us, 0.99)
    d50 = percentile(data["delays"], 0.5) * 1000
    d99 = percentile(data["delays"], 0.99) * 1000
    print(f"{name:9} per call median {med:6.2f} us  p99 {p99:7.2f} us  "
          f"calls+close {data['total']:.3f} s  readable p50 {d50:7.1f} ms  p99 {d99:7.1f} ms")
    return med, p99, data["total"], d50, d99


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--probes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours = measure_runyard(folder / "runs", args.calls, args.probes, blocking=True)
        dropping = measure_runyard(folder / "runs", args.calls, args.probes, blocking=False)
        base = measure_baseline(folder, args.calls, args.probes)
        print(f"{args.calls} calls of log_metrics with 3 metrics, {args.probes} probes "
              "read by another process")
        r = report("blocking", ours)
        report("default", dropping)
        print(f"          (queue_blocking=False: {dropping['dropped']} of "
              f"{args.calls} points dropped by a loop that never pauses)")
        b = report("baseline", base)
        print(f"ratios    per call median {r[0] / b[0]:.2f}x  calls+close {r[2] / b[2]:.2f}x  "
              f"readable p99 {r[4] / b[4]:.2f}x")
        python = process_time("pass")
        imported = process_time("import runyard.engine")
        empty = process_time("from runyard.engine import Run\nr = Run()\nr.init()\nr.close()",
                             env={"RUNYARD_ROOT": str(folder / "empty")})
        print(f"import runyard.engine   {imported - python:.3f} s (process {imported:.3f} s, "
              f"python alone {python:.3f} s)")
        print(f"empty run, whole process {empty:.3f} s")
        print(f"peak RSS ({args.calls} calls)  {peak_rss_mb(args.calls, folder / 'rss'):.1f} MB")
        print(f"bytes per step on disk  {ours['bytes'] / ours['rows']:.1f}")
        aims = [("median per call <= 3 us", r[0] <= 3), ("p99 per call <= 30 us", r[1] <= 30),
                ("calls+close <= 1.5x baseline", r[2] <= 1.5 * b[2]),
                ("readable p99 <= 100 ms", r[4] <= 100)]
        print("aims: " + ", ".join(f"{text}: {'yes' if ok else 'NO'}" for text, ok in aims))


if __name__ == "__main__":
    main()
