"""What a user asks to start, from ``runyard run``'s options or the dashboard's start
form, checked and turned into the engine's spec and the run's attributes.

Both go through here, so the form refuses exactly what the command line refuses
(and with the same words). No textual here: the command line loads this module.
"""

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from runyard.engine.errors import UsageError
from runyard.engine.executors import EXECUTORS
from runyard.engine.instances import expand, read_experiment
from runyard.engine.project import load_operation, slurm_defaults
from runyard.engine.root import find_project_file
from runyard.engine.spec import RunSpec

SPEC_KEYS = ("workers", "iterations", "executor", "scheduler", "max_attempts", "grace",
             "stalled_after", "on", "slurm", "requeue", "walltime_alert")
ATTR_KEYS = ("name", "folder", "description")


@dataclass
class RunRequest:
    target: str | None = None          # MODULE.py, FILE.experiment or an operation NAME
    command: list[str] | None = None   # or a command (``runyard run -- ...``)
    instances: list[str] = field(default_factory=list)  # paths, globs, .batch files
    workers: int | None = None
    iterations: int | None = None
    executor: str | None = None
    scheduler: str | None = None
    max_attempts: int | None = None
    grace: float | None = None
    stalled_after: float | bool | None = None  # the 'stalled' alert's seconds (False: off)
    on: str | None = None              # where the supervisor runs: here or slurm
    slurm: dict | None = None          # the Slurm job's resources (engine/slurm.py)
    requeue: int | None = None         # walltime: next attempts it may submit itself
    walltime_alert: float | None = None  # the walltime alert's seconds left
    name: str | None = None
    folder: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    origin: str | None = None          # the id of the run this one starts again


def meta_value(text: str):
    """KEY=VALUE's value as bool, int, float or str."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_meta(items: list[str]) -> dict:
    metadata = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--meta takes KEY=VALUE, got {item!r}")
        metadata[key] = meta_value(value)
    return metadata


def split_words(text: str, what: str) -> list[str]:
    """``text`` split as a shell would (quotes keep spaces in a path or a value)."""
    try:
        return shlex.split(text)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"{what}: {exc}") from None


def join_words(words) -> str:
    """The inverse of ``split_words``: what a form field shows for a list."""
    return shlex.join(str(word) for word in words)


def check_executor(executor: str) -> str:
    if executor not in EXECUTORS:
        raise UsageError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    return executor


def base_spec(request: RunRequest, project: Path | None) -> tuple[RunSpec, dict, list]:
    """The spec, attributes and alerts of the target alone (before the options)."""
    if request.command is not None:
        if not request.command:
            raise UsageError("'runyard run --' needs a command after '--'")
        return RunSpec(kind="command", argv=list(request.command)), {}, []
    target = request.target
    if not target:
        raise UsageError("say what to run: MODULE.py, an operation NAME, FILE.experiment, "
                         "or -- COMMAND")
    if target.endswith(".py"):
        if not request.instances:
            raise UsageError(f"{target}: a run module needs --instances")
        return RunSpec(kind="module", module=target), {}, []
    if target.endswith(".experiment"):
        experiment = read_experiment(Path(target))
        return RunSpec(kind="module", module=str(experiment.module),
                       instances=experiment.instances, workers=experiment.workers,
                       iterations=experiment.iterations), {}, []
    if project is None:
        raise UsageError(f"{target!r} is not a .py or .experiment file, and there "
                         "is no runyard.toml here or above to find an operation in")
    operation = load_operation(project, target)
    return operation.spec, operation.attrs, operation.alerts


def parse_slurm_text(text: str) -> tuple[dict, int | None]:
    """``partition=compute,time=04:00:00,extra=--mail-type=END,requeue=2``: the Slurm
    settings (checked) and the requeue count (None if not given), as ``--slurm``
    and the start form's slurm field take them."""
    from runyard.engine.slurm import check_settings

    settings: dict = {}
    requeue = None
    for item in re.split(r",(?=[a-z][a-z0-9-]*=)", text.strip()) if text.strip() else []:
        key, equals, value = (part.strip() for part in item.partition("="))
        if not equals or not key:
            raise UsageError(f"Slurm settings are KEY=VALUE pairs, not {item!r}")
        if key == "requeue":
            if not value.isdigit():
                raise UsageError(f"requeue is a whole number, zero or more, not {value!r}")
            requeue = int(value)
        elif key == "extra":
            settings.setdefault("extra", []).append(value)
        else:
            settings[key] = value
    return check_settings(settings), requeue


def slurm_text(settings: dict, requeue: int | None = None) -> str:
    """The inverse of ``parse_slurm_text``: what the form's slurm field shows."""
    items = [f"{k}={v}" for k, v in settings.items() if k != "extra"]
    items += [f"extra={v}" for v in settings.get("extra", [])]
    if requeue:
        items.append(f"requeue={requeue}")
    return ",".join(items)


def slurm_from_project(spec: RunSpec, request: RunRequest, project: Path | None) -> None:
    """A run on Slurm (or its workers, ``--executor slurm``): the request's settings
    over the operation's, over the ``[slurm]`` defaults of the nearest runyard.toml
    (for a module, a command or a pyalma file too); for a run on Slurm, ``--requeue``
    over the operation's, over the defaults'."""
    defaults = slurm_defaults(project or find_project_file())
    requeue = defaults.pop("requeue", None)
    spec.slurm = {**defaults, **(spec.slurm or {}), **(request.slurm or {})}
    if spec.on == "slurm" and request.requeue is None and not spec.requeue and \
            requeue is not None:  # the supervisor's own job requeues, not the workers'
        spec.requeue = requeue


def build(request: RunRequest, project: Path | None = None) -> tuple[RunSpec, dict, list]:
    """The spec, run attributes (``start``'s keyword arguments) and alerts of a request.

    ``project`` is the runyard.toml operations are found in (default: the nearest)."""
    if project is None and request.command is None and request.target and \
            not request.target.endswith((".py", ".experiment")):
        project = find_project_file()
    spec, attrs, alerts = base_spec(request, project)
    if request.instances:
        spec.instances = expand(request.instances)
    for key in SPEC_KEYS:
        if getattr(request, key) is not None and key != "slurm":
            setattr(spec, key, getattr(request, key))
    if spec.on == "slurm" or spec.executor == "slurm":  # its job's, or its workers' jobs'
        slurm_from_project(spec, request, project)
    attrs = {**attrs, "tags": [*attrs.get("tags", []), *request.tags],
             "metadata": {**attrs.get("metadata", {}), **request.metadata}}
    for key in ATTR_KEYS:
        if getattr(request, key) is not None:
            attrs[key] = getattr(request, key)
    if request.origin is not None:
        attrs["extra"] = {"origin": request.origin}
    return spec, attrs, alerts
