"""Bad numbers and bad files on the command line: one line, before anything is written.

Every check runs the installed command line of this interpreter as a real process,
against a root that does not exist yet: afterwards it still does not.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from runyard.engine.control import start
from runyard.engine.errors import UsageError
from runyard.engine.spec import RunSpec


def runyard(*args, cwd=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runyard.app.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.fixture
def module(tmp_path) -> tuple[Path, Path]:
    module = tmp_path / "ok.py"
    module.write_text("def run(instance, save, state):\n    pass\n")
    data = tmp_path / "a.txt"
    data.write_text("a")
    return module, data


BAD_RUN_OPTIONS = [
    ("--grace", "nan"), ("--grace", "inf"), ("--grace", "-5"), ("--grace", "soon"),
    ("--workers", "0"), ("--workers", "-2"), ("--workers", "1.5"),
    ("--iterations", "0"), ("--iterations", "-1"),
    ("--max-attempts", "0"), ("--max-attempts", "nan"),
]


@pytest.mark.parametrize(("option", "value"), BAD_RUN_OPTIONS)
def test_run_refuses_a_bad_number_before_writing(root, module, option, value):
    path, data = module
    message = one_line_error(runyard("run", "--root", root, path, "--instances", data,
                                     option, value, "--detach"))
    assert option in message and value in message
    assert not root.exists()


def test_a_zero_grace_is_allowed(root, module):
    path, data = module
    result = runyard("run", "--root", root, path, "--instances", data, "--grace", "0",
                     "--detach")
    assert result.returncode == 0, result.stderr


def test_the_engine_refuses_a_bad_grace_before_writing(root, module):
    path, data = module
    for grace in (float("nan"), float("inf"), -5.0, "10"):
        spec = RunSpec(kind="module", module=str(path), instances=[str(data)], grace=grace)
        with pytest.raises(UsageError, match="grace"):
            start(root, spec)
    assert not root.exists() or [p.name for p in root.iterdir()] == [".runyard"]


@pytest.mark.parametrize(("option", "value"), [
    ("--idle-timeout", "nan"), ("--idle-timeout", "-1"), ("--idle-timeout", "0"),
    ("--dask-workers", "0")])
def test_flow_refuses_a_bad_number_before_writing(root, tmp_path, option, value):
    flow = tmp_path / "f.py"
    flow.write_text("from runyard.engine.flows import flow, op\n\n@flow\ndef f():\n"
                    "    return op(['true'])\n")
    message = one_line_error(runyard("flow", "--root", root, f"{flow}:f", option, value,
                                     "--detach"))
    assert option in message and value in message
    assert not root.exists()


@pytest.mark.parametrize("setting", ["grace=nan", "grace=-5", "grace=inf", "workers=0"])
def test_flow_refuses_a_bad_step_setting_before_writing(root, tmp_path, setting):
    flow = tmp_path / "f.py"
    flow.write_text("from runyard.engine.flows import flow, op\n\n@flow\ndef f():\n"
                    "    return op(['true'])\n")
    message = one_line_error(runyard("flow", "--root", root, f"{flow}:f", "--set",
                                     f"true.{setting}", "--detach"))
    assert setting.split("=")[0] in message
    assert not root.exists() or [p.name for p in root.iterdir()] == [".runyard"]


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf"])
def test_dash_refuses_a_bad_poll(root, value):
    root.mkdir()
    message = one_line_error(runyard("dash", "--root", root, "--poll", value, timeout=30))
    assert "--poll" in message and value in message


@pytest.mark.parametrize("value", ["nan", "-1"])
def test_close_refuses_a_bad_wait(root, value):
    message = one_line_error(runyard("close", "--root", root, "some-run", "--wait", value))
    assert "--wait" in message and value in message


@pytest.mark.parametrize("value", ["nan", "-1", "0"])
def test_demo_refuses_a_bad_duration(root, value):
    message = one_line_error(runyard("demo", "--root", root, "--seconds", value,
                                     "--no-open"))
    assert "--seconds" in message and value in message
    assert not root.exists()


def test_an_instance_that_is_not_a_regular_file(root, module, tmp_path):
    path, _data = module
    message = one_line_error(runyard("run", "--root", root, path, "--instances", "/dev/null"))
    assert "'/dev/null' is not a regular file" in message
    assert "does not exist" not in message
    message = one_line_error(runyard("run", "--root", root, path, "--instances", tmp_path))
    assert "is not a regular file" in message
    assert not root.exists()


def test_a_runyard_toml_that_is_not_utf8_is_named(tmp_path):
    project = tmp_path / "runyard.toml"
    project.write_bytes(b'root = "r\xff"\n')
    for args in (("ls",), ("run", "extract")):
        message = one_line_error(runyard(*args, cwd=tmp_path))
        assert f"{project}: not UTF-8 text" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runyard.toml"]

