"""Flows, defined: ``@flow`` traces a function's ``op()`` calls into a graph of steps.

    from runyard.engine.flows import flow, op

    @flow
    def lines_summary():
        lines = op("extract.py", instances=["data/*.txt"])      # alias "extract"
        return op("summarise.py", lines.outputs("*.txt"))        # alias "summarise"

    task = lines_summary()     # runs nothing: a PromisedTask holding the graph

A step is a run module over instances, a command, or an operation of
``runyard.toml``. Passing a step (or ``step.outputs(pattern)``) to another
step makes the first one's output files the second one's inputs: the
instances of a module, ``{inputs}`` in a command (and ``RUNYARD_INPUTS``).
The steps the function returns are the flow's results.

This module only records what was asked; ``resolve()`` checks it (modules,
operations, aliases, cycles) and turns it into the plain dictionary that is
hashed, stored and executed.
"""

import contextvars
import functools
import hashlib
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .executors import EXECUTORS

ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")  # whole: fullmatch
SETTINGS = {"workers": int, "iterations": int, "max_attempts": int, "params": dict,
            "executor": str, "grace": (int, float), "tags": list, "metadata": dict,
            "stalled_after": (int, float, bool), "on": str, "slurm": dict, "requeue": int}


class FlowError(UsageError):
    """A flow cannot be traced, prepared or run as asked; the message says why."""


@dataclass(frozen=True)
class Outputs:
    """The output files of step ``alias`` whose relative path matches ``pattern``."""

    alias: str
    pattern: str = "*"


@dataclass
class Step:
    """A step of a flow being traced (a promise: it has run nothing)."""

    alias: str
    target: str | None = None          # what op() was given, for messages
    kind: str = ""                     # module | command | operation
    module: str | None = None
    argv: list = field(default_factory=list)
    operation: str | None = None
    project: str | None = None
    instances: list = field(default_factory=list)
    inputs: list = field(default_factory=list)     # Outputs
    after: list = field(default_factory=list)      # aliases
    settings: dict = field(default_factory=dict)
    cwd: str = ""

    def outputs(self, pattern: str = "*") -> Outputs:
        """This step's output files matching ``pattern`` (a glob on their path
        relative to the run folder, or on their file name), as another step's input."""
        if not isinstance(pattern, str) or not pattern:
            raise FlowError(f"an outputs pattern is a non-empty string, not {pattern!r}")
        return Outputs(self.alias, pattern)

    def __repr__(self) -> str:
        return f"Step({self.alias!r})"


def ref(alias: str, pattern: str = "*") -> Outputs:
    """Another step's outputs by alias (a step traced later, or one of an operation)."""
    if not isinstance(alias, str) or not alias:
        raise FlowError(f"ref() takes a step alias, not {alias!r}")
    return Outputs(alias, pattern)


_tracing: contextvars.ContextVar = contextvars.ContextVar("runyard_flow_tracing", default=None)


def op(target: str | list | None = None, *inputs, alias: str | None = None,
       instances=None, command=None, module=None, operation=None, project=None,
       after=(), **settings) -> Step:
    """One step of the flow being traced; returns its promise.

    Relative paths (modules, instances, ``runyard.toml``) are relative to the
    file that defines the flow, and commands run from there.

    ``target`` is a run module (``"extract.py"``), a command (a list, or a
    string with spaces: ``"python train.py --lr 0.1"``) or the name of an
    operation in ``runyard.toml``; ``module=``, ``command=`` and ``operation=``
    say it explicitly. ``inputs`` are steps or ``step.outputs(pattern)``;
    ``instances`` adds files or globs of its own. ``settings``: workers,
    iterations, max_attempts, params, executor, grace, tags, metadata, and on,
    slurm, requeue for a step run as a Slurm job (``on="slurm"``).
    """
    traced = _tracing.get()
    if traced is None:
        raise FlowError("op() is called inside a @flow function, while it is traced")
    trace, base = traced
    given = [x for x in (target, command, module, operation) if x is not None]
    if len(given) != 1:
        raise FlowError("op() takes exactly one of a target, command=, module= or "
                        f"operation=, got {len(given)}")
    step = Step(alias="", cwd=str(base))
    if command is not None or isinstance(target, (list, tuple)):
        step.kind = "command"
        raw = command if command is not None else target
        step.argv = shlex.split(raw) if isinstance(raw, str) else [str(a) for a in raw]
        if not step.argv:
            raise FlowError("op(command=...) needs a command")
        step.target = " ".join(step.argv)
    elif not isinstance(given[0], (str, os.PathLike)):
        raise FlowError(f"op() takes a path, a command or an operation name, not {given[0]!r}")
    elif module is not None or (operation is None and str(target).endswith(".py")):
        step.kind, step.module = "module", str(base / (module if module is not None
                                                      else target))
        step.target = str(module if module is not None else target)
    elif operation is not None or not re.search(r"\s", str(target)):
        step.kind, step.operation = "operation", str(operation or target)
        step.project = str(base / (project or "runyard.toml"))
        step.target = step.operation
    else:
        step.kind, step.argv = "command", shlex.split(str(target))
        step.target = str(target)
    for item in inputs:
        if isinstance(item, Step):
            item = item.outputs()
        if not isinstance(item, Outputs):
            raise FlowError(f"step {step.target!r}: an input is a step or step.outputs(), not "
                            f"{item!r} (give files as instances=...)")
        step.inputs.append(item)
    if instances is not None:
        step.instances = [instances] if isinstance(instances, (str, os.PathLike)) \
            else list(instances)
        step.instances = [str(p) for p in step.instances]
    after = [after] if isinstance(after, (str, Step)) else list(after)
    step.after = [a.alias if isinstance(a, Step) else a for a in after]
    step.settings = check_settings(settings, f"step {step.target!r}")
    step.alias = _alias(alias, step, trace)
    trace.append(step)
    return step


def _alias(alias, step: Step, trace: list) -> str:
    taken = {s.alias for s in trace}
    if alias is not None:
        if not isinstance(alias, str) or not ALIAS.fullmatch(alias):
            raise FlowError(f"alias {alias!r} is not a valid step alias: a letter or '_', "
                            "then up to 63 letters, digits, '_' or '-'")
        if alias in taken:
            raise FlowError(f"two steps have the alias {alias!r}")
        return alias
    if step.kind == "module":
        base = Path(step.module).stem
    elif step.kind == "operation":
        base = step.operation
    else:
        base = Path(step.argv[0]).name
        if base.startswith("python") and len(step.argv) > 1:
            base = Path(step.argv[1]).stem
    base = re.sub(r"[^A-Za-z0-9_-]", "_", base)[:60] or "step"
    if not base[0].isalpha() and base[0] != "_":
        base = "s" + base
    alias, n = base, 2
    while alias in taken:
        alias, n = f"{base}-{n}", n + 1
    return alias


def check_settings(settings: dict, where: str) -> dict:
    """A step's settings, or FlowError naming the bad key or value."""
    if not isinstance(settings, dict):
        raise FlowError(f"{where}: settings are a dict, not {settings!r}")
    checked = {}
    for key, value in settings.items():
        kind = SETTINGS.get(key)
        if kind is None:
            raise FlowError(f"{where}: unknown setting {key!r} (known: "
                            f"{', '.join(sorted(SETTINGS))}, instances)")
        if key == "stalled_after":  # seconds, or 0 / False for no stalled alert
            from .errors import UsageError
            from .stall import check_stalled_after

            try:
                checked[key] = check_stalled_after(value)
            except UsageError as exc:
                raise FlowError(f"{where}: {exc}") from None
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            raise FlowError(f"{where}: {key} must be {_kind_name(kind)}, got {value!r}")
        if key in ("workers", "iterations", "max_attempts") and value < 1:
            raise FlowError(f"{where}: {key} must be a positive integer, got {value!r}")
        if key == "grace" and not 0 <= value < float("inf"):  # nan fails this too
            raise FlowError(f"{where}: grace must be a finite number of seconds, zero or "
                            f"more, got {value!r}")
        if key == "executor" and value not in EXECUTORS:
            raise FlowError(f"{where}: executor must be one of {', '.join(EXECUTORS)}, got "
                            f"{value!r}")
        if key == "on" and value not in ("here", "slurm"):
            raise FlowError(f"{where}: on must be here or slurm, got {value!r}")
        if key == "requeue" and value < 0:
            raise FlowError(f"{where}: requeue must be zero or more, got {value!r}")
        if key == "slurm":
            from .slurm import check_settings as check_slurm

            try:
                value = check_slurm(value)
            except UsageError as exc:
                raise FlowError(f"{where}: {exc}") from None
        if key == "params":
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise FlowError(f"{where}: params must be plain JSON values: {exc}") from None
        checked[key] = value
    return checked


def _kind_name(kind) -> str:
    names = {int: "an integer", dict: "a table", str: "a string", list: "a list"}
    return names.get(kind, "a number")


class PromisedTask:
    """What calling a ``@flow`` function returns: the traced steps, nothing run.

    Attach it to a platform, ``Local(task)`` or ``Dask(task)``, to prepare and
    run it."""

    def __init__(self, name: str, steps: list[Step], returns: list[str]):
        self.name = name
        self.steps = {s.alias: s for s in steps}
        self.returns = returns

    def get_stage(self) -> str:
        return "defined"

    def _unattached(self, verb: str):
        raise FlowError(f"flow {self.name!r} is only defined: attach it to a platform "
                        f"(Local(task) or Dask(task)) before {verb}")

    def prepare(self, *_a, **_k):
        self._unattached("prepare()")

    def run(self, *_a, **_k):
        self._unattached("run()")

    def stop(self, *_a, **_k):
        self._unattached("stop()")

    def results(self, *_a, **_k):
        self._unattached("results()")

    def __repr__(self) -> str:
        return f"PromisedTask({self.name!r}, steps={list(self.steps)})"


def flow(fn=None, *, name: str | None = None):
    """Decorate a function whose body calls ``op()``: calling it traces a flow."""
    if fn is None:
        return functools.partial(flow, name=name)

    @functools.wraps(fn)
    def traced(*args, **kwargs) -> PromisedTask:
        if _tracing.get() is not None:
            raise FlowError(f"flow {traced.flow_name!r} is called while another flow is "
                            "traced: flows do not nest")
        steps: list[Step] = []
        # relative paths in op() are relative to the file that defines the flow
        source = Path(fn.__code__.co_filename)
        base = source.parent.absolute() if source.is_file() else Path.cwd()
        token = _tracing.set((steps, base))
        try:
            returned = fn(*args, **kwargs)
        finally:
            _tracing.reset(token)
        return PromisedTask(traced.flow_name, steps, _returned(returned, steps))

    traced.flow_name = name or fn.__name__
    traced.is_flow = True
    return traced


def _returned(value, steps: list[Step]) -> list[str]:
    if value is None:  # nothing returned: the steps nothing else depends on
        used = {i.alias for s in steps for i in s.inputs} | {a for s in steps for a in s.after}
        return [s.alias for s in steps if s.alias not in used]
    items = list(value.values()) if isinstance(value, dict) else \
        list(value) if isinstance(value, (list, tuple)) else [value]
    aliases = []
    for item in items:
        if isinstance(item, (Step, Outputs)):
            aliases.append(item.alias)
        else:
            raise FlowError(f"a flow returns steps (what op() gave), not {item!r}")
    return list(dict.fromkeys(aliases))


# -- resolving: from traced steps to the stored, executable graph -----------------

def file_sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _resolve_step(step: Step) -> dict:
    """One step as plain data, with its module checked and its operation looked up."""
    settings = dict(step.settings)
    record = {"alias": step.alias, "kind": step.kind, "module": step.module,
              "module_sha256": None,
              "argv": list(step.argv), "cwd": step.cwd, "instances": list(step.instances),
              "inputs": [{"step": i.alias, "pattern": i.pattern} for i in step.inputs],
              "after": list(step.after), "alerts": [], "folder": None,
              "description": ""}
    if step.kind == "operation":
        from .project import ProjectError, load_operation

        try:
            operation = load_operation(Path(step.project), step.operation)
        except ProjectError as exc:
            raise FlowError(f"step {step.alias!r}: {exc}") from None
        spec = operation.spec
        record["kind"] = spec.kind
        record["cwd"] = spec.cwd
        record["module"] = spec.module
        record["argv"] = list(spec.argv)
        if not step.instances and not step.inputs:
            record["instances"] = list(spec.instances)
        base = {"workers": spec.workers, "iterations": spec.iterations,
                "max_attempts": spec.max_attempts, "executor": spec.executor,
                "grace": spec.grace, "stalled_after": spec.stalled_after,
                "on": spec.on, "slurm": dict(spec.slurm), "requeue": spec.requeue,
                "tags": list(operation.attrs.get("tags", [])),
                "metadata": dict(operation.attrs.get("metadata", {}))}
        settings = {**base, **settings}
        record["alerts"] = [dict(a) for a in operation.alerts]
        record["folder"] = operation.attrs.get("folder")
        record["description"] = operation.attrs.get("description", "")
    if record["kind"] == "module":
        from .modules import ModuleError, check_source

        path = record["module"]
        if not os.path.isfile(path):
            raise FlowError(f"step {step.alias!r}: module {path} does not exist")
        try:
            check_source(Path(path))
        except ModuleError as exc:
            raise FlowError(f"step {step.alias!r}: {exc}") from None
        record["module_sha256"] = file_sha256(path)
    elif not record["argv"]:
        raise FlowError(f"step {step.alias!r}: a command step needs a command")
    # no executor by default: the platform chooses (Dask sends module steps to its cluster)
    record["settings"] = {"workers": 1, "iterations": 1, "max_attempts": 3, "params": {},
                          "grace": 10.0, "tags": [], "metadata": {}, **settings}
    return record


def resolve(task: PromisedTask) -> dict:
    """The flow as plain, hashable data; FlowError for missing modules, unknown
    aliases and cycles."""
    if not task.steps:
        raise FlowError(f"flow {task.name!r} has no steps: its function called no op()")
    steps = [_resolve_step(s) for s in task.steps.values()]
    known = {s["alias"] for s in steps}
    for step in steps:
        for dep in [i["step"] for i in step["inputs"]] + step["after"]:
            if dep not in known:
                raise FlowError(f"step {step['alias']!r} depends on unknown step alias "
                                f"{dep!r} (known: {', '.join(sorted(known))})")
    for alias in task.returns:
        if alias not in known:
            raise FlowError(f"flow {task.name!r} returns unknown step alias {alias!r}")
    order = topological_order(steps)
    by_alias = {s["alias"]: s for s in steps}
    return {"name": task.name, "steps": [by_alias[a] for a in order],
            "returns": list(task.returns)}


def dependencies(step: dict) -> list[str]:
    return list(dict.fromkeys([i["step"] for i in step["inputs"]] + step["after"]))


def topological_order(steps: list[dict]) -> list[str]:
    """The aliases in an order where every step comes after what it depends on
    (traced order where free); FlowError naming a cycle."""
    deps = {s["alias"]: dependencies(s) for s in steps}
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(alias: str, path: list[str]) -> None:
        if state.get(alias) == "done":
            return
        if state.get(alias) == "visiting":
            cycle = [*path[path.index(alias):], alias]
            raise FlowError("the steps depend on each other in a cycle: " +
                            " -> ".join(cycle))
        state[alias] = "visiting"
        for dep in deps[alias]:
            visit(dep, [*path, alias])
        state[alias] = "done"
        order.append(alias)

    for step in steps:
        visit(step["alias"], [])
    return order


def content_id(content: dict) -> str:
    """The identity of a prepared task: a hash of what it is."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def apply_changes(graph: dict, overrides: dict | None, extensions: dict | None) -> dict:
    """A copy of ``graph`` with inputs replaced (``overrides``) and settings merged
    (``extensions``), each keyed by step alias; FlowError for unknown aliases or keys."""
    graph = json.loads(json.dumps(graph))
    steps = {s["alias"]: s for s in graph["steps"]}

    def step_of(alias, what: str) -> dict:
        if alias not in steps:
            raise FlowError(f"{what} name unknown step alias {alias!r} (known: "
                            f"{', '.join(steps)})")
        return steps[alias]

    if overrides is not None and not isinstance(overrides, dict):
        raise FlowError(f"overrides are a dict of step alias to files, not {overrides!r}")
    for alias, value in (overrides or {}).items():
        step = step_of(alias, "overrides")
        if isinstance(value, dict):
            unknown = set(value) - {"instances"}
            if unknown:
                raise FlowError(f"overrides of step {alias!r}: unknown key "
                                f"{sorted(unknown)[0]!r} (an override replaces 'instances')")
            value = value.get("instances", [])
        if isinstance(value, (str, os.PathLike)):
            value = [value]
        if not isinstance(value, (list, tuple)) or not value or \
                not all(isinstance(v, (str, os.PathLike)) for v in value):
            raise FlowError(f"overrides of step {alias!r}: give files or globs (a string or a "
                            f"non-empty list of them), not {value!r}")
        step["instances"] = [str(Path(v).absolute()) for v in value]  # from where run() is
        step["inputs"] = []  # its input no longer comes from other steps
    if extensions is not None and not isinstance(extensions, dict):
        raise FlowError(f"config_extensions are a dict of step alias to settings, not "
                        f"{extensions!r}")
    for alias, settings in (extensions or {}).items():
        step = step_of(alias, "config_extensions")
        checked = check_settings(settings, f"config_extensions of step {alias!r}")
        current = step["settings"]
        for key, value in checked.items():
            if key in ("params", "metadata"):
                current[key] = {**current.get(key, {}), **value}
            elif key == "tags":
                current[key] = list(dict.fromkeys([*current.get(key, []), *value]))
            else:
                current[key] = value
    graph["steps"] = [steps[a] for a in topological_order(list(steps.values()))]
    return graph
