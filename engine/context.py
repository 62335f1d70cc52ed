"""``current_run()``: the tracking handle of the run module's instance in progress."""

_current = None


def current_run():
    """The Run that ``run(instance, save, state)`` logs into.

    Inside a run module started by runyard it writes metrics and events into the
    same run, tagged with the instance. Anywhere else it is a disabled Run, so a
    module can still be run by hand.
    """
    if _current is not None:
        return _current
    from .run import Run

    return Run(mode="disabled")


def progress(fraction: float) -> bool:
    """Report the fraction done (0 to 1) of the instance in progress (in a run
    module started by runyard; elsewhere nothing is recorded)."""
    return current_run().log_progress(fraction)


def set_current(run) -> None:
    global _current
    _current = run


def params() -> dict:
    """The parameters a flow gave this step (``op(..., params={...})`` and
    ``config_extensions``); empty outside a flow."""
    import json
    import os

    try:
        value = json.loads(os.environ.get("RUNYARD_PARAMS") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
