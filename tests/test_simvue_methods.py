"""The parts of simvue 2.6.2's Run that runyard lacked (issue 13): alerts attached
later, aggregations point by point, abort_on_alert, set_tags, metric units, file
names relative to the working directory or the git work tree."""

import json
import os
import subprocess

import pytest

from runyard.engine import Run, UsageError, load_run
from runyard.engine.alerts import make_alert
from runyard.engine.summary import alert_states

from conftest import run_cli_process


def states(root, run) -> dict:
    return {a["name"]: a["state"] for a in alert_states(root / f"{run.id}.meta")[0]}


@pytest.mark.parametrize("aggregation, values, expected", [
    ("at least one", [0.0, 0.0, 10.0], "critical"),  # the average, 3.3, is below 5
    ("at least one", [0.0, 1.0], "ok"),
    ("all", [10.0, 10.0], "critical"),
    ("all", [10.0, 10.0, 0.0], "ok"),  # the average, 6.7, is above 5
])
def test_aggregation_at_least_one_and_all(aggregation, values, expected):
    alert = make_alert("a", "metrics", rule="is above", metric="x", threshold=5.0,
                       window=None, aggregation=aggregation)
    assert alert.window == 5.0  # window=None: the default window
    for index, value in enumerate(values):
        alert.feed_metric(100.0 + index / 10, value)
    assert alert.evaluate(100.5)[0] == expected


def test_alerts_kept_aside_are_attached_by_add_alerts(env_root):
    with Run() as run:
        run.init(name="attach")
        assert run.create_user_alert("later", attach_to_run=False) == "later"
        run.create_event_alert("also-later", pattern="x", attach_to_run=False)
        assert states(env_root, run) == {}
        with pytest.raises(UsageError, match="no alert 'nope'"):
            run.add_alerts(names=["nope"])
        assert run.add_alerts(names=["later"], ids=["also-later"]) is True
        assert run.log_alert(name="later") is True
    assert states(env_root, run) == {"later": "critical", "also-later": "ok"}


@pytest.mark.parametrize("how, status, after", [("run", "terminated", True),
                                                ("ignore", "completed", True)])
def test_abort_on_alert_run_and_ignore_let_the_code_go_on(env_root, how, status, after):
    with Run() as run:
        run.config(abort_on_alert=how)
        run.init(name=f"abort-{how}")
        run.create_user_alert("stop", trigger_abort=True)
        run.log_alert(name="stop")  # no KeyboardInterrupt: the code goes on
        went_on = True
    assert went_on is after
    assert load_run(env_root, run.id).status == status
    with pytest.raises(UsageError, match="abort_on_alert must be one of"):
        Run().config(abort_on_alert="stop")


def test_set_tags_replaces_and_units_show(env_root):
    with Run() as run:
        run.init(name="units", tags=["a", "b"])
        assert run.set_tags(["c"]) is True
        assert run.set_metric_units("energy", units="J", mks_unit="kg m2/s2",
                                    mks_conversion=1.0) is True
        run.log_metrics({"energy": 2.0, "count": 1})
        with pytest.raises(UsageError, match="units must be"):
            run.set_metric_units("energy", units="")
    data = json.loads(run_cli_process("show", "units", "--json", "--root",
                                      env_root).stdout)
    assert data["tags"] == ["c"]
    assert data["metrics"]["energy"]["units"] == "J"
    assert "units" not in data["metrics"]["count"]
    text = run_cli_process("show", "units", "--root", env_root).stdout
    assert "UNITS" in text and " J" in text


def test_save_file_relative_to_cwd_and_git(env_root, tmp_path, monkeypatch):
    tree = tmp_path / "repo"
    (tree / "src" / "deep").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    source = tree / "src" / "deep" / "model.py"
    source.write_text("x = 1\n")
    monkeypatch.chdir(tree / "src")
    with Run() as run:
        run.init(name="relative")
        run.save_file(source, category="code", preserve_path_relative_to="cwd",
                      snapshot=True)
        run.save_file(source, category="input", preserve_path_relative_to="git")
        with pytest.raises(UsageError, match="'cwd' or 'git'"):
            run.save_file(source, category="code", preserve_path_relative_to="home")
    names = {json.loads(line)["path"] for line in
             (env_root / f"{run.id}.meta" / "files.jsonl").open()}
    assert names == {"artifacts/code/deep/model.py", "artifacts/input/src/deep/model.py"}
    assert os.path.exists(env_root / f"{run.id}.meta/artifacts/input/src/deep/model.py")


def test_nested_metadata_is_kept_flat_with_dotted_keys(env_root):
    with Run() as run:
        run.init(name="nested", metadata={"solver": {"name": "cg", "tol": 1e-6},
                                          "grid": [64, 64]})
        run.update_metadata({"solver": {"restarts": {"max": 3}}})
        with pytest.raises(UsageError, match="JSON values"):
            run.update_metadata({"bad": [object()]})
    data = json.loads(run_cli_process("show", "nested", "--json", "--root",
                                      env_root).stdout)
    assert data["metadata"] == {"solver.name": "cg", "solver.tol": 1e-6,
                                "grid": "[64, 64]", "solver.restarts.max": 3}


def test_the_dashboards_metric_charts_are_titled_with_their_units(env_root):
    from runyard.app.run_reading import RunReading
    from runyard.app.tabs.run_metrics import RunMetrics
    from runyard.engine.atomic import write_json_atomic

    with Run() as run:
        run.init(name="charted")
        run.set_metric_units("energy", units="J")
        run.log_metrics({"energy": 1.0, "count": 2})
    meta = env_root / f"{run.id}.meta"
    reading = RunReading.of(meta)
    reading.read_files(env_root, run.id, reading.tail.poll())
    metrics = RunMetrics(reading, lambda name: True)
    assert metrics.title("energy", False) == "energy (J)"
    assert metrics.title("count", False) == "count"
    attrs = json.loads((meta / "attrs.json").read_text())  # another user's hostile units
    attrs["units"] = {"energy": {"units": "\x1b[2J"}, "count": "m"}
    write_json_atomic(meta / "attrs.json", attrs)
    reading.read_files(env_root, run.id, reading.tail.poll())
    assert "\x1b" not in metrics.title("energy", False)
    assert metrics.title("count", False) == "count"


def test_an_aborting_alert_kills_the_runs_processes(env_root):
    import psutil

    from conftest import wait_until

    with Run() as run:
        run.config(abort_on_alert="run")
        run.init(name="abort-procs")
        run.add_process("long", "sleep", "300")
        pid = run.processes[0].pid
        run.create_user_alert("stop", trigger_abort=True)
        run.log_alert(name="stop")
        wait_until(lambda: not psutil.pid_exists(pid) or
                   psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 30)
    assert load_run(env_root, run.id).status == "terminated"
