"""Modes, created runs reconnected from another process, and the context manager's endings."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from runyard.engine import Run, UsageError, list_runs, load_run
from runyard.engine.spool import sync_spool

from conftest import read_series


def python(code: str, env: dict | None = None, check: bool = True):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, check=check,
                          timeout=60)


def test_disabled_mode_records_nothing_and_returns_true(env_root):
    run = Run(mode="disabled")
    assert run.config(queue_size=5) is True
    assert run.init(name="ghost", tags=["x"]) is True
    assert run.log_metrics({"x": 1}) is True
    assert run.log_event("e") is True
    assert run.update_tags(["t"]) is True and run.update_metadata({"a": 1}) is True
    assert run.save_object({"a": 1}, "output", name="obj") is True
    assert run.add_alert("a", source="user") == "a"
    assert run.set_status("failed") is True
    assert run.close() is True
    with Run(mode="disabled") as run:
        run.init()
    assert not env_root.exists()


def test_created_run_is_reconnected_by_another_process(env_root):
    created = python("""
        from runyard.engine import Run
        run = Run()
        run.init(name="queued-job", status="created", tags=["hpc"], metadata={"n": 4})
        run.update_tags(["submitted"])
        print(run.name)
    """).stdout.strip()
    assert created == "queued-job"
    info = load_run(env_root, list_runs(env_root)[0].id)
    assert info.status == "created" and info.tags == ["hpc", "submitted"]
    python("""
        from runyard.engine import Run
        run = Run()
        run.reconnect("queued-job")
        run.log_metrics({"x": 1})
        run.close()
    """)
    info = load_run(env_root, info.id)
    assert info.status == "completed"
    assert read_series(env_root, info.id, "metrics.jsonl")[0]["v"] == {"x": 1}


def test_running_false_also_creates(env_root):
    run = Run()
    run.init(name="later", running=False)
    assert run.status == "created"
    with pytest.raises(UsageError, match="reconnect"):
        run.log_metrics({"x": 1})
    again = Run()
    assert again.reconnect(run.id) is True
    again.log_metrics({"x": 1})
    again.close()
    assert load_run(env_root, run.id).status == "completed"


def test_reconnecting_a_live_run_is_refused(env_root):
    with Run() as run:
        run.init(name="busy")
        result = python("""
            from runyard.engine import Run
            try:
                Run().reconnect("busy")
            except RuntimeError as exc:
                print(exc)
        """)
        assert "is running in another process" in result.stdout


def test_context_manager_normal_exit_completes(env_root):
    with Run() as run:
        run.init(name="fine")
    assert load_run(env_root, run.id).status == "completed"


def test_context_manager_exception_fails_with_the_traceback_on_disk(env_root):
    result = python("""
        from runyard.engine import Run
        with Run() as run:
            run.init(name="crashes")
            run.log_metrics({"x": 1})
            def solve():
                raise ZeroDivisionError("matrix is singular")
            solve()
    """, check=False)
    assert result.returncode == 1 and "ZeroDivisionError" in result.stderr
    info = list_runs(env_root)[0]
    assert info.status == "failed"
    assert info.attrs["exit"]["error"] == "ZeroDivisionError: matrix is singular"
    events = read_series(env_root, info.id, "events.jsonl")
    assert events[-1]["level"] == "error"
    assert "Traceback" in events[-1]["msg"] and "in solve" in events[-1]["msg"]


def test_context_manager_keyboard_interrupt_terminates(env_root):
    with pytest.raises(KeyboardInterrupt), Run() as run:
        run.init(name="interrupted")
        raise KeyboardInterrupt
    info = load_run(env_root, run.id)
    assert info.status == "terminated"
    assert read_series(env_root, run.id, "events.jsonl")[-1]["level"] == "warning"


def test_close_inside_with_is_an_error(env_root):
    with Run() as run:
        run.init(name="early-close")
        with pytest.raises(UsageError, match="inside 'with Run"):
            run.close()
    assert load_run(env_root, run.id).status == "completed"


def test_a_process_that_forgets_close_keeps_its_data_and_is_lost(env_root):
    python("""
        from runyard.engine import Run
        run = Run()
        run.init(name="forgetful")
        for i in range(500):
            run.log_metrics({"x": i})
    """)
    info = list_runs(env_root)[0]
    assert info.status == "lost"
    assert len(read_series(env_root, info.id, "metrics.jsonl")) == 500
    assert "without close()" in read_series(env_root, info.id, "events.jsonl")[-1]["msg"]


def test_multiple_runs_in_one_code(env_root):
    for lr in (0.1, 0.01, 0.001):
        with Run() as run:
            run.init(metadata={"lr": lr}, folder="/scan")
            run.log_metrics({"loss": lr})
    runs = list_runs(env_root, folder="/scan")
    assert [r.attrs["metadata"]["lr"] for r in runs] == [0.1, 0.01, 0.001]
    assert {r.status for r in runs} == {"completed"}


def test_offline_runs_go_to_the_spool_and_sync_moves_them(env_root, cli):
    spool = env_root.parent / "spool"
    with Run(mode="offline") as run:
        run.init(name="offline-one", folder="/away")
        run.log_metrics({"x": 1})
        run.log_event("written offline")
    assert not (env_root / f"{run.id}.meta").exists()
    assert (spool / f"{run.id}.meta" / "attrs.json").exists()
    result = cli("sync", "--root", env_root)
    assert result.code == 0, result.err
    assert "1 finished and moved" in result.out
    info = load_run(env_root, run.id)
    assert info.status == "completed" and info.name == "offline-one"
    assert read_series(env_root, run.id, "metrics.jsonl")[0]["v"] == {"x": 1}
    assert not (spool / f"{run.id}.meta").exists()
    again = cli("sync", "--root", env_root)
    assert again.code == 0 and "Synced 0 runs" in again.out
    assert len(read_series(env_root, run.id, "events.jsonl")) == 1


def test_syncing_a_run_that_is_still_being_written(env_root):
    spool = env_root.parent / "spool"
    run = Run(mode="offline")
    run.init(name="live-offline")
    for i in range(10):
        run.log_metrics({"x": i})
    run._writer.flush()
    report = sync_spool(spool, env_root)
    assert report.synced == [run.id] and report.removed == []
    assert load_run(env_root, run.id).status == "running"  # same host: pid is alive
    assert len(read_series(env_root, run.id, "metrics.jsonl")) == 10
    for i in range(10, 25):
        run.log_metrics({"x": i})
    run._writer.flush()
    sync_spool(spool, env_root)
    sync_spool(spool, env_root)  # twice: nothing doubles
    assert [p["v"]["x"] for p in read_series(env_root, run.id, "metrics.jsonl")] == \
        list(range(25))
    run.close()
    report = sync_spool(spool, env_root)
    assert report.removed == [run.id]
    assert load_run(env_root, run.id).status == "completed"
    assert [p["v"]["x"] for p in read_series(env_root, run.id, "metrics.jsonl")] == \
        list(range(25))


def test_sync_renames_a_run_whose_name_is_taken(env_root):
    with Run() as online:
        online.init(name="same-name")
    with Run(mode="offline") as offline:
        offline.init(name="same-name")
    report = sync_spool(env_root.parent / "spool", env_root)
    new_name = f"same-name-{offline.id[-5:]}"
    assert report.renamed == {"same-name": new_name}
    assert load_run(env_root, offline.id).name == new_name
    assert json.loads((env_root / f"{offline.id}.meta/attrs.json").read_text())["name"] \
        == new_name
