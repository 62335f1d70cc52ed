"""Start a run again with other parameters ("clone and tweak"): the start form filled
in from what the engine recorded when it started the run.

The record is untrusted: another user may have written it (a shared root). Only
regular files are read, within a bound; every field is checked for its type and
range, a text with a control character is never put in a field, and a field that
fails is left out and named. Nothing from the record runs before the user reads
the form and presses Start, which checks it all again as typed input.
"""

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from runyard.engine import load_run
from runyard.engine.errors import RunyardError
from runyard.engine.executors import EXECUTORS
from runyard.engine.layout import SPEC
from runyard.engine.untrusted import SMALL_MAX, read_json
from runyard.engine.validate import has_control

from .formatting import run_label
from .run_request import RunRequest, join_words, slurm_text
from .safe_text import one_line
from .start_checks import PLACES

SPEC_MAX = 64 * SMALL_MAX  # a spec names its instances: 100,000 paths fit


class CloneRefused(RunyardError):
    """The run cannot be started again from here; the message says why, in one line."""


@dataclass
class CloneForm:
    values: dict                       # the form's fields, as text
    base: RunRequest                   # what the form has no field for
    label: str                         # the run it comes from, for the form's title
    kept: str = ""                     # one line: what comes along without a field
    left_out: list = field(default_factory=list)  # fields of the record not used


def clone_form(root: Path, run_id: str) -> CloneForm:
    info = load_run(root, run_id)
    label = run_label(info)
    if info.status == "unreadable":
        raise CloneRefused(f"Run {label} cannot be read, so not started again: "
                           f"{one_line(info.error or '', limit=200)}")
    spec = read_recorded_spec(info.meta_dir, label)
    kind = spec.get("kind")
    if kind == "flow":
        raise CloneRefused(f"Run {label} is a flow run: start it again with runyard flow")
    if kind not in ("module", "command"):
        raise CloneRefused(f"Run {label}: its recorded spec has no kind this form starts "
                           f"(module or command): {one_line(repr(kind), limit=60)}")
    left_out: list[str] = []
    values = _target_fields(spec, kind, left_out)
    base = RunRequest(origin=info.id)
    kept = []
    for key in ("iterations", "max_attempts"):
        number = _whole(spec.get(key), key, left_out)
        if number is not None:
            setattr(base, key, number)
            kept.append(f"{key.replace('_', ' ')} {number}")
    grace = spec.get("grace")
    if isinstance(grace, int | float) and not isinstance(grace, bool) and \
            math.isfinite(grace) and grace >= 0:
        base.grace = float(grace)
        kept.append(f"grace {grace:g} s")
    elif grace is not None:
        left_out.append("grace (not a number of seconds)")
    _attr_fields(info.attrs, values, left_out)
    line = ("kept from it: " + ", ".join(kept)) if kept else ""
    if left_out:
        line += ("; " if line else "") + "left out: " + ", ".join(left_out)
    owner = _stranger(info.meta_dir)
    if owner:  # Start would run another user's command as you: say so first
        line = f"recorded by user {owner}, not you: read what it runs before you press " \
               "Start" + ("; " + line if line else "")
    return CloneForm(values, base, label, one_line(line, limit=300), left_out)


def read_recorded_spec(meta_dir: Path, label: str) -> dict:
    path = meta_dir / SPEC
    try:
        spec = read_json(path, SPEC_MAX)
    except FileNotFoundError:
        raise CloneRefused(f"Run {label} was not started by runyard (a tracked run): "
                           "there is no recorded spec to start it again from") from None
    except OSError as exc:  # NotReadable is one: not a regular file, too big, not JSON
        raise CloneRefused(f"Run {label}: its recorded spec cannot be read: "
                           f"{one_line(exc, limit=200)}") from None
    if not isinstance(spec, dict):
        raise CloneRefused(f"Run {label}: its recorded spec is not a JSON object")
    return spec


def _text(value) -> bool:
    return isinstance(value, str) and bool(value) and not has_control(value)


def _texts(value) -> bool:
    return isinstance(value, list) and all(_text(v) for v in value)


def _whole(value, key: str, left_out: list) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        left_out.append(f"{key} (not a whole number >= 1)")
        return None
    return value


def _stranger(meta_dir: Path) -> str | None:
    """``name (uid N)`` of the user who recorded the run's spec, if not this one."""
    import pwd

    try:
        uid = os.lstat(meta_dir / SPEC).st_uid
    except OSError:
        return None
    if uid == os.getuid():
        return None
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
    return f"{one_line(name, limit=40)} (uid {uid})"


def _target_fields(spec: dict, kind: str, left_out: list) -> dict:
    values: dict[str, str] = {}
    if kind == "module":
        module = spec.get("module")
        if _text(module):
            values["target"] = module
        else:
            left_out.append("module (not a path)")
        instances = spec.get("instances")
        if _texts(instances):
            values["instances"] = join_words(instances)
        else:
            left_out.append("instances (not a list of paths)")
    else:
        argv = spec.get("argv")
        if _texts(argv) and argv:
            values["target"] = "-- " + join_words(argv)
        else:
            left_out.append("command (not a list of words)")
    workers = _whole(spec.get("workers"), "workers", left_out)
    if workers is not None:
        values["workers"] = str(workers)
    executor = spec.get("executor")
    if executor in EXECUTORS:
        values["executor"] = executor
    elif executor is not None:
        left_out.append("executor (not one of " + ", ".join(EXECUTORS) + ")")
    _slurm_fields(spec, values, left_out)
    return values


def _slurm_fields(spec: dict, values: dict, left_out: list) -> None:
    """Where it ran, and its Slurm settings and requeues, as the form shows them."""
    from runyard.engine.errors import UsageError
    from runyard.engine.slurm import check_settings

    on = spec.get("on", "here")
    if on not in PLACES:
        left_out.append("on (not here or slurm)")
        return
    values["on"] = on
    requeue = _whole(spec.get("requeue", 0) or None, "requeue", left_out)
    try:
        settings = check_settings(spec.get("slurm") or {})
    except UsageError:
        left_out.append("slurm (settings this runyard refuses)")
        return
    if settings or requeue:
        values["slurm"] = slurm_text(settings, requeue)


def meta_text(value) -> str:
    """A metadata value as ``key=value`` takes it back (run_request.meta_value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _attr_fields(attrs: dict, values: dict, left_out: list) -> None:
    """Folder, tags and metadata, as the untrusted reader passed them (types checked),
    less any with a control character. The name is not taken: names are unique."""
    folder = attrs.get("folder")
    if _text(folder) and folder != "/":
        values["folder"] = folder
    tags = [t for t in attrs.get("tags") or [] if _text(t) and "," not in t]
    if len(tags) < len(attrs.get("tags") or []):
        left_out.append("tags with control characters or commas")
    values["tags"] = join_words(tags)
    metadata = attrs.get("metadata") or {}
    pairs = [f"{k}={meta_text(v)}" for k, v in metadata.items()
             if _text(k) and "=" not in k and not has_control(meta_text(v))]
    if len(pairs) < len(metadata):
        left_out.append("metadata with control characters")
    values["metadata"] = join_words(pairs)
