"""The start form's fields, read and checked as the user types (on a worker thread:
globs, the name index, runyard.toml and the module's source are files).

Each field is read the way ``runyard run`` reads its option, through run_request.py;
a field that cannot be used gets one line saying why, shown under it.
"""

import argparse
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from runyard.engine.errors import RunyardError
from runyard.engine.ids import check_name
from runyard.engine.instances import expand
from runyard.engine.modules import check_source
from runyard.engine.names import lookup_name
from runyard.engine.validate import check_folder, check_metadata, check_tags

from .arguments import positive_int
from .run_request import (
    RunRequest,
    build,
    check_executor,
    parse_meta,
    parse_slurm_text,
    split_words,
)

FIELDS = ("target", "instances", "workers", "name", "folder", "tags", "metadata",
          "executor", "on", "slurm")
PLACES = ("here", "slurm")  # where the run's supervisor runs
OPERATION_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")


@dataclass
class FormCheck:
    """What one look at the form found: the request (None while anything is wrong) and
    an error for each field that has one."""

    request: RunRequest | None
    errors: dict = field(default_factory=dict)
    save_as: str | None = None


def _words(text: str, what: str) -> list[str]:
    return split_words(text, what) if text.strip() else []


def _workers(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return positive_int(text.strip())
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"workers: {exc}") from None


def _name(text: str, root: Path | None) -> str | None:
    if not text:
        return None
    name = check_name(text)
    owner = lookup_name(root, name) if root is not None and root.is_dir() else None
    if owner is not None:
        raise ValueError(f"run name {name!r} is already used by run {owner}")
    return name


def _command(text: str) -> list[str] | None:
    """``-- COMMAND ARGS``: a command, as after ``runyard run --``."""
    stripped = text.strip()
    if stripped != "--" and not stripped.startswith("-- "):
        return None
    return split_words(stripped[2:], "command")


PARSERS = {
    "instances": lambda text, _root: _words(text, "instances"),
    "workers": lambda text, _root: _workers(text),
    "name": _name,
    "folder": lambda text, _root: check_folder(text.strip()) if text.strip() else None,
    "tags": lambda text, _root: check_tags(_words(text.replace(",", " "), "tags")),
    "metadata": lambda text, _root: check_metadata(parse_meta(_words(text, "metadata"))),
    "executor": lambda text, _root: check_executor(text.strip()) if text.strip() else None,
    "on": lambda text, _root: _place(text.strip()),
    "slurm": lambda text, _root: parse_slurm_text(text) if text.strip() else None,
}


def _place(text: str) -> str | None:
    if text and text not in PLACES:
        raise ValueError(f"on: where the run goes, {' or '.join(PLACES)}, not {text!r}")
    return text or None


def check_form(values: dict, root: Path | None, base: RunRequest | None = None
               ) -> FormCheck:
    """The request the form's ``values`` (field id -> text) describe, over ``base``
    (a run started again: what the form has no field for), or the errors."""
    errors: dict[str, str] = {}
    parsed: dict = {}
    for key, parse in PARSERS.items():
        try:
            parsed[key] = parse(values.get(key, ""), root)
        except (ValueError, RunyardError) as exc:  # UsageError is both
            errors[key] = str(exc).replace("--meta takes", "metadata takes")
    target = values.get("target", "").strip()
    try:
        command = _command(target)
    except RunyardError as exc:
        errors["target"], command = str(exc), None
    save_as = _save_as(values, errors)
    slurm, requeue = parsed.pop("slurm", None) or (None, None)
    request = replace(base or RunRequest(), target=None if command is not None else target,
                      command=command, **{k: v for k, v in parsed.items()
                                          if k not in ("tags", "metadata")},
                      tags=parsed.get("tags") or [], metadata=parsed.get("metadata") or {})
    if slurm is not None:
        request.slurm = slurm or None
    if requeue is not None:
        request.requeue = requeue
    if "instances" not in errors and request.instances:
        try:
            expand(request.instances)  # a glob that matches no file is said here
        except RunyardError as exc:
            errors["instances"] = str(exc)
    if not errors:
        _check_whole(request, errors)
    return FormCheck(None if errors else request, errors, save_as)


def _save_as(values: dict, errors: dict) -> str | None:
    if not values.get("save"):
        return None
    name = values.get("save-as", "").strip()
    if not OPERATION_NAME.fullmatch(name):
        errors["save-as"] = ("an operation name is letters, digits, '_' and '-' (it is "
                             f"what 'runyard run NAME' takes), got {name!r}")
    return name


def _check_whole(request: RunRequest, errors: dict) -> None:
    """What only the fields together say: the target and its instances, the
    operation in runyard.toml, the module's source."""
    target = request.target or ""
    if target.endswith(".py"):
        try:
            check_source(Path(target).absolute())
        except RunyardError as exc:
            errors["target"] = str(exc)
            return
        if not request.instances:
            errors["instances"] = "a run module needs instances: paths or globs"
            return
    try:
        build(request)
    except (RunyardError, ValueError) as exc:
        errors["target"] = str(exc)
