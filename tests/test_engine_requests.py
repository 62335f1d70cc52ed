"""Requests are never lost: pause, resume and close are recognised by what control.json
says, not by its modification time; two resumes of one run at once start one attempt."""

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from runyard.engine import list_runs, load_run
from runyard.engine.control import close, pause, resume, start, wait_for_end
from runyard.engine.spec import RunSpec
from runyard.engine.work import InstanceBook

from conftest import RUNYARD, package_for_others, start_child_run, wait_until

ENDLESS = """
    import time
    def run(instance, save, state):
        step = int(state or 0)
        while True:                  # until closed: saves a step every 20 ms
            time.sleep(0.02)
            step += 1
            save(str(step))
"""


@pytest.fixture(autouse=True)
def no_run_left(root):
    """A failed test leaves no supervisor running (or paused) behind."""
    yield
    for info in list_runs(root) if root.exists() else []:
        if info.status in ("running", "paused"):
            try:
                supervisor = psutil.Process(info.attrs["lock"]["pid"])
                procs = [supervisor, *supervisor.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for proc in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
            psutil.wait_procs(procs, timeout=10)


def start_endless(root: Path, tmp_path: Path, count: int = 2):
    module = tmp_path / "endless.py"
    module.write_text(textwrap.dedent(ENDLESS))
    data = []
    for n in range(count):
        path = tmp_path / f"{n}.txt"
        path.write_text(str(n))
        data.append(str(path))
    return start(root, RunSpec(kind="module", module=str(module), instances=data,
                               workers=count))


def workers(info) -> list[psutil.Process]:
    return psutil.Process(info.attrs["lock"]["pid"]).children(recursive=True)


def settled(root: Path, run_id: str, want: str, count: int) -> bool:
    """The run is ``want`` in its status and in its processes: every worker stopped
    (SIGSTOP) when paused, none stopped when running."""
    info = load_run(root, run_id)
    if info.status != want:
        return False
    procs = workers(info)
    try:
        stopped = [p.status() == psutil.STATUS_STOPPED for p in procs]
    except psutil.NoSuchProcess:
        return False
    return len(procs) == count and all(stopped) == (want == "paused") and \
        any(stopped) == (want == "paused")


def saved_steps(info) -> int:
    return sum(int(r.get("state") or 0) for r in InstanceBook(info.paths).records().values())


def test_pause_and_resume_back_to_back_many_times(root, tmp_path):
    info = start_endless(root, tmp_path)
    try:
        for i in range(20):
            # three requests back to back; the last one is what the run must become
            sequence = ("paused", "running", "paused") if i % 2 == 0 else \
                ("running", "paused", "running")
            for want in sequence:
                (pause if want == "paused" else resume)(root, info.id)
            wait_until(lambda w=sequence[-1]: settled(root, info.id, w, 2), 30)
            if sequence[-1] == "running":  # and the work goes on
                before = saved_steps(info)
                wait_until(lambda b=before: saved_steps(info) > b + 2, 30)
    finally:
        close(root, info.id, wait=60)
    assert load_run(root, info.id).status == "terminated"


def test_requests_stamped_alike_are_all_seen(root, tmp_path):
    """On NFS (1 s timestamps) a pause and a resume a second apart have one mtime."""
    info = start_endless(root, tmp_path, count=1)
    control = info.meta_dir / "control.json"
    stamp = 1_800_000_000_000_000_000
    try:
        for _ in range(3):
            for want in ("paused", "running"):
                (pause if want == "paused" else resume)(root, info.id)
                os.utime(control, ns=(stamp, stamp))
                wait_until(lambda w=want: settled(root, info.id, w, 1), 30)
    finally:
        close(root, info.id, wait=60)


def test_control_json_carries_each_request(root, tmp_path):
    info = start_endless(root, tmp_path, count=1)
    control = info.meta_dir / "control.json"
    try:
        pause(root, info.id)
        first = json.loads(control.read_text())
        resume(root, info.id)
        second = json.loads(control.read_text())
        assert first["want"] == "paused" and second["want"] == "running"
        assert second["seq"] == first["seq"] + 1 and second["id"] != first["id"]
        assert {"time", "user", "host"} <= set(second)
        wait_until(lambda: settled(root, info.id, "running", 1), 30)
        # a request that cannot be read is ignored, and the run goes on obeying the next
        control.write_text('["not", "a", "request"]')
        pause(root, info.id)
        wait_until(lambda: settled(root, info.id, "paused", 1), 30)
        # a close asked for cannot be undone by a pause or a resume, even before the
        # supervisor (frozen here) has read it
        supervisor = psutil.Process(info.attrs["lock"]["pid"])
        supervisor.suspend()
        try:
            close(root, info.id)
            for verb in (pause, resume):
                with pytest.raises(RuntimeError, match="being closed"):
                    verb(root, info.id)
        finally:
            supervisor.resume()
    finally:
        wait_for_end(root, info.id, 60)
    assert load_run(root, info.id).status == "terminated"
    log = (info.meta_dir / "log" / "supervisor.log").read_text()
    assert "Traceback" not in log


def test_two_resumes_at_once_start_one_attempt(root, tmp_path):
    info = start_endless(root, tmp_path, count=1)
    close(root, info.id, wait=60)
    assert load_run(root, info.id).status == "terminated"
    for _ in range(3):
        before = load_run(root, info.id).attrs["attempt"]
        procs = [subprocess.Popen([*RUNYARD, "--root", str(root), "resume", info.id],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = [(p.wait(60), *p.communicate()) for p in procs]
        ok = [r for r in results if r[0] == 0]
        refused = [r for r in results if r[0] != 0]
        assert len(ok) == 1 and len(refused) == 1, results
        assert ok[0][1].startswith(f"Resumed run {info.name}") and \
            ok[0][1].rstrip().endswith(f"attempt {before + 1}")
        _code, out, err = refused[0]
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
        assert err.startswith("runyard: ") and info.name in err
        now = load_run(root, info.id)
        assert now.status == "running" and now.attrs["attempt"] == before + 1
        close(root, info.id, wait=60)
    logs = sorted((info.meta_dir / "log").glob("*.log"))
    for log in logs:
        assert "Traceback" not in log.read_text(), log
    assert load_run(root, info.id).status == "terminated"


def test_a_second_supervisor_leaves_without_a_traceback(root, tmp_path):
    """However a second supervisor comes to start (a flow resuming its step while a user
    does), it leaves the running attempt alone and says why in one line."""
    import sys

    info = start_endless(root, tmp_path, count=1)
    try:
        pause(root, info.id)
        wait_until(lambda: settled(root, info.id, "paused", 1), 30)
        log = info.meta_dir / "log" / "supervisor.log"
        size = log.stat().st_size
        second = subprocess.run([sys.executable, "-P", "-m", "runyard.engine.supervisor",
                                 str(root), info.id], capture_output=True, text=True,
                                timeout=60, cwd=info.paths.run_dir)
        assert second.returncode != 0
        assert second.stderr == "" and "Traceback" not in second.stdout
        lines = second.stdout.splitlines()  # its start line, then why it leaves
        assert len(lines) == 2 and "Not started: " in lines[1] and "is paused" in lines[1]
        after = load_run(root, info.id)
        assert after.attrs["lock"] == info.attrs["lock"]
        assert settled(root, info.id, "paused", 1)  # still paused: it touched nothing
        assert log.stat().st_size == size
    finally:
        close(root, info.id, wait=60)


FLOW = """
    from pathlib import Path
    from runyard.engine.flows import flow, op

    HERE = Path(__file__).parent

    @flow
    def endless():
        return op(HERE / "endless.py", instances=[str(HERE / "0.txt")], alias="work")
"""


def start_endless_flow(root: Path, tmp_path: Path):
    import importlib.util

    from runyard.engine.flows import Local

    (tmp_path / "endless.py").write_text(textwrap.dedent(ENDLESS))
    (tmp_path / "0.txt").write_text("0")
    (tmp_path / "endless_flow.py").write_text(textwrap.dedent(FLOW))
    spec = importlib.util.spec_from_file_location("endless_flow", tmp_path / "endless_flow.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    task = Local(module.endless(), root=root)
    task.prepare()
    flow_id = task.run(detached=True)
    step = wait_until(lambda: load_run(root, flow_id).attrs["flow"]["steps"]["work"]["run"])
    wait_until(lambda: settled(root, step, "running", 1), 30)
    return task, flow_id, step


def test_a_flow_passes_back_to_back_requests_to_its_steps(root, tmp_path):
    task, flow_id, step = start_endless_flow(root, tmp_path)
    try:
        for i in range(6):
            sequence = ("paused", "running", "paused") if i % 2 == 0 else \
                ("running", "paused", "running")
            for want in sequence:
                (pause if want == "paused" else resume)(root, flow_id)
            wait_until(lambda w=sequence[-1]: load_run(root, flow_id).status == w and
                       settled(root, step, w, 1), 30)
    finally:
        task.stop()
    assert load_run(root, flow_id).status == "terminated"
    assert load_run(root, step).status == "terminated"


def test_a_step_slow_to_obey_still_gets_the_resume(root, tmp_path):
    """The flow passes a resume on to a step that has not yet obeyed its pause (its
    supervisor is frozen here, as on a loaded node): the step ends up running."""
    import signal

    task, flow_id, step = start_endless_flow(root, tmp_path)
    step_info = load_run(root, step)
    supervisor = step_info.attrs["lock"]["pid"]
    wanted = step_info.meta_dir / "control.json"
    try:
        os.kill(supervisor, signal.SIGSTOP)
        pause(root, flow_id)
        wait_until(lambda: wanted.exists() and json.loads(wanted.read_text())["want"] ==
                   "paused", 30)
        wait_until(lambda: load_run(root, flow_id).status == "paused", 30)
        resume(root, flow_id)
        wait_until(lambda: load_run(root, flow_id).status == "running", 30)
        wait_until(lambda: json.loads(wanted.read_text())["want"] == "running", 30)
    finally:
        os.kill(supervisor, signal.SIGCONT)
    try:
        wait_until(lambda: settled(root, step, "running", 1), 30)
        before = saved_steps(step_info)
        wait_until(lambda: saved_steps(step_info) > before + 2, 30)
    finally:
        task.stop()


def test_a_run_lost_on_another_host_can_be_taken_over(root):
    """Taking a run over once its node died: the check comes before this process beats
    the heartbeat, or the run would look alive and the takeover be refused."""
    from runyard.engine import Run

    proc, run_id = start_child_run(root, "far-away", host="other-node", timeout=1.0)
    proc.kill()
    proc.wait()
    wait_until(lambda: load_run(root, run_id).status == "lost", 30)
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    assert run.reconnect(run_id)
    run.log_metrics({"x": 1.0})
    run.close()
    info = load_run(root, run_id)
    assert info.status == "completed" and info.attrs["attempt"] == 2


def test_close_of_a_paused_run_reaches_a_worker_blocked_in_a_read(root, tmp_path):
    """SIGTERM sent to a stopped worker went to whichever thread woke first; a main
    thread blocked in a read never saw it, and the close waited out the grace period
    and ended in SIGKILL, with no unwinding."""
    module = tmp_path / "reader.py"
    module.write_text(textwrap.dedent("""
        import os
        def run(instance, save, state):
            save("waiting")
            r, w = os.pipe()
            try:
                os.read(r, 1)       # blocked, as on a socket or a pipe
            finally:
                with open("unwound.log", "a") as f:
                    f.write("unwound\\n")
    """))
    (tmp_path / "a.txt").write_text("a")
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=[str(tmp_path / "a.txt")], grace=120))
    record = info.meta_dir / "instances" / "00000-0.json"
    for cycle in range(8):
        wait_until(lambda: record.exists() and
                   json.loads(record.read_text())["state"] == "waiting" and
                   load_run(root, info.id).status == "running", 30)
        pause(root, info.id)
        wait_until(lambda: settled(root, info.id, "paused", 1), 30)
        assert close(root, info.id, wait=30).status == "terminated"
        unwound = (info.paths.run_dir / "unwound.log").read_text().splitlines()
        assert unwound == ["unwound"] * (cycle + 1)
        record.write_text(record.read_text().replace('"waiting"', '""'))
        resume(root, info.id)
    close(root, info.id, wait=30)


def test_a_request_that_cannot_be_written_is_one_line():
    """Someone else's run in a shared root: pausing it is refused in one line."""
    import shutil
    import tempfile

    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to act as another user")
    shared = Path(tempfile.mkdtemp(prefix="runyard-shared-"))  # a path others can reach
    root = shared / "runs"
    info = start_endless(root, shared, count=1)
    try:
        env = package_for_others(shared)
        subprocess.run(["chmod", "-R", "a+rX", str(shared)], check=True)
        as_nobody = subprocess.run([setpriv, "--reuid=65534", "--regid=65534",
                                    "--clear-groups", *RUNYARD, "--root", str(root),
                                    "pause", info.id], capture_output=True, text=True,
                                   env=env, timeout=60)
        assert as_nobody.returncode == 1 and as_nobody.stdout == ""
        assert as_nobody.stderr.count("\n") == 1, as_nobody.stderr
        assert as_nobody.stderr.startswith(f"runyard: cannot ask run {info.name} to be "
                                           "paused: Permission denied")
        assert settled(root, info.id, "running", 1)
    finally:
        close(root, info.id, wait=60)
        shutil.rmtree(shared)


def test_requests_from_two_shells_at_once_are_numbered_one_by_one(root, tmp_path):
    """Two processes asking at the same time: each request gets its own number, and
    the runner log names every one (no two read the same last request and both
    write the next number)."""
    import sys

    from runyard.engine.lifecycle import init_run_meta, make_run

    paths = make_run(root)
    init_run_meta(paths, name="asked-twice")
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from runyard.engine.request import post_request
        for n in range(60):
            post_request(Path(sys.argv[1]), "paused" if n % 2 else "running")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(paths.meta_dir)])
             for _ in range(2)]
    assert [p.wait(60) for p in procs] == [0, 0]
    assert json.loads((paths.meta_dir / "control.json").read_text())["seq"] == 120
    log = (paths.meta_dir / "log" / "runner").read_text()
    numbers = [int(line.rsplit("(request ", 1)[1].rstrip(")"))
               for line in log.splitlines() if "(request " in line]
    assert sorted(numbers) == list(range(1, 121))


def test_a_stranger_cannot_hold_a_runs_locks(tmp_path):
    """Anyone who can open a file can flock it: a reader holding attrs.lock made the
    run's own supervisor time out and the run end lost. Lock files are the owner's
    alone, and one an older version left readable is made so on its next use."""
    import shutil
    import tempfile

    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root and setpriv to act as another user")
    shared = Path(tempfile.mkdtemp(prefix="runyard-shared-"))
    root = shared / "runs"
    info = start_endless(root, shared, count=1)
    try:
        wait_until(lambda: list(info.meta_dir.glob("instances/*.lock")), 30)  # a worker's
        # everything readable to all, as on a shared root, but what runyard made private
        subprocess.run(["find", str(shared), "!", "-name", "*.lock", "-exec", "chmod", "a+rX",
                        "{}", "+"], check=True)
        locks = sorted(info.meta_dir.rglob("*.lock"))
        assert "attrs.lock" in {p.name for p in locks}, locks
        grab = ("import fcntl, sys\n"
                "for path in sys.argv[1:]:\n"
                "    try:\n"
                "        fcntl.flock(open(path), fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                "        print('held', path)\n"
                "    except OSError as exc:\n"
                "        print('refused', exc.strerror)\n")
        stranger = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                   sys.executable, "-c", grab, *map(str, locks)],
                                  capture_output=True, text=True, timeout=60)
        assert stranger.stdout.splitlines() == ["refused Permission denied"] * len(locks), \
            stranger
        # a lock file left readable by others (an older runyard) is closed on next use
        lock = info.meta_dir / "attrs.lock"
        lock.chmod(0o644)
        pause(root, info.id)
        assert lock.stat().st_mode & 0o777 == 0o600
        wait_until(lambda: settled(root, info.id, "paused", 1), 30)
    finally:
        close(root, info.id, wait=60)
        shutil.rmtree(shared)


def test_a_request_refused_for_a_planted_link_says_why(root, tmp_path):
    """The reason was printed as 'None' (NotReadable has no strerror)."""
    info = start_endless(root, tmp_path, count=1)
    try:
        lock = info.meta_dir / "attrs.lock"
        lock.unlink()
        lock.symlink_to(os.devnull)
        done = subprocess.run([*RUNYARD, "--root", str(root), "pause", info.id],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 1
        assert "None" not in done.stderr
        assert done.stderr.startswith(f"runyard: cannot ask run {info.name} to be paused: "
                                      f"{lock} is a symbolic link"), done.stderr
    finally:
        lock.unlink()
        close(root, info.id, wait=60)
