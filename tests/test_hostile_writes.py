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
