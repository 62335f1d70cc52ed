"""Per-instance overhead of the local executor.

Runs N trivial instances (2,000 by default: ``run`` does nothing) through the
engine with W workers and prints the time per instance, next to a baseline
measured in the same run: the same number of trivial tasks through a
``multiprocessing`` pool of W processes (the bare cost of handing work to
processes, with no records, no state and no resume).

Usage: python benchmarks/instance_overhead.py [--instances N] [--workers W]
"""

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

from runyard.engine.control import start, wait_for_end
from runyard.engine.spec import RunSpec


def trivial(_item) -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        module = folder / "trivial.py"
        module.write_text("def run(instance, save, state):\n    pass\n")
        data = folder / "data"
        data.mkdir()
        paths = []
        for i in range(args.instances):
            path = data / f"{i:05d}.txt"
            path.write_text("x")
            paths.append(str(path))
        spec = RunSpec(kind="module", module=str(module), instances=paths,
                       workers=args.workers)
        began = time.perf_counter()
        info = start(folder / "runs", spec)
        launched = time.perf_counter()
        info = wait_for_end(folder / "runs", info.id)
        ended = time.perf_counter()
        assert info.status == "completed", info.attrs.get("exit")

        pool_start = time.perf_counter()
        with multiprocessing.Pool(args.workers) as pool:
            pool.map(trivial, range(args.instances), chunksize=1)
        pool_time = time.perf_counter() - pool_start

    total = ended - began
    per = total / args.instances * 1000
    print(f"{args.instances} trivial instances, {args.workers} workers")
    print(f"runyard: {total:.2f} s in all ({launched - began:.2f} s to start, with the "
          f"module check), {per:.2f} ms per instance")
    print(f"baseline multiprocessing.Pool, chunksize 1: {pool_time:.2f} s, "
          f"{pool_time / args.instances * 1000:.3f} ms per task "
          f"(runyard / baseline = {total / pool_time:.1f}x)")
    print(f"aim: under 5 ms per instance -> {'yes' if per < 5 else 'NO'}")


if __name__ == "__main__":
    main()
