"""The file methods of ``Run``: files, directories and Python objects as artifacts.

An artifact is copied to ``<id>.meta/artifacts/<category>/<name>`` (atomically,
hashing as it copies) and listed in ``files.jsonl`` with its size, mime type and
sha256. A name that would land outside that folder is refused.
"""

import contextlib
import io
import json
import os
import time
from pathlib import Path, PurePosixPath

from . import checks
from .atomic import create_temp, write_atomic
from .errors import UsageError, usage_errors
from .jsonl import append_records
from .layout import ARTIFACTS, FILES
from .untrusted import NotReadable
from .validate import is_utf8

_CHUNK = 1 << 20


def artifact_name(name) -> str:
    """``name`` as a relative path inside the artifacts folder, or UsageError."""
    if not isinstance(name, str) or not name or "\x00" in name or not is_utf8(name):
        raise UsageError(f"an artifact name must be a non-empty string, got {name!r}")
    path = PurePosixPath(name.replace(os.sep, "/"))
    if path.is_absolute() or ".." in path.parts or name.startswith("~"):
        raise UsageError(f"artifact name {name!r} would land outside the run's folder: "
                         "use a relative name without '..'")
    clean = "/".join(p for p in path.parts if p not in ("", "."))
    if not clean:
        raise UsageError(f"artifact name {name!r} is empty once normalised")
    return clean


def _one_type(file_type, filetype) -> str | None:
    """Simvue's ``file_type``, or reference 002's ``filetype``: one of them."""
    if file_type is not None and filetype is not None and file_type != filetype:
        raise UsageError(f"file_type {file_type!r} and filetype {filetype!r} differ: "
                         "give one")
    chosen = file_type if file_type is not None else filetype
    if chosen is not None and (not isinstance(chosen, str) or not chosen):
        raise UsageError(f"file_type must be a MIME type string, got {chosen!r}")
    return chosen


class FilesMixin:
    def _store(self, category: str, name: str, source, *, mime: str | None,
               metadata: dict | None, origin: str | None) -> bool:
        """Copy ``source`` (a path or bytes) into the artifacts and list it."""
        name = artifact_name(name)
        target = self._paths.meta(ARTIFACTS) / category / name
        try:
            _make_folders(self._paths.meta_dir, target.parent)
            size, digest = _copy_atomic(source, target)
            record = {"ts": time.time(), "name": name, "category": category,
                      "path": f"{ARTIFACTS}/{category}/{name}", "size": size,
                      "mime": mime or _guess_type(name) or
                      "application/octet-stream", "sha256": digest}
            if origin:
                record["source"] = origin
            if metadata:
                record["metadata"] = metadata
            append_records(self._paths.meta(FILES), [record])
        except OSError as exc:
            return self._operational(f"saving {name!r}", exc)
        return True

    def save_file(self, file_path, category: str, file_type: str | None = None,
                  preserve_path: bool = False, name: str | None = None,
                  metadata: dict | None = None, *, filetype: str | None = None,
                  preserve_path_relative_to: str | None = None,
                  snapshot: bool = False) -> bool:
        """Save a copy of a file (Simvue's current ``save_file``). The copy is made at
        once, so every save is a ``snapshot``; ``preserve_path_relative_to`` ``cwd``
        or ``git`` names it by its path from there."""
        gate = self._gate("save_file", "running")
        if gate is not None:
            return gate
        file_type = _one_type(file_type, filetype)
        checks.category(category)
        path = Path(checks.path("save_file's file_path", file_path))
        if not path.is_file():
            raise UsageError(f"save_file: {str(path)!r} is not a file")
        metadata = _checked_metadata(metadata)
        checks.flag("snapshot", snapshot)
        checks.flag("preserve_path", preserve_path)
        chosen = name if name is not None else \
            (os.fspath(file_path).lstrip("/") if preserve_path else path.name)
        if preserve_path_relative_to is not None and name is None:
            chosen = _relative_name(path, preserve_path_relative_to)
        return self._store(category, chosen, path, mime=file_type, metadata=metadata,
                           origin=str(path.absolute()))

    def save_object(self, obj, category: str, name: str | None = None,
                    allow_pickle: bool = False, metadata: dict | None = None) -> bool:
        """Save a Python object: JSON, numpy ``.npy``, or pickle when allowed.
        Without a name it is called ``<type>_<id>`` as Simvue does."""
        gate = self._gate("save_object", "running")
        if gate is not None:
            return gate
        checks.category(category)
        checks.flag("allow_pickle", allow_pickle)
        metadata = _checked_metadata(metadata)
        if name is None:
            name = f"{obj.__class__.__name__.lower()}_{id(obj)}"
        data, mime = _serialise(obj, allow_pickle)
        return self._store(category, name, data, mime=mime, metadata=metadata,
                           origin=None)

    def save(self, filename, category: str, filetype: str | None = None,
             preserve_path: bool = False, name: str | None = None,
             allow_pickle: bool = False) -> bool:
        """Reference 002's ``save``: a file by path, or an object with ``name``."""
        is_path = isinstance(filename, str | os.PathLike)
        if is_path and (os.path.isfile(filename) or name is None):
            return self.save_file(filename, category, filetype, preserve_path, name)
        return self.save_object(filename, category, name, allow_pickle)

    def save_directory(self, directory, category: str, file_type: str | None = None,
                       preserve_path: bool = False, *, filetype: str | None = None) -> bool:
        """Save every file below a directory, keeping the layout below it."""
        gate = self._gate("save_directory", "running")
        if gate is not None:
            return gate
        file_type = _one_type(file_type, filetype)
        directory = checks.path("save_directory's directory", directory)
        folder = Path(directory)
        if not folder.is_dir():
            raise UsageError(f"save_directory: {str(folder)!r} is not a directory")
        ok = True
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            chosen = f"{os.fspath(directory).strip('/')}/{relative}" if preserve_path \
                else f"{folder.name}/{relative}"
            ok = self.save_file(path, category, file_type, name=chosen) and ok
        return ok

    def save_all(self, items=None, category: str | None = None,
                 file_type: str | None = None, preserve_path: bool = False, *,
                 directory=None, filetype: str | None = None) -> bool:
        """Save a list of files and directories (``items``, or reference 002's
        ``directory``)."""
        if (items is None) == (directory is None):
            raise UsageError("save_all() takes one list of paths: items or directory")
        items = items if directory is None else directory
        file_type = _one_type(file_type, filetype)
        if isinstance(items, str | os.PathLike) or not hasattr(items, "__iter__"):
            raise UsageError(f"save_all takes a list of paths, not {items!r}")
        ok = True
        for item in items:
            item = checks.path("each item of save_all", item)
            if os.path.isdir(item):
                ok = self.save_directory(item, category, file_type, preserve_path) and ok
            else:
                ok = self.save_file(item, category, file_type, preserve_path) and ok
        return ok


def _relative_name(path: Path, relative_to) -> str:
    """The file's path from the working directory or its git work tree's top."""
    if relative_to not in ("cwd", "git"):
        raise UsageError(f"preserve_path_relative_to must be 'cwd' or 'git', got "
                         f"{relative_to!r}")
    path = path.absolute()
    base = Path.cwd()
    if relative_to == "git":
        base = next((p for p in path.parents if (p / ".git").exists()), None)
        if base is None:
            raise UsageError(f"save_file: {str(path)!r} is in no git work tree")
    relative = os.path.relpath(path, base)
    if relative.startswith(".."):
        raise UsageError(f"save_file: {str(path)!r} is outside {str(base)!r}")
    return relative


def _checked_metadata(metadata) -> dict | None:
    if metadata is None:
        return None
    from .validate import flat_metadata

    with usage_errors():
        return flat_metadata(metadata)


def _serialise(obj, allow_pickle: bool) -> tuple[bytes, str]:
    if type(obj).__module__ == "numpy" and type(obj).__name__ == "ndarray":
        import numpy

        buffer = io.BytesIO()
        numpy.save(buffer, obj, allow_pickle=False)
        return buffer.getvalue(), "application/vnd.numpy"
    try:
        return json.dumps(obj, allow_nan=False).encode("utf-8"), "application/json"
    except (TypeError, ValueError):
        pass
    if not allow_pickle:
        raise UsageError(f"an object of type {type(obj).__name__} is not JSON: pass "
                         "allow_pickle=True to store it with pickle")
    import pickle

    return pickle.dumps(obj), "application/octet-stream"


def _guess_type(name: str) -> str | None:
    import mimetypes

    return mimetypes.guess_type(name)[0]


def _make_folders(base: Path, folder: Path) -> None:
    """``folder`` and those between it and ``base``, made where missing; NotReadable if
    one is a symbolic link. The meta folder is the group's to write in a shared root:
    a member could make artifacts/ a link to a folder of the saving user's, and the
    copy would be made, under the saved file's name, there."""
    path = base
    for part in folder.relative_to(base).parts:
        path = path / part
        with contextlib.suppress(FileExistsError):  # a link there is not followed
            os.mkdir(path)
        if path.is_symlink():
            raise NotReadable(path, "is a symbolic link (runyard never writes one there)")


def _copy_atomic(source, target: Path) -> tuple[int, str]:
    """Copy a file (or bytes) to ``target`` in one rename; its size and sha256."""
    import hashlib  # here, as mimetypes: only saving files needs them

    if isinstance(source, bytes):
        write_atomic(target, source)
        return len(source), hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    size = 0
    fd, tmp = create_temp(target)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()

