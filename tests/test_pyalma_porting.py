"""pyalma run modules and Malevich flows run as their authors wrote them (issue 13):
a module imports the files beside it and sees its own path, a module changed
before a resume is run with a warning on record, ``Experiment`` takes a
``.experiment`` file and pauses and resumes, and a flow run that completed is
not taken for one to resume."""

import hashlib
import importlib.util
import json
import os
import subprocess
import textwrap
import uuid
import warnings
from pathlib import Path

import pytest
from test_engine_dask import cluster  # noqa: F401  (a fixture: a scheduler, 2 workers)

from runyard.engine import Experiment, list_runs, load_run
from runyard.engine.control import resume, start, wait_for_end
from runyard.engine.flows import FlowError, Local
from runyard.engine.jsonl import read_all
from runyard.engine.layout import series_files
from runyard.engine.spec import ModuleChanged, RunSpec, UnsafeRun
from runyard.engine.work import InstanceBook

from conftest import RUNYARD, run_cli_process, wait_until


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def cli_run(root: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*RUNYARD, "run", "--root", str(root), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def events(meta_dir: Path) -> list[dict]:
    """The run's events from every writer's file."""
    found = []
    for path in series_files(meta_dir, "events.jsonl"):
        if path.exists():
            records, bad = read_all(path)
            assert bad == [], bad
            found += records
    return found


# Reference 000's run module: examples/extract/lines.py gives its run() as the document does,
# and here its done() too, which suspends the computer with systemctl (the test below
# replaces systemctl on PATH).
EXAMPLE = Path(__file__).parent.parent / "examples" / "extract" / "lines.py"
REFERENCE_000 = EXAMPLE.read_text().partition("# optional")[0] + """# optional
def done():
    os.system("systemctl suspend")
"""

# A module whose first version fails: the tests below fix it and resume.
VERSION_1 = """
    def run(instance, save, state):
        raise RuntimeError("a bug in version 1")
"""


def test_reference_000_runs_verbatim_and_calls_done_once(root, tmp_path):
    module = tmp_path / "extract.py"
    module.write_text(REFERENCE_000)
    bin_dir = tmp_path / "bin"
    write(bin_dir / "systemctl", f'#!/bin/sh\necho "$@" >> {tmp_path / "calls"}\n').chmod(0o755)
    data = [write(tmp_path / "data" / f"{n}.txt", f"{n} one\n{n} two\n") for n in "abc"]
    result = subprocess.run([*RUNYARD, "run", "--root", str(root), str(module),
                             "--instances", *map(str, data), "--workers", "2"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    (info,) = list_runs(root)
    lines = (info.paths.run_dir / "lines.txt").read_text().splitlines()
    assert len(lines) == 30 and {line.split()[0] for line in lines} == set("abc")
    assert (tmp_path / "calls").read_text() == "suspend\n"
    assert [r["state"] for r in InstanceBook(info.paths).records().values()] == ["0"] * 3


def test_a_module_imports_the_files_beside_it_and_sees_its_own_path(root, tmp_path):
    project = tmp_path / "project"
    write(project / "helper.py", "FACTOR = 7\n")
    module = write(project / "scale.py", """
        import json
        import os

        import helper

        def run(instance, save, state):
            with open(os.path.basename(instance) + ".json", "w") as out:
                json.dump({"file": __file__, "value": int(open(instance).read()) *
                           helper.FACTOR}, out)
    """)
    data = write(tmp_path / "data" / "six.txt", "6")
    result = cli_run(root, module, "--instances", data)
    assert result.returncode == 0, result.stderr
    (info,) = list_runs(root)
    assert info.status == "completed"
    written = json.loads((info.paths.run_dir / "six.txt.json").read_text())
    assert written == {"file": str(module), "value": 42}
    # the copy is still what the run recorded
    assert (info.meta_dir / "proc" / "module.py").read_text() == module.read_text()


def test_a_module_changed_before_a_resume_runs_with_a_warning_on_record(root, tmp_path):
    module = write(tmp_path / "fix.py", VERSION_1)
    first = module.read_bytes()
    data = write(tmp_path / "a.txt", "a")
    result = cli_run(root, module, "--instances", data)
    assert result.returncode != 0
    (info,) = list_runs(root)
    assert info.status == "failed"
    write(module, """
        def run(instance, save, state):
            with open("fixed.txt", "w") as out:
                out.write("version 2")
    """)
    resumed = run_cli_process("resume", info.id, "--root", root)
    assert resumed.returncode == 0, resumed.stderr
    assert "changed" in resumed.stderr and str(module) in resumed.stderr
    assert wait_for_end(root, info.id, 60).status == "completed"
    assert (info.paths.run_dir / "fixed.txt").read_text() == "version 2"
    proc = info.meta_dir / "proc"
    assert (proc / "module.py").read_bytes() == module.read_bytes()
    kept = proc / f"module.{hashlib.sha256(first).hexdigest()[:12]}.py"
    assert kept.read_bytes() == first
    warnings = [e for e in events(info.meta_dir)
                if e["level"] == "warning" and "changed" in e["msg"]]
    assert len(warnings) == 1, warnings
    assert str(module) in warnings[0]["msg"] and "attempt 2" in warnings[0]["msg"]
    assert kept.name in warnings[0]["msg"]


def test_dask_workers_kept_from_an_attempt_run_the_module_a_resume_took_up(
        root, tmp_path, cluster):  # noqa: F811
    module = write(tmp_path / "fix.py", VERSION_1)
    data = [str(write(tmp_path / "data" / f"{n}.txt", n)) for n in "abcd"]
    info = start(root, RunSpec(kind="module", module=str(module), instances=data,
                               workers=2, executor="dask", scheduler=cluster["address"]))
    assert wait_for_end(root, info.id, 120).status == "failed"
    write(module, """
        import os

        def run(instance, save, state):
            with open(os.path.basename(instance) + ".v2", "w") as out:
                out.write("version 2")
    """)
    with pytest.warns(UserWarning, match="changed since the run recorded it"):
        resume(root, info.id)
    assert wait_for_end(root, info.id, 120).status == "completed"
    assert sorted(p.name for p in info.paths.run_dir.glob("*.v2")) == \
        [f"{n}.txt.v2" for n in "abcd"]


def test_a_module_that_cannot_be_read_any_more_runs_from_the_copy(root, tmp_path):
    module = write(tmp_path / "once.py", """
        import os

        def run(instance, save, state):
            if not os.path.exists("tried"):
                open("tried", "w").close()
                raise RuntimeError("the first attempt fails")
    """)
    result = cli_run(root, module, "--instances", write(tmp_path / "a.txt", "a"))
    assert result.returncode != 0
    (info,) = list_runs(root)
    module.unlink()
    os.mkfifo(module)  # reading it would wait for a writer forever
    resumed = run_cli_process("resume", info.id, "--root", root, timeout=30)
    assert resumed.returncode == 0, resumed.stderr
    assert "not a regular file" in resumed.stderr
    assert wait_for_end(root, info.id, 60).status == "completed"
    (warning,) = [e for e in events(info.meta_dir) if e["level"] == "warning"]
    assert "attempt 2 runs the copy recorded" in warning["msg"]


def test_a_resume_refuses_a_module_others_can_write(root, tmp_path):
    module = write(tmp_path / "fails.py", """
        def run(instance, save, state):
            raise RuntimeError("no")
    """)
    result = cli_run(root, module, "--instances", write(tmp_path / "a.txt", "a"))
    assert result.returncode != 0
    (info,) = list_runs(root)
    module.chmod(0o666)  # anyone could put code in it, and a resume takes it up
    with pytest.raises(UnsafeRun, match=f"{module} can be written by other users"):
        resume(root, info.id)
    assert load_run(root, info.id).attrs["attempt"] == 1


NAP = """
    import os
    import time

    def run(instance, save, state):
        while not os.path.exists(GO):
            time.sleep(0.05)
        with open(os.path.basename(instance) + ".done", "w") as out:
            out.write(open(instance).read())
"""


def test_experiment_from_an_experiment_file_pauses_and_resumes(root, tmp_path):
    go = tmp_path / "go"
    write(tmp_path / "exp" / "nap.py", NAP.replace("GO", repr(str(go))))
    for name in "ab":
        write(tmp_path / "exp" / "data" / f"{name}.txt", name)
    write(tmp_path / "exp" / "all.batch", json.dumps({"dir": "data",
                                                     "instances": ["a.txt", "b.txt"]}))
    path = write(tmp_path / "exp" / "nap.experiment",
                 json.dumps({"load": "nap.py", "workers": 2, "batch": "all.batch"}))
    experiment = Experiment(str(path), [], root=root)
    run_id = experiment.start()
    info = experiment.info()
    assert info.attrs["progress"]["total"] == 2
    spec = json.loads((info.meta_dir / "proc" / "spec.json").read_text())
    assert spec["workers"] == 2 and spec["module"] == str(tmp_path / "exp" / "nap.py")
    experiment.pause()
    wait_until(lambda: experiment.status == "paused", 10)
    experiment.resume()
    wait_until(lambda: experiment.status == "running", 10)
    go.write_text("")
    assert experiment.join(60) == "completed"
    assert sorted(p.name for p in load_run(root, run_id).paths.run_dir.glob("*.done")) == \
        ["a.txt.done", "b.txt.done"]
    # instances given replace the file's, as `runyard run X.experiment --instances` does
    only_b = Experiment(path, [tmp_path / "exp" / "data" / "b.txt"], root=root)
    only_b.start()
    assert only_b.join(60) == "completed"
    assert [r["instance"] for r in InstanceBook(only_b.info().paths).records().values()] \
        == [str(tmp_path / "exp" / "data" / "b.txt")]


def test_experiment_resume_starts_a_new_attempt_of_a_stopped_run(root, tmp_path):
    go = tmp_path / "go"
    module = write(tmp_path / "nap.py", NAP.replace("GO", repr(str(go))))
    data = write(tmp_path / "a.txt", "a")
    experiment = Experiment(module, [data], root=root)
    experiment.start()
    assert experiment.stop() == "terminated"
    go.write_text("")
    experiment.resume()
    assert experiment.join(60) == "completed"
    assert experiment.info().attrs["attempt"] == 2


ONE_STEP = """
    from pathlib import Path
    from runyard.engine.flows import flow, op

    HERE = Path(__file__).parent

    @flow
    def copy_step():
        return op(HERE / "copy.py", instances=[str(HERE / "in.txt")], alias="copy")
"""

COPY = """
    import os

    def run(instance, save, state):
        with open(os.path.join(LOGS, "calls"), "a") as log:
            log.write("run\\n")
        with open("out.txt", "w") as out:
            out.write(open(instance).read())
"""


def run_one_step(root: Path, tmp_path: Path) -> tuple[Local, str]:
    """ONE_STEP's flow, prepared on this machine and run to its end."""
    pipeline = write(tmp_path / "pipeline.py", ONE_STEP)
    spec = importlib.util.spec_from_file_location(f"pipeline_{uuid.uuid4().hex}", pipeline)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    local = Local(loaded.copy_step(), root=root)
    local.prepare()
    return local, local.run()


def test_a_flow_run_with_the_id_of_a_completed_run_says_so(root, tmp_path):
    write(tmp_path / "in.txt", "x")
    write(tmp_path / "copy.py", COPY.replace("LOGS", repr(str(tmp_path))))
    local, run_id = run_one_step(root, tmp_path)
    assert load_run(root, run_id).status == "completed"
    with pytest.raises(FlowError, match=f"{run_id}.*completed.*run\\(\\) without run_id"):
        local.run(run_id=run_id)
    info = load_run(root, run_id)
    assert info.status == "completed" and info.attrs["attempt"] == 1
    assert (tmp_path / "calls").read_text() == "run\n"


def test_a_flow_step_resumed_after_its_module_changed_is_refused(root, tmp_path):
    write(tmp_path / "in.txt", "x")
    module = write(tmp_path / "copy.py", VERSION_1)
    local, run_id = run_one_step(root, tmp_path)
    assert load_run(root, run_id).status == "failed"
    write(module, COPY.replace("LOGS", repr(str(tmp_path))))
    local.run(run_id=run_id)  # resumes the flow run, and its failed step
    assert load_run(root, run_id).status == "failed"
    step = load_run(root, load_run(root, run_id).attrs["flow"]["steps"]["copy"]["run"])
    assert step.attrs["attempt"] == 2
    assert "a flow's step runs the module the flow was prepared with" in \
        step.attrs["exit"]["error"]
    assert not (tmp_path / "calls").exists()  # the changed module never ran
    with warnings.catch_warnings():  # no "runs it as it is now": a step refuses it
        warnings.simplefilter("error", ModuleChanged)
        resume(root, step.id)
    step = wait_for_end(root, step.id, 60)
    assert step.status == "failed" and step.attrs["attempt"] == 3
    assert not (tmp_path / "calls").exists()
