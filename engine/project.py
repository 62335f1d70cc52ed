"""Operations in ``runyard.toml``, read and written with tomlkit so that a user's
comments and layout survive when runyard (the dashboard) edits the file.

    root = "runs"

    [operations.extract]             # runyard run extract
    module = "extract.py"            # or: command = "python train.py --lr 0.1"
    instances = ["data/*.txt"]       # paths, globs or .batch files
    workers = 2
    iterations = 1
    executor = "local"               # or "dask", with scheduler = "tcp://host:8786"
    max_attempts = 3
    tags = ["nightly"]
    folder = "/extract"
    metadata = { dataset = "v2" }

    stalled_after = 600              # the stalled-run alert (false: none)
    on = "slurm"                     # the whole run as a Slurm job (default "here")
    requeue = 3                      # next attempts it submits at its time limit
    slurm = { time = "04:00:00" }    # over the [slurm] defaults below

    [slurm]                          # defaults of every run on Slurm
    partition = "compute"
    account = "proj"
    extra = ["--mail-type=END"]      # other sbatch directives
    requeue = 1

    [[operations.extract.alerts]]
    name = "slow"
    source = "metrics"
    rule = "is below"
    metric = "rate"
    threshold = 10
"""

import os
import re
import shlex
import stat
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from .errors import RootError, RunyardError
from .instances import expand
from .root import read_project_text
from .spec import RunSpec

PROJECT_DEFAULT = "runyard.toml"
FIELDS = {"module": str, "command": (str, list), "instances": (str, list), "workers": int,
          "iterations": int, "executor": str, "scheduler": str, "max_attempts": int,
          "grace": (int, float), "tags": list, "folder": str, "metadata": dict,
          "description": str, "alerts": list, "name": str,
          "stalled_after": (int, float, bool), "on": str, "slurm": dict, "requeue": int,
          "walltime_alert": (int, float)}


class ProjectError(RunyardError):
    """runyard.toml cannot be used; the message names the file and, where known, line."""


@dataclass
class Operation:
    name: str
    spec: RunSpec
    attrs: dict = field(default_factory=dict)   # name, folder, tags, metadata, description
    alerts: list = field(default_factory=list)


def read_document(path: Path) -> tomlkit.TOMLDocument:
    try:
        text = read_project_text(path)
    except RootError as exc:
        raise ProjectError(str(exc)) from None
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        line = getattr(exc, "line", None)
        where = f"{path}:{line}" if line else str(path)
        raise ProjectError(f"{where}: invalid TOML: {exc}") from None


def _line_of(path: Path, operation: str, key: str | None = None) -> str:
    """``path:line`` of an operation's table (or of one of its keys), for messages."""
    return _table_line(path, rf"operations\.\"?{re.escape(operation)}\"?", key)


def _table_line(path: Path, table: str, key: str | None = None) -> str:
    """``path:line`` of the table whose header matches the pattern ``table``, or of
    one of its keys."""
    lines = read_project_text(path).splitlines()
    header = re.compile(rf"^\s*\[\s*{table}\s*\]")
    start = next((i for i, text in enumerate(lines) if header.match(text)), None)
    if start is None:
        return str(path)
    if key is not None:
        for i in range(start + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if re.match(rf"^\s*{re.escape(key)}\s*=", lines[i]):
                return f"{path}:{i + 1}"
    return f"{path}:{start + 1}"


def operation_names(path: Path) -> list[str]:
    operations = read_document(path).get("operations", {})
    return list(operations) if isinstance(operations, dict) else []


def load_operation(path: Path, name: str) -> Operation:
    """The operation ``name`` of project file ``path``, checked."""
    document = read_document(path)
    operations = document.get("operations")
    if not isinstance(operations, dict) or name not in operations:
        known = ", ".join(operation_names(path)) or "none"
        raise ProjectError(f"{path}: no operation {name!r} (operations: {known})")
    table = operations[name].unwrap()
    if not isinstance(table, dict):
        raise ProjectError(f"{_line_of(path, name)}: operations.{name} must be a table")
    for key, value in table.items():
        expected = FIELDS.get(key)
        if expected is None:
            raise ProjectError(f"{_line_of(path, name, key)}: unknown key {key!r} in "
                               f"operations.{name} (known: {', '.join(FIELDS)})")
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is int):
            raise ProjectError(f"{_line_of(path, name, key)}: {key} has the wrong type "
                               f"({type(value).__name__}: {value!r})")
    _check_values(path, name, table)
    operation = _operation(path, name, table)
    operation.spec.stalled_after = _stalled_after(path, name, table, document)
    _slurm_settings(path, name, table, operation.spec)
    return operation


def slurm_defaults(path: Path | None) -> dict:
    """The ``[slurm]`` table of a project file (resources, ``extra``, ``requeue``),
    checked; empty without one."""
    from .errors import UsageError
    from .slurm import check_settings

    if path is None:
        return {}
    table = read_document(path).get("slurm")
    if table is None:
        return {}
    table = table.unwrap() if hasattr(table, "unwrap") else table
    where = _table_line(path, "slurm")
    if not isinstance(table, dict):
        raise ProjectError(f"{where}: [slurm] must be a table")
    requeue = table.pop("requeue", None)
    if requeue is not None and (type(requeue) is not int or requeue < 0):
        raise ProjectError(f"{where}: slurm.requeue must be a whole number, zero or "
                           f"more, got {requeue!r}")
    settings = {}
    for key, value in table.items():  # one by one: the message names the key's line
        try:
            settings.update(check_settings({key: value}))
        except UsageError as exc:
            raise ProjectError(f"{_table_line(path, 'slurm', key)}: {exc}") from None
    return {**settings, **({"requeue": requeue} if requeue is not None else {})}


def _slurm_settings(path: Path, name: str, table: dict, spec: RunSpec) -> None:
    """``on``, ``requeue`` and ``slurm`` of an operation, over the file's [slurm]."""
    from .errors import UsageError
    from .slurm import check_settings

    defaults = slurm_defaults(path)
    spec.on = table.get("on", "here")
    if spec.on not in ("here", "slurm"):
        raise ProjectError(f"{_line_of(path, name, 'on')}: on must be \"here\" or "
                           f"\"slurm\", got {spec.on!r}")
    spec.requeue = table.get("requeue", defaults.pop("requeue", 0))
    spec.walltime_alert = table.get("walltime_alert")
    if spec.requeue < 0:
        raise ProjectError(f"{_line_of(path, name, 'requeue')}: requeue must be zero "
                           f"or more, got {spec.requeue}")
    try:
        spec.slurm = {**defaults, **check_settings(table.get("slurm", {}))}
    except UsageError as exc:
        raise ProjectError(f"{_line_of(path, name, 'slurm')}: {exc}") from None


def _stalled_after(path: Path, name: str, table: dict, document) -> float | None:
    """The operation's ``stalled_after``, else the file's (top level), else the default."""
    from .errors import UsageError
    from .stall import DEFAULT_ENGINE, check_stalled_after

    if "stalled_after" in table:
        value, where = table["stalled_after"], _line_of(path, name, "stalled_after")
    elif "stalled_after" in document:
        value = document["stalled_after"]
        value = value.unwrap() if hasattr(value, "unwrap") else value
        where = _top_line_of(path, "stalled_after")
    else:
        return DEFAULT_ENGINE
    try:
        if not isinstance(value, int | float):
            raise UsageError(f"stalled_after must be a number of seconds or false, got "
                             f"{value!r}")
        return check_stalled_after(value)
    except UsageError as exc:
        raise ProjectError(f"{where}: {exc}") from None


def _top_line_of(path: Path, key: str) -> str:
    """``path:line`` of a key before the first table."""
    for number, text in enumerate(read_project_text(path).splitlines(), 1):
        if text.lstrip().startswith("["):
            break
        if re.match(rf"^\s*{re.escape(key)}\s*=", text):
            return f"{path}:{number}"
    return str(path)


def _check_values(path: Path, name: str, table: dict) -> None:
    from .executors import EXECUTORS
    from .validate import check_folder, check_metadata, check_tags

    for key in ("workers", "iterations", "max_attempts"):
        if key in table and table[key] < 1:
            raise ProjectError(f"{_line_of(path, name, key)}: {key} must be at least 1, "
                               f"got {table[key]}")
    if "grace" in table and not 0 <= table["grace"] < float("inf"):  # nan fails too
        raise ProjectError(f"{_line_of(path, name, 'grace')}: grace must be a finite "
                           f"number of seconds, zero or more, got {table['grace']}")
    if table.get("executor", "local") not in EXECUTORS:
        raise ProjectError(f"{_line_of(path, name, 'executor')}: executor must be one of "
                           f"{', '.join(EXECUTORS)}, got {table['executor']!r}")
    for key, check in (("folder", check_folder), ("tags", check_tags),
                       ("metadata", check_metadata)):
        if key in table:
            try:
                check(table[key])
            except ValueError as exc:
                raise ProjectError(f"{_line_of(path, name, key)}: {exc}") from None


def _operation(path: Path, name: str, table: dict) -> Operation:
    base = path.parent
    if ("module" in table) == ("command" in table):
        raise ProjectError(f"{_line_of(path, name)}: operations.{name} needs exactly one "
                           "of 'module' and 'command'")
    spec = RunSpec(kind="module" if "module" in table else "command",
                   workers=table.get("workers", 1), iterations=table.get("iterations", 1),
                   executor=table.get("executor", "local"), scheduler=table.get("scheduler"),
                   max_attempts=table.get("max_attempts", 3),
                   grace=float(table.get("grace", 10.0)), cwd=str(base))
    if spec.kind == "module":
        spec.module = str(base / table["module"])
        patterns = table.get("instances", [])
        patterns = [patterns] if isinstance(patterns, str) else patterns
        try:
            spec.instances = expand([str(p) for p in patterns], base)
        except RunyardError as exc:
            raise ProjectError(f"{_line_of(path, name, 'instances')}: {exc}") from None
    else:
        command = table["command"]
        spec.argv = shlex.split(command) if isinstance(command, str) else list(command)
    attrs = {k: table[k] for k in ("name", "folder", "tags", "metadata", "description")
             if k in table}
    return Operation(name, spec, attrs, list(table.get("alerts", [])))


def save_operation(path: Path, name: str, values: dict) -> None:
    """Add or update operation ``name``, keeping every comment and the layout."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ProjectError(f"unknown operation keys: {', '.join(sorted(unknown))}")
    document = read_document(path) if path.exists() else tomlkit.document()
    operations = document.get("operations")
    if operations is None:
        operations = tomlkit.table(is_super_table=True)
        document["operations"] = operations
    table = operations.get(name)
    if table is None:
        table = tomlkit.table()
        operations[name] = table
    for key, value in values.items():
        table[key] = value
    from .atomic import write_atomic

    # A runyard.toml is obeyed only if no one else can write it (root.py): keep the
    # mode it has, and make a new one 0644 whatever the umask (a group sharing a
    # project often has 002, which would make runyard refuse its own file).
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode) & ~0o022
    except FileNotFoundError:
        mode = 0o644
    write_atomic(path, tomlkit.dumps(document), mode=mode)
