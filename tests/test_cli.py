"""The ``runyard`` command: ls, show, and one-line errors."""

import json

from runyard.engine import finalize_run, init_run_meta, make_run, start_run
from runyard.engine.jsonl import append_records
from runyard.engine.layout import ALERT_DEFS, ALERTS, EVENTS, METRICS
from runyard.engine.series import metric_record

from conftest import run_cli_process

LISTING_FIELDS = {"id", "name", "status", "folder", "tags", "created", "started", "ended"}


def new_run(root, name, *, start=True, end=None, **attrs):
    paths = make_run(root)
    init_run_meta(paths, name=name, **attrs)
    if start:
        start_run(paths)
    if end:
        finalize_run(paths, end)
    return paths


def test_ls_lists_runs_as_a_table_and_as_json(root, cli):
    new_run(root, "alpha", end="completed", folder="/exp/a", tags=["gpu", "long"])
    new_run(root, "beta", end="failed", folder="/exp/b", tags=["cpu"])
    new_run(root, "gamma", start=False, folder="/other")
    result = cli("ls", "--root", root)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATUS", "FOLDER", "TAGS", "STARTED",
                                "DURATION", "PROGRESS"]
    assert [line.split()[1:3] for line in lines[1:]] == [["alpha", "completed"],
                                                         ["beta", "failed"],
                                                         ["gamma", "created"]]
    assert "gpu,long" in lines[1]
    data = cli("ls", "--json", "--root", root).json()
    assert [r["name"] for r in data] == ["alpha", "beta", "gamma"]
    assert all(set(r) >= LISTING_FIELDS for r in data)
    assert data[0]["tags"] == ["gpu", "long"] and data[0]["folder"] == "/exp/a"
    assert data[2]["started"] is None and data[2]["ended"] is None
    assert data[0]["ended"] is not None


def test_ls_filters(root, cli):
    new_run(root, "alpha", end="completed", folder="/exp/a", tags=["gpu"])
    new_run(root, "beta", end="failed", folder="/exp/b", tags=["cpu"])
    new_run(root, "gamma", start=False, folder="/exp")
    new_run(root, "delta", end="completed", folder="/expanded")

    def names(*args):
        return [r["name"] for r in cli("ls", "--json", "--root", root, *args).json()]

    assert names("--status", "completed") == ["alpha", "delta"]
    assert names("--folder", "/exp") == ["alpha", "beta", "gamma"]  # not /expanded
    assert names("--folder", "/exp/a") == ["alpha"]
    assert names("--tag", "cpu") == ["beta"]
    assert names("--status", "failed", "--tag", "gpu") == []
    assert cli("ls", "--root", root, "--tag", "none").out.startswith("no runs in ")


def test_show_gives_everything_known_about_a_run(root, cli):
    paths = new_run(root, "measured", folder="/f", tags=["t"], metadata={"lr": 0.1},
                    description="what it is")
    append_records(paths.meta(METRICS), [
        metric_record(i, i * 1.0, 1000.0 + i, {"loss": 1.0 / (i + 1), "acc": i / 10})
        for i in range(10)])
    append_records(paths.meta(METRICS), [metric_record(10, 10.0, 1010.0,
                                                       {"loss": float("nan")})])
    append_records(paths.meta(EVENTS), [{"ts": 1000.0 + i, "level": "info",
                                         "msg": f"event {i}"} for i in range(25)])
    (paths.meta(ALERT_DEFS)).write_text(json.dumps([{"name": "too-slow"},
                                                    {"name": "nan-loss"}]))
    append_records(paths.meta(ALERTS), [{"ts": 1010.0, "alert": "nan-loss",
                                         "state": "critical", "value": "NaN"}])
    finalize_run(paths, "completed")
    for ref in ("measured", paths.id, paths.id[:11]):
        data = cli("show", ref, "--json", "--root", root).json()
        assert data["id"] == paths.id
    assert LISTING_FIELDS | {"metadata", "description", "metrics", "events",
                             "alerts"} <= set(data)
    assert data["metadata"] == {"lr": 0.1}
    assert data["description"] == "what it is"
    loss = data["metrics"]["loss"]
    assert loss["count"] == 11 and loss["last_step"] == 10
    assert loss["max"] == 1.0 and loss["min"] == 0.1
    assert loss["last"] == "NaN"  # strict JSON: spelled as in the series files
    assert loss["nonfinite"] == 1  # counted, and left out of min and max
    assert data["metrics"]["acc"] == {"last": 0.9, "count": 10, "min": 0.0, "max": 0.9,
                                      "last_step": 9, "nonfinite": 0}
    assert data["events"]["count"] == 25
    assert [e["msg"] for e in data["events"]["last"]] == [f"event {i}"
                                                         for i in range(5, 25)]
    assert {a["name"]: a["state"] for a in data["alerts"]} == {"too-slow": "ok",
                                                               "nan-loss": "critical"}
    text = cli("show", "measured", "--root", root).out
    assert "status:      completed" in text and "loss" in text and "event 24" in text


def test_show_reports_bad_lines_but_shows_the_rest(root, cli):
    paths = new_run(root, "scarred")
    with open(paths.meta(METRICS), "wb") as f:
        f.write(b'{"s":0,"v":{"x":1}}\nnot json\n{"s":2,"v":{"x":3}}\n{"s":3,"v"')
    result = cli("show", "scarred", "--json", "--root", root)
    assert result.code == 0
    assert result.json()["metrics"]["x"]["count"] == 2
    assert f"{paths.meta(METRICS)}:2: not JSON" in result.err


def test_unknown_or_ambiguous_run_is_one_line_and_exit_2(root, cli):
    a = new_run(root, "one")
    new_run(root, "two")
    common = a.id[:4]
    result = cli("show", "nosuch", "--root", root)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "no run named 'nosuch'" in result.err
    result = cli("show", common, "--root", root)
    assert result.code == 2
    assert result.err.count("\n") == 1 and "matches 2 runs" in result.err


def test_errors_are_one_line_without_traceback(root, tmp_path):
    cases = [
        (["ls", "--root", tmp_path / "missing"], "does not exist"),
        (["ls", "--status", "sleeping", "--root", root], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        (["show", "--root", root], "required"),
    ]
    for args, message in cases:
        result = run_cli_process(*args)
        assert result.returncode != 0, args
        assert result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr


def test_a_file_as_root_and_an_unknown_root_schema(root, tmp_path, cli):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = cli("ls", "--root", not_a_dir)
    assert result.code == 1 and "is not a directory" in result.err
    new_run(root, "kept")
    (root / ".runyard/schema").write_text("99\n")
    result = cli("ls", "--root", root)
    assert result.code == 1
    assert "schema '99'" in result.err and result.err.count("\n") == 1


def test_unreadable_runs_are_listed_with_their_reason(root, cli):
    good = new_run(root, "good", end="completed")
    future = new_run(root, "future", end="completed")
    broken = new_run(root, "broken", end="completed")
    attrs = json.loads(future.meta("attrs.json").read_text())
    attrs["schema"] = 7
    future.meta("attrs.json").write_text(json.dumps(attrs))
    broken.meta("attrs.json").write_text('{"schema": 1, "na')
    result = cli("ls", "--json", "--root", root)
    assert result.code == 0
    by_id = {r["id"]: r for r in result.json()}
    assert by_id[good.id]["status"] == "completed"
    assert by_id[future.id]["status"] == "unreadable"
    assert "schema 7" in by_id[future.id]["error"] and "upgrade" in by_id[future.id]["error"]
    assert by_id[broken.id]["status"] == "unreadable"
    assert "not valid JSON" in by_id[broken.id]["error"]
    assert result.err.count("is unreadable") == 2
    shown = cli("show", future.id, "--root", root)
    assert shown.code == 1 and "schema 7" in shown.err


def test_root_comes_from_env_then_project_file_then_default(root, tmp_path, cli,
                                                            monkeypatch):
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "runyard.toml").write_text('# my project\nroot = "data/runs"\n')
    new_run(project / "data/runs", "from-toml", end="completed")
    new_run(root, "from-env", end="completed")
    monkeypatch.chdir(project / "sub")
    assert [r["name"] for r in cli("ls", "--json").json()] == ["from-toml"]
    monkeypatch.setenv("RUNYARD_ROOT", str(root))
    assert [r["name"] for r in cli("ls", "--json").json()] == ["from-env"]
    other = tmp_path / "other"
    new_run(other, "from-flag", end="completed")
    assert [r["name"] for r in cli("--root", other, "ls", "--json").json()] == ["from-flag"]
    monkeypatch.delenv("RUNYARD_ROOT")
    (project / "runyard.toml").write_text("root = [\n")
    result = cli("ls")
    assert result.code == 1 and "runyard.toml: invalid TOML" in result.err
    elsewhere = tmp_path / "elsewhere"
    new_run(elsewhere / "runs", "default", end="completed")
    monkeypatch.chdir(elsewhere)
    assert [r["name"] for r in cli("ls", "--json").json()] == ["default"]


def test_demo_creates_runs_in_every_state(tmp_path):
    import time

    result = run_cli_process("demo", "--no-open", "--root", tmp_path / "demo", "--seconds",
                             "20")
    assert result.returncode == 0, result.stderr
    assert "demo-instances" in result.stdout

    def statuses():
        listing = run_cli_process("ls", "--json", "--root", tmp_path / "demo")
        return {r["name"]: r["status"] for r in json.loads(listing.stdout)}

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (statuses().get("demo-live") != "running" or
                                           statuses().get("demo-paused") != "paused"):
        time.sleep(0.2)
    found = statuses()
    assert found == {"demo-converged": "completed", "demo-diverged": "failed",
                     "demo-node-crash": "lost", "demo-queued": "created",
                     "demo-live": "running", "demo-instances": "running",
                     "demo-paused": "paused", "demo-flow": "running",
                     "demo-flow.mesh": "running"}  # the flow's first step
    for name in ("demo-live", "demo-instances", "demo-paused", "demo-flow"):
        run_cli_process("close", name, "--root", tmp_path / "demo", "--wait", "30")
    assert statuses()["demo-flow.mesh"] in ("terminated", "completed")  # closed with it


def test_ls_keeps_its_columns_with_wide_and_combining_names(root, cli):
    from runyard.engine import finalize_run, init_run_meta, make_run, start_run

    for name in ("漢字の名前", "e\u0301mile", "plain"):
        paths = make_run(root)
        init_run_meta(paths, name=name, folder="/f")
        start_run(paths)
        finalize_run(paths, "completed")
    listed = cli("--root", root, "ls").out.splitlines()
    from runyard.app.formatting import cells

    starts = {cells(line[: line.index("completed")]) for line in listed[1:]}
    assert len(starts) == 1, listed  # STATUS starts in the same cell on every line
