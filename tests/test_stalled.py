"""The stalled-run alert (issue 12, item 7): a running run that records nothing for a
while raises ``stalled``; it goes back to ok when data comes again. Real processes
throughout; every wait is on the alert file, never a fixed sleep."""

import contextlib
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runyard.engine import Run, UsageError, list_runs
from runyard.engine.control import close, start, wait_for_end
from runyard.engine.project import ProjectError, load_operation
from runyard.engine.spec import RunSpec
from runyard.engine.summary import alert_definitions, alert_states

from conftest import RUNYARD, wait_until

# A tracked script: logs, then "hangs" (its code waits for a file: the writer thread
# lives on and sees no data), then logs again, then waits to be told to end.
TRACKED = """
import sys, time
from pathlib import Path
from runyard.engine import Run

here = Path(sys.argv[1])
def wait_for(name):
    while not (here / name).exists():
        time.sleep(0.02)

with Run() as run:
    run.config(resources_metrics_interval=0.05)  # its points are no sign of life
    run.init(name="sleeper", stalled_after=float(sys.argv[2]))
    print(run.id, flush=True)
    run.log_metrics({"loss": 1.0})
    wait_for("go")
    run.log_metrics({"loss": 0.5})
    wait_for("end")
"""

BUSY = """
import sys, time
from runyard.engine import Run

with Run() as run:
    run.init(name="busy", stalled_after=0.4)
    print(run.id, flush=True)
    end = time.monotonic() + 2.0
    while time.monotonic() < end:
        run.log_metrics({"loss": 1.0})
        time.sleep(0.02)
"""


def child(tmp_path: Path, source: str, *args) -> tuple[subprocess.Popen, str]:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(source))
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), *map(str, args)],
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def stalled_states(meta: Path) -> list[tuple[str, object]]:
    """The stalled alert's transitions, over every writer's alert file."""
    from runyard.engine.summary import read_series

    records, bad = read_series(meta, "alerts.jsonl")
    assert bad == []
    return [(r["state"], r.get("value")) for r in records if r["alert"] == "stalled"]


def test_a_tracked_run_that_hangs_raises_stalled_and_recovers(env_root, tmp_path):
    proc, run_id = child(tmp_path, TRACKED, 0.5)
    meta = env_root / f"{run_id}.meta"
    try:
        assert [d["source"] for d in alert_definitions(meta)] == ["stalled"]
        wait_until(lambda: stalled_states(meta))
        ((state, silent),) = stalled_states(meta)
        assert state == "critical" and silent >= 0.5
        (tmp_path / "go").touch()
        wait_until(lambda: len(stalled_states(meta)) == 2)
        assert stalled_states(meta)[1] == ("ok", None)
        (tmp_path / "end").touch()
        assert proc.wait(60) == 0
    finally:
        proc.kill()
        proc.wait()
    states = {a["name"]: a["state"] for a in alert_states(meta)[0]}
    assert states == {"stalled": "ok"}


def test_a_run_that_keeps_logging_never_stalls(env_root, tmp_path):
    proc, run_id = child(tmp_path, BUSY)
    assert proc.wait(60) == 0
    meta = env_root / f"{run_id}.meta"
    assert [d["name"] for d in alert_definitions(meta)] == ["stalled"]
    assert stalled_states(meta) == []


def test_a_plain_tracked_run_has_no_stalled_alert_unless_asked(env_root):
    with Run() as run:
        run.init(name="plain")
        run.log_metrics({"x": 1})
    assert alert_definitions(env_root / f"{run.id}.meta") == []


def test_config_sets_and_turns_off_the_alert(env_root):
    with Run() as run:
        run.config(stalled_after=30)
        run.init(name="configured")
        meta = env_root / f"{run.id}.meta"
        (definition,) = alert_definitions(meta)
        assert definition["source"] == "stalled" and definition["window"] == 30
        run.config(stalled_after=False)
        assert alert_definitions(meta) == []


@pytest.mark.parametrize("value", [-1, "600", math.nan, math.inf, True, [5]])
def test_a_bad_setting_is_a_usage_error_that_records_nothing(env_root, value):
    run = Run()
    with pytest.raises(UsageError, match="stalled_after must be a positive number of "
                                         "seconds, or 0 or false"):
        run.init(name="bad", stalled_after=value)
    with pytest.raises(UsageError, match="stalled_after must be"):
        Run().config(stalled_after=value)
    assert not env_root.exists() or list_runs(env_root) == []
    with pytest.raises(UsageError, match="stalled_after"):
        start(env_root, RunSpec(kind="command", argv=["true"], stalled_after=value))


def test_stalled_cannot_be_defined_as_an_ordinary_alert(env_root):
    with Run() as run:
        run.init(name="no-direct")
        with pytest.raises(UsageError, match="stalled_after"):
            run.add_alert("x", source="stalled")


MODULE = """
import time
from pathlib import Path

def run(instance, save, state):
    folder = Path(instance).parent
    while not (folder / "go").exists():   # hangs: logs nothing, saves nothing
        time.sleep(0.02)
    save("after go")                      # a saved state is a sign of life
    while not (folder / "end").exists():
        time.sleep(0.02)
"""


def project(tmp_path: Path, table: str, top: str = "") -> Path:
    (tmp_path / "m.py").write_text(textwrap.dedent(MODULE))
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "a.txt").write_text("a")
    path = tmp_path / "runyard.toml"
    path.write_text(top + '[operations.hang]\nmodule = "m.py"\n'
                    'instances = ["data/a.txt"]\n' + table)
    os.chmod(path, 0o644)
    return path


def test_an_engine_run_stalls_by_its_toml_setting_and_recovers_on_a_save(root, tmp_path):
    path = project(tmp_path, "stalled_after = 0.5\n")
    operation = load_operation(path, "hang")
    assert operation.spec.stalled_after == 0.5
    info = start(root, operation.spec, name="hang")
    meta = info.paths.meta_dir
    data = tmp_path / "data"
    try:
        wait_until(lambda: stalled_states(meta), timeout=60)
        ((state, silent),) = stalled_states(meta)
        assert state == "critical" and silent >= 0.5
        assert "stalled" in {a["name"] for a in alert_states(meta)[0]
                             if a["state"] == "critical"}  # what the AL column shows
        (data / "go").touch()
        wait_until(lambda: len(stalled_states(meta)) >= 2, timeout=60)
        assert stalled_states(meta)[1] == ("ok", None)
        (data / "end").touch()
        assert wait_for_end(root, info.id, timeout=60).status == "completed"
    finally:
        (data / "end").touch()
        with contextlib.suppress(UsageError):  # ended already, as it should have
            close(root, info.id, wait=30)


def test_engine_runs_watch_by_default_and_the_toml_can_turn_it_off(root, tmp_path):
    path = project(tmp_path, "", top="stalled_after = false\n")
    assert load_operation(path, "hang").spec.stalled_after is None
    path = project(tmp_path, "stalled_after = 0\n", top="stalled_after = 60\n")
    assert load_operation(path, "hang").spec.stalled_after is None
    path = project(tmp_path, "", top="stalled_after = 60\n")
    assert load_operation(path, "hang").spec.stalled_after == 60
    path = project(tmp_path, "")
    spec = load_operation(path, "hang").spec
    assert spec.stalled_after == 900
    (tmp_path / "data" / "go").touch()
    (tmp_path / "data" / "end").touch()
    info = start(root, spec, name="default")
    assert wait_for_end(root, info.id, timeout=60).status == "completed"
    (definition,) = alert_definitions(info.paths.meta_dir)
    assert (definition["name"], definition["window"]) == ("stalled", 900)


@pytest.mark.parametrize("line", ['stalled_after = "soon"', "stalled_after = -5",
                                  "stalled_after = nan", "stalled_after = true"])
def test_a_bad_toml_setting_names_its_line(tmp_path, line):
    path = project(tmp_path, line + "\n")
    with pytest.raises(ProjectError, match=r"runyard.toml:4: .*stalled_after"):
        load_operation(path, "hang")
    path = project(tmp_path, "", top=line + "\n")
    with pytest.raises(ProjectError, match=r"runyard.toml:1: .*stalled_after"):
        load_operation(path, "hang")


def test_the_cli_option(root, tmp_path):
    (tmp_path / "go").touch()
    (tmp_path / "end").touch()
    (tmp_path / "m.py").write_text(textwrap.dedent(MODULE))
    result = subprocess.run([*RUNYARD, "run", "--root", str(root), str(tmp_path / "m.py"),
                             "--instances", str(tmp_path / "go"), "--stalled-after", "7"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (info,) = list_runs(root)
    assert [(d["name"], d["window"]) for d in alert_definitions(info.meta_dir)] == \
        [("stalled", 7)]
    bad = subprocess.run([*RUNYARD, "run", "--root", str(root), str(tmp_path / "m.py"),
                          "--instances", str(tmp_path / "go"), "--stalled-after", "x"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--stalled-after" in bad.stderr


def test_a_flow_step_takes_the_setting_and_refuses_a_bad_one():
    from runyard.engine.flow_graph import FlowError, check_settings

    assert check_settings({"stalled_after": 60}, "step x") == {"stalled_after": 60.0}
    assert check_settings({"stalled_after": False}, "step x") == {"stalled_after": None}
    with pytest.raises(FlowError, match="step x: stalled_after must be a positive number"):
        check_settings({"stalled_after": "soon"}, "step x")


async def test_the_dashboard_rings_and_marks_a_stalled_run(app_root):
    from test_app import SIZE, until

    from runyard.app.dashboard import RunyardApp

    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="hung", stalled_after=0.5)
    run.log_metrics({"loss": 1.0})
    app = RunyardApp(app_root)
    rings = []
    app.bell = lambda: rings.append(1)
    try:
        async with app.run_test(size=SIZE) as pilot:
            # this test's code now logs nothing: its writer thread sees the silence
            assert await until(pilot, lambda: any("'stalled' is critical" in str(n.message)
                                                  for n in app._notifications), 20)
            assert app.snapshot.cells[run.id].critical == ["stalled"]  # the AL column
            assert rings == [1]
    finally:
        run.close()


def test_a_stalled_run_that_ends_is_stalled_no_more(env_root, root, tmp_path):
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(name="ends-stalled", stalled_after=0.3)
    meta = env_root / f"{run.id}.meta"
    wait_until(lambda: stalled_states(meta))
    run.close()
    assert [s for s, _ in stalled_states(meta)] == ["critical", "ok"]
    # an engine run closed while stalled: its supervisor says ok before the exit record
    path = project(tmp_path, "stalled_after = 0.3\n")
    info = start(root, load_operation(path, "hang").spec, name="closed-stalled")
    wait_until(lambda: stalled_states(info.meta_dir), timeout=60)
    close(root, info.id, wait=60)
    assert [s for s, _ in stalled_states(info.meta_dir)] == ["critical", "ok"]


REPORTER = """
import sys, time
from runyard.engine import Run

with Run() as run:
    run.config(disable_resources_metrics=True)
    run.init(name="reporter", stalled_after=0.4)
    print(run.id, flush=True)
    for n in range(100):                # 2 s of progress reports and nothing else
        run.log_progress(n / 100)
        time.sleep(0.02)
"""

MODULE_REPORTER = """
import time
from runyard.engine import progress

def run(instance, save, state):
    for n in range(100):                # 2 s of progress reports and nothing else
        progress(n / 100)
        time.sleep(0.02)
"""


def test_progress_reports_are_a_sign_of_life(env_root, root, tmp_path):
    proc, run_id = child(tmp_path, REPORTER)
    assert proc.wait(60) == 0
    assert stalled_states(env_root / f"{run_id}.meta") == []
    (tmp_path / "r.py").write_text(textwrap.dedent(MODULE_REPORTER))
    (tmp_path / "a.txt").write_text("a")
    info = start(root, RunSpec(kind="module", module=str(tmp_path / "r.py"),
                               instances=[str(tmp_path / "a.txt")], stalled_after=0.6),
                 name="module-reporter")
    assert wait_for_end(root, info.id, timeout=60).status == "completed"
    assert stalled_states(info.meta_dir) == []
