"""The engine runs modules, commands, operations and pyalma files (reference 000)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from runyard.engine import Experiment, list_runs, load_run
from runyard.engine.control import pause, resume, wait_for_end
from runyard.engine.work import InstanceBook

from conftest import RUNYARD, run_cli_process, wait_until

EXAMPLE = Path(__file__).parent.parent / "examples" / "extract"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def only_run(root: Path):
    (info,) = list_runs(root)
    return info


def cli_run(root: Path, *args, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([*RUNYARD, "run", "--root", str(root), *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)


def test_reference_000_over_three_instances_with_two_workers(root):
    instances = sorted((EXAMPLE / "data").glob("*.txt"))
    result = cli_run(root, EXAMPLE / "lines.py", "--instances", *instances, "--workers", 2)
    assert result.returncode == 0, result.stderr
    assert "completed" in result.stdout
    info = only_run(root)
    lines = (info.paths.run_dir / "lines.txt").read_text().splitlines()
    assert len(lines) == 30
    assert {line.split()[0] for line in lines} == {"alpha", "beta", "gamma"}
    assert (info.paths.run_dir / "done.txt").read_text() == "done\n"
    records = InstanceBook(info.paths).records()
    assert [r["status"] for r in records.values()] == ["done"] * 3
    assert all(r["state"] == "0" and r["attempts"] == 1 for r in records.values())
    assert info.attrs["progress"] == {"pending": 0, "running": 0, "done": 3, "failed": 0,
                                      "total": 3}


def test_the_run_records_what_it_needs_to_resume(root, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_API_TOKEN", "s3cret")
    monkeypatch.setenv("SOLVER_THREADS", "4")
    module = write(tmp_path / "m.py", "def run(instance, save, state):\n    pass\n")
    data = write(tmp_path / "a.txt", "x")
    result = cli_run(root, module, "--instances", data, "--detach")
    assert result.returncode == 0, result.stderr
    run_id, name = result.stdout.split()
    info = wait_for_end(root, run_id, 30)
    proc = info.meta_dir / "proc"
    spec = json.loads((proc / "spec.json").read_text())
    assert spec["instances"] == [str(data)] and spec["module"] == str(module)
    assert (proc / "module.py").read_text() == module.read_text()
    env = json.loads((proc / "env.json").read_text())
    assert env["SOLVER_THREADS"] == "4" and "MY_API_TOKEN" not in env
    for path in (proc / "spec.json", proc / "env.json", proc / "module.py"):
        assert oct(path.stat().st_mode & 0o777) == "0o600", path
    assert info.name == name


def test_instance_failure_fails_the_run_and_resume_retries_it(root, tmp_path):
    flag = write(tmp_path / "broken", "")
    module = write(tmp_path / "fragile.py", f"""
        import os
        def run(instance, save, state):
            if instance.endswith("b.txt") and os.path.exists({str(flag)!r}):
                raise ValueError("bad input in " + instance)
            open(os.path.basename(instance) + ".out", "w").write("ok")
        def done():
            open("done.log", "a").write("done\\n")
    """)
    data = [write(tmp_path / f"{n}.txt", n) for n in "abc"]
    result = cli_run(root, module, "--instances", *data, "--workers", 2)
    assert result.returncode == 1
    assert "1 of 3 instances failed" in result.stdout
    info = only_run(root)
    assert info.status == "failed"
    records = InstanceBook(info.paths).records()
    assert [r["status"] for r in records.values()] == ["done", "failed", "done"]
    assert records["00001-0"]["error"] == f"ValueError: bad input in {data[1]}"
    assert not (info.paths.run_dir / "done.log").exists()
    events = read_series_all(info)
    assert any("Traceback" in e["msg"] and "bad input" in e["msg"] for e in events)
    flag.unlink()
    resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed"
    records = InstanceBook(info.paths).records()
    assert [r["attempts"] for r in records.values()] == [1, 2, 1]  # a and c not redone
    assert (info.paths.run_dir / "done.log").read_text() == "done\n"


def read_series_all(info) -> list[dict]:
    from runyard.engine.summary import read_series

    records, bad = read_series(info.meta_dir, "events.jsonl")
    assert bad == []
    return records


def test_retry_limit(root, tmp_path):
    module = write(tmp_path / "always.py", """
        def run(instance, save, state):
            raise RuntimeError("never works")
    """)
    data = write(tmp_path / "a.txt", "a")
    assert cli_run(root, module, "--instances", data, "--max-attempts", 2).returncode == 1
    info = only_run(root)
    resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert InstanceBook(info.paths).records()["00000-0"]["attempts"] == 2
    resume(root, info.id)  # over the limit: nothing runs, the run stays failed
    info = wait_for_end(root, info.id, 60)
    assert info.status == "failed"
    assert InstanceBook(info.paths).records()["00000-0"]["attempts"] == 2


def test_iterations_multiply_the_work(root, tmp_path):
    module = write(tmp_path / "it.py", """
        def run(instance, save, state):
            open("count", "a").write("x")
    """)
    data = [write(tmp_path / f"{n}.txt", n) for n in "ab"]
    assert cli_run(root, module, "--instances", *data, "--iterations", 3).returncode == 0
    info = only_run(root)
    assert (info.paths.run_dir / "count").read_text() == "x" * 6
    assert sorted(InstanceBook(info.paths).keys()) == [f"0000{i}-{k}" for i in range(2)
                                                       for k in range(3)]


def test_current_run_logs_into_the_same_run_tagged_with_the_instance(root, tmp_path):
    module = write(tmp_path / "tracked.py", """
        from runyard.engine import current_run
        def run(instance, save, state):
            handle = current_run()
            for step in range(5):
                handle.log_metrics({"progress": step})
            handle.log_event("finished " + instance[-5:])
    """)
    data = [write(tmp_path / f"{n}.txt", n) for n in "ab"]
    assert cli_run(root, module, "--instances", *data, "--workers", 2).returncode == 0
    info = only_run(root)
    shown = json.loads(run_cli_process("show", info.id, "--json", "--root", root).stdout)
    assert shown["metrics"]["progress"]["count"] == 10
    events = read_series_all(info)
    assert sorted(e["instance"] for e in events) == sorted(str(d) for d in data)


def test_a_plain_command_attaches_its_run(root, tmp_path):
    script = write(tmp_path / "train.py", """
        import sys
        from runyard.engine import Run
        with Run() as run:
            run.init(metadata={"lr": float(sys.argv[1])}, tags=["cmd"])
            for i in range(20):
                run.log_metrics({"loss": 1 / (i + 1)})
            run.log_event("trained")
        print("stdout of the command")
    """)
    result = cli_run(root, "--name", "trainer", "--", sys.executable, script, "0.1")
    assert result.returncode == 0, result.stderr
    info = only_run(root)
    assert info.name == "trainer" and info.status == "completed"
    assert info.attrs["metadata"] == {"lr": 0.1} and info.tags == ["cmd"]
    shown = json.loads(run_cli_process("show", "trainer", "--json", "--root", root).stdout)
    assert shown["metrics"]["loss"]["count"] == 20
    assert [e["msg"] for e in shown["events"]["last"]] == ["trained"]
    assert "stdout of the command" in (info.meta_dir / "log/output.log").read_text()
    failing = cli_run(root, "--", sys.executable, "-c", "raise SystemExit(3)")
    assert failing.returncode == 1 and "exit code 3" in failing.stdout


def test_detach_returns_at_once_and_a_killed_caller_stops_nothing(root, tmp_path):
    module = write(tmp_path / "slow.py", """
        import time
        def run(instance, save, state):
            for i in range(int(state or 0), 20):
                time.sleep(0.1)
                save(str(i + 1))
    """)
    data = write(tmp_path / "a.txt", "a")
    caller = subprocess.Popen([*RUNYARD, "run", "--root", str(root), str(module),
                               "--instances", str(data)], stdout=subprocess.PIPE, text=True)
    assert caller.stdout.readline().startswith("Started run")
    os.kill(caller.pid, signal.SIGKILL)  # a dropped SSH connection, at worst
    caller.wait()
    info = wait_for_end(root, only_run(root).id, 60)
    assert info.status == "completed"
    started = time.monotonic()
    result = cli_run(root, module, "--instances", data, "--detach")
    assert time.monotonic() - started < 10 and result.returncode == 0
    run_id, _name = result.stdout.split()
    assert load_run(root, run_id).status == "running"
    assert wait_for_end(root, run_id, 60).status == "completed"


def test_ctrl_c_closes_the_run_gracefully_and_it_resumes(root, tmp_path):
    module = write(tmp_path / "steps.py", """
        import time
        def run(instance, save, state):
            for i in range(int(state or 0), 30):
                open("steps.log", "a").write(f"{i}\\n")
                save(str(i + 1))
                time.sleep(0.05)
    """)
    data = write(tmp_path / "a.txt", "a")
    caller = subprocess.Popen([*RUNYARD, "run", "--root", str(root), str(module),
                               "--instances", str(data)], stdout=subprocess.PIPE, text=True)
    caller.stdout.readline()
    time.sleep(0.8)
    caller.send_signal(signal.SIGINT)
    out, _ = caller.communicate(timeout=60)
    assert caller.returncode == 1 and "terminated" in out
    info = only_run(root)
    assert info.status == "terminated"
    record = InstanceBook(info.paths).records()["00000-0"]
    assert record["status"] == "pending" and 0 < int(record["state"]) < 30
    resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed"
    steps = (info.paths.run_dir / "steps.log").read_text().split()
    assert steps == [str(i) for i in range(30)]  # every step once: nothing redone


def worker_processes(info) -> list[psutil.Process]:
    supervisor = psutil.Process(info.attrs["lock"]["pid"])
    return supervisor.children(recursive=True)


def test_pause_stops_all_cpu_and_resume_finishes(root, tmp_path):
    module = write(tmp_path / "busy.py", """
        import time
        def run(instance, save, state):
            done = float(state or 0)
            while done < 3.0:          # three seconds of CPU, saved as it goes
                start = time.process_time()
                while time.process_time() - start < 0.05:
                    pass
                done += 0.05
                save(str(done))
    """)
    data = [write(tmp_path / f"{n}.txt", n) for n in "ab"]
    result = cli_run(root, module, "--instances", *data, "--workers", 2, "--detach")
    run_id = result.stdout.split()[0]
    time.sleep(0.5)
    info = load_run(root, run_id)
    pause(root, run_id)
    deadline = time.monotonic() + 1.0
    while load_run(root, run_id).status != "paused" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert load_run(root, run_id).status == "paused"
    workers = worker_processes(info)
    assert len(workers) == 2
    time.sleep(0.3)
    before = [p.cpu_times() for p in workers]
    time.sleep(2.0)
    after = [p.cpu_times() for p in workers]
    for a, b in zip(before, after, strict=True):
        assert (b.user + b.system) - (a.user + a.system) < 0.02
    assert all(p.status() == psutil.STATUS_STOPPED for p in workers)
    resume(root, run_id)
    assert wait_for_end(root, run_id, 60).status == "completed"


def test_close_then_resume_from_python(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "mod.py", """
        import time
        def run(instance, save, state):
            for i in range(int(state or 0), 40):
                time.sleep(0.05)
                save(str(i + 1))
    """)
    for n in "abc":
        write(tmp_path / "data" / f"{n}.txt", n)
    experiment = Experiment("mod.py", ["data/*.txt"], workers=3, root=root)
    run_id = experiment.start()
    assert experiment.status == "running"
    book = InstanceBook(experiment.info().paths)
    # every instance part-way (a fixed sleep was too short on a loaded machine)
    wait_until(lambda: len(records := book.records()) == 3 and
               all(r.get("state") for r in records.values()), 60)
    assert experiment.stop() == "terminated"
    records = book.records()
    saved = {k: int(r["state"]) for k, r in records.items()}
    assert all(0 < s < 40 for s in saved.values())
    resume(root, run_id)
    assert experiment.join(60) == "completed"
    assert all(r["state"] == "40" for r in InstanceBook(experiment.info().paths)
               .records().values())


def test_cli_pause_resume_close(root, tmp_path):
    module = write(tmp_path / "nap.py", """
        import time
        def run(instance, save, state):
            time.sleep(30)
    """)
    data = write(tmp_path / "a.txt", "a")
    run_id = cli_run(root, module, "--instances", data, "--detach").stdout.split()[0]
    assert run_cli_process("pause", run_id, "--root", root).returncode == 0
    deadline = time.monotonic() + 2
    while load_run(root, run_id).status != "paused" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert load_run(root, run_id).status == "paused"
    assert run_cli_process("resume", run_id, "--root", root).returncode == 0
    closed = run_cli_process("close", run_id, "--wait", "30", "--root", root)
    assert closed.returncode == 0 and "terminated" in closed.stdout
    again = run_cli_process("close", run_id, "--root", root)
    assert again.returncode == 2 and "only a running or paused run" in again.stderr


def test_operations_from_runyard_toml(root, tmp_path):
    write(tmp_path / "count.py", """
        def run(instance, save, state):
            open("seen.txt", "a").write(open(instance).read())
    """)
    for n in "ab":
        write(tmp_path / "inputs" / f"{n}.txt", n)
    write(tmp_path / "runyard.toml", f"""
        # the project's runs
        root = {str(root)!r}

        [operations.count]   # counts things
        module = "count.py"
        instances = ["inputs/*.txt"]
        workers = 2
        tags = ["nightly"]
        folder = "/counting"
        metadata = {{ dataset = "v2" }}

        [[operations.count.alerts]]
        name = "never"
        source = "user"
    """)
    result = subprocess.run([*RUNYARD, "run", "count"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    info = only_run(root)
    assert info.folder == "/counting" and info.tags == ["nightly"]
    assert info.attrs["metadata"] == {"dataset": "v2"}
    assert sorted((info.paths.run_dir / "seen.txt").read_text()) == ["a", "b"]
    assert json.loads((info.meta_dir / "alerts.json").read_text())[0]["name"] == "never"


def test_pyalma_experiment_and_batch_files(root, tmp_path):
    write(tmp_path / "exp" / "mod.py", """
        def run(instance, save, state):
            open("seen.txt", "a").write(open(instance).read() + "\\n")
    """)
    for name in ("one", "two", "three", "four"):
        write(tmp_path / "exp" / "data" / f"{name}.txt", name)
    write(tmp_path / "exp" / "more.batch", json.dumps(
        {"dir": "data", "instances": ["three.txt"]}))
    write(tmp_path / "exp" / "all.batch", json.dumps(
        {"dir": "data", "instances": ["one.txt"], "include": ["more.batch"],
         "batches": [{"dir": ".", "instances": ["two.txt", "four.txt"]}]}))
    write(tmp_path / "exp" / "run.experiment", json.dumps(
        {"load": "mod.py", "workers": 2, "iterations": 1, "batch": "all.batch"}))
    result = cli_run(root, tmp_path / "exp" / "run.experiment")
    assert result.returncode == 0, result.stderr
    info = only_run(root)
    seen = (info.paths.run_dir / "seen.txt").read_text().split()
    assert sorted(seen) == ["four", "one", "three", "two"]


def test_a_group_sharing_a_root_reads_each_others_runs_and_resumes_its_own(tmp_path):
    """Under umask 002 (a group's shared project) a run's record is group-readable and
    its meta folder group-writable, as DESIGN's 'Modes' says; proc/ stays owner-only,
    and the owner can still resume it."""
    import stat as st

    module = tmp_path / "m.py"
    module.write_text("def run(instance, save, state):\n    raise ValueError('once')\n")
    module.parent.chmod(0o755)
    (tmp_path / "a.txt").write_text("a")
    root = tmp_path / "runs"
    script = ("import sys; from pathlib import Path; from runyard.engine.control import "
              "start, wait_for_end; from runyard.engine.spec import RunSpec; "
              "info = start(Path(sys.argv[1]), RunSpec(kind='module', module=sys.argv[2], "
              "instances=[sys.argv[3]], max_attempts=1)); wait_for_end(info.paths.root, "
              "info.id, 60); print(info.id)")
    done = subprocess.run(["sh", "-c", 'umask 002; exec "$0" -c "$1" "$2" "$3" "$4"',
                           sys.executable, script, str(root), str(module),
                           str(tmp_path / "a.txt")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    meta = root / f"{run_id}.meta"
    assert st.S_IMODE(meta.stat().st_mode) == 0o775
    assert st.S_IMODE((meta / "attrs.json").stat().st_mode) == 0o664
    assert st.S_IMODE((meta / "proc").stat().st_mode) == 0o700
    assert st.S_IMODE((meta / "proc" / "spec.json").stat().st_mode) == 0o600
    resumed = subprocess.run([*RUNYARD, "--root", str(root), "resume", run_id],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
