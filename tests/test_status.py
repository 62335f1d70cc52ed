"""Status derived from files: SIGKILL, another host, a recycled pid."""

import os
import signal
import subprocess
import time

from runyard.engine import init_run_meta, load_run, make_run, start_run
from runyard.engine.meta import update_attrs

from conftest import run_cli_process, start_child_run, wait_until


def test_sigkill_is_lost_at_once_on_the_host_of_the_lock(root):
    proc, run_id = start_child_run(root, "killed-here")
    assert load_run(root, run_id).status == "running"
    os.kill(proc.pid, signal.SIGKILL)
    # not reaped yet: a zombie is no longer the run's process
    assert wait_until(lambda: load_run(root, run_id).status == "lost", 1.0)
    proc.wait()
    assert load_run(root, run_id).status == "lost"
    listing = run_cli_process("ls", "--json", "--root", root)
    assert [(r["name"], r["status"]) for r in listing_json(listing)] == [("killed-here",
                                                                            "lost")]
    shown = run_cli_process("show", "killed-here", "--json", "--root", root)
    assert shown.returncode == 0, shown.stderr
    assert '"status": "lost"' in shown.stdout


def listing_json(result: subprocess.CompletedProcess) -> list:
    import json

    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_sigkill_on_another_host_is_lost_once_the_heartbeat_times_out(root):
    proc, run_id = start_child_run(root, "killed-there", host="other-node", timeout=1.5)
    info = load_run(root, run_id)
    assert info.attrs["lock"]["host"] == "other-node"
    assert info.status == "running"  # foreign lock, fresh heartbeat
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # this host cannot check another host's process table: the heartbeat decides
    assert load_run(root, run_id).status == "running"
    assert wait_until(lambda: load_run(root, run_id).status == "lost", 3.0)
    statuses = [r["status"] for r in listing_json(run_cli_process("ls", "--json", "--root",
                                                                   root))]
    assert statuses == ["lost"]
    table = run_cli_process("ls", "--root", root).stdout
    assert "killed-there" in table and "lost" in table


def test_a_recycled_pid_is_not_taken_for_the_run(root):
    paths = make_run(root)
    init_run_meta(paths, name="recycled")
    start_run(paths)
    assert load_run(root, paths.id).status == "running"
    # Same pid (this live process), but the lock was written by a process that
    # started earlier: the pid has been reused since.

    def older_process(attrs):
        attrs["lock"]["pid_started"] -= 100.0
        attrs["lock"]["pid_ticks"] -= 10_000

    update_attrs(paths.meta_dir, older_process, "Rewrote the lock for a test")
    assert load_run(root, paths.id).status == "lost"


def test_a_live_foreign_run_with_a_pause_marker_is_paused(root):
    proc, run_id = start_child_run(root, "paused-there", host="other-node", timeout=5)
    try:
        from runyard.engine import pause_marker
        from runyard.engine.layout import RunPaths

        pause_marker(RunPaths(root, run_id))
        assert load_run(root, run_id).status == "paused"
    finally:
        proc.kill()
        proc.wait()


def test_a_created_run_is_never_lost(root):
    paths = make_run(root)
    init_run_meta(paths, name="queued", timeout=0.01)
    time.sleep(0.05)
    assert load_run(root, paths.id).status == "created"
