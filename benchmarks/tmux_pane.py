"""A private tmux server whose panes run one command each, read with capture-pane.

Used by ``benchmarks/dashboard.py``: what a person sees in a real 80x24 terminal.
A pane's command is held on a named pipe until ``Pane.release()``, so the clock
starts when the command does, not when tmux got round to making the pane. The
held shell ``exec``s the command: the pane's pid is the command's pid.
"""

import os
import re
import shlex
import subprocess
import tempfile
import time

import psutil

POLL = 0.005  # seconds between two looks at the pane (each is one tmux client call)
SLOW_POLL = 0.025  # after the first half second: each look costs a process, and looking
# every 5 ms for seconds would take a core from the app being measured
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
CLEAN_ENV = ("TMUX", "TMUX_PANE", "LC_ALL", "LC_CTYPE", "RUNYARD_GLYPHS", "NO_COLOR",
             "RUNYARD_ROOT", "COLUMNS", "LINES")


class Server:
    """One tmux server on its own socket (``tmux -L benchdash-<pid>``), killed by close()."""

    def __init__(self, size=(80, 24)):
        self.socket = f"benchdash-{os.getpid()}"
        self.size = size
        self.env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
        self.env["LANG"] = "C.UTF-8"
        self.tmp = tempfile.mkdtemp(prefix="benchdash-tmux-")
        self.count = 0
        # a session that only waits keeps the server up between measured panes
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "keep", "-x", str(size[0]),
                  "-y", str(size[1]), "cat")
        self.tmux("set-option", "-g", "status", "off")
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, env=self.env,
                              capture_output=True, text=True, errors="replace").stdout

    def pane(self, argv: list[str], cwd: str | None = None) -> "Pane":
        self.count += 1
        return Pane(self, f"p{self.count}", argv, cwd or self.tmp)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True,
                       env=self.env)
        if os.path.exists(self.socket_path):  # kill-server leaves it behind
            os.unlink(self.socket_path)
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)


class Pane:
    def __init__(self, server: Server, name: str, argv: list[str], cwd: str):
        self.server, self.name = server, name
        self.gate = os.path.join(server.tmp, f"go-{name}")
        os.mkfifo(self.gate)
        width, height = server.size
        held = (f"read _ < {shlex.quote(self.gate)}; TERM=xterm-256color; export TERM; "
                f"exec {shlex.join(argv)}")
        env = {"LANG": "C.UTF-8", "COLUMNS": str(width), "LINES": str(height)}
        env_args = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
        server.tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
                    *env_args, "-c", cwd, "sh", "-c", held)
        self.pid = int(server.tmux("display-message", "-p", "-t", name, "#{pane_pid}"))
        self.process = psutil.Process(self.pid)
        self.children_peak_mb = 0.0  # the largest child seen while waiting (VmHWM)

    def release(self) -> float:
        """Let the command start; the monotonic time it was let go."""
        with open(self.gate, "w") as gate:  # blocks until the pane's shell is reading
            started = time.monotonic()
            gate.write("\n")
        return started

    def screen(self, escapes: bool = False) -> str:
        return self.server.tmux("capture-pane", "-p", *(["-e"] if escapes else []),
                                "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.server.tmux("send-keys", "-t", self.name, *keys)

    def wait(self, check, timeout: float, what: str, escapes: bool = False):
        """Poll the screen until ``check(screen)`` is true: (monotonic time, screen).
        Raises TimeoutError, with the screen, after ``timeout`` seconds."""
        start = time.monotonic()
        deadline = start + timeout
        while True:
            screen = self.screen(escapes)
            now = time.monotonic()
            self.note_children()
            if check(screen):
                return now, screen
            if now > deadline:
                raise TimeoutError(f"{what}: not seen in {timeout:.0f} s; the screen:\n"
                                   f"{self.screen()}")
            if not self.process.is_running():
                raise RuntimeError(f"{what}: the pane's command ended; the screen:\n{screen}")
            time.sleep(POLL if now - start < 0.5 else SLOW_POLL)

    def cpu_seconds(self) -> float:
        """User + system CPU of the command and its children so far."""
        total = 0.0
        for proc in [self.process, *self.process.children(recursive=True)]:
            try:
                t = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system + t.children_user + t.children_system
        return total

    def peak_rss_mb(self) -> float:
        """The command's peak resident memory (VmHWM) so far, in MB."""
        found = vm_hwm_mb(self.pid)
        if found is None:
            raise RuntimeError("no VmHWM in /proc status")
        return found

    def note_children(self) -> None:
        """Keep the peak memory of the command's children (a history reader) seen."""
        try:
            children = self.process.children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for child in children:
            found = vm_hwm_mb(child.pid)
            if found is not None:
                self.children_peak_mb = max(self.children_peak_mb, found)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.server.socket, "kill-session", "-t", self.name],
                       capture_output=True, env=self.server.env)
        try:
            self.process.wait(timeout=15)
        except psutil.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        os.unlink(self.gate)


def vm_hwm_mb(pid: int) -> float | None:
    """A process's peak resident memory in MB; None once it has gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def sgr_reverse(params: str, reverse: bool) -> bool:
    """Whether text is in reverse video after the SGR sequence with ``params``."""
    codes = [int(p) if p.isdigit() else 0 for p in re.split("[;:]", params)]
    i = 0
    while i < len(codes):
        code = codes[i]
        if code in (38, 48, 58):  # a colour: skip its arguments
            i += 3 if i + 1 < len(codes) and codes[i + 1] == 5 else 5
            continue
        if code in (0, 27):
            reverse = False
        elif code == 7:
            reverse = True
        i += 1
    return reverse


def reversed_lines(screen_with_escapes: str) -> list[tuple[int, str]]:
    """The lines (index, plain text) whose text is mostly in reverse video (SGR 7): a
    highlighted row, not a scrollbar (reversed blanks). The state carries from line to
    line, as capture-pane -e writes it."""
    found, reverse = [], False
    for index, line in enumerate(screen_with_escapes.split("\n")):
        shown = lit = 0
        at = 0
        for match in [*SGR.finditer(line), None]:
            text = line[at:match.start() if match else len(line)]
            visible = len(text) - text.count(" ")
            shown += visible
            lit += visible if reverse else 0
            if match:
                reverse = sgr_reverse(match[1], reverse)
                at = match.end()
        if shown >= 3 and lit * 2 > shown:
            found.append((index, SGR.sub("", line)))
    return found
