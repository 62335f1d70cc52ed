"""runyard.engine: the runs directory, the tracking API and run control.

This package never imports textual, rich or runyard.app (a test checks it), so
tracking code and the engine's processes start fast and run headless.
"""

from .errors import (
    AmbiguousRun,
    OperationalError,
    RootError,
    RunNotFound,
    RunyardError,
    SchemaError,
    UnreadableRun,
    UsageError,
)
from .folders import folder_details, set_folder_details
from .lifecycle import (
    beat,
    clear_pause_marker,
    finalize_run,
    init_run_meta,
    make_run,
    pause_marker,
    start_run,
)
from .root import check_root, ensure_root, resolve_root
from .status import STATES, run_status
from .store import RunInfo, find_run, list_runs, load_run

__all__ = [
    "STATES",
    "AmbiguousRun",
    "Experiment",
    "OperationalError",
    "RootError",
    "Run",
    "RunInfo",
    "RunLogHandler",
    "RunNotFound",
    "RunyardError",
    "SchemaError",
    "UnreadableRun",
    "UsageError",
    "beat",
    "check_root",
    "clear_pause_marker",
    "close",
    "current_run",
    "ensure_root",
    "finalize_run",
    "find_run",
    "folder_details",
    "init_run_meta",
    "list_runs",
    "load_run",
    "make_run",
    "params",
    "pause",
    "pause_marker",
    "resolve_root",
    "resume",
    "run_status",
    "set_folder_details",
    "start",
    "start_run",
]


def __getattr__(name: str):
    # The tracking API loads its writer (and orjson) only when first asked for.
    if name == "Run":
        from .run import Run

        return Run
    if name == "Experiment":
        from .experiment import Experiment

        return Experiment
    if name in ("current_run", "params"):
        from . import context

        return getattr(context, name)
    if name in ("start", "pause", "resume", "close"):
        from . import control

        return getattr(control, name)
    if name == "RunLogHandler":
        from .log_handler import RunLogHandler

        return RunLogHandler
    raise AttributeError(f"module 'runyard.engine' has no attribute {name!r}")
