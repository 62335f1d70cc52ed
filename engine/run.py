"""``Run``: the Simvue-style tracking API, writing into a runs directory.

Code written for Simvue runs with only its import changed:

    from runyard.engine import Run

    with Run() as run:
        run.init(name="my-first-run", folder="/tests", tags=["test"])
        run.log_metrics({"loss": 0.5})

Misuse (bad arguments, calls in the wrong state) raises UsageError at once.
Operational failures (disk, permissions) follow ``suppress_errors``.
This file holds the handle's state, the logging hot path and failures; starting
(``init``, ``reconnect``) is in run_start.py, ending (``close``, ``with``, the
process's exit) in run_end.py, and each other group of methods in a ``run_*.py``
mixin of its own. A process forked after ``init()`` gets an inert copy of the
handle (run_fork.py).
"""

import os
import time
from pathlib import Path

import orjson

from . import checks
from .errors import OperationalError, RunyardError, UsageError
from .layout import RunPaths
from .run_alerts import AlertsMixin
from .run_attrs import AttributesMixin
from .run_config import Config, ConfigMixin, warn_no_server
from .run_end import EndMixin
from .run_files import FilesMixin
from .run_fork import FORKED, ForkMixin
from .run_live import BROKEN, CLOSED, CREATED, NEW, RUNNING
from .run_processes import ProcessesMixin
from .run_progress import ProgressMixin
from .run_start import StartMixin
from .series import NEWLINE, encode_point
from .writer import EVENT, BackgroundWriter


def _log():
    import logging  # here: a run that meets no failure never loads it

    return logging.getLogger("runyard")


MODES = ("online", "offline", "disabled")
_time = time.time
_monotonic_ns = time.monotonic_ns
_dumps = orjson.dumps


class Run(StartMixin, EndMixin, ConfigMixin, AttributesMixin, FilesMixin, AlertsMixin,
          ProgressMixin, ProcessesMixin, ForkMixin):
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
