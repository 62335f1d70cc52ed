"""Folder details: a description, tags and metadata per folder (reference 002).

Each folder's details are one whole file, ``.runyard/folders/<quoted path>.json``,
updated under a lock so that two runs setting details at once lose nothing.
"""

from pathlib import Path
from urllib.parse import quote, unquote

from .atomic import write_atomic
from .layout import ROOT_META, as_path
from .meta import encode_record, locked, now_iso
from .root import ensure_root
from .shapes import TEXT, TEXTS, WrongShape, check_fields, scalar_map
from .untrusted import ATTRS_MAX, NotReadable, read_json
from .validate import check_description, check_folder, check_metadata, check_tags

DETAILS = {"description": (TEXT, False), "tags": (TEXTS, False), "updated": (TEXT, False)}


def _details_path(root: Path, folder: str) -> Path:
    return root / ROOT_META / "folders" / (quote(folder, safe="") + ".json")


def _read_details(path: Path) -> dict:
    """A folder's details, every field of its type; FileNotFoundError or NotReadable."""
    details = read_json(path, ATTRS_MAX)
    try:
        if not isinstance(details, dict):
            raise WrongShape("not a JSON object")
        check_fields(details, DETAILS)
        scalar_map("metadata", details.get("metadata", {}))
    except WrongShape as exc:
        raise NotReadable(path, str(exc), sep=": ") from None
    return details


def folder_details(root: Path, folder: str) -> dict:
    """The details of ``folder`` (empty ones if none were set); with ``error`` saying
    why, when its file cannot be read."""
    root = as_path(root)
    folder = check_folder(folder)
    details, error = {}, None
    try:
        details = _read_details(_details_path(root, folder))
    except FileNotFoundError:
        pass
    except OSError as exc:  # NotReadable: one line naming the file
        error = str(exc)
    found = {"path": folder, "description": details.get("description", ""),
             "tags": details.get("tags", []), "metadata": details.get("metadata", {}),
             "updated": details.get("updated")}
    if error:
        found["error"] = error
    return found


def set_folder_details(root: Path, folder: str, *, metadata: dict | None = None,
                       tags: list | None = None, description: str | None = None) -> dict:
    """Merge new details into a folder's: metadata updated, tags added, description set."""
    root = as_path(root)
    folder = check_folder(folder)
    metadata = check_metadata(metadata) if metadata is not None else None
    tags = check_tags(tags) if tags is not None else None
    description = check_description(description) if description is not None else None
    ensure_root(root)
    with locked(root / ROOT_META / "folders" / ".lock"):
        details = folder_details(root, folder)
        if "error" in details:  # never replace what cannot be read: it may be wanted
            raise NotReadable(_details_path(root, folder), "cannot be read, so it is not "
                              f"changed ({details['error']})")
        if metadata:
            details["metadata"].update(metadata)
        if tags:
            details["tags"] = check_tags(details["tags"] + tags)
        if description is not None:
            details["description"] = description
        details["updated"] = now_iso()
        write_atomic(_details_path(root, folder),
                     encode_record(details, f"the details of folder {folder}"))
    return details


def folders_with_details(root: Path) -> list[str]:
    """Folders that have details set, sorted."""
    folder_dir = root / ROOT_META / "folders"
    if not folder_dir.is_dir():
        return []
    return sorted(unquote(p.name[: -len(".json")]) for p in folder_dir.glob("*.json"))
