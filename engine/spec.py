"""What a run executes, recorded in its meta side-car so it can be resumed from the
run alone:

    proc/spec.json   what to run: a module (its copy is proc/module.py) over
                     instances, or a command; workers, iterations, executor...
    proc/env.json    the launching environment, less anything that looks secret

Both files and the module copy are readable by their owner only, and a resume
refuses to execute them if another user owns or can write them.
"""

import fnmatch
import json
import os
import re
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import write_json_atomic
from .errors import RunyardError

SECRET_PATTERNS = ("*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*KEY*", "*CREDENTIAL*",
                   "*AUTH*", "*COOKIE*", "*SESSION*", "*PRIVATE*")
RUNYARD_VARS = ("RUNYARD_RUN_ID", "RUNYARD_ROOT", "RUNYARD_WRITER")
EXECUTORS = ("local", "dask")


class UnsafeRun(RunyardError):
    """A run's recorded command may have been changed by someone else."""


@dataclass
class RunSpec:
    kind: str                       # "module", "command" or "flow"
    module: str | None = None       # the original path, for the record
    argv: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    iterations: int = 1
    workers: int = 1
    executor: str = "local"
    scheduler: str | None = None
    max_attempts: int = 3
    grace: float = 10.0
    cwd: str = ""
    python: str = ""
    params: dict = field(default_factory=dict)    # a flow step's parameters
    inputs: list[str] = field(default_factory=list)  # a command step's input files
    flow: dict | None = None        # a flow run: its task, graph and platform

    @property
    def total(self) -> int:
        if self.kind == "flow":
            return len((self.flow or {}).get("graph", {}).get("steps", []))
        return len(self.instances) * self.iterations if self.kind == "module" else 1


CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def is_secret(name: str, value: str = "") -> bool:
    """A name that looks secret, or a value that holds a password (a URL with one)."""
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in SECRET_PATTERNS) or \
        upper.endswith(("_PAT", "_DSN")) or bool(CREDENTIALS_IN_URL.search(value))


def recordable_env(environ: dict | None = None) -> dict:
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in sorted(environ.items())
            if not is_secret(k, v) and k not in RUNYARD_VARS}


def proc_dir(meta_dir: Path) -> Path:
    return meta_dir / "proc"


def write_spec(meta_dir: Path, spec: RunSpec, environ: dict | None = None) -> None:
    folder = proc_dir(meta_dir)
    folder.mkdir(mode=0o700, exist_ok=True)
    if spec.kind == "module":
        copy = folder / "module.py"
        shutil.copyfile(spec.module, copy)
        os.chmod(copy, 0o600)
    write_json_atomic(folder / "spec.json", asdict(spec), mode=0o600)
    write_json_atomic(folder / "env.json", recordable_env(environ), mode=0o600)


def module_copy(meta_dir: Path) -> Path:
    return proc_dir(meta_dir) / "module.py"


def read_spec(meta_dir: Path) -> RunSpec:
    path = proc_dir(meta_dir) / "spec.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise RunyardError(f"{path} is missing: this run was not started by the engine "
                           "and cannot be resumed by it") from None
    except (ValueError, OSError) as exc:
        raise RunyardError(f"{path} cannot be read: {exc}") from None
    try:
        return RunSpec(**data)
    except TypeError as exc:
        raise RunyardError(f"{path} is not a run spec: {exc}") from None


def resume_env(meta_dir: Path, environ: dict | None = None) -> dict:
    """The recorded environment plus the resuming user's own secrets."""
    environ = dict(os.environ if environ is None else environ)
    recorded = json.loads((proc_dir(meta_dir) / "env.json").read_text())
    recorded.update({k: v for k, v in environ.items() if is_secret(k, v)})
    return recorded


def check_owned(meta_dir: Path) -> None:
    """Refuse recorded commands that another user owns or can write."""
    uid = os.getuid()
    folder = proc_dir(meta_dir)
    candidates = [meta_dir, folder, *(folder / n for n in ("spec.json", "env.json",
                                                           "module.py"))]
    try:  # the module's own folder goes on sys.path: its helpers run too
        module = json.loads((folder / "spec.json").read_text()).get("module")
    except (OSError, ValueError):
        module = None
    if module:
        candidates.append(Path(module).parent)
    for path in candidates:
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if info.st_uid != uid:
            raise UnsafeRun(f"refusing to resume: {path} belongs to uid {info.st_uid}, not "
                            f"to you (uid {uid})")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UnsafeRun(f"refusing to resume: {path} can be written by other users "
                            f"(mode {stat.filemode(info.st_mode)})")
