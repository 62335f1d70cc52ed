"""A full disk: starting a run leaves nothing; a run that fills it says why it stopped.

Each test mounts a small tmpfs of its own (the machine runs tests as root) and
fills it for real; processes of the test's runs are killed and the tmpfs unmounted
whatever happens.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from runyard.engine import Run, ensure_root, load_run
from runyard.engine.control import resume, start, wait_for_end
from runyard.engine.errors import RunyardError
from runyard.engine.spec import RunSpec
from runyard.engine.work import InstanceBook

from conftest import wait_until


def kill_processes_under(path: Path) -> None:
    """SIGKILL every process whose command line or working directory is under ``path``
    (only this test's runs can be: the mount point is the test's own)."""
    victims = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        if proc.pid == os.getpid():
            continue
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(path) in cmdline or (proc.info["cwd"] or "").startswith(str(path)):
            try:
                proc.kill()
                victims.append(proc)
            except psutil.NoSuchProcess:
                pass
    psutil.wait_procs(victims, timeout=10)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                                capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("no mount command here to make a small filesystem")
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        kill_processes_under(mount)
        deadline = time.monotonic() + 10
        while subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                subprocess.run(["umount", "-l", str(mount)], check=True)
                break
            time.sleep(0.1)


def fill(disk: Path) -> Path:
    """Write a file until the filesystem has no byte left; the file."""
    filler = disk / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def tree(root: Path) -> set[str]:
    """Every path under ``root``, with its size for files."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            found.add(os.path.relpath(os.path.join(folder, name), root) + "/")
        for name in files:
            path = os.path.join(folder, name)
            found.add(f"{os.path.relpath(path, root)} {os.path.getsize(path)}")
    return found


def runyard(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runyard.app.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def saver(tmp_path) -> tuple[Path, Path]:
    """A module that saves its progress 100 times (resuming from its state), and its
    instance; both off the small disk."""
    module = tmp_path / "saver.py"
    module.write_text(textwrap.dedent("""
        import time

        def run(instance, save, state):
            for n in range(int(state or 0), 100):
                save(str(n + 1))
                time.sleep(0.02)
    """))
    data = tmp_path / "a.txt"
    data.write_text("a")
    return module, data


def start_saving(root: Path, saver) -> str:
    module, data = saver
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)]))
    book = InstanceBook(info.paths)
    wait_until(lambda: (book.read("00000-0") or {}).get("state"))
    return info.id


def supervisor_log(root: Path, run_id: str) -> str:
    return (root / f"{run_id}.meta" / "log" / "supervisor.log").read_text(errors="replace")


def listed_status(root: Path, run_id: str) -> str:
    result = runyard("ls", "--root", root)
    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines()[1:]
              if run_id.startswith(line.split()[0])]
    return row


def shown(root: Path, run_id: str) -> tuple[str, dict]:
    text = runyard("show", run_id, "--root", root)
    data = runyard("show", run_id, "--root", root, "--json")
    assert text.returncode == 0 and data.returncode == 0, text.stderr + data.stderr
    status_line = next(line for line in text.stdout.splitlines() if "status:" in line)
    return status_line, json.loads(data.stdout)


def test_starting_a_run_on_a_full_disk_is_one_line_and_leaves_nothing(small_disk, saver,
                                                                      caplog):
    module, data = saver
    root = ensure_root(small_disk / "runs")
    before = tree(root)
    fill(small_disk)
    result = runyard("run", "--root", root, module, "--instances", data)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"cannot start a run in {root}: disk full" in result.stderr
    assert tree(root) == before
    with pytest.raises(RunyardError, match="disk full"):
        start(root, RunSpec(kind="module", module=str(module), instances=[str(data)]),
              name="named-on-a-full-disk")
    assert tree(root) == before
    run = Run(root=root)
    assert run.init(name="tracked-on-a-full-disk") is False
    assert "No space left on device" in caplog.text
    assert tree(root) == before
    fresh = small_disk / "new-runs"  # a root to be made on the full disk
    result = runyard("run", "--root", fresh, module, "--instances", data)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"cannot create runs root {fresh}: disk full" in result.stderr
    assert not fresh.exists()


def test_a_run_that_fills_the_disk_ends_failed_with_the_reason_once_space_returns(
        small_disk, saver):
    root = small_disk / "runs"
    run_id = start_saving(root, saver)
    filler = fill(small_disk)
    wait_until(lambda: "Stopped: disk full" in supervisor_log(root, run_id))
    filler.unlink()
    info = wait_until(lambda: (i := load_run(root, run_id)).status == "failed" and i)
    assert info.attrs["exit"]["cause"] == "disk full"
    assert "No space left on device" in info.attrs["exit"]["error"]
    assert "failed (disk full)" in listed_status(root, run_id)
    status_line, data = shown(root, run_id)
    assert "failed" in status_line and "disk full" in status_line
    assert data["status"] == "failed" and data["reason"] == "disk full"
    resume(root, run_id)  # the space is back: the run goes on from its saved state
    assert wait_for_end(root, run_id, 60).status == "completed"
    assert InstanceBook(load_run(root, run_id).paths).read("00000-0")["state"] == "100"


def test_a_run_that_cannot_record_its_end_is_lost_with_the_reason(small_disk, saver,
                                                                  monkeypatch):
    monkeypatch.setenv("RUNYARD_EXIT_RETRY", "1")  # give up writing the exit record soon
    root = small_disk / "runs"
    run_id = start_saving(root, saver)
    filler = fill(small_disk)
    wait_until(lambda: load_run(root, run_id).status == "lost")
    assert "exit" not in load_run(root, run_id).attrs
    assert "lost (disk full)" in listed_status(root, run_id)
    status_line, data = shown(root, run_id)
    assert "lost" in status_line and "disk full" in status_line
    assert data["status"] == "lost" and data["reason"] == "disk full"
    # space back and resumed, then killed: lost again, and no longer for a full disk
    filler.unlink()
    info = resume(root, run_id)
    os.kill(info.attrs["lock"]["pid"], signal.SIGKILL)
    wait_until(lambda: load_run(root, run_id).status == "lost")
    assert load_run(root, run_id).reason is None
    assert listed_status(root, run_id).split()[2] == "lost"
    assert "disk full" not in listed_status(root, run_id)


def test_preparing_a_flow_on_a_full_disk_is_one_line_and_leaves_no_task(small_disk, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "step.py").write_text("def run(instance, save, state):\n    pass\n")
    (project / "a.txt").write_text("a")
    (project / "pipe.py").write_text(textwrap.dedent(f"""
        from runyard.engine.flows import flow, op

        @flow
        def one():
            return op({str(project / "step.py")!r}, instances=[{str(project / "a.txt")!r}])
    """))
    root = ensure_root(small_disk / "runs")
    fill(small_disk)
    before = tree(root)
    done = runyard("--root", root, "flow", f"{project / 'pipe.py'}:one", "--detach")
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "disk full" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert tree(root) == before
