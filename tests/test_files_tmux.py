"""The Files tab in a real terminal (tmux, 80x24): a saved CSV opened and its first
line read on screen; a link to /etc/passwd refused, its content never drawn."""

import shutil

import pytest
from test_terminal_trust import HOSTILE, SHOWN, assert_clean, hostile_root, tmux_env

from runyard.engine import Run

from terminal import CLI, Terminal

assert hostile_root  # a fixture, used by name below

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def test_a_saved_csv_is_read_in_the_terminal(app_root, tmp_path):
    source = tmp_path / "scores.csv"
    source.write_text("epoch,score\n1,0.25\n2,0.5\n")
    with Run(root=app_root) as run:
        run.config(disable_resources_metrics=True)
        run.init(name="csv-run")
        run.save_file(source, "output")
    (app_root / run.id / "passwd").symlink_to("/etc/passwd")
    term = Terminal([*CLI, "dash", "--root", str(app_root)], tmp_path,
                    {"TERM": "xterm-256color", "LANG": "C.UTF-8"}, size=(80, 24))
    try:
        term.expect("csv-run")
        term.keys("Enter")
        term.expect(f"({run.id})")
        term.keys("]", "]", "]", "]")
        term.expect("output/scores.csv")
        term.expect("passwd -> /etc/passwd")
        # the saved files may be listed a read after the folder's entries, and the
        # cursor follows the entry it was on: go to the first row, the saved CSV
        term.keys("Up", "Up")
        term.keys("Enter")
        term.expect("epoch,score")
        term.expect("2,0.5")
        term.keys("Down", "Enter")  # the link, the run folder's one entry
        term.expect("refused: a link out of the run")
        assert "root:x:0" not in term.screen()
        term.keys("q")
        assert term.exit_code() == 0
    finally:
        term.close()


def test_hostile_files_and_instance_output_reach_the_terminal_as_text(hostile_root,
                                                                      tmp_path):
    """A stranger's file names and contents (Files tab) and an instance's printed
    escapes (its output in the Instances tab) are shown visibly, never obeyed."""
    root, runs, _writer = hostile_root
    engine_run = runs["engine"]
    (root / engine_run / "notes.txt").write_text("FILE-MARK " + HOSTILE + "\n")
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path, tmux_env(),
                    size=(160, 48), record=tmp_path / "files.raw")
    try:
        term.expect("engine-hostile")
        term.keys("/")
        term.expect("filter: words")
        term.type(f"id:{engine_run}")
        term.keys("Enter")
        term.expect(f"filter: id:{engine_run}")
        term.keys("Enter")
        term.expect(f"({engine_run})")
        term.keys("]", "]", "]")
        term.expect("tries")
        term.keys("Enter")  # the one instance: its own output
        term.expect("OUT-MARK")
        term.expect("progress 100%")
        term.keys("/")  # searched like any pager
        term.expect("search: plain text")
        term.type("PROGRESS")
        term.keys("Enter")
        term.expect("'PROGRESS': line 2, 1 in all")
        term.keys("]")
        term.expect("notes.txt")
        term.keys("Enter")
        term.expect("FILE-MARK")
        assert SHOWN in term.screen()
        term.keys("Escape")  # back to the table, then the hand-written run
        term.expect_gone(f"({engine_run})")
        term.keys("Escape")  # and clear the filter
        term.expect_gone("filter: id:")
        term.keys("/")
        term.expect("filter: words")
        term.type(f"id:{runs['ended']}")
        term.keys("Enter")
        term.expect(f"filter: id:{runs['ended']}")
        term.keys("Enter")
        term.expect(f"({runs['ended']})")
        term.keys("]", "]", "]", "]")
        term.expect("made-EVIL")
        # the saved files are listed over the folder's entries, maybe a read later (the
        # cursor stays on the row it was on): wait for them, then go to the first row
        term.expect("saved  output/")
        term.keys("Up", "Up")
        term.keys("Enter")  # a saved file whose recorded name leads nowhere sane
        term.expect("its recorded name is not a path")
        term.keys("Down", "Enter")  # the file with the hostile name
        term.expect("text, 1 B")
        term.keys("q")
        assert term.exit_code() == 0
        assert_clean(term)
    finally:
        term.close()
