"""Per-instance overhead of the local executor, next to its comparators.

Runs N trivial instances (2,000 by default: ``run`` does nothing) through the
engine with W workers, and in the same run the same number of trivial tasks
through:

- a ``multiprocessing.Pool`` of W processes, chunksize 1 (the bare cost of
  handing work to processes, with no records, no state and no resume);
- a Dask ``LocalCluster`` of W worker processes with one thread each, on
  127.0.0.1 (``client.map`` then ``gather``).

Each figure is from start to end, what a user waits for: runyard's includes
defining the run (the module check, one record per instance) and its
supervisor and workers starting; the pool's and the cluster's include starting
their processes (given apart). Each is measured ``--repeat`` times, interleaved,
and the median printed with the range: on a shared machine, compare ratios.

Usage: python benchmarks/instance_overhead.py [--instances N] [--workers W]
       [--repeat R] [--no-dask]
"""

import argparse
import logging
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

from runyard.engine.control import start, wait_for_end
from runyard.engine.spec import RunSpec

AIM_MS = 0.7


def trivial(_item) -> None:
    return None


def time_runyard(count: int, workers: int) -> tuple[float, float]:
    """(seconds in all, seconds until the run was running)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        module = folder / "trivial.py"
        module.write_text("def run(instance, save, state):\n    pass\n")
        data = folder / "data"
        data.mkdir()
        paths = []
        for i in range(count):
            path = data / f"{i:07d}.txt"
            path.write_text("x")
            paths.append(str(path))
        spec = RunSpec(kind="module", module=str(module), instances=paths, workers=workers)
        began = time.perf_counter()
        info = start(folder / "runs", spec)
        started = time.perf_counter()
        info = wait_for_end(folder / "runs", info.id, timeout=3600)
        ended = time.perf_counter()
        assert info.status == "completed", info.attrs.get("exit")
    return ended - began, started - began


def time_pool(count: int, workers: int) -> tuple[float, float]:
    began = time.perf_counter()
    with multiprocessing.Pool(workers) as pool:
        started = time.perf_counter()
        pool.map(trivial, range(count), chunksize=1)
    return time.perf_counter() - began, started - began


def time_dask(count: int, workers: int) -> tuple[float, float]:
    from distributed import Client, LocalCluster

    began = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        client.wait_for_workers(workers)
        started = time.perf_counter()
        futures = client.map(trivial, range(count), pure=False)
        client.gather(futures)
        ended = time.perf_counter()
    return ended - began, started - began


def line(name: str, runs: list[tuple[float, float]], count: int) -> str:
    totals = [total for total, _ in runs]
    total = statistics.median(totals)
    setup = statistics.median(s for _, s in runs)
    spread = f" (range {min(totals):.2f}-{max(totals):.2f} s)" if len(runs) > 1 else ""
    return (f"{name}: {total:.2f} s{spread}, {setup:.2f} s of it starting: "
            f"{total / count * 1000:.3f} ms per instance in all, "
            f"{(total - setup) / count * 1000:.3f} ms once started")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask cluster")
    args = parser.parse_args()
    n, w = args.instances, args.workers
    timers = {"runyard": time_runyard, "multiprocessing.Pool": time_pool}
    if not args.no_dask:
        timers["Dask LocalCluster"] = time_dask
    runs: dict[str, list] = {name: [] for name in timers}
    for _ in range(args.repeat):  # interleaved: a busy moment hits all of them alike
        for name, timer in timers.items():
            runs[name].append(timer(n, w))
    print(f"{n} trivial instances, {w} workers, median of {args.repeat} runs each")
    for name in timers:
        print(line(name, runs[name], n))
    ours = statistics.median(t for t, _ in runs["runyard"])
    for name in list(timers)[1:]:
        theirs = statistics.median(t for t, _ in runs[name])
        print(f"runyard / {name} = {ours / theirs:.2f}x")
    per = ours / n * 1000
    print(f"aim: at most {AIM_MS} ms per instance in all -> "
          f"{'yes' if per <= AIM_MS else 'NO'} ({per:.3f} ms)")


if __name__ == "__main__":
    main()
