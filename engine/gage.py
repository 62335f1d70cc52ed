"""Reference 004's run lifecycle calls, for code written against Gage's.

Reference 004 (Gage's run lifecycle) makes a run, initialises its side-car and
lists runs through ``make_run``, ``init_run_meta``, ``run_status``, ``run_attrs``,
``run_meta_dir`` and ``list_runs``, with ``Run``, ``OpRef``, ``OpDef`` and
``OpCmd`` as the values it passes. Here they are, with the same calls, over
runyard's own runs directory::

    from runyard.engine.gage import make_run, init_run_meta, run_status
    from runyard.engine.gage import OpRef, OpDef, OpCmd

    run = make_run("runs")                      # an empty run folder, not listed
    run_status(run)                             # 'unknown'
    init_run_meta(run, OpRef("test", "test"), OpDef("test", {}),
                  OpCmd(["echo", "hello"], {"foo": "123", "bar": "abc"}))
    run_status(run)                             # 'created': listed, ready to start

What is written is runyard's format, not Gage's files (docs/format.md, "Reference
004"): the side-car is ``attrs.json`` with the op reference and definition in
``metadata``, the command and environment in ``proc/``, and the run can be
started with ``runyard start ID``. Statuses are runyard's: Gage's ``pending`` is
``created`` and its ``error`` is ``failed``.
"""

import errno
import os
from dataclasses import dataclass, field

from . import lifecycle
from .control import define
from .errors import UsageError
from .layout import ATTRS, META_SUFFIX, RunPaths, as_path
from .spec import RunSpec
from .store import list_runs as _list_runs
from .store import load_run
from .validate import flat_metadata

META_SCHEMA = lifecycle.SCHEMA


@dataclass(frozen=True)
class OpRef:
    """Which operation a run is of: a namespace (a project) and a name."""

    op_ns: str
    op_name: str


@dataclass(frozen=True)
class OpDef:
    """An operation's definition: its name and settings (a dict)."""

    name: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OpCmd:
    """The command a run executes, and the variables added to its environment."""

    args: list
    env: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """A run as the reference knows it: its id and folders (as strings)."""

    id: str
    run_dir: str
    meta_dir: str

    @property
    def root(self) -> str:
        return os.path.dirname(self.run_dir)


def _run(paths: RunPaths) -> Run:
    return Run(paths.id, str(paths.run_dir), str(paths.meta_dir))


def _paths(run: Run) -> RunPaths:
    if not isinstance(run, Run):
        raise UsageError(f"run must be a Run from make_run or list_runs, not {run!r}")
    return RunPaths(run.root, run.id)


def make_run(runs_home) -> Run:
    """A new run's empty folder under ``runs_home``; not listed until initialised."""
    return _run(lifecycle.make_run(as_path(runs_home, "runs_home")))


def run_meta_dir(run: Run) -> str:
    return str(_paths(run).meta_dir)


def run_status(run: Run) -> str:
    """``unknown`` until the run is initialised, then runyard's status of it."""
    paths = _paths(run)
    if not os.path.lexists(paths.meta_dir):
        return "unknown"
    return load_run(paths.root, paths.id).status


def run_attrs(run: Run) -> dict:
    """The run's attributes (its ``attrs.json``); FileNotFoundError before
    ``init_run_meta``, as in the reference."""
    paths = _paths(run)
    attrs_file = paths.meta(ATTRS)
    if not os.path.lexists(paths.meta_dir):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(attrs_file))
    info = load_run(paths.root, paths.id)
    if info.status == "unreadable":
        raise UsageError(f"run {paths.id} is unreadable: {info.error}")
    return info.attrs


def list_runs(runs_home) -> list[Run]:
    """The initialised runs under ``runs_home``, oldest first."""
    root = as_path(runs_home, "runs_home")
    return [_run(RunPaths(root, info.id)) for info in _list_runs(root)]


def init_run_meta(run: Run, opref: OpRef, opdef: OpDef, cmd: OpCmd) -> None:
    """Record the run as ``created``: the command ``cmd.args`` with ``cmd.env`` added
    to this process's environment, the op reference and definition as metadata."""
    for value, kind in ((opref, OpRef), (opdef, OpDef), (cmd, OpCmd)):
        if not isinstance(value, kind):
            raise UsageError(f"init_run_meta takes an {kind.__name__}, not {value!r}")
    if not isinstance(cmd.env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in cmd.env.items()):
        raise UsageError(f"OpCmd's env is a dict of strings, not {cmd.env!r}")
    metadata = {"opref": f"{opref.op_ns} {opref.op_name}", "opdef": opdef.name}
    try:
        metadata.update(flat_metadata({"opdef": dict(opdef.data)}) if opdef.data else {})
    except (TypeError, ValueError) as exc:
        raise UsageError(f"OpDef's data cannot be recorded as metadata: {exc}") from None
    paths = _paths(run)
    if os.path.lexists(paths.meta_dir):
        raise UsageError(f"run {run.id} is initialised already")
    define(paths.root, RunSpec(kind="command", argv=[str(a) for a in cmd.args]),
           metadata=metadata, paths=paths, environ={**os.environ, **cmd.env})


__all__ = ["META_SCHEMA", "META_SUFFIX", "OpCmd", "OpDef", "OpRef", "Run", "init_run_meta",
           "list_runs", "make_run", "run_attrs", "run_meta_dir", "run_status"]
