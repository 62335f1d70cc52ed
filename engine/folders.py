"""Folder details: a description, tags and metadata per folder (reference 002).

Each folder's details are one whole file, ``.runyard/folders/<quoted path>.json``,
updated under a lock so that two runs setting details at once lose nothing.
"""

import json
from pathlib import Path
from urllib.parse import quote, unquote

from .atomic import write_json_atomic
from .layout import ROOT_META
from .meta import locked, now_iso
from .root import ensure_root
from .validate import check_description, check_folder, check_metadata, check_tags


def _details_path(root: Path, folder: str) -> Path:
    return root / ROOT_META / "folders" / (quote(folder, safe="") + ".json")


def folder_details(root: Path, folder: str) -> dict:
    """The details of ``folder`` (empty ones if none were set)."""
    folder = check_folder(folder)
    try:
        details = json.loads(_details_path(root, folder).read_bytes())
    except (FileNotFoundError, ValueError):
        details = {}
    return {"path": folder, "description": details.get("description", ""),
            "tags": details.get("tags", []), "metadata": details.get("metadata", {}),
            "updated": details.get("updated")}


def set_folder_details(root: Path, folder: str, *, metadata: dict | None = None,
                       tags: list | None = None, description: str | None = None) -> dict:
    """Merge new details into a folder's: metadata updated, tags added, description set."""
    folder = check_folder(folder)
    metadata = check_metadata(metadata) if metadata is not None else None
    tags = check_tags(tags) if tags is not None else None
    description = check_description(description) if description is not None else None
    ensure_root(root)
    with locked(root / ROOT_META / "folders" / ".lock"):
        details = folder_details(root, folder)
        if metadata:
            details["metadata"].update(metadata)
        if tags:
            details["tags"] = check_tags(details["tags"] + tags)
        if description is not None:
            details["description"] = description
        details["updated"] = now_iso()
        write_json_atomic(_details_path(root, folder), details)
    return details


def folders_with_details(root: Path) -> list[str]:
    """Folders that have details set, sorted."""
    folder_dir = root / ROOT_META / "folders"
    if not folder_dir.is_dir():
        return []
    return sorted(unquote(p.name[: -len(".json")]) for p in folder_dir.glob("*.json"))
