"""Finding, creating and checking a runs root.

The root is ``--root``, else ``RUNYARD_ROOT``, else ``root`` in the nearest
``runyard.toml`` (relative to that file), else ``./runs``.

A runyard.toml chooses the root and the commands ``runyard run NAME`` executes,
so it is obeyed only when the current user or root owns it and no one else can
write it; any other runyard.toml (another user's, dropped in a shared parent
folder) is refused with an error naming it, never skipped silently.
"""

import contextlib
import os
import stat
from pathlib import Path

from .atomic import write_atomic
from .errors import RootError
from .layout import ROOT_META, SCHEMA, as_path
from .stop_reason import describe
from .untrusted import read_bounded

PROJECT_FILE = "runyard.toml"
PROJECT_MAX_BYTES = 1 << 20


def find_project_file(start: Path | None = None) -> Path | None:
    """The nearest runyard.toml in ``start`` or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


class UntrustedProject(RootError):
    """A runyard.toml that someone other than the current user or root could have written."""


def untrusted_because(info: os.stat_result, uid: int | None = None) -> str | None:
    """Why a file with status ``info`` must not be obeyed by user ``uid``, or None."""
    uid = os.geteuid() if uid is None else uid
    if info.st_uid not in (uid, 0):
        return f"it belongs to uid {info.st_uid}, not to you (uid {uid}) or root"
    if not stat.S_ISLNK(info.st_mode) and info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"other users can write it (mode {stat.filemode(info.st_mode)})"
    return None


def _refuse_untrusted(path: Path, info: os.stat_result) -> None:
    why = untrusted_because(info)
    if why is not None:
        raise UntrustedProject(f"refusing {path}: {why}; a runyard.toml must be yours or "
                               "root's and writable by no one else")


def read_project_text(path: Path) -> str:
    """The text of a runyard.toml that the current user may trust (see above): a
    regular file (a FIFO never blocks), at most PROJECT_MAX_BYTES, UTF-8.
    RootError naming the file otherwise. The checks and the read use one open file,
    so the file cannot be swapped in between."""
    try:
        link = os.lstat(path)
        if stat.S_ISLNK(link.st_mode):  # a link another user made chooses the file
            _refuse_untrusted(path, link)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise RootError(f"{path}: cannot read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RootError(f"{path}: not a regular file")
        _refuse_untrusted(path, info)
        try:
            data = f.read(PROJECT_MAX_BYTES + 1)
        except OSError as exc:
            raise RootError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > PROJECT_MAX_BYTES:
        raise RootError(f"{path}: larger than {PROJECT_MAX_BYTES >> 20} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RootError(f"{path}: not UTF-8 text") from None


def _root_from_project(project: Path) -> Path | None:
    import tomllib  # here: only a project with a runyard.toml needs it

    try:
        data = tomllib.loads(read_project_text(project))
    except tomllib.TOMLDecodeError as exc:
        raise RootError(f"{project}: invalid TOML ({exc})") from None
    root = data.get("root")
    if root is None:
        return None
    if not isinstance(root, str) or not root:
        raise RootError(f"{project}: 'root' must be a non-empty string, got {root!r}")
    return project.parent / os.path.expanduser(root)


def resolve_root(explicit: str | os.PathLike | None = None) -> Path:
    """The runs root to use, by the precedence above (not checked for existence)."""
    if explicit is not None:
        text = explicit if isinstance(explicit, str) else os.fspath(as_path(explicit))
        if not text.strip():
            raise RootError("the runs root given is empty")
        return Path(os.path.expanduser(text)).absolute()
    env = os.environ.get("RUNYARD_ROOT")
    if env:
        return Path(os.path.expanduser(env)).absolute()
    project = find_project_file()
    if project is not None:
        root = _root_from_project(project)
        if root is not None:
            return root.absolute()
    return Path("runs").absolute()


def _check_root_schema(root: Path) -> None:
    schema_file = root / ROOT_META / "schema"
    try:  # as any file of a shared root: never a FIFO, a link or a huge file
        text = read_bounded(schema_file, 4096).decode("utf-8", "replace").strip()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise RootError(f"{schema_file}: cannot read ({exc})") from None
    if text != str(SCHEMA):
        raise RootError(f"{root} is a runs root of schema {text[:20]!r}; this runyard reads "
                        f"schema {SCHEMA}")


def check_root(root: Path) -> Path:
    """``root`` if it can be read as a runs root, else RootError saying why."""
    root = as_path(root)
    if not root.exists():
        raise RootError(f"runs root {root} does not exist")
    if not root.is_dir():
        raise RootError(f"runs root {root} is not a directory")
    if not os.access(root, os.R_OK | os.X_OK):
        raise RootError(f"runs root {root} is not readable (permission denied)")
    _check_root_schema(root)
    return root


def ensure_root(root: Path) -> Path:
    """Create the root (and its ``.runyard`` folder) if needed, then check it. A root
    that cannot be made whole (a full disk) is not left half made."""
    root = as_path(root)
    folders = [root, *root.parents]
    missing = [f for f in (*reversed(folders), root / ROOT_META, root / ROOT_META / "names",
                           root / ROOT_META / "folders") if not f.exists()]
    try:
        for folder in missing:
            folder.mkdir(exist_ok=True)
        schema_file = root / ROOT_META / "schema"
        if not schema_file.exists():
            write_atomic(schema_file, f"{SCHEMA}\n")
    except OSError as exc:
        for folder in reversed(missing):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise RootError(f"cannot create runs root {root}: {describe(exc)}") from None
    return check_root(root)
