"""A worker killed from outside (SIGKILL: the OOM killer, a node's cleanup) is not a
failure of its instance: the instance runs again from its last saved state, a bounded
number of times, and the record says it was killed and by which signal."""

import contextlib
import json
import os
import signal
import textwrap
from pathlib import Path

import psutil
import pytest

from runyard.engine import list_runs
from runyard.engine.control import resume, start, wait_for_end
from runyard.engine.spec import RunSpec
from runyard.engine.work import InstanceBook

from conftest import wait_until

STEPS = """
    import os, time

    def run(instance, save, state):
        name = os.path.basename(instance)
        with open(name + ".pid", "w") as f:  # which worker runs it, for the test
            f.write(str(os.getpid()))
        for step in range(int(state or 0), 40):
            time.sleep(0.02)
            save(str(step + 1))
        with open(name + ".out", "w") as f:
            f.write("ok")

    def done():
        with open("done.log", "a") as f:
            f.write("done\\n")
"""

# an instance whose process the kernel kills every time it runs, while the flag exists
DOOMED = """
    import os, signal

    def run(instance, save, state):
        name = os.path.basename(instance)
        if name == "doomed.txt" and os.path.exists(FLAG):
            save(str(int(state or 0) + 1))   # it got somewhere before the kill
            os.kill(os.getpid(), signal.SIGKILL)
        with open(name + ".out", "w") as f:
            f.write(state or "-")

    def done():
        with open("done.log", "a") as f:
            f.write("done\\n")
"""


@pytest.fixture(autouse=True)
def no_run_left(root):
    yield
    for info in list_runs(root) if root.exists() else []:
        if info.status in ("running", "paused"):
            with contextlib.suppress(psutil.NoSuchProcess):
                supervisor = psutil.Process(info.attrs["lock"]["pid"])
                procs = [supervisor, *supervisor.children(recursive=True)]
                for proc in procs:
                    proc.kill()
                psutil.wait_procs(procs, timeout=10)


def data_files(tmp_path: Path, names: str | list) -> list[str]:
    paths = []
    for name in names:
        path = tmp_path / "data" / (name if "." in name else f"{name}.txt")
        path.parent.mkdir(exist_ok=True)
        path.write_text(name)
        paths.append(str(path))
    return paths


def worker_running(info, name: str) -> psutil.Process | None:
    """The worker process running the instance of data file ``name`` (it says so)."""
    pid_file = info.paths.run_dir / f"{name}.pid"
    if not pid_file.exists() or not pid_file.read_text():
        return None
    with contextlib.suppress(psutil.NoSuchProcess):
        proc = psutil.Process(int(pid_file.read_text()))
        if proc.ppid() == info.attrs["lock"]["pid"]:  # one of the run's workers
            return proc
    return None


def test_a_worker_killed_mid_instance_is_retried_not_failed(root, tmp_path):
    module = tmp_path / "steps.py"
    module.write_text(textwrap.dedent(STEPS))
    data = data_files(tmp_path, "abc")
    info = start(root, RunSpec(kind="module", module=str(module), instances=data, workers=2))
    book = InstanceBook(info.paths)
    wait_until(lambda: int(book.read("00001-0").get("state") or 0) >= 5, 30, 0.01)
    victim = wait_until(lambda: worker_running(info, "b.txt"), 30, 0.01)
    victim.send_signal(signal.SIGKILL)  # as the OOM killer does
    victim.wait(10)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    record = book.read("00001-0")
    assert record["status"] == "done" and record["state"] == "40"
    assert record["kills"] == 1 and record["killed"] is None  # it ran again, and finished
    assert record.get("failures", 0) == 0 and record["attempts"] == 2
    assert (info.paths.run_dir / "done.log").read_text() == "done\n"
    log = (info.meta_dir / "log" / "supervisor.log").read_text()
    assert "killed by SIGKILL" in log and "Traceback" not in log


def test_an_instance_killed_every_time_is_bounded_and_resumable(root, tmp_path, cli):
    flag = tmp_path / "oom"
    flag.write_text("")
    module = tmp_path / "doomed.py"
    module.write_text(textwrap.dedent(DOOMED).replace("FLAG", repr(str(flag))))
    data = data_files(tmp_path, ["a.txt", "doomed.txt", "c.txt"])
    info = start(root, RunSpec(kind="module", module=str(module), instances=data, workers=2,
                               max_attempts=3))
    info = wait_for_end(root, info.id, 60)  # it ends: no endless retry
    assert info.status == "terminated"
    assert info.attrs["exit"]["error"] == \
        "instance doomed.txt was killed (SIGKILL) 3 times: resume to run it again"
    records = InstanceBook(info.paths).records()
    doomed = records["00001-0"]
    assert doomed["status"] == "pending" and doomed["killed"] == "SIGKILL"
    assert doomed["kills"] == 3 and doomed["attempts"] == 3 and doomed["state"] == "3"
    assert doomed.get("failures", 0) == 0 and doomed["error"] is None
    assert [records[k]["status"] for k in ("00000-0", "00002-0")] == ["done", "done"]
    assert info.attrs["progress"] == {"pending": 1, "running": 0, "done": 2, "failed": 0,
                                      "total": 3}
    assert not (info.paths.run_dir / "done.log").exists()

    shown = cli("--root", root, "show", info.id)
    assert "instance doomed.txt: killed (SIGKILL), 3 times" in shown.out
    as_json = cli("--root", root, "show", info.id, "--json").json()
    assert as_json["killed"] == [{"key": "00001-0", "instance": data[1], "iteration": 0,
                                  "status": "pending", "killed": "SIGKILL", "kills": 3}]

    # resume runs it again, as many times more, however often it was killed before
    info = resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "terminated"
    doomed = InstanceBook(info.paths).read("00001-0")
    assert doomed["kills"] == 6 and doomed["attempts"] == 6

    flag.unlink()  # more memory on the node: it gets through
    resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    doomed = InstanceBook(info.paths).read("00001-0")
    assert doomed["status"] == "done" and doomed["killed"] is None and doomed["kills"] == 6
    assert (info.paths.run_dir / "doomed.txt.out").read_text() == "6"  # its saved state
    assert (info.paths.run_dir / "done.log").read_text() == "done\n"
    assert ": killed (" not in cli("--root", root, "show", info.id).out


def test_a_worker_that_crashes_still_fails_its_instance(root, tmp_path):
    """A fault in the process itself (SIGSEGV from a C extension) is a failure, named."""
    module = tmp_path / "crash.py"
    module.write_text(textwrap.dedent("""
        import os, signal
        def run(instance, save, state):
            os.kill(os.getpid(), signal.SIGSEGV)
    """))
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=data_files(tmp_path, "a"), max_attempts=2))
    info = wait_for_end(root, info.id, 60)
    assert info.status == "failed"
    record = InstanceBook(info.paths).read("00000-0")
    assert record["status"] == "failed" and record["failures"] == 1
    assert record["error"] == "worker process died (SIGSEGV)"
    assert record.get("kills", 0) == 0 and record.get("killed") is None


def test_done_killed_is_asked_again(root, tmp_path):
    """done() killed mid-way is not a failed done(): it runs again (it is marked only
    once it returns)."""
    marker = tmp_path / "killed-once"
    module = tmp_path / "late.py"
    module.write_text(textwrap.dedent(f"""
        import os, signal
        def run(instance, save, state):
            pass
        def done():
            if not os.path.exists({str(marker)!r}):
                open({str(marker)!r}, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            with open("done.log", "a") as f:
                f.write("done\\n")
    """))
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=data_files(tmp_path, "a")))
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    assert (info.paths.run_dir / "done.log").read_text() == "done\n"
    assert json.loads((info.meta_dir / "done.json").read_text())
    assert os.path.exists(marker)


def test_an_instance_whose_dask_worker_dies_is_killed_not_failed(root, tmp_path, monkeypatch):
    """On Dask a worker lost while running an instance (the OOM killer, a node's
    cleanup, the nanny's memory limit) reaches the supervisor as KilledWorker once
    Dask has given up retrying it elsewhere: it is a kill, not the instance's failure.
    Dask's own retries are set to none here, so the first death is the one it reports."""
    pytest.importorskip("distributed")
    monkeypatch.setenv("DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES", "0")
    marker = tmp_path / "killed-once"
    module = tmp_path / "oom.py"
    module.write_text(textwrap.dedent(f"""
        import os, signal
        def run(instance, save, state):
            if os.path.basename(instance) == "big.txt" and not os.path.exists({str(marker)!r}):
                open({str(marker)!r}, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)   # the whole Dask worker goes
            with open(os.path.basename(instance) + ".out", "w") as f:
                f.write("ok")
    """))
    data = data_files(tmp_path, ["a.txt", "big.txt"])
    info = start(root, RunSpec(kind="module", module=str(module), instances=data, workers=1,
                               executor="dask", max_attempts=3))
    info = wait_for_end(root, info.id, 180)
    assert marker.exists()
    assert info.status == "completed", info.attrs.get("exit")
    record = InstanceBook(info.paths).read("00001-0")
    assert record["status"] == "done" and record.get("failures", 0) == 0
    assert record["kills"] == 1 and record["error"] is None
    assert (info.paths.run_dir / "big.txt.out").read_text() == "ok"
    log = (info.meta_dir / "log" / "supervisor.log").read_text()
    assert "Instance big.txt was killed by KilledWorker: running it again" in log


@pytest.mark.parametrize("signum, status, error", [
    (signal.SIGKILL, "terminated", "the command was killed (SIGKILL): resume to run it again"),
    (signal.SIGSEGV, "failed", "the command crashed (SIGSEGV)"),
])
def test_a_command_killed_from_outside_is_terminated_not_failed(root, tmp_path, cli,
                                                                 signum, status, error):
    """A command run's process killed from outside (the OOM killer) did nothing wrong:
    the run ends terminated, resumable, with the signal named; a crash of its own is a
    failure, named too."""
    info = start(root, RunSpec(kind="command", argv=["sleep", "600"]), name="cmd")
    command = wait_until(lambda: next(
        iter(psutil.Process(info.attrs["lock"]["pid"]).children()), None), 30, 0.01)
    command.send_signal(signum)
    info = wait_for_end(root, info.id, 60)
    assert (info.status, info.attrs["exit"]["error"]) == (status, error)
    assert error in cli("--root", root, "show", info.id).out
