"""The examples of references 001 and 002 run with only the import changed."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import read_series, run_cli_process

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_example(name: str, root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RUNYARD_ROOT": str(root), "RUNYARD_SPOOL": str(spool(root))}
    result = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def spool(root: Path) -> Path:
    return root.parent / "spool"


def show(root: Path, ref: str) -> dict:
    result = run_cli_process("show", ref, "--json", "--root", root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_reference_001_overview(root):
    run_example("simvue_overview.py", root)
    first = show(root, "my-first-run")
    assert first["status"] == "completed"
    assert first["tags"] == ["test", "unconverged"]
    assert first["metadata"] == {"environment": "test", "status": "unconverged"}
    assert first["description"] == "This is a test" and first["folder"] == "/tests"
    listing = json.loads(run_cli_process("ls", "--json", "--root", root).stdout)
    assert len(listing) == 6
    assert show(root, "queued-run")["status"] == "created"
    queued = listing[2]
    assert queued["status"] == "completed"
    assert show(root, queued["id"])["metrics"]["residual"]["last"] == 0.1
    scan = json.loads(run_cli_process("ls", "--json", "--folder", "/scan", "--root",
                                      root).stdout)
    assert [r["status"] for r in scan] == ["completed"] * 3
    offline = show(spool(root), "offline-run")  # init(offline=True): the spool
    assert offline["status"] == "completed"


def test_reference_002_run_class(root):
    assert run_example("simvue_run_class.py", root).stdout.strip() == "reference-002"
    data = show(root, "reference-002")
    assert data["status"] == "completed"
    assert data["metadata"] == {"solver": "cg", "tolerance": 1e-6, "mesh": "fine"}
    assert data["tags"] == ["reference", "checked"]
    assert data["metrics"]["residual"] == {"last": 0.05, "count": 11, "min": 0.05,
                                           "max": 10.0, "last_step": 20, "nonfinite": 0}
    assert data["events"]["count"] == 3
    assert {a["name"] for a in data["alerts"]} == {"residual-high", "energy-range",
                                                   "diverged"}
    fired = {r["alert"] for r in read_series(root, data["id"], "alerts.jsonl")
             if r["state"] == "critical"}
    assert fired == {"residual-high", "energy-range", "diverged"}
    meta = root / f"{data['id']}.meta"
    names = {json.loads(line)["name"] for line in (meta / "files.jsonl").open()}
    assert {"input.txt", "parameters.json", "results/part0.dat", "results/part1.dat"} <= \
        names
    folder = json.loads((root / ".runyard/folders/%2Freference.json").read_text())
    assert folder["description"] == "Runs made from the reference"
