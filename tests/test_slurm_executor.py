"""``--executor slurm``: a run's instances spread over Slurm jobs through
dask-jobqueue's SLURMCluster, which the supervisor owns (issue 14, item 4). Each
test runs on the real one-node Slurm of tests/slurm/up.sh (the ``slurm`` fixture).

Every unit of work writes an O_EXCL marker holding the Slurm job it ran in, so a
unit run twice fails its instance, and the markers say over how many jobs the run
spread."""

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from runyard.engine import load_run
from runyard.engine.control import close, resume, wait_for_end
from runyard.engine.work import InstanceBook

from conftest import wait_until

MODULE = """
    import os, time

    MARKS = MARKS_DIR

    def mark(name):
        fd = os.open(os.path.join(MARKS, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        os.write(fd, os.environ.get("SLURM_JOB_ID", "none").encode())
        os.close(fd)

    def run(instance, save, state):
        with open(os.path.join(MARKS, "running", os.path.basename(instance)), "w") as f:
            f.write(os.environ.get("SLURM_JOB_ID", "none"))  # where it runs now
        for step in range(int(state or 0), STEPS):
            time.sleep(DELAY)
            save(str(step + 1))
        mark(os.path.basename(instance))

    def done():
        mark("done()")
"""


def work(tmp_path: Path, count: int, steps: int, delay: float) -> tuple[Path, list[str], Path]:
    """The run module, its instance files and the folder of its markers."""
    marks = tmp_path / "marks"
    (marks / "running").mkdir(parents=True)
    module = tmp_path / "work.py"
    module.write_text(textwrap.dedent(MODULE).replace("MARKS_DIR", repr(str(marks)))
                      .replace("STEPS", str(steps)).replace("DELAY", str(delay)))
    data = tmp_path / "data"
    data.mkdir()
    for i in range(count):
        (data / f"i{i:02d}.txt").write_text(f"instance {i}")
    return module, sorted(str(p) for p in data.glob("*.txt")), marks


def marked(marks: Path) -> dict[str, str]:
    """Finished unit -> the Slurm job it ran in."""
    return {p.name: p.read_text() for p in marks.iterdir() if p.is_file()}


def worker_jobs(run_id: str, states: str | None = None) -> list[str]:
    """The run's worker jobs in these states (none: any state before the end,
    completing ones too)."""
    done = subprocess.run(["squeue", "-h", "-n", f"runyard-w-{run_id}", "-o", "%i %T",
                           *(["-t", states] if states else [])],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.split("\n")[:-1]


def assert_jobs_gone(run_id: str) -> None:
    """The run ended: its cluster was closed, so none of its jobs waits or runs (a
    cancelled job may show as completing for a moment, then not at all)."""
    assert worker_jobs(run_id, "pending,running") == []
    wait_until(lambda: worker_jobs(run_id) == [], timeout=60, every=0.5)


def start_cli(cli, root: Path, module: Path, data: list[str], workers: int) -> str:
    result = cli("--root", root, "run", module, "--instances", *data, "--workers", workers,
                 "--executor", "slurm", "--detach")
    assert result.code == 0, result.err
    return result.out.split()[0]


def test_twenty_instances_spread_over_slurm_jobs_each_once(slurm, cli, root, tmp_path):
    module, data, marks = work(tmp_path, 20, 4, 0.5)
    run_id = start_cli(cli, root, module, data, workers=4)
    info = wait_for_end(root, run_id, 240)
    assert info.status == "completed", info.attrs.get("exit")
    assert_jobs_gone(run_id)
    units = marked(marks)
    assert sorted(units) == sorted([*(os.path.basename(d) for d in data), "done()"])
    jobs = set(units.values())
    assert "none" not in jobs  # every unit ran inside a Slurm job
    assert len(jobs) >= 2, f"all 20 instances ran in one job: {jobs}"
    assert info.attrs["progress"]["done"] == 20
    logs = list((info.meta_dir / "log").glob(f"runyard-w-{run_id}-*.err"))
    assert {p.name.rsplit("-", 1)[1].split(".")[0] for p in logs} >= jobs


def test_close_cancels_the_jobs_and_resume_finishes_the_rest_once(slurm, cli, root,
                                                                    tmp_path):
    module, data, marks = work(tmp_path, 6, 20, 0.5)
    run_id = start_cli(cli, root, module, data, workers=3)
    book = InstanceBook(load_run(root, run_id).paths)

    def some_progress():
        return any(int(r.get("state") or 0) > 0 for r in book.records().values())

    wait_until(some_progress, timeout=120, every=0.2)
    info = close(root, run_id, wait=120)
    assert info.status == "terminated", info.attrs.get("exit")
    assert_jobs_gone(run_id)
    before = marked(marks)
    assert len(before) < 6 and "done()" not in before
    saved = [int(r.get("state") or 0) for r in book.records().values()]
    assert sum(saved) > 0 and min(saved) < 20

    resume(root, run_id)
    info = wait_for_end(root, run_id, 240)
    assert info.status == "completed", info.attrs.get("exit")
    assert_jobs_gone(run_id)
    after = marked(marks)
    assert sorted(after) == sorted([*(os.path.basename(d) for d in data), "done()"])
    assert all(after[name] == job for name, job in before.items())


def test_a_worker_job_cancelled_mid_instance_is_replaced_and_nothing_runs_twice(
        slurm, cli, root, tmp_path):
    """scancel of a job (an admin, a preemption, its time limit): its instance runs
    again in another job from its last saved state, and the run completes."""
    module, data, marks = work(tmp_path, 6, 12, 0.5)
    run_id = start_cli(cli, root, module, data, workers=3)
    book = InstanceBook(load_run(root, run_id).paths)

    def an_instance_with_progress():
        """(its key, the job running it) for an instance that has saved a state."""
        for key, record in book.records().items():
            name = os.path.basename(record["instance"])
            where = marks / "running" / name
            if record.get("status") == "running" and int(record.get("state") or 0) > 0 \
                    and where.exists() and name not in marked(marks):
                return key, where.read_text()
        return None

    key, victim = wait_until(an_instance_with_progress, timeout=120, every=0.2)
    subprocess.run(["scancel", victim], check=True, timeout=30)
    info = wait_for_end(root, run_id, 240)
    assert info.status == "completed", info.attrs.get("exit")
    units = marked(marks)
    assert sorted(units) == sorted([*(os.path.basename(d) for d in data), "done()"])
    record = book.read(key)
    assert units[os.path.basename(record["instance"])] != victim  # finished elsewhere
    assert record["attempts"] == 2  # begun again, once
    assert_jobs_gone(run_id)


def test_slurm_is_an_executor_everywhere_one_is_chosen(tmp_path):
    """The CLI, runyard.toml and a flow step's settings take the executors of one
    list: 'slurm' is one of them, and an unknown one is refused naming them all."""
    from runyard.engine.flow_graph import FlowError, check_settings
    from runyard.engine.project import ProjectError, load_operation

    assert check_settings({"executor": "slurm"}, "step a") == {"executor": "slurm"}
    with pytest.raises(FlowError, match="local, dask, slurm"):
        check_settings({"executor": "pbs"}, "step a")
    (tmp_path / "work.py").write_text("def run(instance, save, state):\n    pass\n")
    project = tmp_path / "runyard.toml"
    project.write_text('[operations.sim]\nmodule = "work.py"\ninstances = []\n'
                       'executor = "slurm"\nworkers = 8\n')
    assert load_operation(project, "sim").spec.executor == "slurm"
    project.write_text(project.read_text().replace('"slurm"', '"pbs"'))
    with pytest.raises(ProjectError, match="local, dask, slurm"):
        load_operation(project, "sim")


def worker_cluster(tmp_path: Path, settings: dict, workers: int = 2):
    """The SLURMCluster a supervisor would make for a run with these Slurm settings
    (the spec's ``slurm``) and the script its jobs run."""
    from runyard.engine.executors.slurm import slurm_cluster
    from runyard.engine.layout import RunPaths
    from runyard.engine.spec import RunSpec

    paths = RunPaths(tmp_path / "runs", "0000000000abcd")
    paths.run_dir.mkdir(parents=True)
    paths.meta("proc").mkdir(parents=True)
    spec = RunSpec(kind="module", workers=workers)
    spec.slurm = settings
    cluster = slurm_cluster(paths, spec)
    return cluster, paths.meta("proc/slurm-workers.sh").read_text().splitlines()


def test_worker_jobs_ask_for_the_runs_slurm_resources(slurm, tmp_path):
    cluster, script = worker_cluster(tmp_path, {
        "partition": "debug", "time": "00:05:00", "cpus-per-task": "2", "mem": "100M",
        "open-mode": "append", "extra": ["--comment=runyard-test"]})
    try:
        header = [line for line in script if line.startswith("#SBATCH")]
        for wanted in ("#SBATCH -J runyard-w-0000000000abcd", "#SBATCH -p debug",
                       "#SBATCH -t 00:05:00", "#SBATCH --cpus-per-task=2",
                       "#SBATCH --mem=100M", "#SBATCH --open-mode=append",
                       "#SBATCH --comment=runyard-test"):
            assert wanted in header
        worker = script[-1]
        assert "--nthreads 1" in worker and "--memory-limit 0" in worker
    finally:
        cluster.close()
    cluster, script = worker_cluster(tmp_path / "bare", {})
    cluster.close()
    header = [line for line in script if line.startswith("#SBATCH")]
    assert "#SBATCH --cpus-per-task=1" in header
    # no time or memory asked: Slurm's defaults, not dask-jobqueue's 30 minutes
    assert not [line for line in header if line.startswith(("#SBATCH -t", "#SBATCH --mem"))]


def test_slurm_refusing_the_worker_jobs_is_said_at_once(slurm, tmp_path):
    from runyard.engine.errors import RunyardError

    with pytest.raises(RunyardError, match=r"refuses the worker jobs.*invalid partition"):
        worker_cluster(tmp_path, {"partition": "nosuchpartition"})
    assert worker_jobs("0000000000abcd") == []  # nothing was queued
    with pytest.raises(RunyardError, match="one word"):
        worker_cluster(tmp_path / "b", {"partition": "debug\n#SBATCH --uid=0"})


def test_a_scheduler_address_with_the_slurm_executor_is_refused(cli, root, tmp_path):
    """--executor slurm starts its own cluster: an address given with it would be
    silently ignored, so it is refused in one line, and no run is made."""
    module, data, _marks = work(tmp_path, 1, 1, 0)
    result = cli("--root", root, "run", module, "--instances", *data, "--executor",
                 "slurm", "--scheduler", "tcp://127.0.0.1:8786", "--detach")
    assert result.code != 0
    assert "--scheduler" in result.err and len(result.err.strip().splitlines()) == 1
    assert not root.exists() or not [p for p in root.iterdir() if p.name.endswith(".meta")]


def test_no_slurm_here_fails_the_run_saying_so(root, tmp_path, monkeypatch):
    """Where sbatch cannot be found the run fails at once with that reason, as a
    usage problem of this machine, not as a crash of the supervisor."""
    from runyard.engine.control import start
    from runyard.engine.spec import RunSpec

    module, data, marks = work(tmp_path, 2, 1, 0)
    monkeypatch.setenv("PATH", str(tmp_path / "no-slurm-here"))
    info = start(root, RunSpec(kind="module", module=str(module), instances=data,
                               workers=2, executor="slurm"))
    info = wait_for_end(root, info.id, 60)
    assert info.status == "failed"
    assert info.attrs["exit"]["error"] == ("--executor slurm: sbatch is not found; is "
                                           "this a Slurm login node?")
    assert "Traceback" not in (info.meta_dir / "log" / "supervisor.log").read_text()
    assert marked(marks) == {}


def test_files_the_run_made_in_its_folder_do_not_shadow_the_workers_imports(
        slurm, cli, root, tmp_path):
    """Worker jobs start in the run's folder, where the run writes what it likes: a
    ``distributed.py`` there must not be what ``python -m distributed.cli.dask_worker``
    imports in the next attempt's jobs (the supervisor runs with -P for the same
    reason)."""
    module, data, marks = work(tmp_path, 2, 8, 0.5)
    module.write_text(module.read_text().replace(
        "    for step in", "    open('distributed.py', 'w').write('raise SystemExit(3)')\n"
                           "    for step in"))
    run_id = start_cli(cli, root, module, data, workers=1)
    run_dir = load_run(root, run_id).paths.run_dir
    book = InstanceBook(load_run(root, run_id).paths)
    wait_until(lambda: any(int(r.get("state") or 0) > 0 for r in book.records().values())
               and (run_dir / "distributed.py").exists(), timeout=120, every=0.2)
    assert close(root, run_id, wait=120).status == "terminated"
    resume(root, run_id)
    info = wait_for_end(root, run_id, 120)
    if info.status == "running":
        close(root, run_id, wait=60)
    assert info.status == "completed", info.attrs.get("exit")
    assert sorted(marked(marks)) == ["done()", "i00.txt", "i01.txt"]


def test_worker_jobs_that_end_before_their_worker_starts_fail_the_run(
        slurm, root, tmp_path, monkeypatch):
    """A job whose worker never joins (a Python the compute nodes do not have, here
    from the user's Dask configuration) is submitted again, and after three such
    jobs the run fails naming the last one's log, instead of waiting forever."""
    from runyard.engine.control import start
    from runyard.engine.spec import RunSpec

    module, data, marks = work(tmp_path, 2, 1, 0)
    monkeypatch.setenv("DASK_JOBQUEUE__SLURM__PYTHON", "/nonexistent/python3")
    info = start(root, RunSpec(kind="module", module=str(module), instances=data,
                               workers=1, executor="slurm"))
    info = wait_for_end(root, info.id, 180)
    if info.status == "running":
        close(root, info.id, wait=60)
    assert info.status == "failed", info.attrs.get("exit")
    error = info.attrs["exit"]["error"]
    assert "end before their Dask worker starts" in error
    log = Path(error.rsplit("see ", 1)[1])
    assert log.parent == info.meta_dir / "log" and "/nonexistent/python3" in log.read_text()
    assert marked(marks) == {}
    assert_jobs_gone(info.id)


def test_the_command_lines_slurm_settings_reach_the_worker_jobs(slurm, cli, root, tmp_path):
    """--slurm with --executor slurm (the supervisor here) sets the worker jobs'
    resources: a partition Slurm does not have fails the run with Slurm's word,
    and the job script kept with the run asks for what was given."""
    module, data, marks = work(tmp_path, 2, 1, 0)
    result = cli("--root", root, "run", module, "--instances", *data, "--executor", "slurm",
                 "--slurm", "partition=nosuchpartition,cpus-per-task=2", "--detach")
    assert result.code == 0, result.err
    info = wait_for_end(root, result.out.split()[0], 60)
    assert info.status == "failed"
    assert "Slurm refuses the worker jobs" in info.attrs["exit"]["error"]
    assert "invalid partition" in info.attrs["exit"]["error"]
    script = (info.meta_dir / "proc" / "slurm-workers.sh").read_text().splitlines()
    assert "#SBATCH -p nosuchpartition" in script and "#SBATCH --cpus-per-task=2" in script
    assert marked(marks) == {}


def test_a_run_on_slurm_spreads_its_instances_over_worker_jobs(slurm, cli, root, tmp_path):
    """--on slurm and --executor slurm combine: the supervisor runs as a batch job,
    and submits and cancels its worker jobs from there."""
    module, data, marks = work(tmp_path, 6, 2, 0.5)
    result = cli("--root", root, "run", module, "--instances", *data, "--workers", 2,
                 "--on", "slurm", "--executor", "slurm", "--detach")
    assert result.code == 0, result.err
    run_id = result.out.split()[0]
    info = wait_for_end(root, run_id, 240)
    assert info.status == "completed", info.attrs.get("exit")
    assert_jobs_gone(run_id)
    units = marked(marks)
    assert sorted(units) == sorted([*(os.path.basename(d) for d in data), "done()"])
    supervisor_job = info.attrs["slurm"]["job"]
    assert supervisor_job not in units.values() and "none" not in units.values()


def test_a_sites_dask_jobqueue_directives_are_kept(slurm, tmp_path):
    """Directives a site sets in its Dask configuration (jobqueue.slurm in
    jobqueue.yaml) stay, before the run's own."""
    import dask
    import dask_jobqueue  # noqa: F401 (its defaults join Dask's configuration)

    with dask.config.set({"jobqueue.slurm.job-extra-directives": ["--comment=site"]}):
        cluster, script = worker_cluster(tmp_path, {"extra": ["--open-mode=append"]})
    cluster.close()
    header = [line for line in script if line.startswith("#SBATCH")]
    assert header[-2:] == ["#SBATCH --comment=site", "#SBATCH --open-mode=append"]


def test_a_flow_step_spreads_over_worker_jobs(slurm, root, tmp_path):
    """A flow step's settings take executor="slurm" (and its slurm resources): that
    step's instances run in Slurm worker jobs, the other step's here."""
    import importlib.util

    from runyard.engine import list_runs
    from runyard.engine.flows import Local
    from runyard.engine.spec import read_spec

    module, data, marks = work(tmp_path, 3, 1, 0.2)
    (tmp_path / "second").mkdir()
    other, other_data, other_marks = work(tmp_path / "second", 1, 1, 0)
    (tmp_path / "pipeline.py").write_text(textwrap.dedent(f"""
        from runyard.engine.flows import flow, op

        @flow
        def spread():
            first = op({str(module)!r}, instances={data!r}, alias="first", workers=2,
                       executor="slurm", slurm={{"time": "00:05:00"}})
            return op({str(other)!r}, instances={other_data!r}, alias="second",
                      after=[first])
    """))
    spec = importlib.util.spec_from_file_location("pipeline_spread", tmp_path / "pipeline.py")
    pipeline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pipeline)
    task = Local(pipeline.spread(), root=root)
    task.prepare()
    assert task.status(task.run()) == "completed"
    steps = {info.attrs["flow"]["alias"]: info for info in list_runs(root)
             if (info.attrs.get("flow") or {}).get("alias")}
    assert read_spec(steps["first"].meta_dir).executor == "slurm"
    assert "#SBATCH -t 00:05:00" in \
        (steps["first"].meta_dir / "proc" / "slurm-workers.sh").read_text().splitlines()
    units = marked(marks)
    assert sorted(units) == sorted([*(os.path.basename(d) for d in data), "done()"])
    assert "none" not in units.values()  # in Slurm jobs
    assert set(marked(other_marks).values()) == {"none"}  # the second step ran here
    assert_jobs_gone(steps["first"].id)
