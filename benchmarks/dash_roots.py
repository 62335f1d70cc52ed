"""Runs directories for ``benchmarks/dashboard.py``, made through the engine's own
lifecycle functions (fast: no tracking process per run), and the child processes it
talks to."""

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import orjson


def count_runs(root: Path) -> int:
    if not root.exists():
        return 0
    return sum(1 for e in os.scandir(root) if e.name.endswith(".meta")
               and not e.name.startswith("."))


def populate(root: Path, count: int) -> None:
    """``count`` runs: most completed, some failed, some only created."""
    from runyard.engine import finalize_run, init_run_meta, make_run, start_run

    for i in range(count):
        paths = make_run(root)
        init_run_meta(paths, folder=f"/sweep/{i % 20}", tags=["bench", f"g{i % 7}"],
                      metadata={"i": i, "lr": 0.001 * (i % 10)})
        if i % 10 == 9:
            continue  # created
        start_run(paths)
        finalize_run(paths, "failed" if i % 10 == 6 else "completed")
        if (i + 1) % 10000 == 0:
            print(f"  created {i + 1} runs", file=sys.stderr)


def root_with(base: Path, count: int) -> Path:
    """``base/<count>/runs`` (the layout of benchmarks/list_runs.py, so --keep roots
    serve both), created unless it already holds ``count`` runs."""
    root = base / str(count) / "runs"
    have = count_runs(root)
    if have == count:
        return root
    if have:
        raise SystemExit(f"{root} holds {have} runs, not {count}: give another --keep")
    started = time.perf_counter()
    populate(root, count)
    print(f"created {count} runs in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return root


def newest_names(root: Path, how_many: int) -> list[str]:
    """The names of the newest runs (ids sort by creation time), as the table's first
    rows show them."""
    ids = sorted((e.name[:-5] for e in os.scandir(root) if e.name.endswith(".meta")
                  and not e.name.startswith(".")), reverse=True)[:how_many]
    names = []
    for run_id in ids:
        with open(root / f"{run_id}.meta" / "attrs.json", "rb") as f:
            names.append(orjson.loads(f.read()).get("name") or run_id)
    return names


def bare_scan(root: Path) -> int:
    """The least any listing must do: every attrs.json read and parsed with orjson."""
    count = 0
    for entry in os.scandir(root):
        if entry.name.endswith(".meta") and not entry.name.startswith("."):
            with open(os.path.join(entry.path, "attrs.json"), "rb") as f:
                orjson.loads(f.read())
            count += 1
    return count


class Child:
    """A Python script in its own process, spoken to one line at a time."""

    def __init__(self, script: Path, *args: str):
        self.proc = subprocess.Popen([sys.executable, str(script), *args], bufsize=0,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buffer = b""

    def send(self, text: str) -> None:
        self.proc.stdin.write(text.encode() + b"\n")

    def line(self, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                raise TimeoutError(f"{self.proc.args[1]}: no answer in {timeout:.0f} s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"{self.proc.args[1]} ended (exit {self.proc.wait()})")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def finish(self, timeout: float = 60.0) -> None:
        """Close its stdin (its cue to end) and wait for it."""
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.proc.stdout.close()
