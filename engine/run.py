"""``Run``: the Simvue-style tracking API, writing into a runs directory.

Code written for Simvue runs with only its import changed:

    from runyard.engine import Run

    with Run() as run:
        run.init(name="my-first-run", folder="/tests", tags=["test"])
        run.log_metrics({"loss": 0.5})

Misuse (bad arguments, calls in the wrong state) raises UsageError at once.
Operational failures (disk, permissions) follow ``suppress_errors``.
A process forked after ``init()`` gets an inert copy of the handle (run_fork.py).
"""

import atexit
import os
import time
import weakref
from pathlib import Path

import orjson

from . import checks, run_signals
from .errors import OperationalError, RunyardError, UnreadableRun, UsageError, usage_errors
from .layout import RunPaths
from .lifecycle import FINAL_STATES, finalize_run, init_run_meta, make_run, start_run
from .root import ensure_root, resolve_root
from .run_alerts import AlertsMixin
from .run_attrs import AttributesMixin
from .run_config import Config, ConfigMixin, warn_no_server
from .run_files import FilesMixin
from .run_fork import FORKED, ForkMixin, make_forked_copies_inert
from .run_processes import ProcessesMixin
from .run_progress import ProgressMixin
from .series import NEWLINE, encode_point
from .status import DEFAULT_TIMEOUT
from .validate import check_description, check_folder, check_tags, flat_metadata
from .writer import EVENT, BackgroundWriter


def _log():
    import logging  # here: a run that meets no failure never loads it

    return logging.getLogger("runyard")


MODES = ("online", "offline", "disabled")
STATUS_REQUEST = "status-request.json"
NEW, CREATED, RUNNING, BROKEN, CLOSED = "new", "created", "running", "broken", "closed"
_time = time.time
_monotonic_ns = time.monotonic_ns
_dumps = orjson.dumps


class Run(ConfigMixin, AttributesMixin, FilesMixin, AlertsMixin, ProgressMixin,
          ProcessesMixin, ForkMixin):
    """Tracks one run: metrics, events, files, tags, metadata, folders, alerts."""

    def __init__(self, mode: str = "online", *, abort_callback=None, server_token=None,
                 server_url: str | None = None, debug: bool = False,
                 server_profile: str | None = None,
                 root: str | os.PathLike | None = None):
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        checks.flag("debug", debug)
        for what, value in (("server_url", server_url), ("server_profile", server_profile)):
            if value is not None and not isinstance(value, str):
                raise UsageError(f"{what} must be a string, got {value!r}"[:300])
        if server_url is not None or server_token is not None or server_profile is not None:
            warn_no_server()
        self._mode = mode
        self._root_arg = root
        self._config = Config()
        if abort_callback is not None:
            if not callable(abort_callback):
                raise UsageError(f"abort_callback must be callable, got {abort_callback!r}")
            self._config.abort_callback = abort_callback
        if debug:
            _log().setLevel("DEBUG")
        self._uid = os.urandom(16).hex()
        self._started = _time()
        self._state = NEW
        self._paths: RunPaths | None = None
        self._attrs: dict = {}
        self._writer: BackgroundWriter | None = None
        self._queue = None
        self._lines: bytearray | None = None
        self._known_names: set[str] = set()
        self._step = 0
        self._t0_ns = _monotonic_ns()
        self._pid = os.getpid()
        self._final_status: str | None = None
        self._in_context = False
        self._errors = 0
        self._errors_recorded: set[str] = set()
        self._owner_pid = 0
        self._deferred: OperationalError | None = None
        self._resources = None
        self._context: str | None = None  # the instance an attached handle works on
        self._attached = False
        self._reopened: str | None = None  # the status of an ended run reconnected to
        self._init_alerts()
        self._init_progress()
        self._init_processes()

    # -- properties ------------------------------------------------------
    @property
    def name(self) -> str | None:
        return self._attrs.get("name")

    @property
    def id(self) -> str | None:
        return self._paths.id if self._paths else None

    @property
    def status(self) -> str | None:
        if self._state in (NEW, CLOSED) and not self._final_status:
            return None if self._state == NEW else "completed"
        return self._final_status or ("created" if self._state == CREATED else "running")

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def uid(self) -> str:
        """This handle's own unique id (Simvue's local identifier)."""
        return self._uid

    @property
    def duration(self) -> float:
        """Seconds since the run started (or the handle was made, before that)."""
        return _time() - self._started

    @property
    def root(self) -> Path | None:
        return self._paths.root if self._paths else None

    @property
    def run_dir(self) -> Path | None:
        return self._paths.run_dir if self._paths else None

    # -- starting --------------------------------------------------------
    def _resolve_root(self) -> Path:
        if self._mode == "offline":
            from .spool import spool_root

            return spool_root(self._root_arg)
        return resolve_root(self._root_arg)

    def init(self, name: str | None = None, metadata: dict | None = None,
             tags: list | None = None, description: str | None = None, folder: str = "/",
             running: bool = True, status: str | None = None, timeout: float | None = None,
             stalled_after: float | None = None, offline: bool = False,
             **ignored_simvue_options) -> bool:
        """Create the run: ``running`` at once, or ``created`` to be reconnected later.

        ``offline=True`` (reference 001) is ``Run(mode="offline")``: the run goes to
        the spool. ``stalled_after``: raise the ``stalled`` alert after that many
        seconds with no metric or event (off by default; a run the engine starts has
        its own)."""
        if self._mode == "disabled":
            return True
        if checks.flag("offline", offline) and self._state == NEW:
            self._mode = "offline"
        if stalled_after is not None:
            from .stall import check_stalled_after

            self._config.stalled_after = check_stalled_after(stalled_after)
        if self._state != NEW:
            raise UsageError(f"init() was already called for run {self.name!r}")
        unknown = set(ignored_simvue_options) - _SIMVUE_ONLY_INIT
        if unknown:
            raise UsageError(f"init() got unknown argument(s): {', '.join(sorted(unknown))}")
        if status not in (None, "running", "created"):
            raise UsageError(f"init() status must be 'running' or 'created', got {status!r}")
        created = status == "created" or running is False
        if self._mode == "online" and os.environ.get("RUNYARD_RUN_ID") and not created \
                and self._root_arg is None:
            return self._attach_from_env(metadata, tags, description)
        with usage_errors():
            checks.flag("running", running)
            attrs = {"folder": check_folder("/" if folder is None else folder),
                     "tags": check_tags([] if tags is None else tags),
                     "metadata": flat_metadata({} if metadata is None else metadata),
                     "description": check_description(description or ""),
                     "timeout": DEFAULT_TIMEOUT if timeout is None else
                     checks.positive_number("timeout", timeout)}
        with run_signals.starting(_any_live_run):  # a SIGTERM waits for the start
            try:
                root = ensure_root(self._resolve_root())
                paths = make_run(root)
                self._attrs = init_run_meta(paths, name=name, **attrs)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            except (OSError, RunyardError) as exc:
                if isinstance(exc, RunyardError) and "already used" in str(exc):
                    return self._name_taken(exc)
                return self._operational("init", exc)
            self._paths = paths
            self._state = CREATED
            return True if created else self._begin()

    def reconnect(self, run_id: str | None = None, *, name: str | None = None,
                  reopen: bool = False) -> bool:
        """Take over a run by id or name (``name=`` as reference 002 calls it): a
        ``created`` or ``lost`` one; one that ended only with ``reopen=True``, and
        then a process that ends without close() puts its status back."""
        if self._mode == "disabled":
            return True
        if (run_id is None) == (name is None):
            raise UsageError("reconnect() takes one of run_id or name")
        run_id = run_id if name is None else name
        if not isinstance(run_id, str):
            raise UsageError(f"reconnect() takes a run id or name, got {run_id!r}")
        if self._state != NEW:
            raise UsageError("reconnect() must be called on a fresh Run()")
        checks.flag("reopen", reopen)
        from .store import find_run

        with usage_errors(RunyardError):
            info = find_run(ensure_root(self._resolve_root()), run_id)
        if info.error:
            raise UsageError(f"run {info.id} cannot be reconnected: {info.error}")
        if info.status in ("running", "paused"):
            raise UsageError(f"run {info.name!r} ({info.id}) is {info.status} in another "
                             "process; it can be reconnected once that ends")
        if info.status in FINAL_STATES:
            if not reopen:
                raise UsageError(f"run {info.name!r} ({info.id}) is {info.status}: pass "
                                 "reopen=True to reconnect() to open it again")
            self._reopened = info.status
        self._paths = info.paths
        self._attrs = info.attrs
        self._step = self._last_step() + 1
        self._state = CREATED
        with run_signals.starting(_any_live_run):  # a SIGTERM waits for the start
            return self._begin()

    def _last_step(self) -> int:
        from .summary import metric_summary  # all writers' files: steps go on after them

        stats, _ = metric_summary(self._paths.meta_dir)
        steps = [s["last_step"] for s in stats.values() if isinstance(s["last_step"], int)]
        return max(steps, default=-1)

    def _begin(self) -> bool:
        try:
            self._attrs = start_run(self._paths)
        except OSError as exc:
            return self._operational("start", exc)
        except RunyardError as exc:  # another process started it first
            self._state = NEW
            raise UsageError(f"{exc}; it can be reconnected once that ends") from None
        self._started = _time()
        heartbeat = min(5.0, self._attrs.get("timeout", DEFAULT_TIMEOUT) / 3)
        started = self._start_writer(heartbeat, suffix=None)
        if self._config.stalled_after is not None:
            self._set_stalled_after(self._config.stalled_after)
        return started

    def _start_writer(self, heartbeat: float | None, suffix: str | None) -> bool:
        self._t0_ns = _monotonic_ns()
        cfg = self._config
        self._writer = BackgroundWriter(self._paths, queue_size=cfg.queue_size,
                                        blocking=cfg.queue_blocking,
                                        on_error=self._writer_error,
                                        heartbeat_interval=heartbeat, suffix=suffix)
        self._queue = self._writer.queue
        self._lines = self._writer.lines
        self._attach_alerts(self._writer)
        self._attach_progress(self._writer)
        if not cfg.disable_resources_metrics:
            self._writer.tickers.append(self._sample_resources)
        self._state = RUNNING
        self._owner_pid = os.getpid()
        self._writer.start()
        _LIVE_RUNS.add(self)
        run_signals.install(_any_live_run)  # SIGTERM (scancel) ends it terminated
        return True

    def _sample_resources(self, now: float) -> None:
        """The resource sampler's tick (writer thread). It is made, and psutil loaded,
        at the writer's first round rather than in init(): a run that ends at once
        never pays for them."""
        if self._resources is None:
            if self._writer.stopping:
                return
            from .resources import ResourceSampler

            self._resources = ResourceSampler(self, self._config.resources_metrics_interval)
            if self._resources.pid != self._pid:  # set_pid() came while it was made
                self._resources.watch(self._pid)
        self._resources.tick(now)

    def _attach(self, paths: RunPaths, writer: str) -> bool:
        """Write into a run the engine owns: its own series files, no lock, no ending."""
        from .store import load_run

        info = load_run(paths.root, paths.id)
        if info.error:
            raise UsageError(f"cannot attach to run {paths.id}: {info.error}")
        self._paths, self._attrs, self._attached = paths, info.attrs, True
        return self._start_writer(None, suffix=writer)

    def _attach_from_env(self, metadata, tags, description) -> bool:
        root = Path(os.environ.get("RUNYARD_ROOT") or resolve_root())
        paths = RunPaths(root, os.environ["RUNYARD_RUN_ID"])
        self._attach(paths, os.environ.get("RUNYARD_WRITER") or f"p{os.getpid()}")
        if metadata:
            self.update_metadata(metadata)
        if tags:
            self.update_tags(tags)
        if description:
            self._update(lambda a: a.update(description=description), "Set the description")
        return True

    # -- logging (the hot path) -------------------------------------------
    def log_metrics(self, metrics: dict, step: int | None = None, time: float | None = None,
                    timestamp=None) -> bool:
        """Record metric values; step counts up from 0, time is seconds since init."""
        if self._state is not RUNNING:
            return self._not_running("log_metrics")
        values = metrics
        plain = True  # every value a finite float, an int or a bool, as given
        if metrics.__class__ is not dict or not self._known_names.issuperset(metrics):
            values = self._new_names(metrics)
            plain = False
        else:
            for value in metrics.values():
                cls = value.__class__
                if cls is float:
                    if value - value:  # NaN or an infinity: x - x is NaN, which is true
                        plain = False
                elif cls is not int and cls is not bool:
                    values = checks.metrics_dict(metrics)  # numpy scalars become numbers
                    plain = False
                    break
        if not values:
            return True
        step = self._step if step is None else checks.step(step)
        if time is None:  # to the microsecond: 8 bytes a line less than the float's digits
            seconds = (_monotonic_ns() - self._t0_ns) // 1000 / 1e6
        else:
            seconds = checks.seconds(time)
        stamp = _time() if timestamp is None else checks.timestamp(timestamp)
        writer = self._writer
        if writer.put >= writer.mark and writer.full():
            return False
        # series.encode_point, its common case inlined: the line is made now, so the
        # caller's dict is neither copied nor kept
        point = (step, seconds, stamp, values) if self._context is None else \
            (step, seconds, stamp, values, self._context)
        try:
            line = _dumps(point, option=NEWLINE)
        except TypeError:  # an integer beyond 64 bits: refused beyond a float's range
            checks.metrics_dict(values)
            line = encode_point(point)
        if not plain and b":null" in line:  # NaN or an infinity: orjson writes null
            line = encode_point(point)
        self._step = step + 1
        self._lines += line
        writer.put += 1  # counts it, after its line: the queue's bound is in records
        return True

    def _new_names(self, metrics) -> dict:
        """A checked copy of ``metrics``, whose names are then known to be valid."""
        values = checks.metrics_dict(metrics)
        self._known_names.update(values)
        return values

    def log_event(self, message: str, timestamp=None, log_level: str | None = "info") -> bool:
        """Record an event: a message with a level (None: ``info``) and a time."""
        if self._state is not RUNNING:
            return self._not_running("log_event")
        event = {"ts": _time() if timestamp is None else checks.timestamp(timestamp),
                 "level": "info" if log_level is None else checks.log_level(log_level),
                 "msg": checks.message(message)}
        if self._context is not None:
            event["instance"] = self._context
        return self._put_event(event)

    def _put_event(self, event: dict) -> bool:
        writer = self._writer
        if writer.put >= writer.mark and writer.full():
            return False
        self._queue.append((EVENT, event))
        writer.put += 1
        return True

    def _not_running(self, what: str) -> bool:
        """The slow path of a logging call made while not running."""
        gate = self._gate(what, RUNNING)
        return True if gate is None else gate

    def _gate(self, what: str, *states: str) -> bool | None:
        """None if ``what`` may go ahead now; else the value to return, or raise."""
        if self._mode == "disabled":
            return True
        if self._deferred is not None:  # a writer failure with suppress_errors=False
            error, self._deferred = self._deferred, None
            if self._state == BROKEN:
                self._state = RUNNING
            raise error
        if self._state in states:
            return None
        if self._state == BROKEN:
            return False  # init failed and was suppressed: nothing to record into
        if self._state == FORKED:
            return self._inert(what)
        if self._state == NEW:
            raise UsageError(f"{what}() called before init()")
        if self._state == CREATED:
            raise UsageError(f"{what}() called on run {self.name!r}, which is 'created': "
                             "reconnect() to it to start it first")
        raise UsageError(f"{what}() called after the run {self.name!r} was closed")

    # -- ending ----------------------------------------------------------
    def set_status(self, status: str) -> bool:
        """End the run as ``completed``, ``failed`` or ``terminated`` (close() keeps it)."""
        gate = self._gate("set_status", RUNNING)
        if gate is not None:
            return gate
        if status not in FINAL_STATES:
            raise UsageError(f"status must be one of {', '.join(FINAL_STATES)}, got "
                             f"{status!r}")
        self._writer.flush()
        try:
            if self._attached:  # the engine ends the run; it honours this request
                from .atomic import write_json_atomic

                write_json_atomic(self._paths.meta(STATUS_REQUEST), {"status": status})
            else:
                finalize_run(self._paths, status)
        except OSError as exc:
            return self._operational("set_status", exc)
        self._final_status = status
        return True

    def close(self) -> bool:
        """Write everything queued and end the run ``completed`` (unless set otherwise)."""
        if self._mode == "disabled":
            return True
        if self._in_context:
            raise UsageError("close() called inside 'with Run()': the with block closes "
                             "the run when it ends")
        if self._state == NEW:
            raise UsageError("close() called before init()")
        if self._state == CLOSED:
            return True  # as Simvue's: closing a closed run changes nothing
        if self._state == FORKED:
            return self._inert("close")
        return self._shutdown("completed")

    def _shutdown(self, status: str, error: str | None = None) -> bool:
        if self._state == FORKED:
            return False  # the parent ends its run
        with run_signals.ending(_any_live_run):  # a SIGTERM now waits until it is written
            return self._end(status, error)

    def _end(self, status: str, error: str | None) -> bool:
        if self._tracked and self._state == RUNNING:  # close() waits, others kill
            ok = self._finish_processes(kill=status != "completed")
            if not ok and status == "completed":
                status, error = "failed", "a process added with add_process() failed"
        was = self._state
        self._state = CLOSED
        _LIVE_RUNS.discard(self)
        if was == CREATED or self._paths is None:
            return True
        if self._writer is not None:
            self._writer.stop()
            if self._deferred is not None:  # suppress_errors=False: the last write failed
                error, self._deferred = self._deferred, None
                raise error
        if self._final_status is None and not self._attached:
            try:
                finalize_run(self._paths, status, error=error)
            except (OSError, UnreadableRun) as exc:  # UnreadableRun: spoiled under us
                return self._operational("close", exc)
            self._final_status = status
        return self._errors == 0

    def __enter__(self) -> "Run":
        self._in_context = True
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._in_context = False
        if self._mode == "disabled" or self._state in (NEW, CLOSED, FORKED):
            return False
        if exc_type is None:
            self._shutdown("completed")
        elif issubclass(exc_type, KeyboardInterrupt):
            self._record_exit_event("warning", "Interrupted (KeyboardInterrupt)")
            self._shutdown("terminated", error="KeyboardInterrupt")
        elif issubclass(exc_type, run_signals.Terminated):
            self._record_exit_event("warning", "Interrupted (SIGTERM)")
            self._shutdown("terminated", error="SIGTERM")
        else:
            import traceback

            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self._record_exit_event("error", f"Run failed with an exception:\n{text}")
            self._shutdown("failed", error=f"{exc_type.__name__}: {exc}")
        return False

    def _record_exit_event(self, level: str, message: str) -> None:
        if self._state == RUNNING:
            self._queue.append((EVENT, {"ts": _time(), "level": level, "msg": message}))

    # -- failures --------------------------------------------------------
    def _name_taken(self, exc: RunyardError) -> bool:
        """A run name already used: a conflict with what is recorded, not a wrong
        argument. As Simvue's server errors: raised with suppress_errors=False;
        else logged, init() returns False and this handle records nothing, so a
        parameter scan goes on with its other points."""
        if not self._config.suppress_errors:
            raise UsageError(str(exc)) from None
        self._errors += 1
        _log().error("runyard: init failed: %s; this Run records nothing", exc)
        self._state = BROKEN
        return False

    def _operational(self, what: str, exc: BaseException) -> bool:
        """An operational failure: raise, or log it once, count it and go on."""
        self._errors += 1
        error = OperationalError(f"runyard: {what} failed: {exc}")
        if not self._config.suppress_errors:
            raise error from exc
        if self._errors == 1:
            _log().error("%s (further errors are counted, not logged)", error)
        if self._state == RUNNING:
            self._queue.append((EVENT, {"ts": _time(), "level": "error", "msg": str(error)}))
        elif self._state == NEW:
            self._state = BROKEN
        return False

    def _writer_error(self, what: str, exc: BaseException) -> None:
        """Called on the writer thread: nothing is raised there."""
        self._errors += 1
        if self._errors == 1:
            _log().error("runyard: %s failed: %s (further errors are counted, not logged)",
                      what, exc)
        if what not in self._errors_recorded and self._queue is not None:
            self._errors_recorded.add(what)  # once per kind: the event file may be failing
            self._queue.append((EVENT, {"ts": _time(), "level": "error",
                                        "msg": f"runyard: {what} failed: {exc}"}))
        if not self._config.suppress_errors and self._deferred is None:
            self._deferred = OperationalError(f"runyard: {what} failed: {exc}")
            if self._state == RUNNING:
                self._state = BROKEN  # the next call raises it

    @property
    def error_count(self) -> int:
        """How many operational failures were suppressed or raised so far."""
        return self._errors


_SIMVUE_ONLY_INIT = {"notification", "retention_period", "visibility", "no_color",
                     "record_shell_vars"}
_LIVE_RUNS: "weakref.WeakSet[Run]" = weakref.WeakSet()

make_forked_copies_inert(_LIVE_RUNS)  # a child must not write its parent's records


def _any_live_run() -> bool:
    return any(run._owner_pid == os.getpid() for run in list(_LIVE_RUNS))


@atexit.register
def _flush_at_exit() -> None:
    """A process that ends without close() keeps every queued record on disk; one that
    ends because of SIGTERM ends its runs terminated."""
    for run in list(_LIVE_RUNS):
        if run._writer is not None and run._owner_pid == os.getpid():
            if run_signals.received():
                run._record_exit_event("warning", "Interrupted (SIGTERM)")
                run._shutdown("terminated", error="SIGTERM")
                continue
            if run._attached:  # the engine ends it, and judges abandonment itself
                run._writer.stop()
                continue
            run.kill_all_processes()  # in sessions of their own: no orphans left behind
            run._writer.queue.append((EVENT, {
                "ts": _time(), "level": "warning",
                "msg": "The process ended without close(): the run is left unfinished"
                if run._reopened is None else
                f"The process ended without close(): the run is {run._reopened} again"}))
            if run._reopened is not None:  # never lost: it had ended before
                run._shutdown(run._reopened)
                continue
            run._writer.stop()
