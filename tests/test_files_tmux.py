"""The Files tab in a real terminal (tmux, 80x24): a saved CSV opened and its first
line read on screen; a link to /etc/passwd refused, its content never drawn."""

import shutil

import pytest

from runyard.engine import Run

from terminal import CLI, Terminal

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
        term.keys("Enter")  # the first row: the saved CSV
        term.expect("epoch,score")
        term.expect("2,0.5")
        term.keys("Down", "Enter")  # the link, the run folder's one entry
        term.expect("refused: a link out of the run")
        assert "root:x:0" not in term.screen()
        term.keys("q")
        assert term.exit_code() == 0
    finally:
        term.close()
