"""The stalled-run alert: a running run that has recorded nothing for a while.

It is an alert like the others (``alerts.json`` holds its definition, with
``source: "stalled"`` and the silence it allows as ``window``; its changes are
lines of an alert series), but who watches depends on who can see the silence:

- a plain tracked run (``Run.init(stalled_after=...)``, off unless asked): its
  own writer thread, which lives on when the user's code hangs and sees that no
  metric, event or progress came (the resource sampler's points do not count);
- a run the engine starts (on by default, ``DEFAULT_ENGINE`` seconds): its
  supervisor, which sees every writer's series, the output logs and the
  instances' saved states, and writes ``alerts.supervisor.jsonl``.

A process killed with SIGKILL raises nothing: its run is ``lost`` at once.
"""

import contextlib
import math
import os
import time
from pathlib import Path

from .alerts import Alert, transition
from .errors import UsageError
from .layout import SUPERVISOR_ALERTS

STALLED = "stalled"
DEFAULT_ENGINE = 900.0  # seconds of silence before a run the engine started is stalled
_OWN_LOGS = ("supervisor.log", "runner")  # the supervisor's own writing is no sign of life


def check_stalled_after(value, name: str = "stalled_after") -> float | None:
    """Seconds of silence allowed, or None (off) for None, False or 0."""
    if value is None or value is False or (not isinstance(value, bool) and value == 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value) or value < 0:
        raise UsageError(f"{name} must be a positive number of seconds, or 0 or false to "
                         f"turn the stalled-run alert off, got {value!r}")
    return float(value)


def stalled_alert(seconds: float) -> Alert:
    """The alert's definition: critical after ``seconds`` with nothing recorded."""
    return Alert(name=STALLED, source=STALLED, window=seconds,
                 frequency=min(5.0, max(0.05, seconds / 10)),
                 description=f"nothing recorded for {seconds:g} s while running")


class StallWatch:
    """Judges one run's silence from a signature of what it has recorded so far."""

    def __init__(self, alert: Alert, now: float | None = None):
        self.alert = alert
        self.signature = None
        self.since = time.time() if now is None else now
        self._next = 0.0

    def rest(self, now: float) -> None:
        """A pause is not silence: the clock starts again."""
        self.since = now

    def due(self, now: float) -> bool:
        """True once every ``frequency`` seconds: time to look."""
        if now < self._next:
            return False
        self._next = now + self.alert.frequency
        return True

    def check(self, signature, now: float) -> dict | None:
        """The alert line to record now, if the state changes; else None."""
        if signature != self.signature:  # news (or the first look: a new attempt)
            self.signature, self.since = signature, now
            if self.alert.state == "critical":
                return transition(self.alert, "ok", None)
            return None
        silent = now - self.since
        if silent >= self.alert.window and self.alert.state != "critical":
            return transition(self.alert, "critical", round(silent, 1))
        return None

    def end(self) -> dict | None:
        """The run ends: an ended run is not stalled (its series keeps that it was)."""
        if self.alert.state == "critical":
            return transition(self.alert, "ok", None)
        return None


def engine_signature(meta_dir: Path) -> tuple:
    """Sizes of every file a run's work writes into its side-car (series, output logs,
    done journals), the times its workers last recorded progress and the instance
    records last changed (a save renames a record into their folder). Not the
    supervisor's own files."""
    seen = []
    for folder in (meta_dir, meta_dir / "log", meta_dir / "instances" / "done"):
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if name == SUPERVISOR_ALERTS or name in _OWN_LOGS:
                        continue
                    if entry.is_file(follow_symlinks=False):
                        if name.startswith("progress.") and name.endswith(".json"):
                            # rewritten whole at each report (eta.py): its time tells
                            info = entry.stat(follow_symlinks=False)
                            seen.append((name, info.st_mtime_ns))
                        elif folder is not meta_dir or name.endswith(".jsonl"):
                            seen.append((name, entry.stat(follow_symlinks=False).st_size))
        except OSError:  # not there (yet): nothing written there
            continue
    with contextlib.suppress(OSError):
        seen.append(("instances", os.stat(meta_dir / "instances").st_mtime_ns))
    return tuple(sorted(seen))


class EngineStall:
    """The supervisor's watch over its run (every kind but a flow, whose steps are
    runs watched by their own supervisors)."""

    def __init__(self, meta_dir: Path, seconds: float, log):
        from .summary import alert_states

        self.meta_dir = meta_dir
        alert = stalled_alert(seconds)
        try:
            states, _bad = alert_states(meta_dir)
        except OSError:
            states = []
        alert.state = next((a["state"] for a in states if a["name"] == STALLED), "ok")
        self.watch = StallWatch(alert)
        self._log = log
        self._lines = SupervisorAlerts(meta_dir, log, STALLED)

    def tick(self, now: float, paused: bool) -> None:
        if paused:
            self.watch.rest(now)
            return
        if not self.watch.due(now):
            return
        line = self.watch.check(engine_signature(self.meta_dir), now)
        if line is None:
            return
        self._log(f"Alert {STALLED!r} is {line['state']}" +
                  (f": nothing recorded for {line['value']:g} s" if "value" in line else ""))
        self._lines.write(line)

    def end(self) -> None:
        line = self.watch.end()
        if line is not None:
            self._lines.write(line)


class SupervisorAlerts:
    """The alert lines a run's supervisor writes (``alerts.supervisor.jsonl``), for
    the alerts it watches itself (stalled, walltime.py's): the file opened at the
    first line; a failure to write is said in the log once, and the run goes on."""

    def __init__(self, meta_dir: Path, log, alert: str):
        self.meta_dir, self._log, self.alert = meta_dir, log, alert
        self._writer = None
        self._failed = False

    def write(self, line: dict) -> None:
        from .jsonl import JsonlWriter
        from .series import encode_record

        try:
            if self._writer is None:
                self._writer = JsonlWriter(self.meta_dir / SUPERVISOR_ALERTS)
            self._writer.write_lines(encode_record(line))
        except OSError as exc:  # the log says why no alert shows
            if not self._failed:
                self._failed = True
                self._log(f"Could not record the {self.alert} alert: {exc}")
