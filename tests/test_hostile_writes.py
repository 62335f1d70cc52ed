"""Writers never follow a link planted in a run: whoever acts on a run that another
user can write to (pausing it, resuming it, logging into it) must not be led to
append to, lock or create a file elsewhere, such as their own ~/.bashrc."""

import os
import textwrap

import pytest
from test_app import new_run

from runyard.engine import Run
from runyard.engine.control import start, wait_for_end
from runyard.engine.jsonl import JsonlWriter
from runyard.engine.meta import append_log, locked
from runyard.engine.spec import RunSpec
from runyard.engine.untrusted import NotReadable

from conftest import run_cli_process


@pytest.fixture
def outside(tmp_path):
    """A file of the person acting on the run, which a link in the run points at."""
    target = tmp_path / "bashrc"
    target.write_text("mine\n")
    return target


def plant(link, target) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    os.symlink(target, link)


@pytest.mark.parametrize("opener", [
    lambda path: append_log(path.parent.parent, "Paused"),
    lambda path: JsonlWriter(path),
    lambda path: locked(path).__enter__(),
], ids=["runner log", "series", "lock"])
def test_a_link_where_a_run_file_should_be_is_refused(app_root, outside, opener):
    paths = new_run(app_root, "planted", end="completed")
    link = paths.meta("log/runner")
    plant(link, outside)
    with pytest.raises(NotReadable, match="symbolic link"):
        opener(link)
    assert outside.read_text() == "mine\n"


def test_a_fifo_where_a_series_should_be_is_refused_without_blocking(app_root):
    paths = new_run(app_root, "piped", end="completed")
    os.mkfifo(paths.meta("metrics.jsonl"))
    with pytest.raises(NotReadable, match="FIFO"):
        JsonlWriter(paths.meta("metrics.jsonl"))


def test_resume_refuses_a_planted_supervisor_log(root, tmp_path, outside):
    module = tmp_path / "quick.py"
    module.write_text(textwrap.dedent("""
        def run(instance, save, state):
            raise ValueError("once")
    """))
    (tmp_path / "a.txt").write_text("a")
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=[str(tmp_path / "a.txt")], max_attempts=1))
    assert wait_for_end(root, info.id, 60).status == "failed"
    plant(info.meta_dir / "log" / "supervisor.log", outside)
    done = run_cli_process("--root", root, "resume", info.id)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "symbolic link" in done.stderr
    assert "Traceback" not in done.stderr
    assert outside.read_text() == "mine\n"


def test_a_reconnected_run_does_not_log_through_a_link(env_root, outside):
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(name="linked", status="created")
    plant(run._paths.meta("metrics.jsonl"), outside)
    other = Run()
    other.config(disable_resources_metrics=True)
    assert other.reconnect("linked")
    other.log_metrics({"x": 1.0})
    other.close()
    assert outside.read_text() == "mine\n"
    assert other.error_count >= 1  # said, not silently dropped


def test_a_lock_held_by_someone_else_is_not_waited_for_forever(root, tmp_path):
    import fcntl
    import time

    from runyard.engine.control import close

    module = tmp_path / "slow.py"
    module.write_text(textwrap.dedent("""
        import time
        def run(instance, save, state):
            for i in range(int(state or 0), 600):
                time.sleep(0.05)
                save(str(i + 1))
    """))
    (tmp_path / "a.txt").write_text("a")
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=[str(tmp_path / "a.txt")]))
    holder = os.open(info.meta_dir / "attrs.lock", os.O_RDONLY)  # reading is enough
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        began = time.monotonic()
        done = run_cli_process("--root", root, "close", info.id,
                               env={"RUNYARD_LOCK_WAIT": "1"})
        assert time.monotonic() - began < 30
        assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
        assert "has been held by another process" in done.stderr
    finally:
        os.close(holder)
    close(root, info.id)
    assert wait_for_end(root, info.id, 60).status == "terminated"


def test_a_log_folder_made_a_link_is_not_written_through(app_root, tmp_path):
    paths = new_run(app_root, "relinked", end="completed")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (paths.meta_dir / "log" / "runner").unlink()
    (paths.meta_dir / "log").rmdir()
    os.symlink(elsewhere, paths.meta_dir / "log")
    with pytest.raises(NotReadable, match="symbolic link"):
        append_log(paths.meta_dir, "Paused")
    assert list(elsewhere.iterdir()) == []


def test_a_meta_folder_that_is_a_link_is_unreadable_never_acted_on(app_root, tmp_path, cli):
    import shutil

    real = new_run(app_root, "somewhere", end="completed")
    moved = tmp_path / "moved.meta"
    shutil.move(real.meta_dir, moved)
    os.symlink(moved, real.meta_dir)
    listed = cli("--root", app_root, "ls", "--json").json()
    assert listed[0]["status"] == "unreadable" and "symbolic link" in listed[0]["error"]
    assert cli("--root", app_root, "resume", real.id).code == 1


def test_sync_does_not_write_through_a_link_planted_in_the_roots_copy(env_root, outside, cli):
    run = Run(mode="offline")
    run.config(disable_resources_metrics=True)
    run.init(name="away")
    run.log_metrics({"x": 1.0})
    run._writer.flush()
    assert cli("sync").code == 0
    copy = env_root / f"{run.id}.meta" / "metrics.jsonl"
    plant(copy, outside)  # a group member's link, in the shared root
    run.log_metrics({"x": 2.0})
    run.close()
    synced = cli("sync")
    assert synced.code == 1 and "symbolic link" in synced.err
    assert outside.read_text() == "mine\n"


@pytest.mark.parametrize("planted", ["fifo", "request"])
def test_a_fifo_planted_as_the_status_request_does_not_hold_the_run_open(root, tmp_path,
                                                                          planted):
    """A group member (the meta folder is group-writable in a shared root) makes
    status-request.json a FIFO while the run works: its supervisor, ending the run,
    read it whole and waited for a writer for good (the run stayed running, its lock
    held, unclosable). A request that is no regular file is not one."""
    module = tmp_path / "m.py"
    module.write_text(textwrap.dedent("""
        import time
        from pathlib import Path

        def run(instance, save, state):
            go = Path(instance).with_suffix(".go")
            while not go.exists():
                time.sleep(0.02)
    """))
    data = tmp_path / "a.txt"
    data.write_text("a")
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)]))
    if planted == "fifo":
        os.mkfifo(info.meta_dir / "status-request.json")
    else:  # what set_status in the run's module writes: still honoured
        (info.meta_dir / "status-request.json").write_text('{"status": "failed"}')
    (tmp_path / "a.go").touch()
    wanted = "completed" if planted == "fifo" else "failed"
    assert wait_for_end(root, info.id, 60).status == wanted


ADD_PROCESS = textwrap.dedent("""
    import os, sys
    from runyard.engine import Run
    from runyard.engine.errors import UsageError
    planted = sys.argv[1]
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="procs")
        folder = run._paths.meta("processes")  # made by a group member before it is used
        os.mkdir(folder)
        if planted == "fifo":
            os.mkfifo(os.path.join(folder, "job.out"))
        else:
            os.symlink(sys.argv[2], os.path.join(folder, "job.out"))
        try:
            run.add_process("job", "echo", "into the planted file")
            print("started")
        except UsageError as exc:
            print("refused:", exc)
""")


@pytest.mark.parametrize("planted", ["link", "fifo"])
def test_add_process_never_writes_through_a_planted_output_file(env_root, outside, planted):
    """In a shared root the meta folder is the group's to write in: a member can make
    processes/ first, with a link as the output file add_process opens (its open()
    truncated and filled the acting user's own file) or a FIFO (its open() waited
    for a reader for good)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", ADD_PROCESS, planted, str(outside)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: add_process 'job'"), done.stdout
    assert "job.out" in done.stdout
    assert outside.read_text() == "mine\n"


@pytest.mark.parametrize("linked", ["artifacts", "artifacts/output"])
def test_save_file_never_copies_into_a_planted_folder_link(env_root, tmp_path, linked):
    """A group member makes artifacts/ (or artifacts/output/) of a run a link to a
    folder of the acting user's: save_file made its folders and replaced a file of
    the saved file's name there with the copy."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "notes.txt").write_text("mine\n")
    saved = tmp_path / "src" / "notes.txt"
    saved.parent.mkdir()
    saved.write_text("the run's copy\n")
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="saving")
        link = run._paths.meta_dir / linked
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(elsewhere)
        assert run.save_file(saved, "output") is False  # logged: "... is a symbolic link"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["notes.txt"]
    assert (elsewhere / "notes.txt").read_text() == "mine\n"
