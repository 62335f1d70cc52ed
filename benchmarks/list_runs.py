"""How fast runs list, next to the least work any listing must do.

For each size (default 10,000 and 50,000 runs) a root is created through the
real lifecycle functions (most runs completed, some failed, some created, some
lost, a few running under this process; kept with --keep and reused when it
already holds that many runs), then these are timed, interleaved, ``--repeat``
times each after one warm-up round:

- the bare scan: ``os.scandir`` of the root and ``orjson.loads`` of every
  ``attrs.json``, nothing checked: in this process, and as a whole process
  (``python -c``: interpreter start, ``import orjson``, the scan);
- ``list_runs()`` in this process, against the bare scan in this process;
- ``runyard ls --json`` as a whole process, against the bare scan as a process,
  with the peak RSS of each (``wait4``'s ``ru_maxrss``);
- both processes on an empty root (what starting costs: interpreter, imports),
  and the ratio of what is left, the cost of the runs alone.

Each is given in wall-clock seconds and in CPU seconds (user + system): on a
shared machine the wall clock counts other people's work too, the CPU time
much less so; compare ratios over several runs.

Usage: python benchmarks/list_runs.py [N ...] [--keep DIR] [--repeat R]
"""

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from runyard.engine import ensure_root, finalize_run, init_run_meta, list_runs, make_run, start_run
from runyard.engine.store import run_ids

BARE_SCAN = """
import os, sys, orjson
count = 0
for entry in os.scandir(sys.argv[1]):
    if entry.name.endswith(".meta"):
        with open(os.path.join(entry.path, "attrs.json"), "rb") as f:
            orjson.loads(f.read())
        count += 1
"""


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
            # kind 7: running under this process; kind 8: lost once sleeper dies
            if (i + 1) % 5000 == 0:
                print(f"  created {i + 1} runs", file=sys.stderr)
    finally:
        sleeper.kill()
        sleeper.wait()


def bare_scan(root: str) -> int:
    count = 0
    for entry in os.scandir(root):
        if entry.name.endswith(".meta"):
            with open(os.path.join(entry.path, "attrs.json"), "rb") as f:
                orjson.loads(f.read())
            count += 1
    return count


def timed(fn) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``fn()`` in this process."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


# Run from a small launcher: a child's peak RSS counts the memory of the process it
# was forked from, and this one grows large while it lists.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=[
    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
_pid, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status))
"""


def process(argv: list[str]) -> tuple[float, float, float]:
    """Wall-clock and CPU seconds and peak RSS (MB) of one whole process, its output
    thrown away."""
    out = subprocess.run([sys.executable, "-I", "-S", "-c", LAUNCHER, *argv],
                         capture_output=True, text=True, check=True).stdout
    elapsed, cpu, peak_kb, code = out.split()
    if code != "0":
        raise SystemExit(f"{' '.join(argv[:3])} ... exited {code}")
    return float(elapsed), float(cpu), int(peak_kb) / 1024


def runyard_command() -> str:
    beside = Path(sys.executable).with_name("runyard")
    return str(beside) if beside.exists() else shutil.which("runyard") or "runyard"


def root_for(base: Path, count: int) -> Path:
    root = base / f"{count}" / "runs"
    if root.exists() and len(run_ids(root)) == count:
        return root
    if root.exists():
        raise SystemExit(f"{root} holds other than {count} runs: give another --keep")
    start = time.perf_counter()
    populate(root, count)
    print(f"created {count} runs in {time.perf_counter() - start:.1f} s")
    return root


def measure(root: Path, empty: Path, repeat: int) -> dict[str, list[float]]:
    def ls(where: Path) -> list[str]:
        return [runyard_command(), "ls", "--json", "--root", str(where)]

    def bare(where: Path) -> list[str]:
        return [sys.executable, "-c", BARE_SCAN, str(where)]

    got: dict[str, list[float]] = {}
    for round_ in range(repeat + 1):  # round 0 warms the caches and is not counted
        results = {}
        results["bare"], results["bare_cpu"] = timed(lambda: bare_scan(str(root)))
        results["list"], results["list_cpu"] = timed(lambda: list_runs(root))
        results["bare_p"], results["bare_p_cpu"], results["bare_p_rss"] = process(bare(root))
        results["ls"], results["ls_cpu"], results["ls_rss"] = process(ls(root))
        results["bare_0"], results["bare_0_cpu"], _rss = process(bare(empty))
        results["ls_0"], results["ls_0_cpu"], _rss = process(ls(empty))
        if round_:
            for key, value in results.items():
                got.setdefault(key, []).append(value)
    return got


BASES = {"bare": "bare scan", "bare_p": "bare scan process", "bare_0": "same of the bare scan"}


def report(count: int, got: dict[str, list[float]]) -> None:
    m = {key: statistics.median(values) for key, values in got.items()}

    def line(what: str, key: str, base: str | None = None, rss: bool = False) -> str:
        text = f"  {what:26s} {m[key]:6.3f} s  {m[key + '_cpu']:6.3f} s"
        if base:
            text += (f"  {m[key] / m[base]:5.2f}x  {m[key + '_cpu'] / m[base + '_cpu']:5.2f}x"
                     f"  the {BASES[base]}")
        if rss:
            text += f"; peak RSS {m[key + '_rss']:.0f} MB"
        return text

    print(f"{count} runs, medians of {len(got['ls'])}:   wall       CPU     ratio (wall, CPU)")
    print(line("bare scan, in process", "bare"))
    print(line("list_runs()", "list", "bare"))
    print(line("bare scan, whole process", "bare_p", rss=True))
    print(line("runyard ls --json", "ls", "bare_p", rss=True))
    print(f"  {'':26s} {'':17s}  {m['ls'] / m['bare']:5.2f}x  "
          f"{m['ls_cpu'] / m['bare_cpu']:5.2f}x  the bare scan in process")
    print(line("bare scan, empty root", "bare_0"))
    print(line("runyard ls --json, empty", "ls_0", "bare_0"))
    wall, cpu = m["ls"] - m["ls_0"], m["ls_cpu"] - m["ls_0_cpu"]
    print(f"  {'its runs alone':26s} {wall:6.3f} s  {cpu:6.3f} s  "
          f"{wall / (m['bare_p'] - m['bare_0']):5.2f}x  "
          f"{cpu / (m['bare_p_cpu'] - m['bare_0_cpu']):5.2f}x  the same of the bare scan "
          "(each less its empty-root time)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", type=int, nargs="*", metavar="N",
                        help="sizes of root to list (default 10000 50000)")
    parser.add_argument("--runs", type=int, nargs="+", default=[], metavar="N",
                        help="the same, as an option")
    parser.add_argument("--keep", metavar="DIR", help="create the roots here and keep them")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = Path(args.keep or tempfile.mkdtemp(prefix="runyard-bench-"))
    print(f"{datetime.date.today()}, {platform.node()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, orjson {orjson.__version__}")
    empty = base / "empty" / "runs"
    if not empty.exists():
        ensure_root(empty)
    for count in args.sizes + args.runs or [10_000, 50_000]:
        root = root_for(base, count)
        by_status: dict[str, int] = {}
        for info in list_runs(root):
            by_status[info.status] = by_status.get(info.status, 0) + 1
        print(f"runs by status: {dict(sorted(by_status.items()))}")
        report(count, measure(root, empty, args.repeat))
    if not args.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
