"""One hostile run never takes down the others (issue 10): each reported case, with
``runyard ls``, ``ls --json`` and ``show`` as real processes that must not hang."""

import json
import os
import subprocess

import pytest

from runyard.engine import finalize_run, init_run_meta, make_run, start_run
from runyard.engine.jsonl import append_records
from runyard.engine.layout import ALERT_DEFS, ALERTS, EVENTS, METRICS

from conftest import RUNYARD
from hostile import good_root, good_run, listing, runyard, runyard_here, set_attrs, shown


def hostile_run(root):
    paths = make_run(root)
    init_run_meta(paths, name="hostile", metadata={"x": 1})
    start_run(paths)
    finalize_run(paths, "completed")
    return paths


def replace_attrs(paths, how: str) -> None:
    path = paths.meta("attrs.json")
    path.unlink()
    if how == "loop":
        os.symlink(path.name, path)
    elif how == "directory":
        path.mkdir()
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "deep":
        path.write_text("[" * 100_000 + "]" * 100_000)


# what is done to the hostile run's attrs.json, and what its reason must say
ATTRS_CASES = {
    "symlink loop": (lambda p: replace_attrs(p, "loop"), "symbolic link"),
    "directory": (lambda p: replace_attrs(p, "directory"), "is a directory"),
    "fifo": (lambda p: replace_attrs(p, "fifo"), "is a FIFO"),
    "nested 100,000 deep": (lambda p: replace_attrs(p, "deep"), "not valid JSON"),
    "timeout a string": (lambda p: set_attrs(p, timeout="60", exit=None, lock={
        "host": "elsewhere", "pid": 1, "pid_started": 1.0}), "'timeout'"),
    "progress a list": (lambda p: set_attrs(p, progress=[1, 2]), "'progress'"),
    "metadata a list": (lambda p: set_attrs(p, metadata=["lr", 1]), "'metadata'"),
    "metadata a nested value": (lambda p: set_attrs(p, metadata={"a": {"b": 1}}),
                                "'metadata.a'"),
    "exit a list": (lambda p: set_attrs(p, exit=["completed"]), "'exit'"),
    "exit status a number": (lambda p: set_attrs(p, exit={"status": 5}), "'exit.status'"),
    "exit status unknown": (lambda p: set_attrs(p, exit={"status": "exploded"}),
                            "'exit.status'"),
    "exit error a list": (lambda p: set_attrs(p, exit={"status": "failed", "error": [1]}),
                          "'exit.error'"),
    "scheduler a list": (lambda p: set_attrs(p, scheduler=["slurm"]), "'scheduler'"),
    "flow steps a list": (lambda p: set_attrs(p, kind="flow", flow={"steps": [1, 2]}),
                          "'flow.steps'"),
    "flow step run a list": (lambda p: set_attrs(p, flow={"run": [1], "alias": "a"}),
                             "'flow.run'"),
    "flow step run outside the root": (lambda p: set_attrs(p, kind="flow", flow={
        "steps": {"a": {"run": "../../etc", "status": "completed"}}}),
        "'flow.steps.a.run' must be a run id"),
    "flow link outside the root": (lambda p: set_attrs(p, flow={
        "run": "../x", "alias": "a"}), "'flow.run' must be a run id"),
    "tags a string": (lambda p: set_attrs(p, tags="gpu"), "'tags'"),
    "name a number": (lambda p: set_attrs(p, name=7), "'name'"),
    "attempt a string": (lambda p: set_attrs(p, attempt="2"), "'attempt'"),
    "lock pid a string": (lambda p: set_attrs(p, exit=None, lock={
        "host": "elsewhere", "pid": "1", "pid_started": 1.0}), "'lock.pid'"),
    "started a number": (lambda p: set_attrs(p, started=1.5), "'started'"),
    "a JSON list": (lambda p: p.meta("attrs.json").write_text("[1, 2]"), "JSON object"),
}


@pytest.mark.parametrize("case", list(ATTRS_CASES))
def test_a_hostile_attrs_json_makes_only_that_run_unreadable(root, case):
    good = good_root(root)
    before = listing(root, runyard_here)
    shown_before = {p.id: shown(root, p.id, runyard_here) for p in good}
    bad = hostile_run(root)
    damage, reason = ATTRS_CASES[case]
    damage(bad)

    result = runyard("ls", "--root", root)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[1]: line.split()[2] for line in result.stdout.splitlines()[1:]}
    assert rows.pop("?") == "unreadable" and rows == {"good-0": "completed",
                                                      "good-1": "completed"}
    message = f"runyard: run {bad.id} is unreadable: "
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    assert "attrs.json" in result.stderr and reason in result.stderr, result.stderr

    after = listing(root)
    assert {i: after[i] for i in before} == before  # the good runs, unchanged
    assert after[bad.id]["status"] == "unreadable"
    assert "attrs.json" in after[bad.id]["error"] and reason in after[bad.id]["error"]

    refused = runyard("show", bad.id, "--root", root)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert reason in refused.stderr and "Traceback" not in refused.stderr
    for paths in good:
        assert shown(root, paths.id) == shown_before[paths.id]


def test_a_time_out_of_range_reads_as_unknown(root):
    good_root(root)
    bad = hostile_run(root)
    set_attrs(bad, started="9999-12-31T23:59:59-12:00", ended="0001-01-01T00:00:00+14:00")
    result = runyard("ls", "--root", root)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert listing(root)[bad.id]["status"] == "completed"
    assert runyard("show", bad.id, "--root", root).returncode == 0


def series_fifo(paths):
    paths.meta(METRICS).unlink()
    os.mkfifo(paths.meta(METRICS))
    return f"{paths.meta(METRICS)}:0: cannot read", "FIFO"


def series_dev_zero(paths):
    paths.meta(METRICS).unlink()
    os.symlink("/dev/zero", paths.meta(METRICS))
    return f"{paths.meta(METRICS)}:0: cannot read", "symbolic link"


def event_level_list(paths):
    append_records(paths.meta(EVENTS), [{"ts": 1_800_000_100.0, "level": ["info"],
                                         "msg": "odd"}])
    return f"{paths.meta(EVENTS)}:6: ", "'level'"


def alert_name_wrong(paths):
    paths.meta(ALERT_DEFS).write_text(json.dumps([{"name": "loss-high", "source": "user"},
                                                  {"name": ["x"], "source": "user"}]))
    append_records(paths.meta(ALERTS), [{"ts": 1_800_000_100.0, "alert": 5,
                                         "state": "critical"}])
    return f"{paths.meta(ALERTS)}:2: ", "'alert'"


def mixed_ts(paths):
    append_records(paths.meta("events.w0.jsonl"), [
        {"ts": "yesterday", "level": "info", "msg": "a string time"},
        {"ts": 1_800_000_100.0, "level": "info", "msg": "a later event"}])
    return f"{paths.meta('events.w0.jsonl')}:1: ", "'ts'"


SERIES_CASES = {"metrics fifo": series_fifo, "metrics -> /dev/zero": series_dev_zero,
                "event level a list": event_level_list, "alert name wrong": alert_name_wrong,
                "mixed ts types": mixed_ts}


@pytest.mark.parametrize("case", list(SERIES_CASES))
def test_a_hostile_series_is_a_bad_line_and_the_rest_is_shown(root, case):
    good = good_root(root)
    scarred = good_run(root, "scarred", seed=3)
    before = listing(root, runyard_here)
    shown_before = shown(root, scarred.id, runyard_here)
    where, reason = SERIES_CASES[case](scarred)

    assert listing(root) == before  # a series never makes a run unreadable
    result = runyard("show", scarred.id, "--json", "--root", root)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    bad_lines = [line for line in result.stderr.splitlines() if where in line]
    assert bad_lines and reason in bad_lines[0], result.stderr
    data = json.loads(result.stdout)
    for key in ("id", "name", "status", "metadata", "description"):
        assert data[key] == shown_before[key]
    if case != "metrics fifo" and case != "metrics -> /dev/zero":
        assert data["metrics"] == shown_before["metrics"]
    else:
        assert data["metrics"] == {}
    if case == "mixed ts types":
        assert data["events"]["count"] == 6
        assert data["events"]["last"][-1]["msg"] == "a later event"
    if case == "alert name wrong":
        assert data["alerts"] == shown_before["alerts"]
    assert runyard("show", scarred.id, "--root", root).returncode == 0
    for paths in good:
        assert runyard("show", paths.id, "--json", "--root", root).returncode == 0


def series_loop(paths):
    paths.meta(METRICS).unlink()
    os.symlink(METRICS, paths.meta(METRICS))
    return f"{paths.meta(METRICS)}:0: cannot read", "symbolic link"


SERIES_CASES["metrics symlink loop"] = series_loop


def model_view(root):
    """What the dashboard's model makes of a root: every reading entry point."""
    from runyard.app.model import RunsModel
    from runyard.engine.tail import RunTail

    model = RunsModel(root)
    model.load_all()
    model._root_mtime = None  # as if the root changed: rescan reads again
    model.rescan()
    model.reload(set(model.runs))
    for run_id in model.view:
        model.cell(run_id)
        model.cells.clear()
        model.set_settings(model.settings.with_metric("acc"))
        model.cell(run_id)
        tail = RunTail(root / f"{run_id}.meta")
        tail.poll()
        tail.poll()
    return model


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", [*ATTRS_CASES, *SERIES_CASES])
def test_the_dashboards_model_lists_and_reads_the_good_runs(root, case):
    good = good_root(root)
    expected = {p.id: "completed" for p in good}
    before = {i: info.attrs for i, info in model_view(root).runs.items()}
    bad = hostile_run(root) if case in ATTRS_CASES else good_run(root, "scarred", seed=3)
    if case in ATTRS_CASES:
        ATTRS_CASES[case][0](bad)
        expected[bad.id] = "unreadable"
    else:
        SERIES_CASES[case](bad)
        expected[bad.id] = "completed"
    model = model_view(root)
    assert {i: info.status for i, info in model.runs.items()} == expected
    assert sorted(model.view) == sorted(expected)
    for paths in good:
        assert model.runs[paths.id].attrs == before[paths.id]
        assert model.cell(paths.id).trend == [float(i) for i in range(10)]
        assert model.cell(paths.id).critical == ["loss-high"]
    if case in ATTRS_CASES:
        assert ATTRS_CASES[case][1] in model.runs[bad.id].error


@pytest.mark.parametrize("how", ["loop", "fifo", "folder", "zero"])
def test_a_hostile_heartbeat_or_pause_marker_reads_as_no_sign_of_life(root, how):
    good = good_root(root)
    bad = hostile_run(root)
    set_attrs(bad, exit=None, lock={"host": "elsewhere", "pid": 1, "pid_started": 1.0})
    for name in ("heartbeat", "paused"):
        path = bad.meta(name)
        path.unlink(missing_ok=True)
        {"loop": lambda p: os.symlink(p.name, p), "fifo": os.mkfifo, "folder": os.mkdir,
         "zero": lambda p: os.symlink("/dev/zero", p)}[how](path)
    listed = listing(root)
    assert listed[bad.id]["status"] == "lost"
    assert [listed[p.id]["status"] for p in good] == ["completed", "completed"]
    assert runyard("show", bad.id, "--root", root).returncode == 0


def test_a_meta_folder_not_named_after_a_run_id_is_never_read(root):
    import shutil

    good = good_root(root)
    shutil.copytree(good[0].meta_dir, root / "elsewhere.meta")
    listed = listing(root)
    assert listed["elsewhere"]["status"] == "unreadable"
    assert "not named after a run id" in listed["elsewhere"]["error"]
    assert [listed[p.id]["status"] for p in good] == ["completed", "completed"]
    # a run id and a newline: the pattern's '$' let a name end in one
    shutil.copytree(good[0].meta_dir, root / f"{good[0].id}\n.meta")
    listed = listing(root)
    assert listed[f"{good[0].id}\n"]["status"] == "unreadable"
    assert "not named after a run id" in listed[f"{good[0].id}\n"]["error"]


@pytest.mark.parametrize("shape", ["fifo", "zero", "loop"])
def test_a_root_schema_file_of_any_shape_never_hangs(tmp_path, shape):
    from runyard.engine import ensure_root

    root = ensure_root(tmp_path / "runs")
    schema = root / ".runyard" / "schema"
    schema.unlink()
    if shape == "fifo":
        os.mkfifo(schema)
    elif shape == "zero":
        os.symlink("/dev/zero", schema)
    else:
        os.symlink(schema, schema)
    done = subprocess.run([*RUNYARD, "ls", "--root", str(root)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "schema: cannot read" in done.stderr
