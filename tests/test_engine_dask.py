"""The same runs on a real Dask cluster: a scheduler and workers on 127.0.0.1."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runyard.engine import list_runs, load_run
from runyard.engine.control import pause, resume, start, wait_for_end
from runyard.engine.spec import RunSpec
from runyard.engine.work import InstanceBook

from conftest import wait_until

MODULE = """
    import os, time
    from runyard.engine import current_run

    def run(instance, save, state):
        name = os.path.basename(instance)
        text = open(instance).read()
        os.makedirs("out", exist_ok=True)
        for step in range(int(state or 0), STEPS):
            time.sleep(DELAY)
            tmp = f"out/{name}.{step}.tmp"
            with open(tmp, "w") as f:
                f.write(text.upper() + str(step))
            os.replace(tmp, f"out/{name}.{step}")
            current_run().log_metrics({"step": step})
            save(str(step + 1))

    def done():
        with open("done.log", "a") as f:
            f.write("done\\n")
"""


def module(tmp_path: Path, steps: int, delay: float) -> Path:
    path = tmp_path / "work.py"
    path.write_text(textwrap.dedent(MODULE).replace("STEPS", str(steps))
                    .replace("DELAY", str(delay)))
    return path


def instances(tmp_path: Path, count: int) -> list[str]:
    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    for i in range(count):
        (folder / f"i{i}.txt").write_text(f"instance {i}")
    return sorted(str(p) for p in folder.glob("*.txt"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    workers = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
         "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    yield {"address": address, "workers": workers}
    for proc in workers + procs:
        proc.kill()
        proc.wait()


def outputs(run_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in (run_dir / "out").iterdir()
            if not p.name.endswith(".tmp")}


def test_dask_gives_the_same_results_as_local(root, tmp_path, cluster):
    work, data = module(tmp_path, 5, 0.01), instances(tmp_path, 4)
    local = start(root, RunSpec(kind="module", module=str(work), instances=data, workers=2))
    local = wait_for_end(root, local.id, 60)
    remote = start(root, RunSpec(kind="module", module=str(work), instances=data, workers=2,
                                 executor="dask", scheduler=cluster["address"]))
    remote = wait_for_end(root, remote.id, 120)
    assert (local.status, remote.status) == ("completed", "completed")
    assert outputs(local.paths.run_dir) == outputs(remote.paths.run_dir)
    assert len(outputs(remote.paths.run_dir)) == 20
    assert (remote.paths.run_dir / "done.log").read_text() == "done\n"
    assert remote.attrs["progress"]["done"] == 4
    series = list(remote.meta_dir.glob("metrics.dask-*.jsonl"))
    assert series and sum(len(p.read_text().splitlines()) for p in series) == 20


def test_dask_survives_a_killed_worker_and_pause_close_resume(root, tmp_path, cluster):
    work, data = module(tmp_path, 30, 0.05), instances(tmp_path, 4)
    info = start(root, RunSpec(kind="module", module=str(work), instances=data, workers=2,
                               executor="dask", scheduler=cluster["address"]))
    time.sleep(1.0)
    victim = cluster["workers"][0]
    os.kill(victim.pid, signal.SIGKILL)  # a node lost mid-instance
    victim.wait()
    time.sleep(0.5)
    pause(root, info.id)  # takes effect at each task's next save()
    time.sleep(1.0)
    before = {k: r["state"] for k, r in InstanceBook(info.paths).records().items()}
    time.sleep(1.0)
    after = {k: r["state"] for k, r in InstanceBook(info.paths).records().items()}
    assert before == after  # nothing moves while paused
    resume(root, info.id)
    info = wait_for_end(root, info.id, 180)
    assert info.status == "completed", info.attrs.get("exit")
    produced = outputs(info.paths.run_dir)
    assert sorted(produced) == sorted(f"i{i}.txt.{s}" for i in range(4) for s in range(30))
    assert (info.paths.run_dir / "done.log").read_text() == "done\n"
    assert [r.id for r in list_runs(root)] == [info.id]


def test_dask_close_stops_at_the_next_save_and_resume_finishes(root, tmp_path, cluster):
    from runyard.engine.control import close

    work, data = module(tmp_path, 40, 0.05), instances(tmp_path, 2)
    info = start(root, RunSpec(kind="module", module=str(work), instances=data, workers=2,
                               executor="dask", scheduler=cluster["address"], grace=30))
    time.sleep(1.0)
    info = close(root, info.id, wait=60)
    assert info.status == "terminated"
    saved = [int(r["state"] or 0) for r in InstanceBook(info.paths).records().values()]
    assert all(s < 40 for s in saved) and sum(saved) > 0
    resume(root, info.id)
    info = wait_for_end(root, info.id, 120)
    assert info.status == "completed"
    assert len(outputs(info.paths.run_dir)) == 80


def test_dask_obeys_the_last_of_back_to_back_requests(root, tmp_path, cluster):
    """Tasks read the latest request at each save(): a pause then a resume at once
    leave them working; a resume then a pause stop them at their next save. A close
    that a task sees before the supervisor does is a close, not a failure."""
    from runyard.engine.control import close

    work, data = module(tmp_path, 5000, 0.01), instances(tmp_path, 1)
    info = start(root, RunSpec(kind="module", module=str(work), instances=data, workers=1,
                               executor="dask", scheduler=cluster["address"]))
    book = InstanceBook(info.paths)

    def saved() -> int:
        return int(book.read("00000-0").get("state") or 0)

    def still() -> bool:  # no save for longer than the task takes to reach a save()
        before = saved()
        time.sleep(0.5)
        return saved() == before

    try:
        wait_until(lambda: saved() > 0, 60)
        for i in range(4):
            sequence = ("paused", "running", "paused") if i % 2 == 0 else \
                ("running", "paused", "running")
            for want in sequence:
                (pause if want == "paused" else resume)(root, info.id)
            wait_until(lambda w=sequence[-1]: load_run(root, info.id).status == w, 30)
            if sequence[-1] == "paused":
                wait_until(still, 30)
            else:
                before = saved()
                wait_until(lambda b=before: saved() > b + 10, 30)
        for _ in range(5):  # the task often sees the close before the supervisor does
            info = close(root, info.id, wait=60)
            assert info.status == "terminated", info.attrs.get("exit")
            record = book.read("00000-0")
            assert record["status"] == "pending" and record["failures"] == 0, record
            resume(root, info.id)
            before = saved()
            wait_until(lambda b=before: saved() > b + 10, 60)
    finally:
        close(root, info.id, wait=60)
