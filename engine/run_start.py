"""How a ``Run`` handle starts recording: ``init`` makes a new run, ``reconnect``
takes over a created, lost or (``reopen=True``) ended one, and ``_attach`` writes
into a run the engine owns (a tracked script the engine started). Each ends in
``_start_writer``: the background writer, its alert, progress and resource tickers,
and the handle in ``LIVE_RUNS`` (run_live.py).
"""

import os
import time
from pathlib import Path

from . import checks, run_signals
from .errors import RunyardError, UsageError, usage_errors
from .layout import RunPaths
from .lifecycle import FINAL_STATES, init_run_meta, make_run, start_run
from .root import ensure_root, resolve_root
from .run_live import CREATED, LIVE_RUNS, NEW, RUNNING, any_live_run
from .status import DEFAULT_TIMEOUT
from .validate import check_description, check_folder, check_tags, flat_metadata
from .writer import BackgroundWriter

SIMVUE_ONLY_INIT = {"notification", "retention_period", "visibility", "no_color",
                    "record_shell_vars"}
_time = time.time
_monotonic_ns = time.monotonic_ns


class StartMixin:
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
        unknown = set(ignored_simvue_options) - SIMVUE_ONLY_INIT
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
        return self._create(name, attrs, created)

    def _create(self, name: str | None, attrs: dict, created: bool) -> bool:
        """Make the run's folder and records (init's checked ``attrs``), then start it
        unless it is only ``created``."""
        with run_signals.starting(any_live_run):  # a SIGTERM waits for the start
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
        with run_signals.starting(any_live_run):  # a SIGTERM waits for the start
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
        LIVE_RUNS.add(self)
        run_signals.install(any_live_run)  # SIGTERM (scancel) ends it terminated
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
