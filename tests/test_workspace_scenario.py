"""Issue 12's "done when", in a real terminal (tmux, 80x24, keys only): a sweep of 20
runs tagged by a filter and overlaid, the best pinned as the baseline, the crosshair
read at step 500 on a log axis; one run's System panel and a saved CSV; an engine
run's output scrolled back to its first line and searched for "error"; that run
started again with lr changed; a stalled run raising its alert."""

import json
import math
import shutil

import pytest

from runyard.app.widgets.plot_data import y_label
from runyard.engine import Run
from runyard.engine.store import load_runs, run_ids

from conftest import run_cli_process, wait_until
from terminal import CLI, Terminal

LRS = [10 ** -(1 + i / 5) for i in range(20)]  # sweep-00 .. sweep-19; the last is best
STEPS = range(0, 1001, 50)


def loss(lr: float, step: int) -> float:
    """Lower for a lower rate at every step: the last run of the sweep is the best."""
    return (1 + 50 * lr) * math.exp(-step / 400) + lr


@pytest.fixture(autouse=True)
def tmux_present():
    assert shutil.which("tmux"), "these tests need tmux (apt-get install tmux)"


def sweep(root, tmp_path) -> None:
    for index, lr in enumerate(LRS):
        run = Run(root=root)
        if index:
            run.config(disable_resources_metrics=True)
        else:  # the first samples its process (CPU, memory) for the System tab
            run.config(resources_metrics_interval=0.1)
        run.init(name=f"sweep-{index:02d}", metadata={"lr": lr}, tags=["sweep"])
        for step in STEPS:
            run.log_metrics({"loss": loss(lr, step)}, step=step)
        if not index:
            table = tmp_path / "results.csv"
            table.write_text("step,loss\n" + "".join(f"{s},{loss(lr, s):.4f}\n"
                                                     for s in STEPS))
            run.save_file(table, "output")
            metrics = root / f"{run.id}.meta" / "metrics.jsonl"
            wait_until(lambda path=metrics: path.exists() and b"resources/" in path.read_bytes(),
                       30)
        run.close()


def engine_run(root, tmp_path) -> str:
    """A module run that prints 300 lines, then an error line; completed."""
    (tmp_path / "sim.py").write_text(
        "def run(instance, save, state):\n"
        "    for i in range(300):\n"
        "        print(f'line {i:04d} of the solver', flush=True)\n"
        "    print('error: the mesh is too coarse here', flush=True)\n"
        "    save('done')\n")
    (tmp_path / "case.txt").write_text("case")
    done = run_cli_process("run", "sim.py", "--instances", "case.txt", "--name", "sim",
                           "--meta", "lr=0.1", "--stalled-after", "0", "--root", root,
                           cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    return next(i for i in run_ids(root) if load_runs(root, [i])[0].name == "sim")


def open_run(term: Terminal, name: str) -> None:
    term.keys("/")
    term.expect("filter: words")
    term.type(f"name:{name}")
    term.keys("Enter")
    term.expect(f"filter: name:{name}")
    term.keys("Enter")
    term.expect(f"{name} (")


def tabs(term: Terminal, count: int, mark: str, key: str = "]") -> None:
    for _ in range(count):
        term.keys(key)
    term.expect(mark)


def test_a_sweep_watched_and_compared_with_keys_only(root, tmp_path):
    root.mkdir(parents=True, exist_ok=True)
    sweep(root, tmp_path)
    sim = engine_run(root, tmp_path)
    term = Terminal([*CLI, "--root", str(root)], tmp_path,
                    {"TERM": "xterm-256color", "LANG": "C.UTF-8"}, size=(80, 24))
    slow = None
    try:
        term.expect("21 runs")
        # tag the sweep by a filter, overlay its loss
        term.keys("/")
        term.expect("filter: words")
        term.type("name:sweep-")
        term.keys("Enter")
        term.expect("20 of 21 runs")
        term.keys("A")
        term.expect("20 tagged")
        term.keys("v")
        term.expect("Comparing 20 runs")
        term.expect("runs overlaid: page 1/1")
        term.expect("loss")
        # pin the best (lowest loss: sweep-19, the newest, the first column)
        term.keys("]")
        term.expect("meta lr")
        term.keys("Right")
        term.keys("b")
        term.expect("baseline: sweep-19")
        # the crosshair at step 500 on a log axis: the baseline's value read out first
        term.keys("[")
        term.expect("runs overlaid:")
        term.keys("L")
        term.keys("l")  # the first move puts it mid-way: step 500 of 0..1000
        term.expect("step 500:")
        # (a log axis holds log10 of each value; the read-out gives the value)
        term.expect(f"baseline sweep-19 {y_label(math.log10(loss(LRS[19], 500)), True)}")
        term.keys("Escape")
        term.expect_gone("Comparing 20 runs")
        term.keys("Escape")  # the filter, then the tags
        term.expect_gone("filter: name:")
        term.keys("Escape")
        term.expect_gone("20 tagged")
        # one run's System panel, then its saved CSV
        open_run(term, "sweep-00")
        tabs(term, 7, "system: ")
        term.expect("CPU (%)")
        tabs(term, 3, "run folder:", "[")
        term.expect("results.csv")
        term.keys("Enter")
        term.expect("step,loss")
        term.keys("Escape")
        term.expect_gone("sweep-00 (")
        term.keys("Escape")
        term.expect_gone("filter: name:")
        # the engine run's output: back to its first line, searched for "error"
        open_run(term, "sim")
        tabs(term, 6, "output: ")
        term.keys("g")
        term.expect("output: lines 1-")
        term.keys("/")
        term.expect("search:")
        term.type("error")
        term.keys("Enter")
        term.expect("'error': line")
        term.expect_gone("search:")  # (enter closed the search box)
        # started again with lr changed
        term.keys("S")
        term.expect("Start a run again")
        term.expect("> target")
        for field in ("instances", "workers", "name", "folder", "tags", "metadata"):
            term.keys("Tab")
            term.expect(f"> {field}")
        term.keys("C-u")
        term.type("lr=0.01")
        term.expect("lr=0.01")
        term.expect("ready: enter")
        term.keys("Enter")
        term.expect("Started run")
        again = wait_until(lambda: [i for i in run_ids(root) if i not in (sim,) and
                                    load_runs(root, [i])[0].attrs.get("origin") == sim], 60)
        wait_until(lambda: load_runs(root, again)[0].status == "completed", 120)
        info = load_runs(root, again)[0]
        assert info.attrs["metadata"]["lr"] == 0.01 and info.attrs["origin"] == sim
        # a stalled run raises its alert, rung and shown
        term.keys("Escape")
        term.expect_gone("sim (")
        term.keys("Escape")
        term.expect_gone("filter: name:")
        (tmp_path / "slow.py").write_text(
            "import time\n\ndef run(instance, save, state):\n    time.sleep(120)\n")
        slow = run_cli_process("run", "slow.py", "--instances", "case.txt", "--name",
                               "slowpoke", "--stalled-after", "1", "--detach", "--root",
                               root, cwd=tmp_path, timeout=60)
        assert slow.returncode == 0, slow.stderr
        term.expect("runyard alert", 60)  # the notification (its text wraps in the toast)
        toast = " ".join(line.strip(" ▎▌▐█") for line in term.screen().splitlines())
        assert "Alert 'stalled' is critical" in toast and "slowpoke" in toast, toast
        assert any("slowpoke" in line and "⚠1" in line for line in term.screen().splitlines())
        term.keys("q")
        assert term.exit_code() == 0
    finally:
        term.close()
        if slow is not None:
            run_cli_process("close", "slowpoke", "--wait", "30", "--root", root, timeout=60)
    alerts = b"".join(p.read_bytes() for p in root.glob("*.meta/alerts*.jsonl"))
    assert b'"stalled"' in alerts and json.dumps("critical").encode() in alerts
