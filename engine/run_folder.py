"""A run's own folder and its saved artifacts, listed and opened as a stranger may
have made them (the dashboard's Files tab).

Anyone who can write a run can put anything in its folder: a symbolic link to
``/etc/passwd`` or to a folder elsewhere, a FIFO that would block a reader
forever, a device, a file of gigabytes, a name with terminal escapes in it. So a
folder is reached by opening each part of its path below the run's folder with
``O_NOFOLLOW`` (a link planted anywhere on the way is refused, never followed),
listed without following links (``lstat``) and with a bound on how many entries
are looked at, and a file is opened only through ``untrusted.open_regular``
relative to its opened folder: a regular file or a refusal saying what it is,
never a wait. The run's folder itself is not followed either if it is a link (a
stranger's ``<id>`` pointing at ``/etc`` or at the reader's home); the meta folder
is taken as it is, as by every other reader (links higher up belong to the root).
"""

import os
import posixpath
import stat
from dataclasses import dataclass

from .layout import ARTIFACTS
from .untrusted import NotReadable, open_regular

MOST_SHOWN = 500      # entries of one folder listed at most
MOST_LOOKED = 5_000   # entries of one folder looked at at most (a million are not sorted)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_KINDS = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "link"),
          (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "device"), (stat.S_ISBLK, "device"),
          (stat.S_ISSOCK, "socket"))


@dataclass(frozen=True)
class Entry:
    """One entry of a folder, as ``lstat`` saw it (a link is a link, not its target)."""

    name: str
    kind: str            # file, folder, link, FIFO, device, socket, other
    size: int
    mtime: float
    target: str = ""     # a link's target, as written
    outside: bool = False  # a link that leads out of the run's folder


def kind_of(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "other")


def check_parts(parts) -> list[str]:
    """``parts`` as names of one level each, or NotReadable: no empty part, no ``.``
    or ``..``, no ``/``, no NUL (a recorded artifact name is a stranger's text)."""
    for part in parts:
        if not isinstance(part, str) or part in ("", ".", "..") or "/" in part \
                or "\x00" in part:
            raise NotReadable("/".join(map(str, parts)), "is not a path inside the run")
    return list(parts)


def open_folder(base, parts, follow_base: bool = True) -> int:
    """A descriptor of the folder ``base/parts...``, each part opened without following
    a link (``base`` too unless ``follow_base``); NotReadable saying which part is
    refused and why, FileNotFoundError."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
    try:
        fd = os.open(base, flags if follow_base else flags | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise NotReadable(base, _base_why(base, exc)) from None
    try:
        for depth, part in enumerate(check_parts(parts)):
            try:
                inner = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                where = "/".join(parts[:depth + 1])
                if isinstance(exc, FileNotFoundError):
                    raise
                raise NotReadable(where, _folder_why(part, fd, exc)) from None
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _base_why(base, exc: OSError) -> str:
    try:
        kind = kind_of(os.lstat(base).st_mode)
    except OSError:
        return f"cannot be opened ({exc.strerror})"
    if kind == "link":
        return "is a symbolic link: runyard never follows one in a run"
    return f"is a {kind}, not a folder" if kind != "folder" else \
        f"cannot be opened ({exc.strerror})"


def _folder_why(part: str, fd: int, exc: OSError) -> str:
    try:
        kind = kind_of(os.lstat(part, dir_fd=fd).st_mode)
    except OSError:
        return f"cannot be opened ({exc.strerror})"
    if kind == "link":
        return "is a symbolic link: runyard never follows one in a run"
    if kind != "folder":
        return f"is a {kind}, not a folder"
    return f"cannot be opened ({exc.strerror})"


def list_folder(base, parts=(), most: int = MOST_SHOWN, look: int = MOST_LOOKED,
                follow_base: bool = True) -> tuple[list[Entry], int]:
    """The entries of ``base/parts...`` by name (the first ``most`` of the first
    ``look`` looked at) and how many more were left out (at least)."""
    parts = list(parts)
    fd = open_folder(base, parts, follow_base)
    entries = []
    try:
        with os.scandir(fd) as found:
            for item in found:
                entries.append(_entry(item, parts, fd))
                if len(entries) >= look:
                    break
    finally:
        os.close(fd)
    entries.sort(key=lambda entry: entry.name)
    return entries[:most], max(0, len(entries) - most)


def _entry(item: os.DirEntry, parts: list[str], fd: int) -> Entry:
    try:
        info = item.stat(follow_symlinks=False)
    except OSError:  # gone since it was listed
        return Entry(item.name, "other", 0, 0.0)
    kind = kind_of(info.st_mode)
    target, outside = "", False
    if kind == "link":
        try:
            target = os.readlink(item.name, dir_fd=fd)
        except OSError:
            target = "?"
        outside = leads_outside(parts, target)
    return Entry(item.name, kind, info.st_size if kind == "file" else 0, info.st_mtime,
                 target, outside)


def leads_outside(parts: list[str], target: str) -> bool:
    """Whether a link at ``parts/`` with this target points out of the run's folder
    (by its text alone: it is never followed, so what lies there is not looked at)."""
    if target.startswith("/"):
        return True
    joined = posixpath.normpath(posixpath.join(*parts, target) if parts else target)
    return joined == ".." or joined.startswith("../")


def open_file(base, parts, follow_base: bool = True):
    """The regular file ``base/parts...`` opened for reading (unbuffered), every part
    reached without following a link; NotReadable saying why not, FileNotFoundError."""
    parts = check_parts(parts)
    if not parts:
        raise NotReadable(str(base), "is a folder, not a file")
    fd = open_folder(base, parts[:-1], follow_base)
    try:
        return open_regular(parts[-1], dir_fd=fd)
    finally:
        os.close(fd)


def artifact_parts(record: dict) -> list[str] | None:
    """Where a saved file's copy is, below the meta folder, from its record's category
    and name (never from its ``path``: a stranger's record may point anywhere); None
    if they are not a name inside the artifacts folder."""
    category, name = record.get("category"), record.get("name")
    if not isinstance(category, str) or not isinstance(name, str):
        return None
    parts = [ARTIFACTS, category, *name.split("/")]
    try:
        return check_parts(parts)
    except NotReadable:
        return None
