"""Progress within an instance and the time left (issue 12, item 6, second half): a
run module or a tracked script reports a fraction done; the runs table, ``ls``,
``show`` and the Instances tab show it with an estimated time left, "?" while there
is too little to go on, and values someone else wrote never crash a reader."""

import json
import math
import textwrap
from pathlib import Path

import pytest
from test_app import SIZE, names, until

from runyard.app.dashboard import RunyardApp
from runyard.app.eta_text import progress_text, records_with_progress, run_progress_line
from runyard.engine import Run, UsageError, load_run
from runyard.engine.control import close, start, wait_for_end
from runyard.engine.eta import left_text, time_left, unit_progress
from runyard.engine.meta import update_attrs
from runyard.engine.spec import RunSpec

from conftest import run_cli_process, wait_until

MODULE = """
import time
from pathlib import Path
from runyard.engine import progress

def run(instance, save, state):
    folder = Path(instance).parent
    progress(0.5)                           # half of this instance done
    while not (folder / "go").exists():
        time.sleep(0.02)
    progress(1.0)
"""


def module_run(root: Path, tmp_path: Path, count: int = 2):
    (tmp_path / "m.py").write_text(textwrap.dedent(MODULE))
    data = tmp_path / "data"
    data.mkdir()
    for n in range(count):
        (data / f"{n}.txt").write_text("x")
    spec = RunSpec(kind="module", module=str(tmp_path / "m.py"), workers=1,
                   instances=[str(data / f"{n}.txt") for n in range(count)])
    return start(root, spec, name="halfway"), data


def eta_of(root: Path, run_id: str) -> dict | None:
    return load_run(root, run_id).attrs.get("eta")


def test_a_module_reports_progress_within_its_instance(root, tmp_path):
    info, data = module_run(root, tmp_path)
    try:
        # one worker, two instances: the first half done is a quarter of the run
        eta = wait_until(lambda: (e := eta_of(root, info.id)) and e["fraction"] == 0.25
                         and e)
        assert eta["left"] is None  # too little to go on: no wild guess
        (entry,) = wait_until(lambda: list(unit_progress(info.meta_dir).items()))
        assert entry[0] == "00000-0" and entry[1]["fraction"] == 0.5
        running = load_run(root, info.id)
        assert progress_text(running) == "0/2 ?"
        assert run_progress_line(running) == "0/2 instances, 25% done, time left not " \
                                             "known yet"
        records = wait_until(lambda: (r := records_with_progress(
            info.meta_dir, _records(info))).get("00000-0", {}).get("_progress") and r)
        assert records["00000-0"]["_progress"] == ("50%", "?")
        shown = run_cli_process("ls", "--root", root)
        assert "0/2 ?" in shown.stdout
        (data / "go").touch()
        assert wait_for_end(root, info.id, timeout=60).status == "completed"
    finally:
        (data / "go").touch()
        if load_run(root, info.id).status == "running":
            close(root, info.id, wait=30)
    assert eta_of(root, info.id)["fraction"] == 1.0
    ended = load_run(root, info.id)
    assert progress_text(ended) == "2/2"  # no time left once it ended
    assert "progress:    2/2 instances, 100% done" in \
        run_cli_process("show", info.id, "--root", root).stdout


def _records(info) -> dict:
    from runyard.engine.work import InstanceBook

    return InstanceBook(info.paths).records()


def test_a_tracked_script_reports_its_own_progress(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="script")
        assert run.log_progress(0.3) is True
        meta = env_root / f"{run.id}.meta"
        eta = wait_until(lambda: (e := eta_of(env_root, run.id)) and e)
        assert eta["fraction"] == 0.3 and eta["left"] is None
        assert progress_text(load_run(env_root, run.id)) == "30% ?"
        assert not list(meta.glob("progress.*.json"))  # its figure is in attrs.json
        run.log_progress(0.6)
        wait_until(lambda: eta_of(env_root, run.id)["fraction"] == 0.6)
    assert progress_text(load_run(env_root, run.id)) == "60%"


@pytest.mark.parametrize("value", ["x", math.nan, math.inf, -0.1, 1.5, True, None])
def test_a_bad_fraction_is_a_usage_error(env_root, value):
    with Run() as run:
        run.init(name="bad")
        with pytest.raises(UsageError, match="progress is a fraction done, a number "
                                             "from 0 to 1"):
            run.log_progress(value)
        run.log_progress(0.5)  # the run goes on


def test_the_time_left_comes_from_the_rate_so_far():
    assert time_left(0.25, 0.0, 100.0) == 300.0
    assert time_left(0.5, 0.25, 100.0) == 200.0  # this attempt's rate, after a resume
    assert time_left(0.005, 0.0, 100.0) is None  # too little done to say
    assert time_left(0.5, 0.0, 1.0) is None  # too soon to say
    assert time_left(1.0, 0.0, 10.0) == 0.0
    assert [left_text(s) for s in (None, 12, 250, 3600, 3 * 3600 + 600, 200000,
                                        1e308)] == \
        ["?", "12s", "4m", "1h", "3h10m", "2d", ">99d"]


HOSTILE_FRACTIONS = ["x", "\x1b]0;pwned\x07", 1e308, -3, 7, None, [1], {"a": 1},
                     10 ** 400, True]


@pytest.mark.parametrize("fraction", HOSTILE_FRACTIONS)
def test_hostile_progress_never_crashes_a_reader(root, tmp_path, fraction):
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(name="hostile")
    meta = root / f"{run.id}.meta"
    try:
        def hostile(attrs):
            attrs["eta"] = {"fraction": fraction, "left": fraction, "at": fraction}

        update_attrs(meta, hostile, None)
        (meta / "progress.w0.json").write_text(json.dumps(
            {"key": "00000-0", "fraction": fraction, "ts": fraction, "started": fraction}))
        info = load_run(root, run.id)
        text = progress_text(info)
        assert "\x1b" not in text and len(text) <= 9
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            assert text == "bad"
        else:  # a number: clamped into 0-100%
            assert text.split()[0] in ("0%", "100%")
        run_progress_line(info)
        records = {"00000-0": {"instance": "/a", "status": "running"}}
        done, _left = records_with_progress(meta, records)["00000-0"].get(
            "_progress", ("", ""))
        assert done in ("bad", "0%", "100%", "")
        for args in (("ls",), ("show", run.id)):
            result = run_cli_process(*args, "--root", root)
            assert result.returncode == 0, result.stderr
            assert "Traceback" not in result.stderr
    finally:
        run.close()


async def test_the_table_and_the_instances_tab_show_progress(app_root, tmp_path):
    info, data = module_run(app_root, tmp_path)
    app = RunyardApp(app_root)
    try:
        wait_until(lambda: (e := eta_of(app_root, info.id)) and e["fraction"] == 0.25)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: names(app) == ["halfway"])
            table = app.screen.query_one("RunsTable")
            assert await until(pilot, lambda: "0/2 ?" in table.render_line(0).text)
            await pilot.press("enter", *["right_square_bracket"] * 3)  # Instances
            instances = app.screen.query_one("#instance-table")
            assert await until(pilot, lambda: instances.row_count == 2)
            assert await until(pilot, lambda: _cells(instances, "00000-0")[4:6] ==
                               ["50%", "?"])
            assert _cells(instances, "00001-0")[4:6] == ["", ""]
    finally:
        (data / "go").touch()
        wait_for_end(app_root, info.id, timeout=60)


def _cells(table, key) -> list[str]:
    from textual.widgets.data_table import RowDoesNotExist

    try:
        return [str(cell) for cell in table.get_row(key)]
    except RowDoesNotExist:  # not there yet
        return []


SCRIPT = """
import sys, time
from pathlib import Path
from runyard.engine import Run

with Run() as run:                       # attached to the engine's run
    run.init(name="ignored")
    run.log_progress(0.5)
    while not Path(sys.argv[1]).exists():
        time.sleep(0.02)
"""


def test_a_command_under_the_engine_reports_the_runs_progress(root, tmp_path):
    import sys

    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    go = tmp_path / "go"
    info = start(root, RunSpec(kind="command", argv=[sys.executable, str(script), str(go)]),
                 name="cmd")
    try:
        eta = wait_until(lambda: eta_of(root, info.id))
        assert eta["fraction"] == 0.5
        assert progress_text(load_run(root, info.id)) == "50% ?"
        go.touch()
        assert wait_for_end(root, info.id, timeout=60).status == "completed"
    finally:
        go.touch()
    assert progress_text(load_run(root, info.id)) == "50%"
