"""Colours keep their meaning in a 16-colour terminal (issue 12, item 11): `paused`
came out bright red there (a named yellow, through the theme, then to 16 colours), so
it read as an error, and `lost` came out magenta like `terminated`. The real dashboard
in a tmux pane with TERM=xterm (16 colours), its escape codes read back."""

import contextlib
import re
import subprocess

import psutil
from test_terminal_trust import tmux_env

from runyard.engine import list_runs
from runyard.engine.control import close
from runyard.engine.demo import make_demo
from runyard.engine.errors import RunyardError

from terminal import CLI, Terminal

WANTED = {"running": {32, 92}, "paused": {33, 93}, "completed": {36, 96},
          "failed": {31, 91}, "lost": {31, 91}, "terminated": {35, 95}}


def status_colours(pane: str) -> dict[str, set[int]]:
    """Each status word of the table with the foreground colours it is drawn in."""
    found: dict[str, set[int]] = {}
    for line in pane.splitlines():
        for codes, word in re.findall(r"\x1b\[([0-9;]*)m(\w+)\s", line):
            if word in WANTED:
                colours = {int(c) for c in codes.split(";") if c.isdigit()}
                found.setdefault(word, set()).update(c for c in colours
                                                     if 30 <= c <= 37 or 90 <= c <= 97)
    return found


def test_every_status_keeps_its_colour_in_16_colours(tmp_path):
    root = tmp_path / "runs"
    make_demo(root, live_seconds=60)
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path,
                    tmux_env(TERM="xterm"), size=(120, 30))
    try:
        term.expect("paused")
        term.expect("running")
        pane = subprocess.run(["tmux", "capture-pane", "-e", "-p", "-t", term.name],
                              capture_output=True, text=True).stdout
        found = status_colours(pane)
        # the demo's statuses (it has no terminated run)
        assert set(found) >= {"running", "paused", "completed", "failed", "lost"}, found
        for status, colours in found.items():
            assert colours and colours <= WANTED[status], (status, colours)
    finally:
        term.close()
        for info in list_runs(root):
            if info.status in ("running", "paused"):
                with contextlib.suppress(RunyardError):  # it ended meanwhile
                    close(root, info.id, wait=30)
        for proc in psutil.process_iter(["cmdline"]):  # the demo's live tracked run
            if str(root) in " ".join(proc.info["cmdline"] or []):
                with contextlib.suppress(psutil.NoSuchProcess):
                    proc.kill()
