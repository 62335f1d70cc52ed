"""Flows (reference 003): every stage, every error, overrides and extensions, the
same results on the local engine and on a real Dask cluster, SIGKILL and resume,
idle suspension, and results read back from a fresh process."""

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import psutil
import pytest

from runyard.engine import list_runs, load_run
from runyard.engine.control import pause, resume, wait_for_end
from runyard.engine.errors import RunyardError
from runyard.engine.flows import Dask, FlowError, Local, flow, op, ref

from conftest import wait_until

WORK = """
    import os, time
    from runyard.engine import current_run, params

    def note(text):
        with open(os.path.join(LOGS, "exec.log"), "a") as f:
            f.write(text + "\\n")

    def run(instance, save, state):
        p = params()
        name = os.path.basename(instance).split(".")[0]
        note(f"{p['tag']} {name} {state or '-'}")
        text = open(instance).read()
        for i in range(int(state or 0), p.get("steps", 3)):
            time.sleep(p.get("delay", 0))
            current_run().log_metrics({"i": i})
            save(str(i + 1))
        with open(f"{name}.out", "w") as f:
            f.write(p["tag"] + ":" + text)

    def done():
        note(f"{params()['tag']} done")
"""

PIPELINE = """
    from pathlib import Path
    from runyard.engine.flows import flow, op

    HERE = Path(__file__).parent

    @flow
    def two_steps():
        first = op(HERE / "work.py", instances=[str(HERE / "data" / "*.txt")], alias="first",
                   workers=2, params={"tag": "A"})
        return op(HERE / "work.py", first.outputs("*.out"), alias="second",
                  params={"tag": "B"})
"""


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "logs").mkdir()
    for name in "abc":
        (folder / "data" / f"{name}.txt").write_text(f"text of {name}")
    (folder / "work.py").write_text(textwrap.dedent(WORK).replace("LOGS",
                                                                  repr(str(folder / "logs"))))
    (folder / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    return folder


@pytest.fixture(autouse=True)
def no_cluster_left(root):
    """A Dask task's cluster keeper outlives a failed test: stop it at the end."""
    yield
    for record in (root / ".runyard" / "flows").glob("*/cluster.json"):
        with contextlib.suppress(ValueError, OSError, KeyError, psutil.NoSuchProcess):
            keeper = psutil.Process(json.loads(record.read_text())["lock"]["pid"])
            keeper.terminate()
            keeper.wait(30)


def load_pipeline(project: Path):
    spec = importlib.util.spec_from_file_location(f"pipeline_{uuid.uuid4().hex}",
                                                  project / "pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exec_log(project: Path) -> list[str]:
    path = project / "logs" / "exec.log"
    return path.read_text().splitlines() if path.exists() else []


def outputs(results) -> dict:
    """Per returned step: its output files' names and contents."""
    return {r.alias: {p.name: p.read_text() for p in r.outputs} for r in results}


def flow_steps(root: Path, run_id: str) -> dict:
    return load_run(root, run_id).attrs["flow"]["steps"]


def test_every_stage_of_the_lifecycle(root, project):
    task = load_pipeline(project).two_steps()
    assert task.get_stage() == "defined"
    for verb in ("prepare", "run", "stop", "results"):
        with pytest.raises(FlowError, match="attach it to a platform"):
            getattr(task, verb)()
    local = Local(task, root=root, idle_timeout=300)
    assert local.get_stage() == "interpreted"
    with pytest.raises(FlowError, match="not prepared: call prepare"):
        local.run()
    with pytest.raises(FlowError, match="never prepared"):
        local.stop()
    with pytest.raises(FlowError, match="has not run yet"):
        local.results()
    assert not root.exists()  # nothing written

    task_id = local.prepare()
    assert local.get_stage() == "prepared"
    assert Local(load_pipeline(project).two_steps(), root=root).prepare() == task_id
    assert [p.name for p in (root / ".runyard" / "flows").iterdir()] == [task_id]
    recorded = json.loads((root / ".runyard" / "flows" / task_id / "task.json").read_text())
    assert [s["alias"] for s in recorded["graph"]["steps"]] == ["first", "second"]

    run_id = local.run(config_extensions={"first": {"params": {"delay": 0.3}}},
                       detached=True)
    assert local.get_stage() == "running"
    assert wait_for_end(root, run_id, 60).status == "completed"
    assert local.get_stage() == "prepared"

    local.stop()
    assert local.get_stage() == "stopped"
    with pytest.raises(FlowError, match=r"is stopped .*prepare\(\) it again"):
        local.run()
    local.prepare()
    again = local.run()  # a prepared task runs many times
    assert again != run_id and local.status(again) == "completed"
    state = json.loads((root / ".runyard" / "flows" / task_id / "state.json").read_text())
    assert state["runs"] == [run_id, again]
    assert [r.alias for r in local.results()] == ["second"]  # the latest run's


def test_an_idle_task_is_suspended(root, project):
    local = Local(load_pipeline(project).two_steps(), root=root, idle_timeout=1)
    local.prepare()
    assert local.get_stage() == "prepared"
    time.sleep(1.3)
    assert local.get_stage() == "suspended"
    state = json.loads((local.folder / "state.json").read_text())
    assert state["stage"] == "suspended" and state["reason"].startswith("idle for")
    with pytest.raises(FlowError, match="is suspended \\(idle for"):
        local.run()
    local.prepare()
    assert local.get_stage() == "prepared"


def test_tracing_and_preparing_errors(root, project, tmp_path):
    work = project / "work.py"
    with pytest.raises(FlowError, match="inside a @flow function"):
        op(work)

    @flow
    def cycle():
        a = op(work, ref("b"), alias="a")
        op(work, a, alias="b")

    with pytest.raises(FlowError, match="cycle: a -> b -> a"):
        Local(cycle, root=root).prepare()

    @flow
    def unknown():
        op(work, ref("nosuch"), alias="a")

    with pytest.raises(FlowError, match="unknown step alias 'nosuch'"):
        Local(unknown, root=root).prepare()

    @flow
    def missing():
        op(tmp_path / "nope.py", instances=["x"])

    with pytest.raises(FlowError, match=r"nope\.py does not exist"):
        Local(missing, root=root).prepare()

    broken = tmp_path / "broken.py"
    broken.write_text("def run(instance, save, state):\n    return (\n")

    @flow
    def syntax():
        op(broken, instances=["x"])

    with pytest.raises(FlowError, match=r"broken\.py:2"):
        Local(syntax, root=root).prepare()

    @flow
    def twice():
        op(work, alias="same")
        op(work, alias="same")

    with pytest.raises(FlowError, match="two steps have the alias 'same'"):
        twice()

    @flow
    def newline():  # the pattern's '$' let an alias end in a newline
        op(work, alias="step\n")

    with pytest.raises(FlowError, match="is not a valid step alias"):
        newline()

    @flow
    def bad_setting():
        op(work, wrokers=2)

    with pytest.raises(FlowError, match="unknown setting 'wrokers'"):
        bad_setting()

    @flow
    def nested():
        twice()

    with pytest.raises(FlowError, match="flows do not nest"):
        nested()

    with pytest.raises(FlowError, match="takes a flow"):
        Local("not a flow", root=root)
    assert not root.exists()  # nothing was written by any of it


def test_run_errors_leave_nothing_started(root, project):
    local = Local(load_pipeline(project).two_steps(), root=root)
    local.prepare()
    with pytest.raises(FlowError, match="overrides name unknown step alias 'third'"):
        local.run(overrides={"third": ["x.txt"]})
    with pytest.raises(FlowError, match="config_extensions name unknown step alias"):
        local.run(config_extensions={"thrid": {"workers": 2}})
    with pytest.raises(FlowError, match="unknown setting 'wrokers'"):
        local.run(config_extensions={"first": {"wrokers": 2}})
    with pytest.raises(FlowError, match="workers must be a positive integer, got 0"):
        local.run(config_extensions={"first": {"workers": 0}})
    with pytest.raises(FlowError, match="give files or globs"):
        local.run(overrides={"first": 3})
    assert list_runs(root) == []

    other = Local(load_pipeline(project).two_steps(), root=root)
    other.task.steps["second"].settings["workers"] = 3  # another task (content differs)
    other_id = other.prepare()
    assert other_id != local.task_id
    run_id = other.run()
    with pytest.raises(FlowError, match="is not a run of this flow task"):
        local.run(run_id=run_id)
    with pytest.raises(FlowError, match="keeps its inputs"):
        other.run(run_id=run_id, overrides={"first": ["x"]})


def test_a_module_changed_after_prepare_fails_its_step(root, project):
    local = Local(load_pipeline(project).two_steps(), root=root)
    local.prepare()
    (project / "work.py").write_text((project / "work.py").read_text() + "\n# changed\n")
    run_id = local.run()
    info = load_run(root, run_id)
    assert info.status == "failed"
    assert "changed since the flow was prepared" in info.attrs["exit"]["error"]
    assert flow_steps(root, run_id)["second"]["status"] == "pending"  # never started


def test_overrides_and_config_extensions_change_what_runs(root, project):
    local = Local(load_pipeline(project).two_steps(), root=root)
    local.prepare()
    plain = outputs(local.results(local.run()))
    assert plain == {"second": {f"{n}.out": f"B:A:text of {n}" for n in "abc"}}

    run_id = local.run(overrides={"first": [str(project / "data" / "b.txt")]},
                       config_extensions={"second": {"params": {"tag": "C", "steps": 1},
                                                     "workers": 2, "tags": ["x"]}})
    [result] = local.results(run_id)
    assert outputs([result]) == {"second": {"b.out": "C:A:text of b"}}
    assert result.metrics["i"]["count"] == 1  # steps=1 reached the module
    assert result.values("i") == [0]
    second = load_run(root, result.run_id)
    spec = json.loads((second.meta_dir / "proc" / "spec.json").read_text())
    assert spec["workers"] == 2 and spec["params"] == {"tag": "C", "steps": 1}
    assert second.attrs["metadata"]["params.tag"] == "C" and "x" in second.tags
    first = load_run(root, flow_steps(root, run_id)["first"]["run"])
    assert first.attrs["progress"]["total"] == 1  # one instance, not three


def test_independent_steps_run_side_by_side(root, project):
    work = project / "work.py"
    data = str(project / "data" / "a.txt")

    @flow
    def fan_out():
        left = op(work, instances=[data], alias="left", params={"tag": "L", "delay": 0.4})
        right = op(work, instances=[data], alias="right", params={"tag": "R", "delay": 0.4})
        return op(work, left.outputs(), right.outputs(), alias="join", params={"tag": "J"})

    local = Local(fan_out, root=root)
    local.prepare()
    run_id = local.run()
    steps = flow_steps(root, run_id)
    assert {a: s["status"] for a, s in steps.items()} == \
        dict.fromkeys(("left", "right", "join"), "completed")
    runs = {a: load_run(root, s["run"]).attrs for a, s in steps.items()}
    assert runs["left"]["started"] < runs["right"]["ended"]
    assert runs["right"]["started"] < runs["left"]["ended"]
    for side in ("left", "right"):
        assert runs["join"]["started"] >= runs[side]["ended"]
    [join] = local.results(run_id)
    assert len(join.outputs) == 1  # a.out from both, the same name: one file


def kill_tree(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.NoSuchProcess):
        parent = psutil.Process(pid)
        victims = [parent, *parent.children(recursive=True)]
        for proc in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        psutil.wait_procs(victims, timeout=10)
        return victims
    return []


def test_sigkill_then_resume_redoes_no_finished_step(root, project):
    local = Local(load_pipeline(project).two_steps(), root=root)
    local.prepare()
    run_id = local.run(config_extensions={"second": {"params": {"delay": 0.3,
                                                                "steps": 6}}},
                       detached=True)
    second_id = wait_until(lambda: flow_steps(root, run_id)["second"]["run"], 60)
    first_id = flow_steps(root, run_id)["first"]["run"]
    # some of the second step's work is saved, not all of it
    wait_until(lambda: any(line.startswith("B ") for line in exec_log(project)), 30)
    time.sleep(0.8)
    flow_pid = load_run(root, run_id).attrs["lock"]["pid"]
    second_pid = load_run(root, second_id).attrs["lock"]["pid"]
    kill_tree(flow_pid)
    kill_tree(second_pid)
    assert load_run(root, run_id).status == "lost"
    assert load_run(root, second_id).status == "lost"
    before = exec_log(project)

    assert local.run(run_id=run_id) == run_id  # resumes it, and waits
    info = load_run(root, run_id)
    assert info.status == "completed" and info.attrs["attempt"] == 2
    assert flow_steps(root, run_id)["first"]["run"] == first_id
    assert flow_steps(root, run_id)["second"]["run"] == second_id
    log = exec_log(project)
    first_lines = [line for line in log if line.startswith("A ")]
    assert sorted(first_lines) == ["A a -", "A b -", "A c -", "A done"]  # none redone
    assert log.count("B done") == 1
    resumed = [line for line in log[len(before):] if line.startswith("B ")]
    assert resumed, "the second step should have had work left"
    assert all(not line.endswith(" -") for line in resumed if line != "B done"
               and line.split()[1] in {b.split()[1] for b in before if b.startswith("B ")})
    assert outputs(local.results(run_id)) == \
        {"second": {f"{n}.out": f"B:A:text of {n}" for n in "abc"}}


def test_stop_closes_gracefully_and_pause_reaches_the_steps(root, project):
    local = Local(load_pipeline(project).two_steps(), root=root)
    local.prepare()
    run_id = local.run(config_extensions={"first": {"params": {"delay": 0.3, "steps": 8}}},
                       detached=True)
    first_id = wait_until(lambda: flow_steps(root, run_id)["first"]["run"], 60)
    wait_until(lambda: load_run(root, first_id).status == "running")
    pause(root, run_id)
    wait_until(lambda: load_run(root, first_id).status == "paused", 10)
    assert load_run(root, run_id).status == "paused"
    resume(root, run_id)
    wait_until(lambda: load_run(root, first_id).status == "running", 10)

    local.stop()
    assert local.get_stage() == "stopped"
    flow_run, step = load_run(root, run_id), load_run(root, first_id)
    assert flow_run.status == "terminated" and step.status == "terminated"
    assert step.attrs["exit"]["error"] == "closed"  # asked to close, not killed
    local.prepare()
    local.run(run_id=run_id)
    assert local.status(run_id) == "completed"
    assert exec_log(project).count("A done") == 1


def test_results_read_back_from_a_fresh_process(root, project):
    local = Local(load_pipeline(project).two_steps(), root=root)
    local.prepare()
    run_id = local.run()
    here = [(r.alias, r.status, [str(p) for p in r.outputs], r.metrics["i"]["count"],
             str(r.path)) for r in local.results(run_id)]
    code = textwrap.dedent(f"""
        import importlib.util, json
        from runyard.engine.flows import Local
        spec = importlib.util.spec_from_file_location("p", {str(project / "pipeline.py")!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        task = Local(module.two_steps(), root={str(root)!r})
        print(json.dumps([(r.alias, r.status, [str(p) for p in r.outputs],
                           r.metrics["i"]["count"], str(r.path))
                          for r in task.results({run_id!r})]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert [tuple(x) for x in json.loads(out)] == here
    assert here[0][1] == "completed" and len(here[0][2]) == 3 and here[0][3] == 9


def test_the_same_flow_on_a_real_dask_cluster(root, project):
    pipeline = load_pipeline(project)
    local = Local(pipeline.two_steps(), root=root)
    local.prepare()
    on_local = outputs(local.results(local.run()))

    # the default idle timeout: prepare() waits for the cluster however long it takes to
    # start, and the task cannot be suspended before it is used
    dask = Dask(pipeline.two_steps(), root=root, workers=2)
    task_id = dask.prepare()
    assert task_id != local.task_id  # another platform, another task
    cluster = json.loads((dask.folder / "cluster.json").read_text())
    assert cluster["address"].startswith("tcp://127.0.0.1:")
    run_id = dask.run()
    assert dask.status(run_id) == "completed"
    assert outputs(dask.results(run_id)) == on_local
    step = load_run(root, flow_steps(root, run_id)["first"]["run"])
    spec = json.loads((step.meta_dir / "proc" / "spec.json").read_text())
    assert spec["executor"] == "dask" and spec["scheduler"] == cluster["address"]

    # idle for longer than its timeout: the keeper suspends the task by itself. Preparing
    # again with the cluster up only shortens the timeout.
    assert Dask(pipeline.two_steps(), root=root, workers=2, idle_timeout=3).prepare() == \
        task_id
    state_file = dask.folder / "state.json"
    wait_until(lambda: json.loads(state_file.read_text())["stage"] == "suspended", 30, 0.2)
    keeper = cluster["lock"]["pid"]
    wait_until(lambda: not psutil.pid_exists(keeper) or
               psutil.Process(keeper).status() == psutil.STATUS_ZOMBIE, 30)
    assert not (dask.folder / "cluster.json").exists()
    assert dask.get_stage() == "suspended"
    with pytest.raises(FlowError, match="suspended"):
        dask.run()


def test_a_dask_idle_timeout_shorter_than_the_cluster_start(root, project):
    """prepare() blocked 121 s and raised "did not start" while the keeper had its
    cluster up and released it at once for idling: the idle clock ran from before the
    cluster started. It starts once the cluster is up and handed over, and a cluster
    released before prepare() saw it is started again, never waited for."""
    from runyard.engine.flows import CLUSTER_START_TIMEOUT

    short = Dask(load_pipeline(project).two_steps(), root=root, workers=1, idle_timeout=0.5)
    began = time.monotonic()
    short.prepare()  # a worker process takes longer than half a second to start
    assert time.monotonic() - began < CLUSTER_START_TIMEOUT
    log = short.folder / "cluster.log"
    assert log.read_text().count("Cluster up at tcp://127.0.0.1:") == 1
    # idle from the hand-over on: suspended by its keeper, the cluster let go
    state_file = short.folder / "state.json"
    wait_until(lambda: json.loads(state_file.read_text())["stage"] == "suspended", 30, 0.2)
    wait_until(lambda: "Cluster released: idle for" in log.read_text(), 30, 0.2)
    assert not (short.folder / "cluster.json").exists()
    # prepared again: a new cluster at once, and with a longer timeout it runs the flow
    short.prepare()
    assert log.read_text().count("Cluster up at") == 2
    patient = Dask(load_pipeline(project).two_steps(), root=root, workers=1,
                   idle_timeout=600)
    assert patient.prepare() == short.task_id
    run_id = patient.run()
    assert patient.status(run_id) == "completed"
    patient.stop()


def test_two_prepares_of_a_cold_dask_task_start_one_cluster(root, project):
    """Two processes preparing the same task at once, with no cluster up: each saw none
    and started a keeper, so two clusters raced for cluster.json. One keeper keeps the
    task's cluster; the other prepare() waits for it and hands it over too."""
    script = project / "prepare_it.py"
    script.write_text(textwrap.dedent(f"""
        import importlib.util, sys
        from runyard.engine.flows import Dask
        spec = importlib.util.spec_from_file_location("pipeline", {str(project / "pipeline.py")!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        task = Dask(module.two_steps(), root={str(root)!r}, workers=1, idle_timeout=600)
        print(task.prepare())
    """))
    both = [subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=project) for _ in range(2)]
    answers = [proc.communicate(timeout=180) for proc in both]
    assert [proc.returncode for proc in both] == [0, 0], answers
    assert answers[0][0] == answers[1][0]  # the same task
    folder = root / ".runyard" / "flows" / answers[0][0].strip()
    log = (folder / "cluster.log").read_text()
    assert log.count("Cluster up at") == 1, log
    keepers = [p for p in psutil.process_iter(["cmdline"])
               if "runyard.engine.flow_cluster" in " ".join(p.info["cmdline"] or ())
               and folder.name in " ".join(p.info["cmdline"] or ())]
    assert len(keepers) == 1


def test_dask_stop_releases_the_cluster(root, project):
    dask = Dask(load_pipeline(project).two_steps(), root=root, workers=1)
    dask.prepare()
    keeper = json.loads((dask.folder / "cluster.json").read_text())["lock"]["pid"]
    workers = psutil.Process(keeper).children(recursive=True)
    assert workers
    dask.stop()
    assert dask.get_stage() == "stopped"
    _gone, alive = psutil.wait_procs([psutil.Process(keeper), *workers], timeout=30)
    assert not alive


def test_the_flow_command(root, project, cli):
    target = f"{project / 'pipeline.py'}:two_steps"
    result = cli("--root", root, "flow", target, "--set", "second.params.tag=Z",
                 "--set", f"first.instances={project / 'data' / 'c.txt'}")
    assert result.code == 0, result.err
    assert "first" in result.out and "completed" in result.out
    [flow_run] = [r for r in list_runs(root) if r.attrs.get("kind") == "flow"]
    [second] = [r for r in list_runs(root) if r.attrs.get("flow", {}).get("alias") == "second"]
    assert (second.paths.run_dir / "c.out").read_text() == "Z:A:text of c"
    assert not (second.paths.run_dir / "a.out").exists()
    shown = cli("--root", root, "show", flow_run.id, "--json").json()
    assert shown["flow"]["steps"]["second"] == {"run": second.id, "status": "completed"}
    assert Local(load_pipeline(project).two_steps(), root=root).get_stage() == "stopped"

    for args, message in [
        (["flow", "nowhere.py:f"], "flow file nowhere.py does not exist"),
        (["flow", f"{project / 'pipeline.py'}:nosuch"], "has no function 'nosuch'"),
        (["flow", f"{project / 'pipeline.py'}:Path"], "is not decorated with @flow"),
        (["flow", "pipeline.py"], "give the flow as FILE.py:FUNCTION"),
        (["flow", target, "--set", "first"], "--set takes ALIAS.KEY=VALUE"),
        (["flow", target, "--set", "third.workers=2"], "unknown step alias 'third'"),
    ]:
        result = cli("--root", root, *args)
        assert result.code == 2, (args, result.out)
        assert message in result.err and len(result.err.strip().splitlines()) == 1


async def test_the_dashboard_groups_a_flow_run_and_opens_its_steps(root, project):
    from runyard.app.dashboard import RunyardApp
    from runyard.app.screens.detail import DetailScreen

    local = Local(load_pipeline(project).two_steps(), root=root)
    local.prepare()
    run_id = local.run()
    steps = flow_steps(root, run_id)
    app = RunyardApp(root)
    async with app.run_test(size=(100, 24)) as pilot:
        while not app.screen.query("RunsTable"):  # composed after the model's first read
            await pilot.pause(0.05)
        table = app.screen.table
        await pilot.pause(0.5)
        lines = [table.render_line(y).text for y in range(3)]
        assert load_run(root, run_id).name in lines[0] and "2/2" in lines[0]
        assert "└ first" in lines[1] and "└ second" in lines[2]
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert isinstance(app.screen, DetailScreen) and app.screen.run_id == run_id
        await pilot.press("down", "enter")  # the steps table: the second step's run
        await pilot.pause(0.5)
        assert app.screen.run_id == steps["second"]["run"]


def test_a_stopped_dask_flow_resumes_on_the_new_cluster(root, project):
    dask = Dask(load_pipeline(project).two_steps(), root=root, workers=2)
    dask.prepare()
    old = json.loads((dask.folder / "cluster.json").read_text())["address"]
    run_id = dask.run(config_extensions={"first": {"params": {"delay": 0.3, "steps": 8}}},
                      detached=True)
    first_id = wait_until(lambda: flow_steps(root, run_id)["first"]["run"], 60)
    wait_until(lambda: any(line.startswith("A ") for line in exec_log(project)), 60)
    dask.stop()  # closes the flow run and releases the cluster
    assert load_run(root, run_id).status == "terminated"
    dask.prepare()  # a new cluster, at a new address
    new = json.loads((dask.folder / "cluster.json").read_text())["address"]
    assert new != old
    dask.run(run_id=run_id)
    assert dask.status(run_id) == "completed"
    spec = json.loads((load_run(root, first_id).meta_dir / "proc" / "spec.json").read_text())
    assert spec["scheduler"] == new
    assert exec_log(project).count("A done") == 1
    dask.stop()


def test_operation_and_command_steps(root, project):
    (project / "count.py").write_text(textwrap.dedent("""
        import json, os, sys
        files = sys.argv[1:]
        assert files == json.loads(os.environ["RUNYARD_INPUTS"])
        words = sum(len(open(p).read().split()) for p in files)
        with open("count.txt", "w") as out:
            out.write(f"{words} {os.environ['RUNYARD_PARAMS']}")
    """))
    (project / "runyard.toml").write_text(textwrap.dedent("""
        # the first step comes from here
        [operations.upper]
        module = "work.py"
        instances = ["data/a.txt", "data/b.txt"]
        tags = ["from-toml"]
        metadata = { source = "toml" }
    """))
    (project / "mixed.py").write_text(textwrap.dedent("""
        from runyard.engine.flows import flow, op

        @flow
        def mixed():
            upper = op("upper", params={"tag": "U"})
            return op("python count.py {inputs}", upper.outputs("*.out"), params={"k": 1})
    """))
    spec = importlib.util.spec_from_file_location("mixed", project / "mixed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    local = Local(module.mixed(), root=root)
    local.prepare()
    [count] = local.results(local.run())
    assert count.alias == "count" and count.status == "completed"
    assert (count.path / "count.txt").read_text() == '6 {"k": 1}'  # "U:text of a" ...
    flow_run = load_run(root, count.run_id).attrs["flow"]["run"]
    upper = load_run(root, flow_steps(root, flow_run)["upper"]["run"])
    assert "from-toml" in upper.tags and upper.attrs["metadata"]["source"] == "toml"

    @flow
    def no_such_operation():
        op("nosuch", project=project / "runyard.toml")

    with pytest.raises(FlowError, match="nosuch"):
        Local(no_such_operation, root=root).prepare()


def test_a_task_record_rewritten_by_someone_else_does_not_choose_what_runs(project, root):
    """task.json lies in the shared root: a group member who swaps the graph in it for
    one of their own modules must not get it run by the task's owner."""
    local = Local(load_pipeline(project).two_steps(), root=root, idle_timeout=300)
    local.prepare()
    evil = project.parent / "evil.py"
    marker = project.parent / "evil-ran"
    evil.write_text(f"def run(instance, save, state):\n    open({str(marker)!r}, 'w')\n")
    record_path = local.folder / "task.json"
    record = json.loads(record_path.read_text())
    for step in record["graph"]["steps"]:
        step["module"] = str(evil)
    record_path.write_text(json.dumps(record))
    run_id = local.run()
    assert load_run(root, run_id).status == "completed"
    assert not marker.exists()


def test_a_damaged_state_record_neither_crashes_nor_reaches_other_runs(project, root):
    from test_app import new_run

    local = Local(load_pipeline(project).two_steps(), root=root, idle_timeout=300)
    local.prepare()
    other = new_run(root, "someone-elses")  # running: held by this test process
    state = local.folder / "state.json"
    data = json.loads(state.read_text())
    state.write_text(json.dumps({**data, "runs": [other.id]}))
    assert local.get_stage() == "prepared"  # the other run does not make it 'running'
    local.stop(wait=5)
    assert load_run(root, other.id).status == "running"  # not closed: not the task's
    stopped = json.loads(state.read_text())
    state.write_text(json.dumps({**stopped, "runs": 5, "last_active": "x"}))
    assert local.get_stage() == "stopped"
    state.unlink()
    os.mkfifo(state)
    with pytest.raises(RunyardError, match="FIFO"):
        local.get_stage()


def test_a_cluster_record_someone_else_wrote_is_not_obeyed(project, root):
    from runyard.engine.flows import cluster_address
    from runyard.engine.procs import process_lock

    victim = subprocess.Popen(["sleep", "120"])  # one of our processes
    try:
        folder = root / ".runyard" / "flows" / "0123456789abcdef"
        folder.mkdir(parents=True)
        record = folder / "cluster.json"
        record.write_text(json.dumps({"address": "tcp://elsewhere:8786", "workers": 1,
                                      "lock": process_lock(victim.pid)}))
        dask = Dask(load_pipeline(project).two_steps(), root=root)
        for owner, mode in ((65534, 0o644), (os.getuid(), 0o664)):  # theirs; group's
            os.chown(record, owner, owner)
            record.chmod(mode)
            assert cluster_address(folder) is None
            dask.release(folder)
            assert victim.poll() is None  # not sent SIGTERM
        os.chown(record, os.getuid(), os.getgid())
        record.chmod(0o644)  # ours alone: obeyed
        assert cluster_address(folder) == "tcp://elsewhere:8786"
        dask.release(folder)
        assert victim.wait(30) == -signal.SIGTERM
    finally:
        victim.kill()
        victim.wait()
