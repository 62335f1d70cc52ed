"""A process forked after ``Run.init`` never writes or ends its parent's run.

The child's handle is inert: every recording call returns False (it recorded
nothing) and ``close()`` or the end of a ``with`` block in the child leaves the
run to its parent. Each scenario runs in a fresh interpreter that really forks.
"""

import json
import subprocess
import sys
import textwrap

from runyard.engine import list_runs

from conftest import read_series

PARENT = """
import json, os, sys, time
from runyard.engine import Run, load_run

root = sys.argv[1]
report = {}

def child_calls(run):
    return {"log_metrics": run.log_metrics({"child": 1.0}),
            "log_event": run.log_event("from the child"),
            "update_metadata": run.update_metadata({"child": True}),
            "set_status": run.set_status("failed")}

def wait_child(pid, read_end):
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as f:
        report["child"] = json.loads(f.read())
    report["status_after_child"] = load_run(run.root, run.id).status
"""

PLAIN = PARENT + """
run = Run(root=root)
run.config(disable_resources_metrics=True)
run.init(name="parent")
for i in range(5):
    run.log_metrics({"x": float(i)})
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    calls = child_calls(run)
    calls["close"] = run.close()
    with os.fdopen(w, "w") as f:
        f.write(json.dumps(calls))
    os._exit(0)
os.close(w)
wait_child(pid, r)
run.log_metrics({"x": 5.0})
run.close()
print(json.dumps(report))
"""

WITH_BLOCK = PARENT + """
r, w = os.pipe()
with Run(root=root) as run:
    run.config(disable_resources_metrics=True)
    run.init(name="parent")
    for i in range(5):
        run.log_metrics({"x": float(i)})
    pid = os.fork()
    if pid == 0:
        os.close(r)
        calls = child_calls(run)
    else:
        os.close(w)
        wait_child(pid, r)
        run.log_metrics({"x": 5.0})
if pid == 0:  # the child left the with block: its __exit__ ran
    calls["status_after_exit"] = load_run(run.root, run.id).status
    with os.fdopen(w, "w") as f:
        f.write(json.dumps(calls))
    os._exit(0)
print(json.dumps(report))
"""


def fork_scenario(root, script: str) -> dict:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(root)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def check_parent_run(root) -> None:
    (info,) = list_runs(root)
    assert info.status == "completed"
    points = read_series(root, info.id, "metrics.jsonl")
    assert [p["s"] for p in points] == [0, 1, 2, 3, 4, 5]  # each once, none of the child's
    assert [p["v"] for p in points] == [{"x": float(i)} for i in range(6)]
    assert "child" not in info.attrs["metadata"]
    events = info.meta_dir / "events.jsonl"
    assert "from the child" not in (events.read_text() if events.exists() else "")
    runner_log = (info.meta_dir / "log" / "runner").read_text()
    assert runner_log.count("Finished") == 1 and "Finished completed" in runner_log


def test_a_forked_child_neither_writes_nor_closes_the_run(root):
    report = fork_scenario(root, PLAIN)
    assert report["child"] == {"log_metrics": False, "log_event": False,
                               "update_metadata": False, "set_status": False,
                               "close": False}
    assert report["status_after_child"] == "running"
    check_parent_run(root)


def test_a_forked_child_leaving_a_with_block_does_not_end_the_run(root):
    report = fork_scenario(root, WITH_BLOCK)
    assert report["child"]["log_metrics"] is False
    assert report["child"]["status_after_exit"] == "running"
    assert report["status_after_child"] == "running"
    check_parent_run(root)
