"""The walltime alert: a run on Slurm whose job has less time left than asked.

Set with ``--walltime-alert SECONDS`` (or ``walltime_alert`` in an operation); its
definition is in ``alerts.json`` with ``source: "walltime"`` and the seconds as
``threshold``. The run's supervisor, which knows when its job's time limit comes
(``attrs["slurm"]["ends"]``, slurm.py), watches it and writes its changes to
``alerts.supervisor.jsonl``, as it does for the stalled alert (stall.py): critical
once the time left drops below the threshold, ok again when an attempt starts with
more (a requeued job) or the run ends.
"""

import math

from .alerts import Alert, transition
from .errors import UsageError
from .stall import SupervisorAlerts

WALLTIME = "walltime"


def check_walltime_alert(value) -> float | None:
    """Seconds of time left that make the alert critical; None (off) for None or 0."""
    if value is None or (not isinstance(value, bool) and value == 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or value < 0:
        raise UsageError(f"walltime_alert must be a positive number of seconds, got "
                         f"{value!r}")
    return float(value)


def walltime_alert(seconds: float) -> Alert:
    return Alert(name=WALLTIME, source=WALLTIME, threshold=seconds, frequency=1.0,
                 description=f"less than {seconds:g} s left of the Slurm job's time limit")


class WalltimeWatch:
    """The supervisor's watch over its job's time left."""

    def __init__(self, meta_dir, seconds: float, ends: float, log):
        self.meta_dir, self.ends, self._log = meta_dir, ends, log
        self.alert = walltime_alert(seconds)
        self.alert.state = "ok"
        self._next = 0.0
        self._lines = SupervisorAlerts(meta_dir, log, WALLTIME)

    def tick(self, now: float) -> None:
        if now < self._next:
            return
        self._next = now + self.alert.frequency
        left = self.ends - now
        if left < self.alert.threshold and self.alert.state != "critical":
            self._lines.write(transition(self.alert, "critical", round(max(0.0, left), 1)))
            self._log(f"Alert {WALLTIME!r} is critical: {left:.0f} s of the job's time left")

    def end(self) -> None:
        if self.alert.state == "critical":
            self._lines.write(transition(self.alert, "ok", None))
