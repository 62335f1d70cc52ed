"""The real dashboard in a real terminal: tmux at 80x24, read with capture-pane."""

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runyard.engine import load_run
from runyard.engine.control import close, start, wait_for_end
from runyard.engine.spec import RunSpec

from terminal import CLI, Terminal


@pytest.fixture(autouse=True)
def tmux_present():
    assert shutil.which("tmux"), "these tests need tmux (apt-get install tmux)"


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
    env = {"TERM": "xterm-256color", "LANG": "C.UTF-8"}
    return Terminal([*CLI, "dash", "--root", str(root), *extra], tmp_path, env)


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
