"""Append-only JSON-lines series: one record per line, written in whole lines.

Writers append complete lines (``series.encode_record``, ``series.encode_point``)
with a single ``write`` on an ``O_APPEND`` file.
Readers work incrementally from a byte offset: a last line without its newline
is a write in progress (torn) and is left for the next read; any other line
that is not a record of its series (``series.decode_record``) is reported with
its file and line number and skipped, so one bad line never hides the good
ones around it.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from .series import decode_record, encode_record, series_kind
from .untrusted import (
    BACKLOG_MAX,
    CHUNK,
    LINE_MAX,
    NotReadable,
    has_long_digits,
    open_for_writing,
    open_regular,
)


class JsonlWriter:
    """Appends whole lines to one series file (one writer per file)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._fd = open_for_writing(self.path)
        self._terminate_torn_tail()

    def _terminate_torn_tail(self) -> None:
        # A writer that died mid-line left a fragment; end it so that our first
        # record starts on a line of its own (the fragment is then reported once).
        size = os.fstat(self._fd).st_size
        if size == 0:
            return
        with open_regular(self.path) as f:
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
        self.write_lines(b"".join(map(encode_record, records)))

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
    """A line that is complete but not a record of its series (or a file that
    cannot be read at all: line 0)."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


MAX_BAD_LISTED = 100  # bad lines listed by one read of a file; the rest are counted


class SeriesReader:
    """Reads a series file incrementally, remembering where it stopped.

    Only a regular file is read (``untrusted.open_regular``), in reads of at most
    CHUNK bytes; one call goes through at most ``backlog`` bytes (the end of a
    bigger backlog, reporting what it skipped), keeps at most LINE_MAX bytes of
    an unfinished line, and skips a longer line as a bad line without holding it.
    A file that cannot be read is reported once, until the reason changes.
    """

    def __init__(self, path: Path | str, kind: str | None = None):
        self.path = Path(path)
        self.kind = kind or series_kind(self.path.name)
        self.offset = 0  # where the first line not yet consumed starts
        self.line_no = 0  # complete lines consumed so far
        self._identity: tuple | None = None
        self._skipping: str | None = None  # inside a line too long, or cut by a skip
        self._refused: str | None = None
        self._listable = MAX_BAD_LISTED  # bad lines still to list in this read
        self.skipped: tuple | None = None  # (file identity, end) of the last backlog skipped
        self._unlisted = 0  # bad lines counted, not listed, in this read

    def read_new(self, backlog: int | None = None) -> tuple[list[dict], list[BadLine]]:
        """Records appended since the last call, and the bad lines among them."""
        records: list[dict] = []
        bad: list[BadLine] = []
        for found, wrong in self.chunks(backlog):
            records += found
            bad += wrong
        return records, bad

    def place(self) -> tuple:
        """Where the reader stands in which file (and why it could not read it, if it
        could not), for ``move_to``; its offset second."""
        return self._identity, self.offset, self.line_no, self._skipping, self._refused

    def move_to(self, place: tuple) -> None:
        """Go on from where another reader of the same file stood (``place``)."""
        self._identity, self.offset, self.line_no, self._skipping, self._refused = place

    def chunks(self, backlog: int | None = None, until: int | None = None):
        """What ``read_new`` returns, a chunk at a time: (records, bad lines) pairs;
        at most ``backlog`` bytes (BACKLOG_MAX by default) are gone through, and
        nothing beyond byte ``until`` (the file's end by default)."""
        try:
            f = open_regular(self.path)
        except FileNotFoundError:
            return
        except NotReadable as exc:
            if exc.why != self._refused:
                self._refused = exc.why
                yield [], [BadLine(str(self.path), 0, f"cannot read: it {exc.why}")]
            return
        self._refused = None
        self._listable, self._unlisted = MAX_BAD_LISTED, 0
        with f:
            end = self._start(f)
            if until is not None:
                end = min(end, until)
            skipped = self._skip_backlog(f, end, BACKLOG_MAX if backlog is None else backlog)
            if skipped:
                yield [], [skipped]
            yield from self._read_to(f, end)
        if self._unlisted:  # a file of nothing but bad lines costs a count, not a list
            yield [], [BadLine(str(self.path), self.line_no,
                               f"{self._unlisted} more bad lines up to here, not listed")]

    def _bad(self, line: int, reason: str, bad: list[BadLine]) -> None:
        """Note a bad line: listed while this read has listed fewer than MAX_BAD_LISTED,
        counted after that."""
        if self._listable > 0:
            self._listable -= 1
            bad.append(BadLine(str(self.path), line, reason))
        else:
            self._unlisted += 1

    def _start(self, f) -> int:
        """The size to read up to; back to the start if the file was replaced or cut."""
        info = os.fstat(f.fileno())
        identity = (info.st_dev, info.st_ino)
        if identity != self._identity or info.st_size < self.offset:
            self._identity = identity
            self.offset, self.line_no, self._skipping = 0, 0, None
        return info.st_size

    def _skip_backlog(self, f, end: int, backlog: int) -> BadLine | None:
        if end - self.offset <= backlog:
            return None
        start = end - backlog
        f.seek(start - 1)
        # landed inside a line: drop its rest, quietly
        self._skipping = None if f.read(1) == b"\n" else "cut"
        note = BadLine(str(self.path), self.line_no,
                       f"{start - self.offset} bytes after this line skipped: more than "
                       f"{backlog} bytes to read at once (line numbers go on from there)")
        self.offset = start
        self.skipped = (self._identity, start)
        return note

    def _read_to(self, f, end: int):
        f.seek(self.offset)
        pending = bytearray()  # the start of an unfinished line, from self.offset
        while self.offset + len(pending) < end:
            block = f.read(min(CHUNK, end - self.offset - len(pending)))
            if not block:
                break  # cut while we read
            searched = len(pending)
            pending += block
            bad: list[BadLine] = []
            if self._skipping:
                self._end_skipped_line(pending, bad)
                searched = 0
            last = pending.rfind(b"\n", searched)
            records: list[dict] = []
            if last >= 0:
                records, wrong = self._parse(bytes(pending[: last + 1]))
                bad += wrong
                del pending[: last + 1]
                self.offset += last + 1
            if len(pending) > LINE_MAX:  # no end in sight: skip it, holding nothing
                self._skipping = self._skipping or "long"
                self.offset += len(pending)
                pending.clear()
            if records or bad:
                yield records, bad

    def _end_skipped_line(self, pending: bytearray, bad: list[BadLine]) -> None:
        """Drop what ``pending`` holds of a skipped line (a too long one is reported)."""
        end = pending.find(b"\n")
        if end < 0:
            self.offset += len(pending)
            pending.clear()
            return
        if self._skipping == "long":
            self.line_no += 1
            self._bad(self.line_no, f"longer than {LINE_MAX} bytes: skipped", bad)
        del pending[: end + 1]
        self.offset += end + 1
        self._skipping = None

    def _parse(self, chunk: bytes) -> tuple[list[dict], list[BadLine]]:
        records: list[dict] = []
        bad: list[BadLine] = []
        exact = None if has_long_digits(chunk) else False
        for raw in chunk.split(b"\n")[:-1]:
            self.line_no += 1
            if not raw.strip():
                continue
            if len(raw) > LINE_MAX:
                reason = f"longer than {LINE_MAX} bytes: skipped"
            else:
                try:
                    records.append(decode_record(raw, self.kind, exact))
                    continue
                except ValueError as exc:  # WrongShape too: a record of the wrong shape
                    reason = str(exc)
            self._bad(self.line_no, reason, bad)
        return records, bad


def read_all(path: Path | str, kind: str | None = None) -> tuple[list[dict], list[BadLine]]:
    """Every complete record of a series file, with its bad lines."""
    return SeriesReader(path, kind).read_new()
