"""runyard.engine: the runs directory, the tracking API and run control.

This package never imports textual, rich or runyard.app (a test checks it), so
tracking code and the engine's processes start fast and run headless.
"""

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
    "progress",
    "resolve_root",
    "resume",
    "run_status",
    "set_folder_details",
    "start",
    "start_run",
]


# Where each public name lives. Nothing is imported with the package: a name's
# module loads when the name is first used, so `import runyard.engine` costs a
# script, a worker or a CLI command nearly nothing (a test checks it).
_HOMES = {
    "errors": ("AmbiguousRun", "OperationalError", "RootError", "RunNotFound", "RunyardError",
               "SchemaError", "UnreadableRun", "UsageError"),
    "folders": ("folder_details", "set_folder_details"),
    "lifecycle": ("beat", "clear_pause_marker", "finalize_run", "init_run_meta", "make_run",
                  "pause_marker", "start_run"),
    "root": ("check_root", "ensure_root", "resolve_root"),
    "status": ("STATES", "run_status"),
    "store": ("RunInfo", "find_run", "list_runs", "load_run"),
    "run": ("Run",),
    "experiment": ("Experiment",),
    "context": ("current_run", "params", "progress"),
    "control": ("start", "pause", "resume", "close"),
    "log_handler": ("RunLogHandler",),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str):
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'runyard.engine' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})
