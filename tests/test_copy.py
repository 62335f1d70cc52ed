"""`y` / `Y` copy the run's id / folder path to the user's own clipboard through the
terminal (OSC 52, issue 12 item 10): over SSH, that is the machine the user sits at.
A real tmux with set-clipboard on is the terminal: what it takes becomes its paste
buffer, which the test reads."""

import subprocess

from test_app import new_run
from test_terminal_trust import tmux_env

from terminal import CLI, Terminal


def newest_buffer() -> str:
    return subprocess.run(["tmux", "show-buffer"], capture_output=True, text=True).stdout


def test_y_and_Y_copy_the_run_id_and_its_folder_through_the_terminal(tmp_path):
    root = tmp_path / "runs"
    paths = new_run(root, "copied", end="completed")
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path, tmux_env())
    before = subprocess.run(["tmux", "show-options", "-s", "set-clipboard"],
                            capture_output=True, text=True).stdout.split()[-1]
    subprocess.run(["tmux", "set-option", "-s", "set-clipboard", "on"], check=True)
    try:
        term.expect("copied")
        term.keys("y")
        term.expect("Copied the run id")
        assert newest_buffer() == paths.id
        term.keys("Enter")  # the detail screen: its run
        term.expect(f"({paths.id})")
        term.keys("Y")
        term.expect("Copied the run folder")
        assert newest_buffer() == str(paths.run_dir.absolute())
    finally:
        subprocess.run(["tmux", "set-option", "-s", "set-clipboard", before])
        term.close()


def test_a_dumb_terminal_is_not_asked_and_the_id_is_shown(tmp_path):
    root = tmp_path / "runs"
    paths = new_run(root, "copied", end="completed")
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path,
                    tmux_env(TERM="dumb"), record=tmp_path / "raw")
    try:
        term.expect("copied")
        term.keys("y")
        term.expect("(TERM=dumb) cannot be")
        term.expect(paths.id[:10])
        assert b"\x1b]52;" not in term.raw()
    finally:
        term.close()
