"""Simvue's own keyword names, positional orders and repeat calls (issue 13)."""

import json

import pytest

from runyard.engine import Run, UsageError, load_run
from runyard.engine.summary import alert_states


def saved_names(root, run) -> set[str]:
    files = root / f"{run.id}.meta" / "files.jsonl"
    return {json.loads(line)["name"] for line in files.open()}


def test_init_offline_true_writes_to_the_spool(env_root):
    run = Run()
    assert run.init(name="away", offline=True) is True
    assert run.mode == "offline"
    spool = env_root.parent / "spool"
    assert load_run(spool, run.id).status == "running"
    assert run.close() is True
    assert load_run(spool, run.id).status == "completed"
    with pytest.raises(UsageError, match="offline"):
        Run().init(offline="yes")


def test_the_references_keyword_names_for_files_and_reconnect(env_root, tmp_path):
    work = tmp_path / "work"
    (work / "results").mkdir(parents=True)
    (work / "results" / "a.dat").write_text("1\n")
    (work / "input.txt").write_text("x\n")
    first = Run()
    first.init(name="queued", status="created")
    run = Run()
    assert run.reconnect(name="queued") is True
    assert run.save_directory(work / "results", "output", filetype="text/plain") is True
    assert run.save_all(directory=[work / "input.txt"], category="code",
                        filetype="text/plain") is True
    assert run.save_file(work / "input.txt", category="input", filetype="text/plain",
                         name="in.txt") is True
    assert run.save_all(items=[work / "results"], category="input") is True
    run.close()
    files = [json.loads(line) for line in
             (env_root / f"{run.id}.meta" / "files.jsonl").open()]
    assert {f["name"] for f in files} == {"results/a.dat", "input.txt", "in.txt"}
    assert {f["mime"] for f in files if f["category"] != "input" or
            f["name"] == "in.txt"} == {"text/plain"}
    with pytest.raises(UsageError, match="one of"):
        Run().reconnect(run_id="queued", name="queued")


def test_log_alert_takes_identifier_name_state_in_simvues_order(env_root):
    with Run() as run:
        run.init(name="alerts")
        run.create_user_alert("u1")
        run.create_user_alert("u2")
        assert run.log_alert(None, "u1", "critical") is True
        assert run.log_alert("u2", None, "critical") is True
        assert run.log_alert(name="u1", state="ok") is True
    states = {a["name"]: a["state"] for a in
              alert_states(env_root / f"{run.id}.meta")[0]}
    assert states == {"u1": "ok", "u2": "critical"}


def test_close_a_second_time_returns_true(env_root):
    run = Run()
    run.init(name="twice")
    assert run.close() is True
    assert run.close() is True
    assert load_run(env_root, run.id).status == "completed"
