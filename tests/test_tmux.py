"""The real dashboard in a real terminal: tmux at 80x24, read with capture-pane."""

import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from runyard.engine import load_run
from runyard.engine.control import close, start, wait_for_end
from runyard.engine.spec import RunSpec


@pytest.fixture(autouse=True)
def tmux_present():
    assert shutil.which("tmux"), "these tests need tmux (apt-get install tmux)"


class Terminal:
    def __init__(self, command: list[str], cwd: Path, env: dict):
        self.name = f"runyard-{uuid.uuid4().hex[:8]}"
        env_args = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "80", "-y",
                        "24", *env_args, "-c", str(cwd), *command], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, text: str, timeout: float) -> float | None:
        """Seconds until ``text`` is on screen, or None."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if text in self.screen():
                return time.monotonic() - started
            time.sleep(0.05)
        return None

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


WRITER = textwrap.dedent("""
    import sys, time
    from runyard.engine import Run
    run = Run(root=sys.argv[1])
    run.config(disable_resources_metrics=True)
    run.init(name="tmux-live")
    run.log_metrics({"loss": 1.5})
    for line in sys.stdin:           # one value per line, logged when asked
        run.log_metrics({"loss": float(line)})
    run.close()
""")


def dashboard(root: Path, tmp_path: Path, *extra: str) -> Terminal:
    env = {"TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": "80", "LINES": "24"}
    return Terminal([sys.executable, "-m", "runyard.app.cli", "dash", "--root", str(root),
                     *extra], tmp_path, env)


@pytest.mark.parametrize("mode, extra, budget", [("inotify", (), 1.0),
                                                 ("polling", ("--poll", "0.5"), 1.5)])
def test_a_new_metric_value_reaches_the_screen(root, tmp_path, mode, extra, budget):
    root.mkdir()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root)],
                              stdin=subprocess.PIPE, text=True)
    term = dashboard(root, tmp_path, *extra)
    try:
        assert term.wait_for("tmux-live", 15), term.screen()
        assert term.wait_for(f"watch: {mode}", 5), term.screen()
        assert term.wait_for("1.5", 10), term.screen()
        delays = []
        for value in ("2.718", "3.142", "4.669"):
            writer.stdin.write(value + "\n")
            writer.stdin.flush()
            delay = term.wait_for(value, budget + 5)
            assert delay is not None, term.screen()
            delays.append(delay)
        assert min(delays) <= budget, delays  # the aim: within the budget
    finally:
        term.close()
        writer.stdin.close()
        writer.wait(30)


def test_the_pause_key_pauses_the_run(root, tmp_path):
    module = tmp_path / "slow.py"
    module.write_text("import time\ndef run(instance, save, state):\n"
                      "    for i in range(int(state or 0), 600):\n"
                      "        time.sleep(0.05)\n        save(str(i + 1))\n")
    data = tmp_path / "a.txt"
    data.write_text("a")
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)]),
                 name="pause-me")
    term = dashboard(root, tmp_path)
    try:
        assert term.wait_for("pause-me", 15), term.screen()
        term.keys("p")
        assert term.wait_for("paused", 5), term.screen()
        assert load_run(root, info.id).status == "paused"
        term.keys("r")
        assert term.wait_for("running", 5)
        term.keys("q")
        time.sleep(1)
        assert load_run(root, info.id).status == "running"  # it outlives the dashboard
    finally:
        term.close()
        close(root, info.id)
        wait_for_end(root, info.id, 30)
    assert os.path.isdir(root)
