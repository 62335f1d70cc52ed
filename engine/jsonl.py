"""Append-only JSON-lines series: one record per line, written in whole lines.

Writers append complete lines with a single ``write`` on an ``O_APPEND`` file.
Readers work incrementally from a byte offset: a last line without its newline
is a write in progress (torn) and is left for the next read; any other line
that is not a JSON object is reported with its file and line number and
skipped, so one bad line never hides the good ones around it.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path


def encode_line(record: dict) -> bytes:
    """One record as one line of compact JSON, newline included."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8") + b"\n"


class JsonlWriter:
    """Appends whole lines to one series file (one writer per file)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._terminate_torn_tail()

    def _terminate_torn_tail(self) -> None:
        # A writer that died mid-line left a fragment; end it so that our first
        # record starts on a line of its own (the fragment is then reported once).
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                self._write_all(b"\n")

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def write_lines(self, data: bytes) -> None:
        """Append already encoded whole lines in one write."""
        if data:
            self._write_all(data)

    def write_some(self, data: bytes) -> int:
        """Append ``data``; how many bytes went out before an error stopped it.

        Raises only if nothing could be written, so a caller can keep exactly
        the unwritten rest and finish the torn line on its next try.
        """
        view = memoryview(data)
        written = 0
        while written < len(data):
            try:
                written += os.write(self._fd, view[written:])
            except OSError:
                if written == 0:
                    raise
                break
        return written

    def append(self, records: list[dict]) -> None:
        self.write_lines(b"".join(encode_line(r) for r in records))

    def fsync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def append_records(path: Path | str, records: list[dict]) -> None:
    """Append records to a series file, opening and closing it."""
    writer = JsonlWriter(path)
    try:
        writer.append(records)
    finally:
        writer.close()


@dataclass(frozen=True)
class BadLine:
    """A line that is complete but not a JSON object."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


class SeriesReader:
    """Reads a series file incrementally, remembering where it stopped."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.offset = 0
        self.line_no = 0  # complete lines consumed so far

    def read_new(self) -> tuple[list[dict], list[BadLine]]:
        """Records appended since the last call, and the bad lines among them."""
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.offset:  # replaced or truncated: start again
                    self.offset = 0
                    self.line_no = 0
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return [], []
        except OSError as exc:  # a folder, or unreadable: say so, do not crash
            return [], [BadLine(str(self.path), 0, f"cannot read ({exc.strerror})")]
        end = data.rfind(b"\n")
        if end < 0:
            return [], []
        records, bad = self._parse(data[: end + 1])
        self.offset += end + 1
        return records, bad

    def _parse(self, chunk: bytes) -> tuple[list[dict], list[BadLine]]:
        records: list[dict] = []
        bad: list[BadLine] = []
        for raw in chunk.split(b"\n")[:-1]:
            self.line_no += 1
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except ValueError as exc:
                bad.append(BadLine(str(self.path), self.line_no, f"not JSON ({exc})"))
                continue
            if not isinstance(record, dict):
                bad.append(BadLine(str(self.path), self.line_no, "not a JSON object"))
                continue
            records.append(record)
        return records, bad


def read_all(path: Path | str) -> tuple[list[dict], list[BadLine]]:
    """Every complete record of a series file, with its bad lines."""
    return SeriesReader(path).read_new()
