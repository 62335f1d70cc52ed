"""``Run.config``: the settings of a run's tracking, as Simvue's ``config`` takes
them (and runyard's own ``stalled_after``)."""

from . import checks
from .errors import UsageError

ABORT_ON_ALERT = ("terminate", "run", "ignore")


class Config:
    suppress_errors = True
    queue_blocking = False
    queue_size = 10_000
    disable_resources_metrics = False
    resources_metrics_interval = 30.0
    abort_callback = None
    abort_on_alert = "terminate"
    stalled_after: float | None = None  # off for a plain tracked run (stall.py)


class ConfigMixin:
    def config(self, *, suppress_errors: bool | None = None, queue_blocking: bool | None = None,
               queue_size: int | None = None, disable_resources_metrics: bool | None = None,
               resources_metrics_interval: float | None = None,
               system_metrics_interval: float | None = None, abort_callback=None,
               stalled_after: float | None = None, abort_on_alert: str | None = None,
               **ignored_simvue_options) -> bool:
        """Configure the run (before ``init`` for the queue settings).

        ``stalled_after``: seconds with no metric or event before the ``stalled``
        alert turns critical (0 or False: off again). ``abort_on_alert``, as
        Simvue's: ``terminate`` (the default) ends the run and stops the code,
        ``run`` ends the run only, ``ignore`` leaves both going."""
        cfg = self._config
        if abort_on_alert is not None:
            if abort_on_alert not in ABORT_ON_ALERT:
                raise UsageError(f"abort_on_alert must be one of "
                                 f"{', '.join(ABORT_ON_ALERT)}, got {abort_on_alert!r}")
            cfg.abort_on_alert = abort_on_alert
        if self._state not in ("new", "created") and (queue_size is not None or
                                                      queue_blocking is not None):
            raise UsageError("queue_size and queue_blocking must be set before init()")
        if suppress_errors is not None:
            cfg.suppress_errors = checks.flag("suppress_errors", suppress_errors)
        if queue_blocking is not None:
            cfg.queue_blocking = checks.flag("queue_blocking", queue_blocking)
        if queue_size is not None:
            cfg.queue_size = checks.positive_int("queue_size", queue_size)
        if disable_resources_metrics is not None:
            cfg.disable_resources_metrics = checks.flag("disable_resources_metrics",
                                                        disable_resources_metrics)
        interval = system_metrics_interval or resources_metrics_interval
        if interval is not None:
            cfg.resources_metrics_interval = checks.positive_number(
                "resources_metrics_interval", interval)
        if abort_callback is not None:
            if not callable(abort_callback):
                raise UsageError(f"abort_callback must be callable, got {abort_callback!r}")
            cfg.abort_callback = abort_callback
        unknown = set(ignored_simvue_options) - _SIMVUE_ONLY_OPTIONS
        if unknown:
            raise UsageError(f"config() got unknown option(s): {', '.join(sorted(unknown))}")
        if stalled_after is not None:
            self._stalled_after(stalled_after)
        return True

    def _stalled_after(self, value) -> None:
        from .stall import check_stalled_after

        self._config.stalled_after = check_stalled_after(value)
        if self._state == "running" and self._mode != "disabled":
            self._set_stalled_after(self._config.stalled_after)


def warn_no_server() -> None:
    """Once a process: Simvue's server settings mean nothing here."""
    global _SERVER_WARNED
    if not _SERVER_WARNED:
        _SERVER_WARNED = True
        import warnings

        warnings.warn("runyard has no server: server_url, server_token and "
                      "server_profile are ignored, runs are written locally",
                      stacklevel=3)


_SERVER_WARNED = False
_SIMVUE_ONLY_OPTIONS = {"storage_id", "enable_emission_metrics", "disable_shell_vars"}
