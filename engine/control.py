"""Run control: start, pause, resume and close runs, from the CLI, Python or the dashboard.

Every function here returns quickly: the work happens in the run's detached
supervisor, which a closed terminal or a dropped SSH connection does not stop.
"""

import contextlib
import fcntl
import math
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

from .atomic import write_json_atomic
from .errors import RunyardError, UsageError
from .executors import EXECUTORS
from .layout import ALERT_DEFS, CONTROL, SPEC, START_LOCK, SUPERVISOR_LOG, RunPaths, as_path
from .lifecycle import discard_new_run, init_run_meta, make_run
from .modules import check_module
from .request import Request, post_request
from .spec import (
    ModuleChanged,
    RunSpec,
    check_owned,
    module_change,
    read_spec,
    resume_env,
    write_spec,
)
from .stall import STALLED, check_stalled_after, stalled_alert
from .stop_reason import describe
from .store import RunInfo, find_run, load_run
from .untrusted import open_lock, open_log
from .work import InstanceBook

START_TIMEOUT = 30.0


PLACES = ("here", "slurm")  # where a run's supervisor runs (RunSpec.on)
MAX_UNITS = 1_000_000  # instances x iterations of one run: keys and locks fit 10**6


def _checked_spec(spec: RunSpec) -> RunSpec:
    if spec.kind not in ("module", "command", "flow"):
        raise UsageError(f"a run is a 'module', a 'command' or a 'flow', not {spec.kind!r}")
    if spec.kind == "flow" and not (spec.flow or {}).get("graph", {}).get("steps"):
        raise UsageError("a flow run needs a prepared flow with steps")
    for name in ("workers", "iterations", "max_attempts"):
        value = getattr(spec, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{name} must be a positive integer, got {value!r}")
    grace = spec.grace
    if isinstance(grace, bool) or not isinstance(grace, int | float) or \
            not math.isfinite(grace) or grace < 0:
        raise UsageError(f"grace must be a finite number of seconds, zero or more, got "
                         f"{grace!r}")
    if spec.executor not in EXECUTORS:
        raise UsageError(f"executor must be one of {', '.join(EXECUTORS)}, got "
                         f"{spec.executor!r}")
    if spec.executor == "slurm" and spec.scheduler:  # it would be ignored
        raise UsageError("--scheduler is for --executor dask: --executor slurm starts "
                         "its own cluster of Slurm jobs")
    spec.stalled_after = check_stalled_after(spec.stalled_after)
    for name in ("argv", "instances", "inputs"):  # recorded as text in proc/spec.json
        items = getattr(spec, name)
        if isinstance(items, list | tuple):
            setattr(spec, name, [os.fspath(item) if isinstance(item, os.PathLike) else item
                                 for item in items])
    if isinstance(spec.cwd, os.PathLike):
        spec.cwd = os.fspath(spec.cwd)
    if spec.on not in PLACES:
        raise UsageError(f"on must be one of {', '.join(PLACES)}, got {spec.on!r}")
    from .slurm import check_settings

    spec.slurm = check_settings(spec.slurm)
    from .walltime import check_walltime_alert

    spec.walltime_alert = check_walltime_alert(spec.walltime_alert)
    if spec.walltime_alert is not None and spec.on != "slurm":
        raise UsageError("the walltime alert is for a run on Slurm (on = slurm): a run "
                         "here has no time limit")
    if isinstance(spec.requeue, bool) or not isinstance(spec.requeue, int) or \
            spec.requeue < 0:
        raise UsageError(f"requeue must be a whole number, zero or more, got "
                         f"{spec.requeue!r}")
    if spec.kind == "command" and not spec.argv:
        raise UsageError("a command run needs a command")
    if spec.kind == "module":
        if not spec.instances:
            raise UsageError("a module run needs at least one instance")
        if spec.total > MAX_UNITS:
            raise UsageError(f"{len(spec.instances)} instances x {spec.iterations} "
                             f"iterations is {spec.total} units of work, more than "
                             f"{MAX_UNITS:,}: split it into several runs")
        spec.module = str(Path(spec.module).absolute())
        check_module(Path(spec.module))
    spec.cwd = spec.cwd or os.getcwd()
    spec.python = sys.executable
    return spec


def start(root: Path, spec: RunSpec, *, name: str | None = None, folder: str = "/",
          tags=(), metadata: dict | None = None, description: str = "",
          alerts: list[dict] | None = None, extra: dict | None = None) -> RunInfo:
    """Define a run and launch its supervisor, detached; returns once it is running.

    Everything is checked before anything is written, so bad input leaves nothing.
    """
    info = define(root, spec, name=name, folder=folder, tags=tags, metadata=metadata,
                  description=description, alerts=alerts, extra=extra)
    with _undone_on_failure(info.root, info.paths, info.attrs):
        if spec.on == "slurm":  # queued: it starts when Slurm runs its job
            return _submit(info, spec, dict(os.environ))
        proc = _launch(info.paths, dict(os.environ))
    return _wait_started(info.paths, 0, proc)


def _submit(info: RunInfo, spec: RunSpec, env: dict, requeues: int = 0) -> RunInfo:
    """Hand the run's next attempt to Slurm as a batch job; the run reads ``queued``
    until the job starts its supervisor."""
    from .slurm import submit_attempt

    env = {**env, "PYTHONUNBUFFERED": "1"}
    for name in ("RUNYARD_RUN_ID", "RUNYARD_WRITER"):
        env.pop(name, None)
    submit_attempt(info.paths, info.name, spec, env, info.attrs.get("attempt", 0) + 1,
                   requeues)
    return load_run(info.root, info.id)


def define(root: Path, spec: RunSpec, *, name: str | None = None, folder: str = "/",
           tags=(), metadata: dict | None = None, description: str = "",
           alerts: list[dict] | None = None, extra: dict | None = None,
           paths: RunPaths | None = None, environ: dict | None = None) -> RunInfo:
    """Record a run, ``created`` and ready for ``launch``, without starting it: into
    ``paths`` if given (an empty run folder ``make_run`` made), else a new one. The
    recorded environment is ``environ`` (default: this process's). Everything is
    checked before anything is written, so bad input leaves nothing."""
    root = as_path(root)
    spec = _checked_spec(spec)
    checked_alerts = _checked_alerts(alerts, spec)
    record = None
    with _undone_on_failure(root, paths, None) as made:
        if paths is None:
            paths = make_run(root)
        made.paths = paths
        record = init_run_meta(paths, name=name, folder=folder, tags=tags,
                               metadata=metadata, description=description,
                               extra={"kind": spec.kind, "progress": {"total": spec.total},
                                      **(extra or {})})
        made.record = record
        write_spec(paths.meta_dir, spec, environ)
        if checked_alerts:
            write_json_atomic(paths.meta(ALERT_DEFS), checked_alerts)
        if spec.kind == "module":
            InstanceBook(paths).create(spec.instances, spec.iterations)
    return load_run(root, paths.id)


def _checked_alerts(alerts: list[dict] | None, spec: RunSpec) -> list[dict]:
    from .alerts import make_alert

    checked = []
    for alert in alerts or []:
        if not isinstance(alert, dict):
            raise UsageError(f"an alert definition is a table of settings, not {alert!r}")
        if alert.get("source") in (STALLED, "walltime") or \
                alert.get("name") in (STALLED, "walltime"):
            raise UsageError("the stalled-run alert is set with stalled_after (seconds, "
                             "or false for none), not as an alert definition")
        try:
            checked.append(make_alert(**alert).definition())
        except TypeError as exc:
            raise UsageError(f"alert {alert.get('name', '?')!r}: {exc}") from None
    if spec.stalled_after is not None and spec.kind != "flow":
        checked.append(stalled_alert(spec.stalled_after).definition())
    if spec.walltime_alert is not None:
        from .walltime import walltime_alert

        checked.append(walltime_alert(spec.walltime_alert).definition())
    return checked


class _Made:
    """What a run's definition has written so far, for ``_undone_on_failure``."""

    def __init__(self, paths: RunPaths | None, record: dict | None):
        self.paths, self.record = paths, record


@contextlib.contextmanager
def _undone_on_failure(root: Path, paths: RunPaths | None, record: dict | None):
    """On any failure (a full disk, or Ctrl-C or SIGTERM while records are written)
    nothing of the run is left behind; an OSError becomes one line naming the root."""
    made = _Made(paths, record)
    try:
        yield made
    except BaseException as exc:
        if made.paths is not None:
            discard_new_run(made.paths, made.record["name"] if made.record else None)
        if isinstance(exc, OSError):
            raise RunyardError(f"cannot start a run in {root}: {describe(exc)}") from None
        raise


def _launch(paths: RunPaths, env: dict) -> subprocess.Popen:
    env = {**env, "PYTHONUNBUFFERED": "1"}
    for name in ("RUNYARD_RUN_ID", "RUNYARD_WRITER"):
        env.pop(name, None)
    with open_log(paths.meta(SUPERVISOR_LOG)) as log:
        return subprocess.Popen([sys.executable, "-P", "-m", "runyard.engine.supervisor",
                                 str(paths.root), paths.id], cwd=paths.run_dir, env=env,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True)


def _wait_started(paths: RunPaths, before: int, proc: subprocess.Popen) -> RunInfo:
    """Wait for our supervisor ``proc`` to take the run as attempt ``before`` + 1."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        gone = proc.poll() is not None  # looked at first: it may take the run, then end
        info = load_run(paths.root, paths.id)
        lock = info.attrs.get("lock") if isinstance(info.attrs.get("lock"), dict) else {}
        if info.attrs.get("attempt", 0) > before and lock.get("pid") == proc.pid:
            return info
        if gone:
            raise RunyardError(f"run {info.name} did not start: {_last_line(paths)}")
        time.sleep(0.05)
    raise RunyardError(f"run {paths.id} did not start within {START_TIMEOUT:.0f} s; "
                       f"{_last_line(paths)}")


def _last_line(paths: RunPaths) -> str:
    log = paths.meta(SUPERVISOR_LOG)
    try:
        with open(log, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return f"the last line of {log}: {lines[-1] if lines else '(empty)'}"


@contextlib.contextmanager
def _starting(info: RunInfo):
    """Held while this process starts the run's supervisor and waits for it: a second
    start or resume of the same run at the same time is refused, not raced."""
    try:
        fd = open_lock(info.meta_dir / START_LOCK, os.O_RDONLY)
    except OSError as exc:
        raise RunyardError(f"cannot resume run {info.name}: {info.meta_dir / START_LOCK}: "
                           f"{exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"run {info.name} is being resumed by another process "
                             "at this moment") from None
        yield
    finally:
        os.close(fd)


def _toggle(info: RunInfo, want: str, quiet: bool = False) -> None:
    """Ask a live run to pause or run on. Decided against the latest request, which the
    supervisor may not have obeyed yet: a pause then a resume in one breath both count.
    ``quiet``: resuming a run that runs is no error."""
    verb = "pause" if want == "paused" else "resume"

    def decide(current: Request | None) -> bool:
        wanted = current.want if current else info.status
        if wanted == "closed":
            raise UsageError(f"run {info.name} is being closed: it cannot {verb} now")
        if wanted == want == info.status == "running" and not quiet:
            raise UsageError(f"run {info.name} is running: there is nothing to resume")
        return wanted != want

    _post(info, want, decide)


def _post(info: RunInfo, want: str, decide=None) -> None:
    try:
        post_request(info.meta_dir, want, decide)
    except OSError as exc:  # someone else's run, a read-only or full disk: one line
        why = f"{exc.strerror} ({exc.filename or info.meta_dir})" if exc.strerror else \
            str(exc)  # NotReadable says which file and why itself
        raise RunyardError(f"cannot ask run {info.name} to be {want}: {why}") from None


def follow(root: Path, ref: str, want: str) -> RunInfo:
    """Pause (``want="paused"``) or continue a live run, quietly if it is or will be so
    already: how a flow run passes its own pause and resume on to its steps."""
    if want not in ("paused", "running"):
        raise ValueError(f"a run follows 'paused' or 'running', not {want!r}")
    info = _find(root, ref)
    if info.status in ("running", "paused"):
        _require_engine(info, "paused" if want == "paused" else "resumed")
        _toggle(info, want, quiet=True)
    return info


def _find(root: Path, ref: str) -> RunInfo:
    info = find_run(root, ref)
    if info.error:
        raise RunyardError(f"run {info.id} is unreadable: {info.error}")
    return info


def pause(root: Path, ref: str) -> RunInfo:
    """Freeze a running run's work; its status reads ``paused`` within a second."""
    info = _find(root, ref)
    if info.status not in ("running", "paused"):
        raise UsageError(f"run {info.name} is {info.status}: only a running run can pause")
    _require_engine(info, "paused")
    _toggle(info, "paused")
    return info


RESUMABLE = ("terminated", "lost", "failed")


def resume(root: Path, ref: str) -> RunInfo:
    """Continue a paused run, or start a new attempt of a terminated, lost or failed one
    (only unfinished instances run, each from its last saved state); a run defined
    but never started (``created``) is launched."""
    info = _find(root, ref)
    if info.status == "created" and (info.meta_dir / SPEC).exists():
        return launch(root, info.id)
    if info.status in ("running", "paused"):
        _require_engine(info, "resumed")
        _toggle(info, "running")
        return info
    if info.status not in RESUMABLE:
        raise UsageError(f"run {info.name} is {info.status}: there is nothing to resume")
    _require_engine(info, "resumed")
    check_owned(info.meta_dir)
    spec = read_spec(info.meta_dir)  # a clear error now if it cannot be
    with _starting(info):
        info = _find(root, info.id)  # again: another resume may have just ended
        if info.status not in RESUMABLE:
            raise UsageError(f"run {info.name} is {info.status}: there is nothing to resume")
        step = info.attrs.get("flow") if isinstance(info.attrs.get("flow"), dict) else {}
        change = None if "alias" in step else module_change(info.meta_dir, spec)
        if change is not None:  # the supervisor records it (a flow's step: refuses it)
            warnings.warn(f"run module {change[0]}: the new attempt runs it as it is now"
                          if change[1] is not None else f"run module {change[0]}: the new "
                          "attempt runs the copy the run recorded", ModuleChanged,
                          stacklevel=2)
        (info.meta_dir / CONTROL).unlink(missing_ok=True)
        if spec.on == "slurm":  # the next attempt queues as a new job
            return _submit(info, spec, resume_env(info.meta_dir))
        proc = _launch(info.paths, resume_env(info.meta_dir))
        return _wait_started(info.paths, info.attrs.get("attempt", 0), proc)


def launch(root: Path, ref: str) -> RunInfo:
    """Launch the supervisor of a run that was defined but never started (its
    starter died in between)."""
    info = _find(root, ref)
    if info.status != "created":
        raise UsageError(f"run {info.name} is {info.status}, not created")
    _require_engine(info, "started")
    check_owned(info.meta_dir)
    with _starting(info):
        info = _find(root, info.id)
        if info.status != "created":
            raise UsageError(f"run {info.name} is {info.status}, not created")
        return _wait_started(info.paths, 0, _launch(info.paths, resume_env(info.meta_dir)))


def close(root: Path, ref: str, wait: float | None = None) -> RunInfo:
    """Stop a run gracefully: workers get SIGTERM, then SIGKILL after the grace
    period; saved states are kept and the run can be resumed."""
    info = _find(root, ref)
    if info.status == "queued":
        return _close_queued(info)
    if info.status not in ("running", "paused"):
        raise UsageError(f"run {info.name} is {info.status}: only a running or paused run "
                         "can be closed")
    _require_engine(info, "closed")
    _post(info, "closed")
    if wait:
        return wait_for_end(root, info.id, wait)
    return info


def _close_queued(info: RunInfo) -> RunInfo:
    """A queued run's job is cancelled and the run ends ``terminated``: nothing ran."""
    from .lifecycle import finalize_run
    from .slurm import cancel

    _require_engine(info, "closed")
    job = info.attrs["slurm"]["job"]
    cancel(job)
    finalize_run(info.paths, "terminated", error=f"closed while queued: Slurm job {job} "
                 "cancelled")
    return load_run(info.root, info.id)


def wait_for_end(root: Path, run_id: str, timeout: float | None = None) -> RunInfo:
    root = as_path(root)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        info = load_run(root, run_id)
        if info.status not in ("running", "paused", "created", "queued"):
            return info
        if deadline is not None and time.monotonic() > deadline:
            return info
        time.sleep(0.1)


def _require_engine(info: RunInfo, verb: str) -> None:
    if not (info.meta_dir / SPEC).exists():
        raise UsageError(f"run {info.name} was not started by the engine (it is tracked "
                         f"by its own process) and cannot be {verb} from here")


def progress(info: RunInfo) -> dict:
    """Instances by status, from the record the supervisor keeps in attrs."""
    return dict(info.attrs.get("progress") or {})
