"""A long ``ls --json`` is read by two processes where there are two cores (issue 11:
a listing of 50,000 runs in less time than a bare scan of them): the output is the
same, byte for byte and in the same order, as one process reading it all, unreadable
runs reported in order whichever process read them."""

import json
import os
import shutil
import subprocess
import sys

import listing_root
import pytest

from runyard.app.commands.ls import SPLIT_FROM
from runyard.engine.store import run_ids


def ls_json(root, one_core: bool) -> tuple[bytes, bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNYARD_")}
    env.update(RUNYARD_HOST=listing_root.HOST, TZ="UTC")
    command = [sys.executable, "-m", "runyard.app.cli", "ls", "--json", "--root", str(root)]
    if one_core:
        command = [shutil.which("taskset"), "-c", "0", *command]
    result = subprocess.run(command, capture_output=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 or not shutil.which("taskset"),
                    reason="needs two cores, and taskset to give a listing only one")
def test_a_long_listing_read_in_two_processes_prints_what_one_prints(tmp_path):
    root = tmp_path / "runs"
    listing_root.build(root)  # every status and the hostile runs: they sort last
    for n in range(SPLIT_FROM):  # good runs whose ids sort first
        run_id = f"1m8n7b6q5d{n:04d}"
        listing_root.write_meta(root, n, listing_root.record(n, id=run_id), name=run_id)
    (root / "1m8n7b6q5c0001.meta").mkdir()  # unreadable, at the very start
    two, one = ls_json(root, one_core=False), ls_json(root, one_core=True)
    assert two == one
    runs = json.loads(two[0])
    assert len(runs) == len(run_ids(root)) > SPLIT_FROM
    assert runs[0]["id"] == "1m8n7b6q5c0001" and runs[0]["status"] == "unreadable"
    assert [r["id"] for r in runs] == sorted(r["id"] for r in runs)
    reported = two[1].decode().splitlines()
    assert reported[0].startswith("runyard: run 1m8n7b6q5c0001 is unreadable")
    assert len(reported) == sum(r["status"] == "unreadable" for r in runs) > 10
