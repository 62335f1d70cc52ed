"""``--on slurm``: a whole run as a Slurm batch job, on a real one-node Slurm
(tests/slurm/up.sh)."""

import contextlib
import importlib.util
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from runyard.engine import list_runs, load_run
from runyard.engine.control import close, pause, resume, start, wait_for_end
from runyard.engine.errors import RunyardError
from runyard.engine.lifecycle import beat
from runyard.engine.meta import update_attrs
from runyard.engine.spec import RunSpec, read_spec
from runyard.engine.work import InstanceBook

from conftest import wait_until

pytestmark = pytest.mark.usefixtures("slurm")

# each unit of work leaves one O_EXCL marker: a unit done twice fails the run
STEPS = """
    import os, time

    def run(instance, save, state):
        name = os.path.basename(instance)
        for step in range(int(state or 0), STEPS):
            time.sleep(DELAY)
            fd = os.open(f"{name}.{step}.done", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, os.environ.get("SLURM_JOB_ID", "-").encode())
            os.close(fd)
            save(str(step + 1))

    def done():
        fd = os.open("done.marker", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.close(fd)
"""


def module(tmp_path: Path, steps: int, delay: float) -> Path:
    path = tmp_path / "steps.py"
    path.write_text(textwrap.dedent(STEPS).replace("STEPS", str(steps))
                    .replace("DELAY", str(delay)))
    return path


def data(tmp_path: Path, count: int) -> list[str]:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    for i in range(count):
        (folder / f"i{i}.txt").write_text(str(i))
    return sorted(str(p) for p in folder.glob("*.txt"))


def squeue(job: str) -> str:
    return subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True,
                          text=True, timeout=30).stdout.strip()


@pytest.fixture
def jobs_cancelled():
    """Jobs a test submitted are cancelled when it ends, whatever happened."""
    submitted: list[str] = []
    yield submitted
    for job in submitted:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(["scancel", job], timeout=30)


def test_a_run_on_slurm_queues_runs_and_completes(root, tmp_path, jobs_cancelled, cli):
    spec = RunSpec(kind="module", module=str(module(tmp_path, 3, 0.05)),
                   instances=data(tmp_path, 2), workers=2, on="slurm",
                   slurm={"time": "00:10:00", "extra": ["--hold"]})
    info = start(root, spec, name="on-slurm")
    job = info.attrs["slurm"]["job"]
    jobs_cancelled.append(job)
    assert info.status == "queued"
    held = load_run(root, info.id)
    assert held.status == "queued" and held.note == "pending: JobHeldUser", held.note
    assert held.summary()["slurm"]["job"] == job
    script = (held.meta_dir / "proc" / "slurm.sh").read_text()
    assert "#SBATCH --time=00:10:00" in script and "#SBATCH --hold" in script
    listed = cli("--root", root, "ls").out
    assert "queued (pending: JobHeldUser)" in listed, listed
    shown = cli("--root", root, "show", "on-slurm").out
    assert f"slurm job:   {job} (pending: JobHeldUser)" in shown, shown
    subprocess.run(["scontrol", "release", job], check=True, timeout=30)
    info = wait_for_end(root, info.id, 120)
    assert info.status == "completed", (info.attrs.get("exit"), info.note)
    slurm = info.attrs["slurm"]
    assert slurm["job"] == job and slurm["node"] == os.uname().nodename.split(".")[0]
    assert isinstance(slurm["ends"], float) and info.attrs["attempt"] == 1
    markers = sorted(p.name for p in info.paths.run_dir.glob("*.done"))
    assert markers == sorted(f"i{i}.txt.{s}.done" for i in range(2) for s in range(3))
    assert {(info.paths.run_dir / m).read_text() for m in markers} == {job}
    assert (info.paths.run_dir / "done.marker").exists()
    shown = cli("--root", root, "show", "on-slurm").out
    assert f"slurm job:   {job} on {slurm['node']}, " in shown, shown


def test_closing_a_queued_run_cancels_its_job(root, tmp_path, jobs_cancelled, cli):
    spec = RunSpec(kind="module", module=str(module(tmp_path, 1, 0)),
                   instances=data(tmp_path, 1), on="slurm", slurm={"extra": ["--hold"]})
    info = start(root, spec, name="cancelled")
    job = info.attrs["slurm"]["job"]
    jobs_cancelled.append(job)
    result = cli("--root", root, "close", "cancelled")
    assert result.code == 0, result.err
    info = load_run(root, info.id)
    assert info.status == "terminated"
    assert info.attrs["exit"]["error"] == f"closed while queued: Slurm job {job} cancelled"
    wait_until(lambda: squeue(job) in ("", "CANCELLED"), 30, 0.2)
    assert not list(info.paths.run_dir.glob("*.done"))


def test_a_job_killed_under_the_run_is_lost_at_once_and_resume_finishes(root, tmp_path,
                                                                         jobs_cancelled):
    spec = RunSpec(kind="module", module=str(module(tmp_path, 40, 0.1)),
                   instances=data(tmp_path, 2), workers=2, on="slurm")
    info = start(root, spec, name="killed")
    jobs_cancelled.append(info.attrs["slurm"]["job"])
    book = InstanceBook(info.paths)
    wait_until(lambda: int(book.read("00000-0").get("state") or 0) >= 3, 120, 0.1)
    supervisor = load_run(root, info.id).attrs["lock"]["pid"]
    os.kill(supervisor, signal.SIGKILL)  # the node fails: nothing gets to write
    info = wait_until(lambda: (i := load_run(root, info.id)).status == "lost" and i, 10, 0.05)
    job = info.attrs["slurm"]["job"]
    wait_until(lambda: squeue(job) in ("", "FAILED", "COMPLETED"), 30, 0.2)
    # seen from another host (its heartbeat still young), Slurm's word makes it lost
    beat(info.paths)
    update_attrs(info.meta_dir, lambda a: a["lock"].update(host="elsewhere"), None)
    elsewhere = wait_until(lambda: (i := load_run(root, info.id)).status == "lost" and i,
                           10, 0.1)  # once the last look at the queue (2 s) is stale
    assert elsewhere.note.startswith(f"Slurm job {job} ended ")
    assert elsewhere.note.endswith("without the run's exit record")
    info = resume(root, info.id)
    assert info.status == "queued"
    jobs_cancelled.append(info.attrs["slurm"]["job"])
    info = wait_for_end(root, info.id, 180)
    assert info.status == "completed", (info.attrs.get("exit"), info.note)
    assert info.attrs["attempt"] == 2
    markers = sorted(p.name for p in info.paths.run_dir.glob("*.done"))
    assert markers == sorted(f"i{i}.txt.{s}.done" for i in range(2) for s in range(40))
    assert (info.paths.run_dir / "done.marker").exists()


def test_scancel_of_a_running_run_ends_it_terminated_and_resume_finishes(root, tmp_path,
                                                                        jobs_cancelled):
    spec = RunSpec(kind="module", module=str(module(tmp_path, 40, 0.1)),
                   instances=data(tmp_path, 1), on="slurm")
    info = start(root, spec, name="scancelled")
    job = info.attrs["slurm"]["job"]
    jobs_cancelled.append(job)
    book = InstanceBook(info.paths)
    wait_until(lambda: int(book.read("00000-0").get("state") or 0) >= 3, 120, 0.1)
    subprocess.run(["scancel", job], check=True, timeout=30)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "terminated"
    assert info.attrs["exit"]["error"] == f"Slurm job {job} was cancelled: resume to continue"
    info = resume(root, info.id)
    jobs_cancelled.append(info.attrs["slurm"]["job"])
    info = wait_for_end(root, info.id, 180)
    assert info.status == "completed", (info.attrs.get("exit"), info.note)
    assert len(list(info.paths.run_dir.glob("*.done"))) == 40


@pytest.mark.slow
def test_a_run_longer_than_its_walltime_requeues_itself_and_completes(root, tmp_path,
                                                                      jobs_cancelled):
    """A one-minute time limit and 45 s of work: Slurm's SIGTERM comes 32 s before the
    limit, or up to a minute sooner, so the work needs at least two allocations. Each
    attempt saves, submits the next itself, and the last one completes: every unit
    once, done() once, no person involved."""
    spec = RunSpec(kind="module", module=str(module(tmp_path, 45, 1.0)),
                   instances=data(tmp_path, 1), on="slurm", grace=2, requeue=8,
                   slurm={"time": "1"})
    info = start(root, spec, name="walltime")
    jobs_cancelled.append(info.attrs["slurm"]["job"])

    def ended():
        now = load_run(root, info.id)
        jobs_cancelled.append(now.attrs["slurm"]["job"])
        return now.status in ("completed", "failed", "terminated", "lost") and now

    info = wait_until(ended, 600, 1.0)
    assert info.status == "completed", (info.attrs.get("exit"), info.note)
    markers = sorted(info.paths.run_dir.glob("*.done"))
    assert sorted(p.name for p in markers) == sorted(f"i0.txt.{s}.done" for s in range(45))
    jobs = {p.read_text() for p in markers}
    assert len(jobs) >= 2, jobs  # the work went on in another allocation
    assert info.attrs["attempt"] >= 2 and info.attrs["slurm"]["requeues"] >= 1
    assert (info.paths.run_dir / "done.marker").exists()
    log = (info.meta_dir / "log" / "supervisor.log").read_text()
    assert "Received Slurm's walltime signal: closing" in log
    assert "Walltime: attempt 2 queued as Slurm job" in log


def test_the_run_command_queues_a_held_job_and_refuses_bad_settings(root, tmp_path, cli,
                                                                    jobs_cancelled):
    work, inputs = module(tmp_path, 1, 0), data(tmp_path, 1)
    bad = cli("--root", root, "run", str(work), "--instances", *inputs, "--on", "slurm",
              "--slurm", "partition=debug;touch /tmp/x", "--detach")
    assert bad.code == 2 and "Slurm setting partition must be one word" in bad.err, bad.err
    assert not root.exists() or list_runs(root) == []  # refused before anything was made
    result = cli("--root", root, "run", str(work), "--instances", *inputs, "--on", "slurm",
                 "--slurm", "time=00:05:00,cpus-per-task=1", "--sbatch=--hold",
                 "--requeue", "2", "--name", "held", "--detach")
    assert result.code == 0, result.err
    info = load_run(root, result.out.split()[0])
    jobs_cancelled.append(info.attrs["slurm"]["job"])
    assert info.status == "queued"
    script = (info.meta_dir / "proc" / "slurm.sh").read_text()
    for line in ("#SBATCH --time=00:05:00", "#SBATCH --cpus-per-task=1", "#SBATCH --hold",
                 "#SBATCH --signal=B:TERM@40"):
        assert line in script
    assert cli("--root", root, "close", "held").code == 0
    assert load_run(root, info.id).status == "terminated"


def test_runyard_toml_slurm_defaults_and_an_operation_on_slurm(root, tmp_path, cli,
                                                               monkeypatch, jobs_cancelled):
    monkeypatch.chdir(tmp_path)
    module(tmp_path, 1, 0)
    data(tmp_path, 1)
    (tmp_path / "runyard.toml").write_text(textwrap.dedent(f"""
        root = "{root}"

        [slurm]                      # every run on Slurm
        partition = "debug"
        extra = ["--hold"]
        requeue = 1

        [operations.sim]
        module = "steps.py"
        instances = ["data/*.txt"]
        on = "slurm"
        requeue = 4
        slurm = {{ time = "00:07:00" }}
    """))
    result = cli("run", "sim", "--detach")
    assert result.code == 0, result.err
    info = load_run(root, result.out.split()[0])
    jobs_cancelled.append(info.attrs["slurm"]["job"])
    assert info.status == "queued"
    script = (info.meta_dir / "proc" / "slurm.sh").read_text()
    for line in ("#SBATCH --partition=debug", "#SBATCH --time=00:07:00", "#SBATCH --hold"):
        assert line in script
    spec = read_spec(info.meta_dir)
    assert (spec.on, spec.requeue) == ("slurm", 4)
    # a module run with --on slurm takes the [slurm] defaults too, options over them
    result = cli("run", "steps.py", "--instances", "data/i0.txt", "--on", "slurm",
                 "--slurm", "partition=debug,time=2", "--detach")
    assert result.code == 0, result.err
    second = load_run(root, result.out.split()[0])
    jobs_cancelled.append(second.attrs["slurm"]["job"])
    spec = read_spec(second.meta_dir)
    assert spec.slurm == {"partition": "debug", "extra": ["--hold"], "time": "2"}
    assert spec.requeue == 1
    (tmp_path / "runyard.toml").write_text(textwrap.dedent("""
        [slurm]
        partition = "debug; rm -rf ~"
    """))
    bad = cli("--root", root, "run", "steps.py", "--instances", "data/i0.txt", "--on",
              "slurm", "--detach")
    assert bad.code == 1  # a project file that cannot be used, as for any other key
    assert "runyard.toml:3: Slurm setting partition must be one word" in bad.err, bad.err
    for run in (info, second):
        assert cli("--root", root, "close", run.id).code == 0


def test_doctor_says_whether_slurm_answers_here(cli, monkeypatch, tmp_path):
    line = next(x for x in cli("--root", tmp_path, "doctor").out.splitlines()
                if x.startswith("slurm:"))
    assert line.startswith("slurm:        sbatch and squeue answer; partitions: debug* (")
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without Slurm's commands
    line = next(x for x in cli("--root", tmp_path, "doctor").out.splitlines()
                if x.startswith("slurm:"))
    assert line == "slurm:        not here (sbatch, squeue, sinfo not found): --on slurm " \
        "cannot submit"


def test_the_walltime_alert_fires_when_the_jobs_time_left_runs_low(root, tmp_path, cli,
                                                                    jobs_cancelled):
    """Three minutes of time limit and an alert at 175 s left: critical within seconds
    of the start, long before Slurm's walltime signal (at least 88 s in)."""
    spec = RunSpec(kind="module", module=str(module(tmp_path, 600, 0.1)),
                   instances=data(tmp_path, 1), on="slurm", slurm={"time": "3"},
                   walltime_alert=175)
    info = start(root, spec, name="short")
    jobs_cancelled.append(info.attrs["slurm"]["job"])

    def alert_state():
        alerts = cli("--root", root, "show", info.id, "--json").json()["alerts"]
        return next((a["state"] for a in alerts if a["name"] == "walltime"), None)

    assert alert_state() == "ok"
    wait_until(lambda: alert_state() == "critical", 60, 0.5)
    assert "alert walltime: critical" in cli("--root", root, "show", info.id).out
    close_result = cli("--root", root, "close", info.id, "--wait", "60")
    assert close_result.code == 0, close_result.err
    assert alert_state() == "ok"  # the run ended: nothing to worry about any more
    bad = cli("--root", root, "run", str(tmp_path / "steps.py"), "--instances",
              *data(tmp_path, 1), "--walltime-alert", "60", "--detach")
    assert bad.code == 2 and "the walltime alert is for a run on Slurm" in bad.err


def test_a_flow_step_on_slurm(root, tmp_path, jobs_cancelled):
    from runyard.engine.flows import Local

    module(tmp_path, 2, 0)
    data(tmp_path, 2)
    (tmp_path / "pipeline.py").write_text(textwrap.dedent("""
        from pathlib import Path
        from runyard.engine.flows import flow, op

        HERE = Path(__file__).parent

        @flow
        def on_slurm():
            first = op(HERE / "steps.py", instances=[str(HERE / "data" / "*.txt")],
                       alias="first", on="slurm", slurm={"time": "00:05:00"})
            return op(HERE / "steps.py", instances=[str(HERE / "data" / "i0.txt")],
                      alias="second", after=[first])
    """))
    spec = importlib.util.spec_from_file_location("pipeline_slurm", tmp_path / "pipeline.py")
    pipeline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pipeline)
    task = Local(pipeline.on_slurm(), root=root)
    task.prepare()
    run_id = task.run()
    assert task.status(run_id) == "completed"
    steps = {info.attrs["flow"]["alias"]: info for info in list_runs(root)
             if (info.attrs.get("flow") or {}).get("alias")}
    first, second = steps["first"], steps["second"]
    jobs_cancelled.append(first.attrs["slurm"]["job"])
    assert first.status == "completed" and first.attrs["slurm"]["node"]
    assert read_spec(first.meta_dir).slurm == {"time": "00:05:00"}
    assert "slurm" not in second.attrs  # the other step ran here
    with pytest.raises(RunyardError, match="on must be here or slurm"):
        _bad_flow(tmp_path, root)


def _bad_flow(tmp_path: Path, root: Path) -> None:
    from runyard.engine.flows import Local, flow, op

    @flow
    def bad():
        return op(tmp_path / "steps.py", instances=[str(tmp_path / "data" / "i0.txt")],
                  on="moon")

    Local(bad(), root=root).prepare()


def test_pause_and_resume_of_a_run_on_slurm_stop_and_continue_its_cpu(root, tmp_path,
                                                                       jobs_cancelled):
    spin = tmp_path / "spin.py"
    spin.write_text(textwrap.dedent("""
        import time
        def run(instance, save, state):
            end = time.time() + 300
            while time.time() < end:
                pass          # all CPU, no save(): only a signal can stop it
    """))
    info = start(root, RunSpec(kind="module", module=str(spin), instances=data(tmp_path, 1),
                               on="slurm", grace=1), name="spinner")
    jobs_cancelled.append(info.attrs["slurm"]["job"])
    info = wait_until(lambda: (i := load_run(root, info.id)).status == "running" and i, 60)
    supervisor = psutil.Process(info.attrs["lock"]["pid"])
    worker = wait_until(lambda: next(iter(supervisor.children()), None), 60)

    def cpu_over(seconds: float) -> float:
        before = sum(worker.cpu_times()[:2])
        time.sleep(seconds)  # a measurement window, not a wait for an event
        return sum(worker.cpu_times()[:2]) - before

    assert cpu_over(1.0) > 0.05  # a share of a core, even on a loaded machine
    pause(root, info.id)
    wait_until(lambda: worker.status() == psutil.STATUS_STOPPED, 30)
    assert load_run(root, info.id).status == "paused"
    assert cpu_over(0.5) == 0
    resume(root, info.id)
    wait_until(lambda: worker.status() != psutil.STATUS_STOPPED, 30)
    assert cpu_over(1.0) > 0.05  # a share of a core, even on a loaded machine
    close(root, info.id)
    assert wait_for_end(root, info.id, 60).status == "terminated"


@pytest.mark.parametrize("executor", ["local", "slurm"])
def test_a_root_whose_path_has_a_space_is_refused_for_slurm_in_one_line(tmp_path, cli,
                                                                        executor):
    """Its paths go into #SBATCH lines, which sbatch splits at white space."""
    root = tmp_path / "my runs"
    work, inputs = module(tmp_path, 1, 0), data(tmp_path, 1)
    on = ["--on", "slurm"] if executor == "local" else ["--executor", "slurm"]
    result = cli("--root", root, "run", str(work), "--instances", *inputs, *on, "--detach")
    if executor == "local":  # refused at submission: nothing of the run is left
        assert result.code == 1 and "has a space or a control character" in result.err
        assert list_runs(root) == []
    else:  # its supervisor (here) cannot make the worker jobs: the run fails, saying why
        run_id = result.out.split()[0]
        info = wait_for_end(root, run_id, 60)
        assert info.status == "failed"
        assert "has a space or a control character" in info.attrs["exit"]["error"]
