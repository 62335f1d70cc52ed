"""Runs roots with hostile run folders beside good ones, for tests/test_hostile_*.py.

A good run has attributes, metrics, events, alert definitions and states, and a
saved file; ``listing`` and ``shown`` are what ``ls --json`` and ``show --json``
say about it, to compare before and after a hostile neighbour arrives.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from runyard.app.cli import main
from runyard.engine import finalize_run, init_run_meta, make_run, start_run
from runyard.engine.jsonl import append_records
from runyard.engine.layout import ALERT_DEFS, ALERTS, EVENTS, METRICS, RunPaths
from runyard.engine.series import metric_record


def runyard(*args, timeout: float = 60) -> subprocess.CompletedProcess:
    """The ``runyard`` command of this interpreter as a real process; a hang fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    return subprocess.run([sys.executable, "-m", "runyard.app.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=env)


def good_run(root: Path, name: str, seed: int = 1) -> RunPaths:
    """A finished run with a little of everything, written as the engine writes it."""
    paths = make_run(root)
    init_run_meta(paths, name=name, folder=f"/good/{name}", tags=["good", name],
                  metadata={"seed": seed, "label": f"run {name}", "ok": True},
                  description=f"the good run {name}")
    start_run(paths)
    append_records(paths.meta(METRICS), [
        metric_record(i, i * 0.5, 1_800_000_000.0 + i, {"loss": 1.0 / (i + seed), "acc": i})
        for i in range(10)])
    append_records(paths.meta(EVENTS), [{"ts": 1_800_000_000.0 + i, "level": "info",
                                         "msg": f"{name} event {i}"} for i in range(5)])
    paths.meta(ALERT_DEFS).write_text(json.dumps([{"name": "loss-high", "source": "user"}]))
    append_records(paths.meta(ALERTS), [{"ts": 1_800_000_001.0, "alert": "loss-high",
                                         "state": "critical", "value": 2.5}])
    append_records(paths.meta("files.jsonl"), [{
        "ts": 1_800_000_002.0, "name": "a.txt", "category": "output",
        "path": "artifacts/output/a.txt", "size": 3, "mime": "text/plain",
        "sha256": "0" * 64}])
    finalize_run(paths, "completed")
    return paths


def good_root(root: Path, count: int = 2) -> list[RunPaths]:
    return [good_run(root, f"good-{i}", seed=i + 1) for i in range(count)]


def runyard_here(*args) -> subprocess.CompletedProcess:
    """The ``runyard`` command run in this process (quicker, for what comes before the
    damage); the same result as ``runyard``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def listing(root: Path, command=runyard) -> dict[str, dict]:
    """``ls --json`` by run id; fails the test if the command fails."""
    result = command("ls", "--json", "--root", root)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return {entry["id"]: entry for entry in json.loads(result.stdout)}


def shown(root: Path, run_id: str, command=runyard) -> dict:
    result = command("show", run_id, "--json", "--root", root)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def set_attrs(paths: RunPaths, **fields) -> None:
    """Overwrite fields of a run's attrs.json by hand, as anyone with write access can."""
    path = paths.meta("attrs.json")
    attrs = json.loads(path.read_text())
    attrs.update(fields)
    path.write_text(json.dumps(attrs))
