"""A new user's first run in a real terminal (tmux, 80x24): ``runyard --root`` on a
folder that does not exist yet, to a run started from the form."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runyard.engine.store import load_runs, run_ids

from conftest import package_for_others, wait_until
from terminal import CLI, Terminal

FIELDS = ("target", "instances", "workers", "name", "folder", "tags", "metadata",
          "executor")


@pytest.fixture(autouse=True)
def tmux_present():
    assert shutil.which("tmux"), "these tests need tmux (apt-get install tmux)"


def test_from_a_missing_root_to_a_started_run(root, tmp_path):
    (tmp_path / "quick.py").write_text("def run(instance, save, state):\n    pass\n")
    (tmp_path / "a.txt").write_text("a")
    missing = root / "missing"  # two folders down: neither exists
    env = {"TERM": "xterm-256color", "LANG": "C.UTF-8"}
    term = Terminal([*CLI, "--root", str(missing)], tmp_path, env, size=(80, 24))
    try:
        term.expect("does not exist yet")
        assert not root.exists()  # nothing made before the user says so
        term.keys("s")  # make it and start a run
        term.expect("Start a run")
        screen = term.screen()
        rows = {line.strip("█▌▐> ").split()[0] for line in screen.splitlines()
                if line.strip("█▌▐> ")}
        assert set(FIELDS) <= rows, screen  # every field on the first screen
        assert "Start" in screen and "Cancel" in screen, screen
        assert (missing / ".runyard" / "schema").is_file()
        term.expect("> target")  # the focused field is marked
        # each key waits for the last to land: a key sent at once after tab would
        # reach the field tab is leaving
        for text, after in (("quick.py", "instances"), ("a.txt", "workers")):
            term.type(text)
            term.expect(text)
            term.keys("Tab")
            term.expect(f"> {after}")
        term.keys("Tab")
        term.expect("> name")
        term.type("first-run")
        term.expect("first-run")
        term.expect("ready: enter")
        term.keys("Enter")
        term.expect_gone("Start a run")
        term.expect("first-run")  # its row in the table
        ids = wait_until(lambda: run_ids(missing), 30)
        wait_until(lambda: load_runs(missing, ids)[0].status == "completed", 60)
        term.expect("completed")
        term.keys("q")
        assert term.exit_code() == 0
    finally:
        term.close()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="becoming another user needs root and setpriv")
def test_a_root_the_user_may_not_make_says_why_in_one_line():
    """As nobody, under a folder only root may write: the question stays, with the
    reason under it, and nothing is made."""
    shared = Path(tempfile.mkdtemp(prefix="runyard-perm-"))  # nobody must get in
    try:
        shared.chmod(0o755)
        root = shared / "locked" / "runs"
        root.parent.mkdir(mode=0o755)
        # CI's interpreter and checkout sit in root's home: nobody imports a copy
        path = package_for_others(shared / "for-others", dashboard=True)["PYTHONPATH"]
        subprocess.run(["chmod", "-R", "a+rX", str(shared / "for-others")], check=True)
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *CLI,
                   "--root", str(root)]
        term = Terminal(command, shared, {"TERM": "xterm-256color", "LANG": "C.UTF-8",
                                          "PYTHONPATH": path}, size=(80, 24))
        try:
            term.expect("Create it now?")
            term.keys("Enter")
            term.expect("Permission")
            lines = [line.strip("█ ") for line in term.screen().splitlines()]
            start = next(i for i, line in enumerate(lines) if "cannot create" in line)
            error = " ".join(lines[start:lines.index("enter: create it   s: create it and "
                                                     "start a run   esc: not now")])
            assert error == f"cannot create runs root {root}: Permission denied: {root}", \
                error
            assert "Create it now?" in term.screen()  # still asking
            assert not root.exists()
            term.keys("Escape")
            term.expect_gone("Create it now?")
            term.keys("q")
            assert term.exit_code() == 0
        finally:
            term.close()
    finally:
        shutil.rmtree(shared)
