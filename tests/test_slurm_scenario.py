"""Issue 14's "done when", in a real terminal (tmux, 80x24, keys only) on the real
Slurm: s, choose Slurm (runyard.toml's [slurm] filled in), start a run that
outlives its time limit, watch it queue (with Slurm's reason), run (its node and
time left), requeue itself and complete, without touching sbatch."""

import shutil
import textwrap

import pytest

from runyard.engine.store import load_runs, run_ids

from terminal import CLI, Terminal

pytestmark = [pytest.mark.usefixtures("slurm"), pytest.mark.slow]

# 40 saved steps of 1 s: more than a one-minute job gives before its walltime signal
WORK = """
    import os, time

    def run(instance, save, state):
        for step in range(int(state or 0), 40):
            time.sleep(1)
            fd = os.open(f"step{step}.done", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, os.environ.get("SLURM_JOB_ID", "-").encode())
            os.close(fd)
            save(str(step + 1))

    def done():
        os.close(os.open("done.marker", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
"""


def test_a_run_started_on_slurm_from_the_dashboard_outlives_its_walltime(root, tmp_path):
    assert shutil.which("tmux"), "this test needs tmux (apt-get install tmux)"
    (tmp_path / "work.py").write_text(textwrap.dedent(WORK))
    (tmp_path / "case.txt").write_text("case")
    (tmp_path / "runyard.toml").write_text(textwrap.dedent("""
        [slurm]
        time = "1"
        extra = ["--begin=now+3"]   # each attempt waits a moment: its reason shows
        requeue = 8
    """))
    root.mkdir()
    term = Terminal([*CLI, "--root", str(root)], tmp_path,
                    {"TERM": "xterm-256color", "LANG": "C.UTF-8"}, size=(80, 24))
    try:
        term.expect("0 runs")
        term.keys("s")
        term.expect("Start a run")
        term.expect("> target")
        term.type("work.py")
        term.expect("work.py")
        term.keys("Tab")
        term.expect("> instances")
        term.type("case.txt")
        for field in ("workers", "name"):
            term.keys("Tab")
            term.expect(f"> {field}")
        term.type("long-sim")
        for field in ("folder", "tags", "metadata", "executor", "on"):
            term.keys("Tab")
            term.expect(f"> {field}")
        term.keys("Enter")  # the list of places opens: here, slurm
        term.expect("▲")
        term.keys("Down")
        term.keys("Enter")
        term.expect("time=1,extra=--begin=now+3,requeue=8")
        term.expect("ready: enter")
        term.keys("C-s")
        term.expect("Queued run long-sim")
        term.expect("BeginTime")  # the PROGRESS of the queued run: why it waits
        term.keys("Enter")  # its detail screen
        term.expect("slurm job")
        term.expect(" left", timeout=60)  # running: its node and time left
        term.expect("requeued 1 time", timeout=180)  # the walltime came; it went on
        term.expect("completed", timeout=300)
    finally:
        term.close()
    [run_id] = run_ids(root)
    info = load_runs(root, [run_id])[0]
    assert info.status == "completed" and info.attrs["attempt"] >= 2
    folder = root / run_id
    markers = sorted(p.name for p in folder.glob("step*.done"))
    assert markers == sorted(f"step{s}.done" for s in range(40))  # each step once
    assert len({(folder / m).read_text() for m in markers}) >= 2  # in 2 jobs or more
    assert (folder / "done.marker").exists()
