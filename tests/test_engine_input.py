"""Bad input to the engine: one clear line naming the file (and line), nothing created."""

import json
import os
import textwrap
from pathlib import Path

import pytest

from runyard.engine.control import close, resume, start, wait_for_end
from runyard.engine.errors import RunyardError
from runyard.engine.instances import read_batch
from runyard.engine.project import ProjectError, load_operation, save_operation
from runyard.engine.spec import RunSpec, UnsafeRun

from conftest import run_cli_process, wait_until


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def nothing_created(root: Path) -> bool:
    return not root.exists() or [p.name for p in root.iterdir() if p.name != ".runyard"] == []


def run_error(root, *args, cwd=None):
    result = run_cli_process("run", "--root", root, *args, cwd=cwd)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert nothing_created(root), list(root.iterdir())
    return result.stderr


def test_module_without_run(root, tmp_path):
    module = write(tmp_path / "norun.py", "def walk(a, b, c):\n    pass\n")
    data = write(tmp_path / "a.txt", "a")
    assert f"{module}: no run(instance, save, state) function" in \
        run_error(root, module, "--instances", data)


def test_module_with_wrong_run_signature(root, tmp_path):
    module = write(tmp_path / "two.py", "def run(instance, save):\n    pass\n")
    data = write(tmp_path / "a.txt", "a")
    assert "takes 2 argument(s)" in run_error(root, module, "--instances", data)


def test_module_with_a_syntax_error_names_the_line(root, tmp_path):
    module = write(tmp_path / "syntax.py", "x = 1\ndef run(instance, save, state)\n    pass\n")
    data = write(tmp_path / "a.txt", "a")
    assert f"{module}:2: syntax error" in run_error(root, module, "--instances", data)


def test_module_that_fails_to_import_names_the_line(root, tmp_path):
    module = write(tmp_path / "broken.py", """
        import os

        SETTINGS = {"a": 1}
        LIMIT = SETTINGS["missing"]

        def run(instance, save, state):
            pass
    """)
    data = write(tmp_path / "a.txt", "a")
    message = run_error(root, module, "--instances", data)
    assert f"{module}:5: import failed: KeyError" in message


def test_missing_instance_file(root, tmp_path):
    module = write(tmp_path / "ok.py", "def run(instance, save, state):\n    pass\n")
    assert "instance file 'nope.txt' does not exist" in \
        run_error(root, module, "--instances", "nope.txt", cwd=tmp_path)
    assert "no instance file matches" in \
        run_error(root, module, "--instances", "*.nothing", cwd=tmp_path)


def test_invalid_runyard_toml(root, tmp_path):
    write(tmp_path / "ok.py", "def run(instance, save, state):\n    pass\n")
    write(tmp_path / "runyard.toml", "[operations.x]\nmodule = 'ok.py'\nworkers = [\n")
    message = run_error(root, "x", cwd=tmp_path)
    assert f"{tmp_path / 'runyard.toml'}:" in message and "invalid TOML" in message
    write(tmp_path / "runyard.toml", """
        # comment
        [operations.x]
        module = "ok.py"
        instances = []
        workers = "four"
    """)
    message = run_error(root, "x", cwd=tmp_path)
    assert f"{tmp_path / 'runyard.toml'}:6: workers has the wrong type" in message
    write(tmp_path / "runyard.toml", "[operations.x]\nmodule = 'ok.py'\nwrokers = 2\n")
    assert "runyard.toml:3: unknown key 'wrokers'" in run_error(root, "x", cwd=tmp_path)
    assert "no operation 'y'" in run_error(root, "y", cwd=tmp_path)


def test_include_cycle(root, tmp_path):
    module = write(tmp_path / "ok.py", "def run(instance, save, state):\n    pass\n")
    write(tmp_path / "a.batch", json.dumps({"include": ["b.batch"], "instances": []}))
    write(tmp_path / "b.batch", json.dumps({"include": ["a.batch"]}))
    message = run_error(root, module, "--instances", tmp_path / "a.batch")
    assert "include cycle" in message and "a.batch -> " in message
    with pytest.raises(RunyardError, match="include cycle"):
        read_batch(tmp_path / "a.batch")


def test_bad_batch_json_names_the_line(tmp_path):
    write(tmp_path / "bad.batch", '{\n "instances": [\n  "a.txt",\n ]\n}\n')
    with pytest.raises(RunyardError, match=r"bad\.batch:4: invalid JSON"):
        read_batch(tmp_path / "bad.batch")


def test_bad_numbers(root, tmp_path):
    module = write(tmp_path / "ok.py", "def run(instance, save, state):\n    pass\n")
    data = write(tmp_path / "a.txt", "a")
    assert "argument --workers: must be at least 1" in \
        run_error(root, module, "--instances", data, "--workers", 0)
    assert "--meta takes KEY=VALUE" in \
        run_error(root, module, "--instances", data, "--meta", "novalue")
    assert "folder must start with '/'" in \
        run_error(root, module, "--instances", data, "--folder", "rel")
    assert "a run module needs --instances" in run_error(root, module)
    assert "needs a command after '--'" in run_error(root, "--")


def test_save_operation_keeps_comments_and_layout(tmp_path):
    project = write(tmp_path / "runyard.toml", """
        # my experiments
        root = "runs"   # where they go

        [operations.first]  # the first one
        module = "a.py"
        instances = ["x/*.txt"]
    """)
    save_operation(project, "second", {"module": "b.py", "instances": ["y/*"], "workers": 4})
    save_operation(project, "first", {"workers": 2})
    text = project.read_text()
    assert "# my experiments" in text and "# where they go" in text
    assert "[operations.first]  # the first one" in text
    assert text.index("[operations.first]") < text.index("[operations.second]")
    write(tmp_path / "a.py", "def run(instance, save, state):\n    pass\n")
    write(tmp_path / "x" / "1.txt", "1")
    assert load_operation(project, "first").spec.workers == 2
    with pytest.raises(ProjectError, match="unknown operation keys: colour"):
        save_operation(project, "third", {"colour": "red"})


def finished_run(root, tmp_path):
    module = write(tmp_path / "fails.py", """
        def run(instance, save, state):
            raise ValueError("no")
    """)
    data = write(tmp_path / "a.txt", "a")
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)]))
    return wait_for_end(root, info.id, 60)


def test_resume_refuses_files_others_can_write(root, tmp_path):
    info = finished_run(root, tmp_path)
    module_copy = info.meta_dir / "proc" / "module.py"
    os.chmod(module_copy, 0o666)
    with pytest.raises(UnsafeRun, match="can be written by other users"):
        resume(root, info.id)
    os.chmod(module_copy, 0o600)
    os.chown(info.meta_dir / "proc" / "spec.json", 12345, -1)
    result = run_cli_process("resume", info.id, "--root", root)
    assert result.returncode == 1
    assert "belongs to uid 12345" in result.stderr and result.stderr.count("\n") == 1


def test_resume_takes_secrets_from_the_resuming_user(root, tmp_path, monkeypatch):
    module = write(tmp_path / "env.py", """
        import os
        def run(instance, save, state):
            if not os.path.exists("first"):
                open("first", "w").write("x")
                raise RuntimeError("first attempt fails")
            open("seen", "w").write(os.environ.get("SERVICE_TOKEN", "-") + " " +
                                    os.environ.get("PLAIN", "-"))
    """)
    data = write(tmp_path / "a.txt", "a")
    monkeypatch.setenv("SERVICE_TOKEN", "from-launcher")
    monkeypatch.setenv("PLAIN", "recorded")
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)]))
    info = wait_for_end(root, info.id, 60)
    monkeypatch.setenv("SERVICE_TOKEN", "from-resumer")
    monkeypatch.setenv("PLAIN", "changed")
    resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert (info.paths.run_dir / "seen").read_text() == "from-resumer recorded"


@pytest.mark.parametrize("planted", ["fifo", "zero"])
def test_resume_refuses_a_recorded_spec_that_is_no_regular_file(root, tmp_path, planted):
    """A run's proc/spec.json as a FIFO (or a link to /dev/zero), as the run's owner
    can leave it in a shared root: resume (the CLI's, and the dashboard's r) read it
    whole before looking at who owns it, and waited for a writer for good (the
    dashboard then could not be quit) or read until memory ran out. Now: one line."""
    module = write(tmp_path / "m.py", "def run(instance, save, state):\n    raise ValueError\n")
    data = write(tmp_path / "a.txt", "a")
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)],
                               max_attempts=1))
    assert wait_for_end(root, info.id, 60).status == "failed"
    spec = info.meta_dir / "proc" / "spec.json"
    spec.unlink()
    if planted == "fifo":
        os.mkfifo(spec)
    else:
        spec.symlink_to("/dev/zero")
    done = run_cli_process("resume", info.id, "--root", root, timeout=30)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "spec.json" in done.stderr
    assert wait_for_end(root, info.id, 5).status == "failed"  # nothing started


def test_an_absurd_iteration_count_is_refused_before_anything_is_written(root, tmp_path, cli):
    module = tmp_path / "m.py"
    module.write_text("def run(instance, save, state):\n    pass\n")
    (tmp_path / "a.txt").write_text("a")
    done = cli("--root", root, "run", module, "--instances", tmp_path / "a.txt",
               "--iterations", "10000000")
    assert done.code == 2 and "more than 1,000,000" in done.err
    assert not root.exists() or not list(root.glob("*.meta"))


def test_the_largest_run_accepted_gets_to_work_and_closes(root, tmp_path):
    """1,000,000 units, the most a run takes: its supervisor reaches its work in
    seconds, and a close ends it. It looked each unit up in the queue of all of them
    (a scan each): hours of a core before the first instance, with close and Ctrl-C
    unheard meanwhile."""
    module = write(tmp_path / "m.py", "def run(instance, save, state):\n    pass\n")
    data = write(tmp_path / "a.txt", "a")
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)],
                               iterations=1_000_000))
    log = info.meta_dir / "log" / "supervisor.log"
    assert wait_until(lambda: "Attempt with 1000000 of 1000000" in log.read_text(), 120), \
        log.read_text()
    close(root, info.id)
    assert wait_for_end(root, info.id, 60).status == "terminated"


def test_an_interrupted_start_leaves_no_run(root, tmp_path):
    """Ctrl-C while the instance records are written: the half-made run is removed
    (it could neither be resumed nor closed, and kept its name)."""
    import subprocess
    import sys

    module = tmp_path / "m.py"
    module.write_text("def run(instance, save, state):\n    pass\n")
    (tmp_path / "a.txt").write_text("a")
    script = (
        "import sys, os, signal\n"
        "from pathlib import Path\n"
        "from runyard.engine.control import start\n"
        "from runyard.engine.spec import RunSpec\n"
        "from runyard.engine import work\n"
        "real = work.InstanceBook.create\n"
        "def create(self, *a):\n"
        "    os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C came now\n"
        "    real(self, *a)\n"
        "work.InstanceBook.create = create\n"
        "start(Path(sys.argv[1]), RunSpec(kind='module', module=sys.argv[2],\n"
        "      instances=[sys.argv[3]], iterations=1000), name='cut-short')\n")
    done = subprocess.run([sys.executable, "-c", script, str(root), str(module),
                           str(tmp_path / "a.txt")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and "KeyboardInterrupt" in done.stderr
    assert not list(root.glob("*.meta")) and not list(root.glob("1*"))
    assert not list((root / ".runyard" / "names").iterdir())  # the name is free again
