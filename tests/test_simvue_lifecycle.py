"""Reconnecting to ended runs, and the "ended without close()" warning only for
real abandonment (issue 13)."""

import subprocess
import sys
import textwrap
import time

import pytest

from runyard.engine import Run, UsageError, load_run
from runyard.engine.control import resume, wait_for_end
from runyard.engine.store import find_run

from conftest import RUNYARD, read_series, run_cli_process, wait_until

ABANDONED = "The process ended without close()"


def child(root, code: str) -> subprocess.CompletedProcess:
    script = "from runyard.engine import Run\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={"RUNYARD_ROOT": str(root), "PATH": "/usr/bin"})


def test_reconnect_refuses_an_ended_run_unless_asked(env_root):
    with Run() as run:
        run.init(name="finished")
    with pytest.raises(UsageError, match=r"completed.*reopen=True"):
        Run().reconnect("finished")
    info = load_run(env_root, run.id)
    assert info.status == "completed" and info.attrs["attempt"] == 1


def test_a_reopened_completed_run_is_never_left_lost(env_root):
    with Run() as run:
        run.init(name="again")
    done = child(env_root, """
        run = Run()
        run.reconnect("again", reopen=True)
        run.log_metrics({"x": 1})
    """)  # ends without close()
    assert done.returncode == 0, done.stderr
    info = load_run(env_root, run.id, now=time.time() + 3600)  # long after: not lost
    assert info.status == "completed" and info.attrs["attempt"] == 2
    events = read_series(env_root, run.id, "events.jsonl")
    assert any(ABANDONED in e["msg"] for e in events)


def test_an_abandoned_new_run_still_gets_the_warning(env_root):
    done = child(env_root, """
        run = Run()
        run.init(name="abandoned")
    """)
    assert done.returncode == 0, done.stderr
    info = find_run(env_root, "abandoned")
    assert any(ABANDONED in e["msg"] for e in read_series(env_root, info.id,
                                                          "events.jsonl"))


def test_runyard_close_leaves_no_abandonment_warning(root, tmp_path):
    module = tmp_path / "nap.py"
    module.write_text(textwrap.dedent("""
        import time
        def run(instance, save, state):
            if state == "":
                save("started")
                time.sleep(60)
    """))
    inputs = []
    for name in "ab":
        (tmp_path / f"{name}.txt").write_text(name)
        inputs.append(str(tmp_path / f"{name}.txt"))
    started = subprocess.run([*RUNYARD, "run", str(module), "--instances", *inputs,
                              "--workers", "2", "--detach", "--root", str(root)],
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.split()[0]
    book = root / f"{run_id}.meta" / "instances"
    wait_until(lambda: len(list(book.glob("*-0.json"))) == 2, 60)
    closed = run_cli_process("close", run_id, "--wait", "60", "--root", root)
    assert closed.returncode == 0, closed.stderr
    resume(root, run_id)
    assert wait_for_end(root, run_id, 120).status == "completed"
    files = [p.name for p in (root / f"{run_id}.meta").glob("events*.jsonl")]
    messages = [e["msg"] for name in files for e in read_series(root, run_id, name)]
    assert not [m for m in messages if ABANDONED in m]


def test_a_duplicate_name_in_a_scan_is_logged_and_the_scan_goes_on(env_root, caplog):
    results = []
    for point in range(3):
        with Run() as run:
            results.append(run.init(name="scan-point", metadata={"point": point}))
            assert run.log_metrics({"x": point}) is (point == 0)
    assert results == [True, False, False]
    assert [r.message for r in caplog.records if "already used" in r.message] != []
    runs = [p for p in env_root.glob("*.meta")]
    assert len(runs) == 1
    strict = Run()
    strict.config(suppress_errors=False)
    with pytest.raises(UsageError, match="already used"):
        strict.init(name="scan-point")


def test_a_script_ending_without_close_leaves_no_helper_process(env_root):
    import psutil

    done = child(env_root, """
        run = Run()
        run.init(name="orphans")
        run.add_process("long", "sleep", "300")
        print(run.processes[0].pid)
    """)
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    wait_until(lambda: not psutil.pid_exists(pid) or
               psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 30)
