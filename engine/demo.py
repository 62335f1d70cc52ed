"""A demo runs directory: a few runs in every state, one of them live.

``python -m runyard.engine.demo ROOT RUN_ID SECONDS`` is the live run's process:
it writes a metric point and a heartbeat every half second, then completes.
"""

import math
import random
import subprocess
import sys
import time
from pathlib import Path

from .jsonl import append_records
from .layout import EVENTS, METRICS, RunPaths
from .lifecycle import beat, finalize_run, init_run_meta, make_run, start_run
from .series import metric_record


def _new_run(root: Path, **attrs) -> RunPaths:
    paths = make_run(root)
    init_run_meta(paths, **attrs)
    return paths


def _curve(steps: int, start: float, rate: float, noise: float) -> list[float]:
    rng = random.Random(steps)
    return [start * math.exp(-rate * i) + rng.uniform(-noise, noise) for i in range(steps)]


def _write_history(paths: RunPaths, steps: int, t0: float) -> None:
    loss = _curve(steps, 2.0, 0.03, 0.05)
    acc = [1 - v / 2.2 for v in loss]
    append_records(paths.meta(METRICS), [
        metric_record(i, i * 0.5, t0 + i * 0.5, {"loss": loss[i], "accuracy": acc[i]})
        for i in range(steps)])
    append_records(paths.meta(EVENTS), [
        {"ts": t0, "level": "info", "msg": "Simulation started"},
        {"ts": t0 + steps * 0.25, "level": "info", "msg": "Checkpoint written"},
    ])


def make_demo(root: Path, live_seconds: float = 600.0) -> list[RunPaths]:
    """Fill ``root`` with demo runs; returns them. The live one runs detached."""
    now = time.time()
    done = _new_run(root, name="demo-converged", folder="/demo/sweeps", tags=["demo", "cpu"],
                    metadata={"lr": 0.01, "model": "heat-1d"},
                    description="A finished run with a loss curve")
    start_run(done)
    _write_history(done, 200, now - 300)
    finalize_run(done, "completed")
    failed = _new_run(root, name="demo-diverged", folder="/demo/sweeps", tags=["demo"],
                      metadata={"lr": 0.5, "model": "heat-1d"})
    start_run(failed)
    _write_history(failed, 40, now - 200)
    append_records(failed.meta(EVENTS), [{"ts": now - 180, "level": "error",
                                          "msg": "FloatingPointError: loss is NaN"}])
    finalize_run(failed, "failed", error="FloatingPointError: loss is NaN")
    lost = _new_run(root, name="demo-node-crash", folder="/demo", tags=["demo", "gpu"])
    sleeper = subprocess.Popen(["sleep", "30"])
    start_run(lost, pid=sleeper.pid)
    sleeper.kill()
    sleeper.wait()
    _write_history(lost, 60, now - 120)
    queued = _new_run(root, name="demo-queued", folder="/demo", tags=["demo"],
                      description="Defined and waiting for a node")
    live = _new_run(root, name="demo-live", folder="/demo/sweeps", tags=["demo", "cpu"],
                    metadata={"lr": 0.02, "model": "heat-2d"})
    subprocess.Popen([sys.executable, "-m", "runyard.engine.demo", str(root), live.id,
                      str(live_seconds)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    return [done, failed, lost, queued, live]


def live_run(root: Path, run_id: str, seconds: float) -> None:
    """Be the live demo run for ``seconds``, writing a point every half second."""
    paths = RunPaths(root, run_id)
    start_run(paths)
    t0 = time.time()
    step = 0
    rng = random.Random(run_id)
    while time.time() - t0 < seconds:
        loss = 2.0 * math.exp(-0.01 * step) + rng.uniform(-0.05, 0.05)
        append_records(paths.meta(METRICS), [metric_record(
            step, time.time() - t0, time.time(), {"loss": loss, "accuracy": 1 - loss / 2.2})])
        if step % 20 == 0:
            append_records(paths.meta(EVENTS), [{"ts": time.time(), "level": "info",
                                                 "msg": f"Reached step {step}"}])
        beat(paths)
        step += 1
        time.sleep(0.5)
    finalize_run(paths, "completed")


if __name__ == "__main__":
    live_run(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
