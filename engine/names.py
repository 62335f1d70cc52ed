"""The name index: ``.runyard/names/<key>`` holds the id of the run that owns a name.

Claiming a name creates its index file with ``O_EXCL``, which is atomic even
between nodes on a shared filesystem, so two runs never get one name.
"""

import json
import os
from pathlib import Path
from urllib.parse import quote

from .errors import RunyardError
from .ids import check_name, is_run_id, random_name
from .layout import META_SUFFIX, ROOT_META
from .untrusted import SMALL_MAX, read_json


def _index_path(root: Path, name: str) -> Path:
    key = quote(name, safe="")
    if len(key) > 200:
        import hashlib  # here: only names too long for a file name need it

        key = "~" + hashlib.sha256(name.encode("utf-8")).hexdigest()
    return root / ROOT_META / "names" / key


def _read_entry(path: Path) -> dict | None:
    """An index entry, None if there is none or it cannot be read or used."""
    try:
        entry = read_json(path, SMALL_MAX)
    except OSError:  # none, or not a regular file, or refused (NotReadable)
        return None
    ok = isinstance(entry, dict) and isinstance(entry.get("name"), str) and \
        isinstance(entry.get("id"), str)
    return entry if ok else None


def lookup_name(root: Path, name: str) -> str | None:
    """The id of the run named ``name``, if that run still exists."""
    try:
        entry = _read_entry(_index_path(root, check_name(name)))
    except ValueError:  # no name at all ("", "..")
        return None
    if entry is None or entry["name"] != name:
        return None
    run_id = entry["id"]
    if not is_run_id(run_id) or not (root / (run_id + META_SUFFIX)).is_dir():
        return None
    return run_id


def _create_entry(path: Path, name: str, run_id: str) -> bool:
    """Claim ``path`` for the run; an entry that cannot be written whole (a full disk)
    is removed again, so the name is never held by an empty entry."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    try:
        with os.fdopen(fd, "w") as f:
            json.dump({"name": name, "id": run_id}, f)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return True


def claim_name(root: Path, name: str, run_id: str) -> None:
    """Give ``name`` to ``run_id``, or raise if a live run already has it."""
    path = _index_path(root, check_name(name))
    if _create_entry(path, name, run_id):
        return
    owner = lookup_name(root, name)
    if owner is not None and owner != run_id:
        raise RunyardError(f"run name {name!r} is already used by run {owner}")
    # The previous owner's meta folder is gone (deleted by hand): take the name over.
    path.unlink(missing_ok=True)
    if not _create_entry(path, name, run_id):
        raise RunyardError(f"run name {name!r} was just taken by another run")


def claim_random_name(root: Path, run_id: str, tries: int = 50) -> str:
    """Claim a fresh ``adjective-noun`` name, adding a number if words run out."""
    for attempt in range(tries):
        name = random_name() if attempt < tries // 2 else f"{random_name()}-{attempt}"
        if _create_entry(_index_path(root, name), name, run_id):
            return name
    raise RunyardError(f"could not find a free run name in {root} after {tries} tries")


def release_name(root: Path, name: str, run_id: str) -> None:
    """Drop ``name`` from the index if ``run_id`` holds it."""
    path = _index_path(root, name)
    entry = _read_entry(path)
    if entry is not None and entry["id"] == run_id:
        path.unlink(missing_ok=True)
