"""Opening and decoding the files of a run: anyone who can write a run may have
crafted every byte of them (docs/format.md, "What readers accept").

Every reader opens a run's files here. ``open_regular`` opens only a regular
file, and never waits: ``O_NONBLOCK``, because opening a FIFO for reading would
wait for a writer forever; ``O_NOFOLLOW``, because runyard never writes a
symbolic link in a meta folder or in ``.runyard/``, and one planted there could
lead a reader to ``/dev/zero``, a FIFO, a hung network mount or the reader's own
private files; ``O_NOCTTY`` so that a terminal device can never become ours.
The kind of file is checked with ``fstat`` on what was opened, so nothing
swapped in between slips through. What is read is bounded: whole records by
the sizes below, series in chunks (``jsonl.py``).

JSON is decoded with orjson, which refuses NaN;
a text holding a run of 19 or more digits goes to the standard library
instead, because orjson turns integers beyond 64 bits (which runyard's writers
can produce) into floats. There, NaN and the infinities are refused too, a
``RecursionError`` from deep nesting is a decoding error, and so is a lone
surrogate, which no file can hold as UTF-8. Either way a value nested deeper
than MAX_DEPTH is refused, so that no reader's recursion can overflow on it.
"""

import errno
import json
import math
import os
import re
import stat
from pathlib import Path

import orjson

MiB = 1 << 20
# Bounds: each stays above anything runyard's own writers and the tracking API
# produce (validate.py and checks.py bound the texts a user gives).
ATTRS_MAX = 64 * MiB         # attrs.json, and a folder's details
ALERT_DEFS_MAX = 64 * MiB    # alerts.json
INSTANCE_MAX = 256 * MiB     # an instance record, with its saved state
SMALL_MAX = 1 * MiB          # a name index entry
LINE_MAX = 32 * MiB          # one line of a series
CHUNK = 4 * MiB              # one read of a series or a log
BACKLOG_MAX = 1024 * MiB     # the most one read of a series goes through
MAX_DEPTH = 64               # nesting: runyard writes 4 levels at most; deeper would
                             # overflow the recursion of a JSON encoder or a renderer

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC
# Every digit made a 0, each opening bracket ([ or {) a [, every other byte a space: a
# run of 19 digits is then found by a plain substring search, several times quicker
# than a regular expression, and the brackets are counted in the same copy.
_CLASSES = bytes(0x30 if 0x30 <= c <= 0x39 else 0x5B if c in b"[{" else 0x20
                 for c in range(256))
_LONG_RUN = b"0" * 19
_INTEGER_RUN = re.compile(rb"(?<![.0-9])[0-9]{19,}")
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class NotReadable(OSError):
    """A file of a run that is refused or cannot be read; ``str()`` is one line
    naming the file, ``why`` the reason alone."""

    def __init__(self, path, why: str, sep: str = " "):
        super().__init__(f"{path}{sep}{why}")
        self.path, self.why = str(path), why


def _is_link(path, dir_fd: int | None) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def _why(path, exc: OSError, dir_fd: int | None = None) -> str:
    if exc.errno == errno.ELOOP and _is_link(path, dir_fd):
        return "is a symbolic link (runyard never writes one there)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "is not readable (permission denied)"
    if exc.errno == errno.ENOTDIR:
        return "cannot be reached (a part of its path is not a folder)"
    if exc.errno == errno.ENXIO:
        return "is a socket, not a regular file"
    return f"cannot be opened ({exc.strerror})"


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _open_fd(path: Path | str, dir_fd: int | None = None) -> tuple[int, int]:
    """A file descriptor of ``path`` (relative to the folder ``dir_fd`` if given)
    opened for reading if it is a regular file, and its size. FileNotFoundError if
    there is none; NotReadable for anything else."""
    try:
        fd = os.open(path, _FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise NotReadable(path, _why(path, exc, dir_fd)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable(path, f"is {_kind(info.st_mode)}, not a regular file")
    except BaseException:
        os.close(fd)
        raise
    return fd, info.st_size


def open_regular(path: Path | str, dir_fd: int | None = None):
    """``path`` opened for reading (unbuffered) if it is a regular file; relative to
    the open folder ``dir_fd`` if given (a walk that follows no link, run_folder.py).

    FileNotFoundError if there is none; NotReadable for anything else.
    """
    return os.fdopen(_open_fd(path, dir_fd)[0], "rb", buffering=0)


_WRITE_FLAGS = os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC


def open_for_writing(path: Path | str, flags: int = os.O_WRONLY | os.O_APPEND,
                     mode: int = 0o666) -> int:
    """A file of a run opened (created if need be) to append to or to lock: a file
    descriptor. As for readers, a symbolic link or anything but a regular file is
    refused (NotReadable): whoever acts on a run another user can write to must not
    be led to append to, or lock, a file elsewhere (their own ~/.bashrc, a FIFO
    that would block). O_NONBLOCK makes a FIFO without a reader fail at once.

    A new file's mode is ``mode`` less the umask: 0666 by default, so that series
    and logs are shared as far as the user's umask shares them (docs/format.md,
    "Modes")."""
    if os.path.islink(os.path.dirname(path) or "."):  # log/ or instances/ made a link
        raise NotReadable(os.path.dirname(path), "is a symbolic link (runyard never "
                                                 "writes one there)")
    try:
        fd = os.open(path, flags | _WRITE_FLAGS, mode)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO with no reader, or a socket
            try:
                why = f"is {_kind(os.lstat(path).st_mode)}, not a regular file"
            except OSError:
                why = "is not a regular file"
            raise NotReadable(path, why) from None
        if exc.errno == errno.ELOOP:
            raise NotReadable(path, _why(path, exc)) from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable(path, f"is {_kind(info.st_mode)}, not a regular file")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_lock(path: Path | str, flags: int = os.O_RDWR) -> int:
    """A lock file of a run, opened (created if need be) as ``open_for_writing`` does,
    and readable by its owner alone: anyone who can open a file can flock it, and a
    lock a stranger held for ever would stall the run. One an older runyard left
    readable by others is made private as its owner opens it."""
    fd = open_for_writing(path, flags, 0o600)
    info = os.fstat(fd)
    if info.st_uid == os.geteuid() and info.st_mode & 0o077:
        os.fchmod(fd, 0o600)
    return fd


def open_log(path: Path | str):
    """A log file a child process writes to (its stdout and stderr), opened as
    ``open_for_writing`` does: a binary file object to append to."""
    return os.fdopen(open_for_writing(path), "ab")


def read_upto(f, count: int) -> bytes:
    """At most ``count`` bytes from ``f``'s position, in reads of at most CHUNK."""
    parts, got = [], 0
    while got < count:
        block = f.read(min(count - got, CHUNK))
        if not block:
            break
        parts.append(block)
        got += len(block)
    return b"".join(parts)


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The whole of a regular file no larger than ``limit`` bytes.

    FileNotFoundError if there is none; NotReadable for anything else. A listing
    reads thousands of these, so the usual case takes four system calls: open,
    fstat, one read of the size fstat gave and one byte more (a read that returns
    exactly that size has met the file's end), close.
    """
    fd, size = _open_fd(path)
    try:
        if size > limit:
            raise NotReadable(path, f"is larger than {limit // MiB} MiB ({size} bytes)")
        data = os.read(fd, size + 1)
        if len(data) != size:  # grown, shrunk, or a short read: on to the end
            data = _read_rest(fd, data, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise NotReadable(path, f"is larger than {limit // MiB} MiB ({len(data)}+ bytes)")
    return data


def _read_rest(fd: int, data: bytes, most: int) -> bytes:
    """``data`` and what ``fd`` holds after it, until its end or ``most`` bytes in
    all, read in CHUNKs."""
    parts, got = [data], len(data)
    while data and got < most:
        data = os.read(fd, min(most - got, CHUNK))
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def decode_json(data: bytes, exact: bool | None = None):
    """The JSON value of ``data``; ValueError saying why if it is not one, or if it
    is nested deeper than MAX_DEPTH.

    ``exact`` (found by looking when None) sends the text to the standard library.
    """
    classes = None
    if exact is None:
        classes = data.translate(_CLASSES)
        exact = _LONG_RUN in classes and _INTEGER_RUN.search(data) is not None
    if not exact:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ValueError(str(exc)) from None
    else:
        try:
            value = json.loads(data, parse_constant=_refuse_constant,
                               parse_float=_finite_float)
            json.dumps(value, ensure_ascii=False).encode("utf-8")  # lone surrogates
        except RecursionError:
            raise ValueError("nested too deeply") from None
        except UnicodeError:
            raise ValueError("not UTF-8") from None
    opened = classes.count(b"[") if classes is not None else \
        data.count(b"[") + data.count(b"{")
    if opened >= MAX_DEPTH and isinstance(value, dict | list) and _too_deep(value):
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return value


def _too_deep(value) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):
                if depth >= MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def has_long_digits(data: bytes) -> bool:
    """Whether ``data`` has a run of digits that may be an integer beyond 64 bits. The
    digits after a decimal point are a fraction, however many there are (a small
    float such as 0.00010999999999999999 has twenty): only a run that follows no
    point counts."""
    return _LONG_RUN in data.translate(_CLASSES) and \
        _INTEGER_RUN.search(data) is not None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: orjson refuses it too
        raise ValueError(f"number {text[:20]} is beyond a float's range")
    return value


def read_json(path: Path | str, limit: int):
    """The JSON value of a whole-file record; NotReadable (one line) if it cannot be
    had, FileNotFoundError if there is no file."""
    data = read_bounded(path, limit)
    try:
        return decode_json(data)
    except ValueError as exc:
        raise NotReadable(path, f"is not valid JSON ({exc})") from None
