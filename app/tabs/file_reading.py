"""One file of a run read for the Files tab's pager, on a worker thread (no Textual).

A text file is shown from its last TAIL bytes and followed while it grows (each
read goes on from where the last stopped, at most STEP bytes at a time); a file
replaced or cut shorter is read again from the start. A binary file, or one
larger than VIEW_MAX, is named with its size and type and never dumped. What
cannot be opened as a regular file (a link, a FIFO, a device, a folder) is
refused with the reason. Every line is made safe (safe_text) before it leaves.
"""

import mimetypes
import os
import time
from dataclasses import dataclass, field

from runyard.engine.run_folder import open_file
from runyard.engine.untrusted import MiB, NotReadable, read_upto

from ..safe_text import one_line, visible

VIEW_MAX = 8 * MiB   # a larger file is named, not shown
TAIL = 2 * MiB       # of a text file, shown when it is opened
STEP = 1 * MiB       # read at most at each look at a growing file
SNIFF = 8 * 1024     # bytes looked at to tell text from binary
LINE_SHOWN = 4000    # characters of one line shown
LIVE = 30            # seconds since a file's last change within which it opens at its end


def byte_size(count: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


_TYPES = mimetypes.MimeTypes()  # Python's own table: not the system's, which varies
TYPE_SHOWN = 24  # characters of a type shown


def type_by_name(name: str) -> str:
    """The mime type a name suggests (``text/csv``), or ``""``; a long one cut."""
    guessed, _encoding = _TYPES.guess_type(name)
    if guessed and len(guessed) > TYPE_SHOWN:
        guessed = guessed[:TYPE_SHOWN - 1] + "~"
    return guessed or ""


def is_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as UTF-8 text (no NUL; a character cut
    at the end of the sample does not count against it)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def text_lines(data: bytes) -> list[str]:
    """Lines of text as a terminal would have left them (what follows a line's last
    carriage return), tabs expanded, control characters shown."""
    lines = []
    for raw in data.decode("utf-8", errors="replace").split("\n"):
        line = raw.rstrip("\r").rsplit("\r", 1)[-1].expandtabs(4)
        lines.append(visible(line, limit=LINE_SHOWN))
    return lines


@dataclass
class Shown:
    """What one read found: lines for the pager (safe), a note for its title,
    ``fresh``: the pager starts over; ``follow``: the file is read again later."""

    lines: list[str] = field(default_factory=list)
    note: str = ""
    fresh: bool = False
    follow: bool = False
    at_end: bool = True  # a fresh view starts at its end (a live file), else its top


class FileFollower:
    """One file shown in the pager: its first read, then what it grows by."""

    def __init__(self, base, parts: list[str], label: str, live: bool = True,
                 follow_base: bool = True):
        self.base, self.parts, self.follow_base = base, parts, follow_base
        self.live = live  # may be written to (a saved copy is written once)
        self.label = one_line(label, limit=200)
        self.identity: tuple | None = None  # (device, inode) of the file read
        self.offset = 0                      # bytes of it read so far
        self.pending = b""                   # a last line without its newline yet

    def read(self) -> Shown:
        """What is new since the last read (all of it, the first time)."""
        try:
            handle = open_file(self.base, self.parts, self.follow_base)
        except FileNotFoundError:
            return Shown([f"{self.label}: gone (no such file now)"], fresh=True)
        except NotReadable as exc:
            return Shown([f"{self.label}: refused: {one_line(exc.why, limit=300)}"],
                         fresh=True)
        except OSError as exc:
            return Shown([f"{self.label}: cannot be read ({one_line(exc.strerror)})"],
                         fresh=True)
        with handle:
            info = os.fstat(handle.fileno())
            identity = (info.st_dev, info.st_ino)
            if identity != self.identity or info.st_size < self.offset:
                shown = self._first(handle, identity, info.st_size)
                # a file written lately is live: its tail is what matters
                shown.at_end = shown.at_end or \
                    (self.live and time.time() - info.st_mtime < LIVE)
                return shown
            return self._more(handle, info.st_size)

    def _first(self, handle, identity: tuple, size: int) -> Shown:
        again = self.identity is not None
        self.identity, self.pending = identity, b""
        head = handle.read(SNIFF)
        kind = type_by_name(self.parts[-1])
        if not is_text(head):
            what = f"binary{f' ({kind})' if kind else ''}"
            return Shown([f"{self.label}: {byte_size(size)}, {what}: not shown"],
                         fresh=True)
        if size > VIEW_MAX:
            return Shown([f"{self.label}: {byte_size(size)}, {kind or 'text'}: larger "
                          f"than {byte_size(VIEW_MAX)}, not shown"], fresh=True)
        start = max(0, size - TAIL)
        handle.seek(start)
        data = read_upto(handle, size - start)
        if start:  # from the first whole line of the tail
            data = data[data.find(b"\n") + 1:]
        self.offset = start + len(data) if start else len(data)
        note = f"{kind or 'text'}, {byte_size(size)}"
        if start:
            note += f", its last {byte_size(len(data))}"
        if again:
            note += ", read again (replaced or cut)"
        return Shown(self._complete(data, at_end=True), note, fresh=True, follow=True,
                     at_end=start > 0)

    def _more(self, handle, size: int) -> Shown:
        if size <= self.offset:
            # nothing new: a last line without newline is shown once the file rests
            lines = self._complete(b"", at_end=True) if self.pending else []
            return Shown(lines, follow=True)
        handle.seek(self.offset)
        data = read_upto(handle, min(STEP, size - self.offset))
        self.offset += len(data)
        return Shown(self._complete(data, at_end=False), follow=True)

    def _complete(self, data: bytes, at_end: bool) -> list[str]:
        """The whole lines of what was read (with what was held back before it); the
        last one without newline is held back unless ``at_end``."""
        data = self.pending + data
        cut = data.rfind(b"\n")
        if at_end or (cut < 0 and len(data) > LINE_SHOWN * 4):
            self.pending = b""
            whole = data[:-1] if data.endswith(b"\n") else data
        else:
            self.pending = data[cut + 1:]
            whole = data[:cut] if cut >= 0 else b""
            if cut < 0:
                return []
        return text_lines(whole) if whole or data else []
