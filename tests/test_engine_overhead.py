"""What one instance costs the engine on disk (issue 11): a trivial instance creates no
file (a line in its worker's journal), and an instance that runs a while is still seen
running."""

import json
import textwrap
from pathlib import Path

from runyard.engine.control import start, wait_for_end
from runyard.engine.spec import RunSpec
from runyard.engine.work import InstanceBook

from conftest import wait_until

# Loaded by every process of the run (supervisor, workers): counts, through Python's
# audit events, the files created and renamed in instances/ and writes them at exit.
AUDIT = """
    import atexit, json, os, sys

    created, renamed, linked = [], [], []

    def _hook(event, args):
        if event == "open" and isinstance(args[0], (str, bytes)) and \
                isinstance(args[2], int) and args[2] & os.O_CREAT:
            path = os.fsdecode(args[0])
            if "/instances/" in path and not os.path.exists(path):
                created.append(os.path.basename(path))
        elif event == "os.rename" and "/instances/" in os.fsdecode(args[1]):
            renamed.append(os.path.basename(os.fsdecode(args[1])))
        elif event == "os.link" and "/instances/" in os.fsdecode(args[1]):
            linked.append(os.path.basename(os.fsdecode(args[1])))

    def _report():
        if created or renamed or linked:
            with open(os.path.join(OUT, f"{os.getpid()}.json"), "w") as f:
                json.dump({"created": created, "renamed": renamed, "linked": linked}, f)

    sys.addaudithook(_hook)
    atexit.register(_report)
"""


def audited(tmp_path: Path, monkeypatch) -> Path:
    """A folder where each process of a run started from now reports its file work."""
    site, out = tmp_path / "site", tmp_path / "audit"
    site.mkdir()
    out.mkdir()
    (site / "sitecustomize.py").write_text(
        textwrap.dedent(AUDIT).replace("OUT", repr(str(out))))
    monkeypatch.setenv("PYTHONPATH", str(site))
    return out


def data_files(tmp_path: Path, count: int) -> list[str]:
    folder = tmp_path / "data"
    folder.mkdir()
    paths = []
    for i in range(count):
        path = folder / f"{i:03d}.txt"
        path.write_text(str(i))
        paths.append(str(path))
    return paths


def test_a_trivial_instance_creates_no_file(root, tmp_path, monkeypatch):
    # creating a file (a new inode) cost from 20 us to 0.7 ms here, more than all the
    # rest of a trivial instance: its start was a pending record file, its end a
    # temporary file renamed over it, its lock a link
    module = tmp_path / "trivial.py"
    module.write_text("def run(instance, save, state):\n    pass\n")
    out = audited(tmp_path, monkeypatch)
    count = 20
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=data_files(tmp_path, count), workers=2))
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    reports = [json.loads(p.read_text()) for p in out.iterdir()]
    renamed = sorted(name for report in reports for name in report["renamed"])
    created = [name for report in reports for name in report["created"]]
    linked = sorted(name for report in reports for name in report["linked"])
    assert renamed == [] and linked == []
    # a journal for each worker process, whatever the number of instances
    assert 1 <= len(created) <= 2 and all(n.endswith(".jsonl") for n in created), created
    folder = info.meta_dir / "instances"
    assert sorted(p.name for p in folder.iterdir()) == [".shared.lock", "done", "plan.json"]
    records = InstanceBook(info.paths).records()
    assert list(records) == [f"{i:05d}-0" for i in range(count)]
    assert all(r["status"] == "done" and r["attempts"] == 1 and r["started"]
               and r["instance"].endswith(f"{int(k[:5]):03d}.txt")
               for k, r in records.items())


def test_an_instance_that_runs_a_while_is_recorded_running(root, tmp_path):
    """The 'running' record of an instance that does not save is written once it has
    run a moment, so the dashboard and ``runyard show`` see it running."""
    gate = tmp_path / "gate"
    module = tmp_path / "slow.py"
    module.write_text(textwrap.dedent(f"""
        import os, time

        def run(instance, save, state):
            while not os.path.exists({str(gate)!r}):
                time.sleep(0.01)
    """))
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=data_files(tmp_path, 1)))
    book = InstanceBook(info.paths)
    record = wait_until(lambda: (book.read("00000-0") or {}).get("status") == "running"
                        and book.read("00000-0"), 30, 0.02)
    assert record["attempts"] == 1 and record["started"] and record["state"] == ""
    gate.write_text("")
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    assert book.read("00000-0")["status"] == "done"


def test_a_task_sent_ahead_to_a_killed_worker_runs_and_is_not_counted_killed(
        root, tmp_path):
    """After a quick instance a worker is sent its next task while it runs one: killed,
    the instance under way counts the kill, and the one it had not begun runs as if
    never sent."""
    flag = tmp_path / "kill-once"
    flag.write_text("")
    module = tmp_path / "oom.py"
    module.write_text(textwrap.dedent(f"""
        import os, select, signal, sys

        def run(instance, save, state):
            if instance.endswith("001.txt") and os.path.exists({str(flag)!r}):
                os.unlink({str(flag)!r})
                # the worker's task pipe: wait for the next task, sent ahead
                select.select([int(sys.argv[-2])], [], [], 10)
                os.kill(os.getpid(), signal.SIGKILL)
            open(os.path.basename(instance) + ".out", "w").write("ok")
    """))
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=data_files(tmp_path, 4), workers=1))
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    records = InstanceBook(info.paths).records()
    assert [r["kills"] for r in records.values()] == [0, 1, 0, 0]
    assert [r["attempts"] for r in records.values()] == [1, 2, 1, 1]
    assert sorted(p.name for p in info.paths.run_dir.iterdir()) == \
        [f"{i:03d}.txt.out" for i in range(4)]
    log = (info.meta_dir / "log" / "supervisor.log").read_text()
    assert log.count("killed by SIGKILL") == 1


def test_done_sees_every_instance_metrics(root, tmp_path):
    """Workers do not wait for their metrics to be written after every instance, but
    all of them are on disk before done() is called."""
    module = tmp_path / "count.py"
    module.write_text(textwrap.dedent("""
        import glob, os
        from runyard.engine import current_run

        def run(instance, save, state):
            current_run().log_metrics({"x": 1.0})

        def done():
            meta = os.path.join(os.environ["RUNYARD_ROOT"], os.environ["RUNYARD_RUN_ID"]
                                + ".meta")
            lines = 0
            for name in glob.glob(os.path.join(meta, "metrics*.jsonl")):
                with open(name) as f:
                    lines += sum(1 for line in f if line.strip())  # one per instance
            open("done.log", "w").write(str(lines))
    """))
    count = 40
    info = start(root, RunSpec(kind="module", module=str(module),
                               instances=data_files(tmp_path, count), workers=2))
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    assert (info.paths.run_dir / "done.log").read_text() == str(count)


HOLDER = """
    import sys
    from runyard.engine.instance_lock import lock_instance

    fd = lock_instance(sys.argv[1], sys.argv[2])
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


def test_an_instance_lock_excludes_a_second_runner_of_it_only(tmp_path):
    """The instances' locks are bytes of one file: each still excludes a second
    process running the same instance (a straggler of a killed attempt), and only it."""
    import os
    import subprocess
    import sys
    import threading

    from runyard.engine.instance_lock import lock_instance, make_shared

    folder = tmp_path / "instances"
    folder.mkdir()
    make_shared(str(folder))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(folder),
                               "00001-0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        os.close(lock_instance(str(folder), "00002-0"))  # another instance: at once
        os.close(lock_instance(str(folder), "00001-1"))  # another iteration: at once
        got = threading.Event()

        def second():
            os.close(lock_instance(str(folder), "00001-0"))
            got.set()

        threading.Thread(target=second, daemon=True).start()
        assert not got.wait(0.5)  # still held by the first runner
        holder.stdin.close()  # it ends: its lock goes with it
        assert got.wait(30)
    finally:
        holder.kill()
        holder.wait()
    assert sorted(os.listdir(folder)) == [".shared.lock"]  # no file, no link per instance
