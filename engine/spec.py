"""What a run executes, recorded in its meta side-car so it can be resumed from the
run alone:

    proc/spec.json   what to run: a module (its copy is proc/module.py) over
                     instances, or a command; workers, iterations, executor...
    proc/env.json    the launching environment, less anything that looks secret

Both files and the module copy are readable by their owner only, and a resume
refuses to execute them if another user owns or can write them (or the module
itself, its folder: they run too).

The copy is the code the workers run, as the module's own path (modules.py); a
resume that finds the module changed takes it up as the copy, keeping the old
one beside it (``refresh_module``).
"""

import errno
import os
import re
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import write_atomic, write_json_atomic
from .errors import RunyardError
from .layout import ENV, MODULE_COPY, PROC, SPEC
from .stall import DEFAULT_ENGINE
from .untrusted import MiB, read_json

RUNYARD_VARS = ("RUNYARD_RUN_ID", "RUNYARD_ROOT", "RUNYARD_WRITER")
SPEC_MAX = 512 * MiB  # a spec names its instances: a million long paths fit
ENV_MAX = 64 * MiB    # the recorded environment


class UnsafeRun(RunyardError):
    """A run's recorded command may have been changed by someone else."""


class ModuleChanged(UserWarning):
    """A run module changed since its run recorded it: a resume runs it as it is now."""


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
    stalled_after: float | None = DEFAULT_ENGINE  # the stalled alert's silence; None: off
    on: str = "here"                # where the supervisor runs: "here" or "slurm"
    slurm: dict = field(default_factory=dict)  # its job's resources (slurm.py)
    requeue: int = 0                # walltime: how many next attempts it submits itself
    walltime_alert: float | None = None  # seconds left of the job that make it critical

    @property
    def total(self) -> int:
        if self.kind == "flow":
            return len((self.flow or {}).get("graph", {}).get("steps", []))
        return len(self.instances) * self.iterations if self.kind == "module" else 1


# A variable is left out of the record (and taken from the resuming user's own
# environment on resume) when its name or its value looks secret. Names are
# split into words at "_", "-" and "." (AWS_SECRET_ACCESS_KEY: AWS SECRET ACCESS KEY).
SECRET_PARTS = ("TOKEN", "SECRET", "PASSW", "PASSPHRASE", "CREDENTIAL", "PRIVATE",
                "COOKIE", "WEBHOOK", "AUTHORIZATION", "CONNECTION_STRING", "CONNSTR",
                "CONN_STR")                              # anywhere in the name
SECRET_WORDS = ("PW", "JWT", "BEARER", "DSN", "PAT", "SESSION", "SALT", "CREDS")
SECRET_WORD_ENDINGS = ("PASS", "PWD", "KEY", "AUTH")     # SSHPASS, MYSQL_PWD, APIKEY
HARMLESS_NAMES = ("PWD", "OLDPWD")                       # the shell's directories
SECRET_VALUES = re.compile("|".join((
    r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@",      # a URL with a password
    r"(?i:(?:^|[\s;&?])(?:password|passwd|pwd|pass|secret|token|api[-_]?key|"
    r"access[-_]?key|account[-_]?key|sharedaccesskey|sig)\s*=\s*[^\s;&])",  # k=v lists
    r"\b(?:gh[pousr]_|github_pat_|glpat-|xox[abprs]-|hf_|npm_|sk-)[\w-]{16,}",  # tokens
    r"\bAKIA[0-9A-Z]{16}\b",                                # an AWS access key id
    r"\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}",                # a JWT
    r"(?i:\bbearer\s+\S{8,})",                             # an HTTP bearer token
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",                   # a PEM private key
)))


def is_secret(name: str, value: str = "") -> bool:
    """A name that looks secret, or a value that holds a password, token or key."""
    upper = name.upper()
    if upper not in HARMLESS_NAMES:
        if any(part in upper for part in SECRET_PARTS):
            return True
        for word in re.split(r"[_.\-]+", upper):
            if word in SECRET_WORDS or word.endswith(SECRET_WORD_ENDINGS):
                return True
    return bool(SECRET_VALUES.search(value))


def recordable_env(environ: dict | None = None) -> dict:
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in sorted(environ.items())
            if not is_secret(k, v) and k not in RUNYARD_VARS}


def proc_dir(meta_dir: Path) -> Path:
    return meta_dir / PROC


def write_spec(meta_dir: Path, spec: RunSpec, environ: dict | None = None) -> None:
    folder = proc_dir(meta_dir)
    folder.mkdir(mode=0o700, exist_ok=True)
    if spec.kind == "module":
        copy = meta_dir / MODULE_COPY
        shutil.copyfile(spec.module, copy)
        os.chmod(copy, 0o600)
    write_json_atomic(meta_dir / SPEC, asdict(spec), mode=0o600)
    write_json_atomic(meta_dir / ENV, recordable_env(environ), mode=0o600)


def module_copy(meta_dir: Path) -> Path:
    return meta_dir / MODULE_COPY


def module_change(meta_dir: Path, spec: RunSpec) -> tuple[str, bytes | None] | None:
    """How a module run's file differs from its recorded copy: (what differs, the
    file's content, or None if it cannot be read); None when they are the same."""
    if spec.kind != "module" or not spec.module:
        return None
    try:
        recorded = module_copy(meta_dir).read_bytes()
    except OSError as exc:
        raise RunyardError(f"{module_copy(meta_dir)} cannot be read: {exc.strerror}") from None
    try:
        current = _read_regular(spec.module)
    except OSError as exc:
        return f"{spec.module} cannot be read ({exc.strerror})", None
    if current == recorded:
        return None
    return (f"{spec.module} changed since the run recorded it (sha256 "
            f"{_short_hash(recorded)}, now {_short_hash(current)})"), current


def _read_regular(path: str) -> bytes:
    """A regular file's bytes, followed through links (a module may be one); anything
    else (a FIFO that would block, a folder) is an OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return f.read()


def _short_hash(data: bytes) -> str:
    import hashlib  # here: importing the engine stays quick

    return hashlib.sha256(data).hexdigest()[:12]


def refresh_module(meta_dir: Path, spec: RunSpec, attempt: int) -> str | None:
    """At the start of an attempt: a module changed since the run recorded it runs
    as it is now. The copy becomes the new version (the code every worker of this
    attempt runs, whenever it starts) and the old one is kept beside it as
    ``module.<its sha256, 12 digits>.py``. Returns the warning to record, or None.
    A module that cannot be read runs from the copy."""
    change = module_change(meta_dir, spec)
    if change is None:
        return None
    what, current = change
    copy = module_copy(meta_dir)
    if current is None:
        return f"run module {what}: attempt {attempt} runs the copy recorded in {copy}"
    recorded = copy.read_bytes()
    kept = copy.with_name(f"module.{_short_hash(recorded)}.py")
    write_atomic(kept, recorded, mode=0o600)  # first: a copy is there all along
    write_atomic(copy, current, mode=0o600)
    return (f"run module {what}: attempt {attempt} runs it as it is now; the version "
            f"recorded before is kept as {kept}")


def read_spec(meta_dir: Path) -> RunSpec:
    path = meta_dir / SPEC
    try:
        data = read_json(path, SPEC_MAX)  # a regular file only: a FIFO would never answer
    except FileNotFoundError:
        raise RunyardError(f"{path} is missing: this run was not started by the engine "
                           "and cannot be resumed by it") from None
    except OSError as exc:  # NotReadable says which file and why, in one line
        raise RunyardError(f"the run's spec cannot be read: {exc}") from None
    try:
        return RunSpec(**data)
    except TypeError as exc:
        raise RunyardError(f"{path} is not a run spec: {exc}") from None


def resume_env(meta_dir: Path, environ: dict | None = None) -> dict:
    """The recorded environment plus the resuming user's own secrets."""
    environ = dict(os.environ if environ is None else environ)
    path = meta_dir / ENV
    try:
        recorded = read_json(path, ENV_MAX)
    except OSError as exc:
        raise RunyardError(f"the run's environment cannot be read: {exc}") from None
    if not isinstance(recorded, dict):
        raise RunyardError(f"{path} is not an environment (not a JSON object)")
    recorded.update({k: v for k, v in environ.items() if is_secret(k, v)})
    return recorded


def check_owned(meta_dir: Path) -> None:
    """Refuse recorded commands that another user owns or can write."""
    uid = os.getuid()
    folder = proc_dir(meta_dir)
    candidates = [meta_dir, folder, *(meta_dir / n for n in (SPEC, ENV, MODULE_COPY))]
    try:  # before its owner is known: read as any run's file (untrusted.py)
        spec = read_json(meta_dir / SPEC, SPEC_MAX)
    except OSError:  # missing, refused or not JSON: read_spec says which
        spec = None
    module = spec.get("module") if isinstance(spec, dict) else None
    if not isinstance(module, str):
        module = None
    if module:  # its folder goes on sys.path (its helpers run too), and a resume
        candidates += [Path(module).parent, Path(module)]  # takes it up if it changed
    for path in candidates:
        inside = path.is_relative_to(meta_dir)  # runyard's own files: never a link
        try:
            info = path.lstat() if inside else path.stat()
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            raise UnsafeRun(f"refusing to resume: {path} is a symbolic link")
        if info.st_uid != uid:
            raise UnsafeRun(f"refusing to resume: {path} belongs to uid {info.st_uid}, not "
                            f"to you (uid {uid})")
        if path == meta_dir:
            continue  # shared with the group by its umask; proc/ inside it is not
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise UnsafeRun(f"refusing to resume: {path} can be written by other users "
                            f"(mode {stat.filemode(info.st_mode)})")
