"""The one helper that writes whole files.

A whole-file record is written to a temporary file in the same folder, flushed,
optionally fsynced, then moved over the target with ``os.replace``. Readers see
either the old file or the new one, never half of either. The old file is never
removed first.

A writer killed between creating its temporary file (``.<name>.<8 random>.tmp``)
and renaming it leaves that file behind. The first write of a process into a
folder, and every resume of a run, remove such leftovers, but only those older
than ``STALE_AFTER`` seconds: on a shared filesystem a young one may belong to a
live writer on another node that is about to rename it, and deleting it would
make that write fail. No writer holds a temporary file that long (it writes it
whole, then renames it). Ages are measured against a file just written in the
same folder, so the filesystem's clock is compared with itself, never with a
node's clock that may be skewed.
"""

import json
import os
import re
import stat
from pathlib import Path

STALE_AFTER = 15 * 60.0
TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")  # the names create_temp() gives
_swept: set[str] = set()  # folders this process has swept already


def create_temp(path: Path | str) -> tuple[int, str]:
    """A new temporary file beside ``path``, open for writing: (fd, its path).

    Created with mode 0666 less the umask, as any file the user writes: a group
    sharing a runs directory reads each other's runs (tempfile.mkstemp would make
    every record 0600, readable by its owner alone).
    """
    folder, name = os.path.split(os.fspath(path))
    for _ in range(100):
        tail = os.urandom(4).hex()  # no secrets module: it loads hashlib
        tmp = os.path.join(folder, f".{name}.{tail}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                           0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_atomic(path: Path | str, data: bytes | str, *, fsync: bool = False,
                 mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` in one step."""
    path = os.fspath(path)  # a string: pathlib costs as much as the writing here
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = create_temp(path)
    try:
        try:
            write_all(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.path.dirname(path) or "."
    if folder not in _swept:
        _swept.add(folder)
        sweep_stale_temps(Path(folder), os.stat(path).st_mtime)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (os.write may take part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def sweep_stale_temps(folder: Path, now: float) -> list[str]:
    """Remove leftover temporary files in ``folder`` older than STALE_AFTER seconds
    before ``now`` (the filesystem's time: the mtime of a file just written there).
    Only regular files with a temporary file's name go; the names removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # gone, or not ours to list: nothing to clean
        return removed
    for entry in entries:
        if not TEMP_NAME.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_AFTER:
                os.unlink(entry.path)
                removed.append(entry.name)
        except (FileNotFoundError, PermissionError):  # another sweeper was first; not ours
            continue
    return removed


def write_json_atomic(path: Path | str, obj, *, fsync: bool = False,
                      mode: int | None = None, compact: bool = False) -> None:
    """Replace ``path`` with ``obj`` as indented JSON (``compact``: on one line, for
    records written often that people do not read by eye)."""
    if compact:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    else:
        text = json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=False)
    text += "\n"
    write_atomic(path, text, fsync=fsync, mode=mode)
