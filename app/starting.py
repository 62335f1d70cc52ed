"""What the dashboard's start form asks for, turned into an engine start (and, if
asked, an operation in runyard.toml)."""

import os
from pathlib import Path

from runyard.engine.control import start
from runyard.engine.project import PROJECT_DEFAULT, read_document, save_operation
from runyard.engine.root import find_project_file

from .run_request import RunRequest, build


def start_from_request(root: Path, request: RunRequest, save_as: str | None = None):
    """Start the run the form describes; returns (its info, the operation it was saved
    as). The root is made if it does not exist yet (the user pressed Start)."""
    spec, attrs, alerts = build(request)
    info = start(root, spec, alerts=alerts, **attrs)
    if save_as:
        project = find_project_file() or Path.cwd() / PROJECT_DEFAULT
        save_operation(project, save_as, operation_values(request, project))
    return info, save_as


def _relative(path: str, base: Path) -> str:
    """``path`` (as typed, from the current folder) as the project file reads it."""
    absolute = os.path.abspath(path)
    try:
        return os.path.relpath(absolute, base)
    except ValueError:  # another drive
        return absolute


def operation_values(request: RunRequest, project: Path) -> dict:
    """The operation's table: what the form says, over the operation it started from."""
    base = project.parent
    values: dict = {}
    if request.command is not None:
        values["command"] = list(request.command)
    elif (request.target or "").endswith(".py"):
        values["module"] = _relative(request.target, base)
    elif project.exists():  # an operation: its own table, with the form's changes
        operations = read_document(project).get("operations") or {}
        if request.target in operations:
            values.update(operations[request.target].unwrap())
    if request.instances:
        values["instances"] = [_relative(p, base) for p in request.instances]
    for key in ("workers", "executor", "folder"):
        if getattr(request, key) is not None:
            values[key] = getattr(request, key)
    if request.tags:
        values["tags"] = list(request.tags)
    if request.metadata:
        values["metadata"] = dict(request.metadata)
    return values
