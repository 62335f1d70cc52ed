"""A real terminal for tests: a tmux pane, read with capture-pane, recorded byte for byte.

``Terminal`` starts a command in a fresh tmux session of a given size and
environment. Everything the command writes to the pane is also recorded raw
(``pipe-pane``), from its first byte: the command is held until the recording
is running. So a test can assert both what a person sees (``screen()``) and
exactly which bytes reached the terminal (``raw()``), and read the pane's title
(which an escape sequence from a run must never change).
"""

import shlex
import subprocess
import time
import uuid
from pathlib import Path

from conftest import RUNYARD as CLI  # this interpreter's runyard, not PATH's  # noqa: F401


class Terminal:
    def __init__(self, command: list[str], cwd: Path, env: dict, size=(80, 24),
                 record: Path | None = None):
        self.name = f"runyard-{uuid.uuid4().hex[:8]}"
        self.record = record
        go = cwd / f".go-{self.name}"
        # tmux sets TERM in the pane itself (from default-terminal): say it again there
        term = f"TERM={shlex.quote(env['TERM'])}; export TERM; " if "TERM" in env else ""
        held = (f"while [ ! -e {shlex.quote(str(go))} ]; do sleep 0.02; done; {term}"
                f"{shlex.join(command)}; code=$?; echo; echo EXIT=$code; sleep 600")
        # COLUMNS and LINES win over the pane's real size in Python's
        # get_terminal_size: a tmux server started elsewhere may carry stale ones
        env = {"COLUMNS": str(size[0]), "LINES": str(size[1]), **env}
        env_args = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(size[0]),
                        "-y", str(size[1]), *env_args, "-c", str(cwd), "sh", "-c", held],
                       check=True)
        subprocess.run(["tmux", "set-option", "-t", self.name, "status", "off"], check=True)
        if record is not None:
            record.write_bytes(b"")
            subprocess.run(["tmux", "pipe-pane", "-o", "-t", self.name,
                            f"cat >> {shlex.quote(str(record))}"], check=True)
        self.title_before = self.title()
        go.touch()

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True, errors="replace").stdout

    def raw(self) -> bytes:
        """Every byte the command wrote to the terminal so far."""
        return self.record.read_bytes() if self.record else b""

    def title(self) -> str:
        return subprocess.run(["tmux", "display-message", "-p", "-t", self.name,
                               "#{pane_title}"], capture_output=True, text=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def wait_for(self, text: str, timeout: float = 20.0) -> float | None:
        """Seconds until ``text`` is on screen, or None."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if text in self.screen():
                return time.monotonic() - started
            time.sleep(0.05)
        return None

    def expect(self, text: str, timeout: float = 20.0) -> None:
        assert self.wait_for(text, timeout) is not None, \
            f"{text!r} did not appear; the screen:\n{self.screen()}"

    def expect_gone(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text in self.screen():
            assert time.monotonic() < deadline, \
                f"{text!r} did not go; the screen:\n{self.screen()}"
            time.sleep(0.05)

    def exit_code(self, timeout: float = 30.0) -> int:
        """The command's exit code, once it has ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.screen().splitlines():
                if line.startswith("EXIT="):
                    return int(line[5:])
            time.sleep(0.05)
        raise AssertionError(f"the command did not end; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
