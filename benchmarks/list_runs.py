"""How fast 10,000 runs list.

Creates N runs (default 10,000) in a temporary root through the real lifecycle
functions (most completed, some failed, some created, some lost, a few
running under this process), then times:

- ``list_runs()`` in this process, against a baseline measured in the same run:
  a bare loop that opens and parses every ``attrs.json`` (the least work any
  listing must do);
- ``runyard ls --json`` as a whole process, against ``python -c pass``.

Usage: python benchmarks/list_runs.py [N] [--keep DIR]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runyard.engine import finalize_run, init_run_meta, list_runs, make_run, start_run


def populate(root: Path, count: int) -> None:
    sleeper = subprocess.Popen(["sleep", "3600"])
    try:
        for i in range(count):
            paths = make_run(root)
            init_run_meta(paths, folder=f"/sweep/{i % 20}", tags=["bench", f"g{i % 7}"],
                          metadata={"i": i, "lr": 0.001 * (i % 10)})
            kind = i % 10
            if kind == 9:
                continue  # created
            start_run(paths, pid=sleeper.pid if kind == 8 else None)
            if kind < 7:
                finalize_run(paths, "failed" if kind == 6 else "completed")
            # kind 7: still running under this process; kind 8: lost once sleeper dies
            if (i + 1) % 1000 == 0:
                print(f"  created {i + 1} runs", file=sys.stderr)
    finally:
        sleeper.kill()
        sleeper.wait()


def baseline(root: Path) -> int:
    count = 0
    for entry in os.scandir(root):
        if entry.name.endswith(".meta"):
            with open(os.path.join(entry.path, "attrs.json"), "rb") as f:
                json.loads(f.read())
            count += 1
    return count


def best_of(fn, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=10_000)
    parser.add_argument("--keep", metavar="DIR", help="create the root here and keep it")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="runyard-bench-")) / "runs"
    if not (root.exists() and len(list_runs(root)) == args.n):
        start = time.perf_counter()
        populate(root, args.n)
        print(f"created {args.n} runs in {time.perf_counter() - start:.1f} s")
    runs = list_runs(root)
    by_status: dict[str, int] = {}
    for info in runs:
        by_status[info.status] = by_status.get(info.status, 0) + 1
    print(f"runs by status: {dict(sorted(by_status.items()))}")

    listing = best_of(lambda: list_runs(root), args.repeat)
    base = best_of(lambda: baseline(root), args.repeat)
    cli = best_of(lambda: subprocess.run(["runyard", "ls", "--json", "--root", str(root)],
                                         check=True, stdout=subprocess.DEVNULL),
                  args.repeat)
    python = best_of(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
                     args.repeat)
    med = statistics.median
    print(f"list_runs():           median {med(listing):.3f} s, best {min(listing):.3f} s")
    print(f"baseline attrs loop:   median {med(base):.3f} s  "
          f"(list_runs / baseline = {med(listing) / med(base):.2f}x)")
    print(f"runyard ls --json:     median {med(cli):.3f} s, best {min(cli):.3f} s")
    print(f"python -c pass:        median {med(python):.3f} s  "
          f"(ls process minus interpreter start = {med(cli) - med(python):.3f} s)")
    print(f"per run (list_runs):   {med(listing) / len(runs) * 1e6:.1f} us")
    verdict = "under" if med(cli) < 1.0 else "OVER"
    print(f"aim: {len(runs)} runs listed by the CLI in under 1 s -> {verdict} "
          f"({med(cli):.2f} s)")


if __name__ == "__main__":
    main()
