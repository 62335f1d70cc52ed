"""A demo runs directory: runs in every state, several of them live.

Finished, failed, lost and queued runs are written directly; ``demo-live`` is a
tracking-API process (``python -m runyard.engine.demo ROOT SECONDS``) whose
loss spikes now and then so that its alert fires; ``demo-instances`` and
``demo-paused`` are engine runs of a small module over four instances.
"""

import math
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from .jsonl import append_records
from .layout import EVENTS, FILES, METRICS, RUNNER_LOG, RunPaths
from .lifecycle import finalize_run, init_run_meta, make_run, start_run
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


DEMO_MODULE = """
import math, time
from runyard.engine import current_run

def run(instance, save, state):
    step = int(state or 0)
    handle = current_run()
    while step < 400:
        time.sleep(0.25)
        step += 1
        handle.log_metrics({"residual": math.exp(-step / 60) + 0.01 * math.sin(step)})
        if step % 50 == 0:
            handle.log_event(f"checkpoint at step {step}")
        save(str(step))
"""


def make_demo(root: Path, live_seconds: float = 600.0) -> list[RunPaths]:
    """Fill ``root`` with demo runs; the live ones run detached for ``live_seconds``."""
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
    subprocess.Popen([sys.executable, "-m", "runyard.engine.demo", str(root),
                      str(live_seconds)], start_new_session=True,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    instances = _start_instances(root, "demo-instances", live_seconds)
    paused = _start_instances(root, "demo-paused", live_seconds)
    from .control import pause

    pause(root, paused.id)
    flow_run = _start_flow(root, live_seconds)
    return [done, failed, lost, queued, instances, paused, flow_run]


MESH_MODULE = """
import os, time
from runyard.engine import current_run

def run(instance, save, state):
    cells = int(state or 0)
    while cells < 12:
        time.sleep(0.5)
        cells += 1
        current_run().log_metrics({"cells": cells * 1000})
        save(str(cells))
    name = os.path.basename(instance).rsplit(".", 1)[0]
    with open(name + ".grid", "w") as grid:
        grid.write(str(cells * 1000))
"""


def _start_flow(root: Path, seconds: float) -> RunPaths:
    """A two-step flow (mesh, then solve on the meshes), live, closed after
    ``seconds`` if it has not finished by then."""
    from .flows import Local, flow, op

    folder = root / ".runyard" / "demo"
    (folder / "mesh.py").write_text(MESH_MODULE)
    cases = sorted(str(p) for p in folder.glob("*.mesh"))

    @flow(name="demo-pipeline")
    def pipeline():
        grids = op(str(folder / "mesh.py"), instances=cases, alias="mesh", workers=2)
        return op(str(folder / "sim.py"), grids.outputs("*.grid"), alias="solve", workers=2)

    task = Local(pipeline, root=root)
    task.prepare()
    run_id = task.run(detached=True, name="demo-flow", folder="/demo/flow",
                      tags=["demo", "flow"])
    _close_later(root, run_id, seconds)
    return RunPaths(root, run_id)


def _close_later(root: Path, run_id: str, seconds: float) -> None:
    subprocess.Popen([sys.executable, "-c",
                      f"import time; time.sleep({seconds}); from pathlib import Path; "
                      f"from runyard.engine.control import close; "
                      f"close(Path({str(root)!r}), {run_id!r})"],
                     start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _start_instances(root: Path, name: str, seconds: float):
    """An engine run of a small module over four instances (closed after ``seconds``)."""
    from .control import start
    from .spec import RunSpec

    folder = root / ".runyard" / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    module = folder / "sim.py"
    module.write_text(DEMO_MODULE)
    cases = []
    for case in ("coarse", "medium", "fine", "finest"):
        path = folder / f"{case}.mesh"
        path.write_text(case)
        cases.append(str(path))
    info = start(root, RunSpec(kind="module", module=str(module), instances=cases,
                               workers=2), name=name, folder="/demo/instances",
                 tags=["demo", "instances"])
    _close_later(root, info.id, seconds)
    return info


def live_run(root: Path, seconds: float) -> None:
    """The live demo run: metrics every half second, events, an alert that fires."""
    from .run import Run

    with Run(root=root) as run:
        run.config(resources_metrics_interval=5)
        run.init(name="demo-live", folder="/demo/sweeps", tags=["demo", "cpu"],
                 metadata={"lr": 0.02, "model": "heat-2d"},
                 description="Live: the loss spikes after a minute and an alert fires")
        run.create_metric_threshold_alert("loss-spike", metric="loss", threshold=1.5,
                                          rule="is above", window=5, frequency=1)
        rng = random.Random(7)
        started = time.time()
        step = 0
        while time.time() - started < seconds:
            elapsed = time.time() - started
            loss = 2.0 * math.exp(-0.01 * step) + rng.uniform(-0.05, 0.05)
            if 60 < elapsed % 120 < 75:
                loss += 2.0  # a spike: the alert goes critical, then recovers
            run.log_metrics({"loss": loss, "accuracy": max(0.0, 1 - loss / 2.2)})
            if step % 20 == 0:
                run.log_event(f"Reached step {step}")
            step += 1
            time.sleep(0.5)


SAMPLE_START = 1_795_305_600.0  # 2026-11-22T00:00:00Z: a fixed moment for screenshots


def _iso(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(SAMPLE_START + seconds, UTC).isoformat(
        timespec="milliseconds")


def _sample_run(root: Path, run_id: str, name: str, folder: str, tags: list, status: str,
                seconds: float, seed: int, extra: dict | None = None) -> None:
    """One run of the fixed sample: its attributes, metrics and events from ``seed``."""
    from .meta import update_attrs

    paths = make_run(root, run_id)
    init_run_meta(paths, name=name, folder=folder, tags=tags,
                  metadata={"seed": seed, "mesh": 64 * seed},
                  description=f"Sample run {name}")
    fixed = {"created": _iso(seed * 60), "host": "node01", "user": "ana",
             "scheduler": None, **(extra or {})}
    if status != "created":
        fixed.update(started=_iso(seed * 60 + 5), attempt=1,
                     lock={"host": "node-gone", "pid": 1, "pid_started": 0.0})
        steps = 120
        rng = random.Random(seed)
        append_records(paths.meta(METRICS), [metric_record(
            i, i * seconds / steps, SAMPLE_START + seed * 60 + i * seconds / steps,
            {"loss": 2 * math.exp(-i / (20 * seed)) + rng.uniform(0, 0.05),
             "accuracy": 1 - math.exp(-i / (25 * seed))}) for i in range(steps)])
        append_records(paths.meta(METRICS), [metric_record(  # what Run's sampler logs
            i, i * seconds / steps, SAMPLE_START + seed * 60 + i * seconds / steps,
            {"resources/cpu.usage.percentage": 50 + 40 * math.sin(i / (7 + seed)),
             "resources/memory.usage": 300 + 2.5 * i * seed}) for i in range(0, steps, 4)])
        append_records(paths.meta(EVENTS), [
            {"ts": SAMPLE_START + seed * 60 + i * 30, "level": "info",
             "msg": f"checkpoint {i} written"} for i in range(6)])
    if status in ("completed", "failed", "terminated"):
        fixed.update(ended=_iso(seed * 60 + 5 + seconds),
                     exit={"status": status, "time": _iso(seed * 60 + 5 + seconds)})
    update_attrs(paths.meta_dir, lambda a: a.update(fixed), None)
    paths.meta("heartbeat").unlink(missing_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(SAMPLE_START + seed * 60))
    paths.meta(RUNNER_LOG).write_text(f"{stamp} Initialized run {run_id} named {name}\n")
    os.utime(paths.meta(RUNNER_LOG), (SAMPLE_START, SAMPLE_START))


def make_sample(root: Path) -> None:
    """A fixed runs root (same ids, times and values every time), for snapshot tests
    and screenshots: finished runs only, so nothing moves."""
    from .atomic import write_json_atomic
    from .layout import ALERT_DEFS, ALERTS

    specs = [
        ("00000000000001", "heat-coarse", "/sweeps/heat", ["cpu"], "completed", 300, 1),
        ("00000000000002", "heat-fine", "/sweeps/heat", ["cpu", "long"], "completed", 900, 2),
        ("00000000000003", "heat-unstable", "/sweeps/heat", ["cpu"], "failed", 120, 3),
        ("00000000000004", "wave-gpu", "/sweeps/wave", ["gpu"], "lost", 600, 4),
        ("00000000000005", "wave-queued", "/sweeps/wave", ["gpu"], "created", 0, 5),
        ("00000000000006", "ensemble", "/ensembles", ["mpi"], "terminated", 1500, 6),
    ]
    for spec in specs:
        _sample_run(root, *spec)
    paths = RunPaths(root, "00000000000003")
    write_json_atomic(paths.meta(ALERT_DEFS), [{
        "name": "loss-high", "source": "metrics", "rule": "is above",
        "metric": "loss", "threshold": 1.5, "window": 5.0, "frequency": 1.0}])
    append_records(paths.meta(ALERTS), [{"ts": SAMPLE_START + 300, "alert": "loss-high",
                                         "state": "critical", "value": 1.93}])


def make_flow_sample(root: Path) -> None:
    """A fixed flow run (closed after its first step) and its steps, for the flow
    snapshot and screenshots."""
    flow_id, mesh_id, solve_id = "00000000000007", "00000000000008", "00000000000009"
    steps = {"mesh": {"run": mesh_id, "status": "completed"},
             "solve": {"run": solve_id, "status": "terminated"},
             "report": {"run": None, "status": "pending"}}
    link = {"task": "5f0c2a9e41d8b7c3", "name": "heat-pipeline"}
    _sample_run(root, flow_id, "nightly", "/pipelines", ["flow"], "terminated", 700, 7,
                {"kind": "flow", "flow": {**link, "steps": steps},
                 "progress": {"pending": 2, "running": 0, "done": 1, "failed": 0,
                              "total": 3}})
    _sample_run(root, mesh_id, "nightly.mesh", "/pipelines", ["flow"], "completed", 200, 8,
                {"kind": "module", "flow": {"run": flow_id, "alias": "mesh", **link},
                 "progress": {"pending": 0, "running": 0, "done": 3, "failed": 0,
                              "total": 3}})
    _sample_run(root, solve_id, "nightly.solve", "/pipelines", ["flow"], "terminated", 400,
                9, {"kind": "module", "flow": {"run": flow_id, "alias": "solve", **link},
                    "progress": {"pending": 1, "running": 0, "done": 2, "failed": 0,
                                 "total": 3}})



SAMPLE_CSV = "step,loss,lr\n" + "".join(f"{s},{1 / (s + 1):.4f},0.01\n" for s in range(40))


def make_files_sample(root: Path) -> None:
    """Fixed files in the sample's first run, for the Files tab's snapshots and
    screenshots: a saved CSV and a few entries of its folder (a link among them)."""
    paths = RunPaths(root, "00000000000001")
    saved = paths.meta("artifacts/output/loss.csv")
    saved.parent.mkdir(parents=True)
    saved.write_text(SAMPLE_CSV)
    append_records(paths.meta(FILES), [
        {"ts": SAMPLE_START + 290, "name": "loss.csv", "category": "output",
         "path": "artifacts/output/loss.csv", "size": len(SAMPLE_CSV), "mime": "text/csv",
         "sha256": "0" * 64}])
    paths.run_dir.mkdir(exist_ok=True)
    (paths.run_dir / "results").mkdir()
    (paths.run_dir / "train.log").write_text("epoch 1 done\n" * 12)
    (paths.run_dir / "model.pt").write_bytes(b"\x00\x01" * 3000)
    (paths.run_dir / "data").symlink_to("/srv/shared/data")
    for name in ("results", "train.log", "model.pt", "data"):
        os.utime(paths.run_dir / name, (SAMPLE_START + 300, SAMPLE_START + 300),
                 follow_symlinks=False)

if __name__ == "__main__":
    live_run(Path(sys.argv[1]), float(sys.argv[2]))
