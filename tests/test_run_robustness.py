"""Found in review: inputs and timings that once lost data or misreported a run."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from runyard.engine import OperationalError, Run, UsageError, list_runs, load_run
from runyard.engine.spool import sync_spool

from conftest import read_series, run_cli_process


def python(code: str, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)


def test_lone_surrogates_are_refused_and_lose_nothing(env_root):
    with Run() as run:
        run.init(name="surrogates")
        run.log_event("before")
        with pytest.raises(UsageError, match="surrogate"):
            run.log_event("bad \ud800")
        with pytest.raises(UsageError):
            run.update_metadata({"k": "\ud800"})
        with pytest.raises(UsageError):
            run.update_tags(["\udc00"])
        with pytest.raises(UsageError):
            run.save_object({"a": 1}, "output", name="x\ud800")
        run.log_event("after")
        assert run.set_status("completed") is True
    assert [e["msg"] for e in read_series(env_root, run.id, "events.jsonl")] == \
        ["before", "after"]


def test_a_huge_integer_with_a_metric_alert(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="huge")
        run.create_metric_threshold_alert("big", metric="x", threshold=1.0,
                                          rule="is above", frequency=1000)
        for i in range(100):
            run.log_metrics({"x": i})
        run.log_metrics({"x": 10**300})  # beyond 64 bits, within a float's range
        with pytest.raises(UsageError, match="too large for a float"):
            run.log_metrics({"x": 10**400})  # refused: nothing stored
    points = read_series(env_root, run.id, "metrics.jsonl")
    assert len(points) == 101 and points[-1]["v"]["x"] == 10**300
    assert [r["state"] for r in read_series(env_root, run.id, "alerts.jsonl")] == \
        ["critical"]  # judged once more at close: the huge average is above 1


def test_an_abort_at_close_does_not_cut_the_close_short(env_root):
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(name="abort-at-close")
    run.create_metric_threshold_alert("explode", metric="e", threshold=1, rule="is above",
                                      frequency=1000, trigger_abort=True)
    run.log_metrics({"e": 5})
    run.close()  # the alert fires in the final check: no KeyboardInterrupt here
    info = load_run(env_root, run.id)
    assert info.status == "terminated"
    assert [r["state"] for r in read_series(env_root, run.id, "alerts.jsonl")] == \
        ["critical"]
    assert any("aborted" in e["msg"] for e in read_series(env_root, run.id, "events.jsonl"))


def test_two_processes_reconnecting_one_run_only_one_wins(env_root):
    run = Run()
    run.init(name="contested", status="created")
    code = """
        import sys
        from runyard.engine import Run, UsageError
        try:
            run = Run()
            run.reconnect("contested")
        except UsageError as exc:
            print("refused", exc, flush=True)
            sys.exit(0)
        print("won", flush=True)
        import time; time.sleep(1.5)
        run.close()
    """
    procs = [python(code) for _ in range(4)]
    outputs = [p.communicate(timeout=60)[0] for p in procs]
    assert sorted(o.split()[0] for o in outputs) == ["refused"] * 3 + ["won"]
    assert load_run(env_root, run.id).attrs["attempt"] == 1


def test_a_forked_child_does_not_write_its_parents_records(env_root):
    proc = python("""
        import os, sys
        from runyard.engine import Run
        run = Run()
        run.config(disable_resources_metrics=True)
        run.init(name="forking")
        for i in range(2000):
            run.log_metrics({"x": i})
        pid = os.fork()
        if pid == 0:
            sys.exit(0)
        os.waitpid(pid, 0)
        run.close()
    """)
    assert proc.wait(60) == 0
    info = list_runs(env_root)[0]
    steps = [p["s"] for p in read_series(env_root, info.id, "metrics.jsonl")]
    assert steps == list(range(2000))
    assert info.status == "completed"


def test_alert_state_survives_a_reconnect(env_root):
    run = Run()
    run.init(name="alert-memory")
    run.create_user_alert("check")
    run.log_alert("check", state="critical")
    run.set_status("terminated")
    run.close()
    again = Run()
    again.reconnect("alert-memory", reopen=True)  # it ended: opened again on purpose
    again.log_alert("check", state="ok")
    again.close()
    data = json.loads(run_cli_process("show", "alert-memory", "--json", "--root",
                                      env_root).stdout)
    assert {a["name"]: a["state"] for a in data["alerts"]} == {"check": "ok"}


def test_a_run_on_another_host_turns_lost_after_its_timeout(env_root):
    proc = python("""
        from runyard.engine import Run
        run = Run()
        run.init(name="far-away", timeout=1.5)
        print(run.id, flush=True)
        import time
        while True:
            run.log_metrics({"x": 1}); time.sleep(0.05)
    """, RUNYARD_HOST="node-b")
    run_id = proc.stdout.readline().strip()
    assert load_run(env_root, run_id).status == "running"
    proc.kill()
    proc.wait()
    assert load_run(env_root, run_id).status == "running"  # no way to tell yet from here
    deadline = time.monotonic() + 5
    while load_run(env_root, run_id).status != "lost" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert load_run(env_root, run_id).status == "lost"


def test_close_raises_a_failed_last_write_when_not_suppressed(env_root):
    run = Run()
    run.config(suppress_errors=False, disable_resources_metrics=True)
    run.init(name="last-write")
    run.log_metrics({"x": 1})
    (env_root / f"{run.id}.meta" / "metrics.jsonl").mkdir()
    with pytest.raises(OperationalError, match="metrics"):
        run.close()


def test_writer_failures_are_recorded_as_an_event(env_root):
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(name="noted")
    (env_root / f"{run.id}.meta" / "metrics.jsonl").mkdir()
    run.log_metrics({"x": 1})
    run.close()
    messages = [e["msg"] for e in read_series(env_root, run.id, "events.jsonl")]
    assert any("writing metrics.jsonl failed" in m for m in messages)


def test_sync_copies_every_user_file_and_appends_only_series(env_root, cli):
    spool = env_root.parent / "spool"
    run = Run(mode="offline")
    run.init(name="user-files")
    folder = spool / run.id
    (folder / ".cache").mkdir()
    (folder / ".cache" / "blob").write_text("1")
    (folder / "table.jsonl").write_text('{"a":1}\n{"a":2}\n')
    run.log_metrics({"x": 1})
    run._writer.flush()
    assert cli("sync", "--root", env_root).code == 0
    (folder / "table.jsonl").write_text('{"b":30}\n')  # the user rewrites a file
    run.log_metrics({"x": 2})
    run.close()
    result = cli("sync", "--root", env_root)
    assert result.code == 0, result.err
    target = env_root / run.id
    assert (target / ".cache" / "blob").read_text() == "1"
    assert (target / "table.jsonl").read_text() == '{"b":30}\n'
    assert [p["v"]["x"] for p in read_series(env_root, run.id, "metrics.jsonl")] == [1, 2]
    assert not (spool / f"{run.id}.meta").exists()
    assert sync_spool(spool, env_root).synced == []


@pytest.mark.parametrize("ref", ["", ".", "..", "a/b"])
def test_odd_run_references_are_one_line_errors(root, ref):
    Run(root=root).init(name="exists")
    result = run_cli_process("show", ref, "--root", root)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_hand_edited_records_do_not_break_listing_or_show(root):
    run = Run(root=root)
    run.init(name="edited")
    run.close()
    path = root / f"{run.id}.meta" / "attrs.json"
    attrs = json.loads(path.read_text())
    attrs.update(started="yesterday")  # a string, if not a time: shown as "?"
    path.write_text(json.dumps(attrs))
    (root / f"{run.id}.meta" / "events.jsonl").mkdir()
    for args in (["ls"], ["ls", "--json"], ["ls", "--tag", "g"], ["show", "edited"]):
        result = run_cli_process(*args, "--root", root)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    shown = run_cli_process("show", "edited", "--root", root)
    assert "events.jsonl:0: cannot read" in shown.stderr
    # a field of the wrong type makes the run unreadable, saying which (issue 10)
    attrs.update(tags="gpu")
    path.write_text(json.dumps(attrs))
    listed = run_cli_process("ls", "--json", "--root", root)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert json.loads(listed.stdout)[0]["status"] == "unreadable"
    assert "gpu" not in run_cli_process("ls", "--tag", "g", "--json", "--root", root).stdout
    shown = run_cli_process("show", run.id, "--root", root)
    assert shown.returncode == 1 and "'tags' must be a list of strings" in shown.stderr


def test_an_empty_root_option_is_an_error(root):
    result = run_cli_process("ls", "--root", "")
    assert result.returncode == 1 and "root given is empty" in result.stderr


@pytest.mark.parametrize("text", ["a\x9bb", "evil\u202etxt.exe", "two\u2028lines",
                                  "mark\u200fx", "bell\x07"])
def test_names_tags_and_folders_refuse_controls_and_bidi(env_root, text):
    run = Run()
    run.config(disable_resources_metrics=True)
    for field in ({"name": text}, {"tags": [text]}, {"folder": "/" + text},
                  {"metadata": {text: 1}}):
        with pytest.raises(UsageError):
            run.init(**field)
    run.init(name="emoji-👩‍🔬", tags=["ok"])  # a joiner in an emoji is fine
    run.close()
