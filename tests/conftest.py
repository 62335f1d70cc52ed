import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runyard.app.cli import main

HERE = Path(__file__).parent


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An empty runs root; RUNYARD_* variables of the caller do not leak in."""
    for name in list(os.environ):
        if name.startswith("RUNYARD_"):
            monkeypatch.delenv(name)
    return tmp_path / "runs"


@pytest.fixture
def app_root(root) -> Path:
    """``root``, created (empty)."""
    root.mkdir(parents=True)
    return root


@pytest.fixture
def env_root(root, monkeypatch) -> Path:
    """``root``, also set as RUNYARD_ROOT so that ``Run()`` writes there."""
    monkeypatch.setenv("RUNYARD_ROOT", str(root))
    monkeypatch.setenv("RUNYARD_SPOOL", str(root.parent / "spool"))
    return root


def wait_until(check, timeout: float = 30.0, every: float = 0.05):
    """``check()``'s first truthy value, polled until ``timeout``; AssertionError after."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    value = check()
    assert value, f"not true within {timeout} s: {check}"
    return value


def read_series(root: Path, run_id: str, name: str) -> list[dict]:
    from runyard.engine.jsonl import read_all

    records, bad = read_all(root / f"{run_id}.meta" / name)
    assert bad == [], bad
    return records


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run the ``runyard`` command in this process."""

    def run(*args: str) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


# The ``runyard`` command of the interpreter running the tests, never one found on PATH
# (which may be missing, or another installed copy).
RUNYARD = [sys.executable, "-m", "runyard.app.cli"]


DASHBOARD_LIBRARIES = ("textual", "rich", "watchdog", "textual_plotext", "plotext",
                       "pygments", "markdown_it", "mdurl", "typing_extensions")


def package_for_others(where: Path, dashboard: bool = False) -> dict:
    """An environment in which another user can import runyard: the checkout and the
    interpreter's site-packages may sit in a home folder only its owner can read (CI's
    do: another user's interpreter then sees only the system's paths), so the
    package's sources and the libraries the engine and the CLI import are copied
    under `where`, which the caller makes readable to everyone (``dashboard``: the
    dashboard's libraries too)."""
    import importlib.util
    import shutil

    import runyard.app
    import runyard.engine

    site = where / "site"
    for package in (runyard.engine, runyard.app):
        source = Path(package.__file__).parent
        shutil.copytree(source, site / "runyard" / package.__name__.split(".")[-1],
                        ignore=shutil.ignore_patterns("__pycache__"))
    libraries = ("orjson", "psutil", "coolname", "tomlkit", "platformdirs")
    for name in libraries + (DASHBOARD_LIBRARIES if dashboard else ()):
        spec = importlib.util.find_spec(name)
        if spec.submodule_search_locations:
            source = Path(spec.origin).parent
            shutil.copytree(source, site / source.name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(spec.origin, site)
    return {**os.environ, "PYTHONPATH": str(site)}


def run_cli_process(*args: str, env: dict | None = None, timeout: float = 60,
                    cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the ``runyard`` command as a real process."""
    return subprocess.run([*RUNYARD, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, cwd=cwd)


def start_child_run(root: Path, name: str, *, host: str | None = None, timeout: float = 60.0,
                    beat_every: float = 0.2) -> tuple[subprocess.Popen, str]:
    """A real process that starts a run and keeps it alive until killed.

    Returns the process and the run id, once the run is started.
    """
    env = {k: v for k, v in os.environ.items() if k != "RUNYARD_HOST"}
    if host:
        env["RUNYARD_HOST"] = host
    proc = subprocess.Popen([sys.executable, str(HERE / "child_run.py"), str(root), name,
                             str(timeout), str(beat_every)], env=env,
                            stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    assert run_id, "the child run did not start"
    return proc, run_id


def slurm_problem() -> str | None:
    """Why the Slurm tests cannot run here, or None: ``sbatch`` is found and the node
    of the cluster tests/slurm/up.sh brings up answers."""
    import shutil

    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return "no Slurm here: run tests/slurm/up.sh as root to bring one up"
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True,
                                text=True, timeout=15).stdout.split()
    except subprocess.TimeoutExpired:
        return "Slurm's controller does not answer: run tests/slurm/up.sh as root"
    if not any(s in ("idle", "mixed", "allocated", "completing") for s in states):
        return f"Slurm has no node up (sinfo: {states or 'nothing'}): run tests/slurm/up.sh"
    return None


@pytest.fixture(scope="session")
def slurm():
    """A real Slurm cluster to submit to. Where there is none the test is skipped with
    the reason, except under CI=true, where .ci/run brought one up: there it fails."""
    problem = slurm_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
