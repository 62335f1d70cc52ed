"""Alerts evaluated where the data is written, so they fire with nobody watching.

(The stalled-run alert, which watches for no data at all, is in stall.py.)

Metric alerts aggregate a metric over the last ``window`` seconds and are
checked every ``frequency`` seconds; event alerts go critical when an event
matching their pattern arrived since the last check, and back to ok when none
did; user alerts change only through ``log_alert``. Every change of state is
one line in ``alerts.jsonl`` with the value that caused it.
"""

import math
import re
import time
from collections import deque
from dataclasses import dataclass, field

from .errors import UsageError
from .validate import TEXT_MAX

METRIC_RULES = ("is above", "is below", "is outside range", "is inside range")
AGGREGATIONS = ("average", "sum", "at least", "at most", "at least one", "all")
EACH = ("at least one", "all")  # judged point by point: any or every point breaches
SOURCES = ("metrics", "events", "user", "stalled", "walltime")  # stall.py, walltime.py
NOTIFICATIONS = ("none", "email")
STATES = ("ok", "critical")


@dataclass
class Alert:
    """One alert's definition (what ``alerts.json`` stores) and its live state."""

    name: str
    source: str
    rule: str | None = None
    metric: str | None = None
    threshold: float | None = None
    range_low: float | None = None
    range_high: float | None = None
    window: float = 5.0
    frequency: float = 1.0
    aggregation: str = "average"
    pattern: str | None = None
    notification: str = "none"
    trigger_abort: bool = False
    description: str = ""
    state: str = field(default="ok", compare=False)
    _points: deque = field(default_factory=deque, compare=False, repr=False)
    _hits: list = field(default_factory=list, compare=False, repr=False)
    _next_check: float = field(default=0.0, compare=False, repr=False)

    def definition(self) -> dict:
        return {k: v for k, v in self.__dict__.items()
                if not k.startswith("_") and k != "state" and v is not None}

    # -- feeding ---------------------------------------------------------
    def feed_metric(self, stamp: float, value) -> None:
        if value.__class__ is str or (isinstance(value, float) and math.isnan(value)):
            return  # NaN has no place in an average
        try:
            number = float(value)
        except OverflowError:  # an int beyond float's range
            number = math.inf if value > 0 else -math.inf
        self._points.append((stamp, number))

    def pending_hits(self) -> int:
        return len(self._hits)

    def feed_event(self, message: str) -> None:
        if self._regex.search(message):
            self._hits.append(message)

    @property
    def _regex(self):
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            compiled = self.__dict__["_compiled"] = re.compile(re.escape(self.pattern or ""))
        return compiled

    # -- checking --------------------------------------------------------
    def due(self, now: float) -> bool:
        if self.source in ("user", "stalled", "walltime") or now < self._next_check:
            return False
        self._next_check = now + self.frequency
        return True

    def evaluate(self, now: float) -> tuple[str, object] | None:
        """The state the alert should be in now, and why; None for no change of view."""
        if self.source == "events":
            hits, self._hits = self._hits, []
            return ("critical", hits[-1]) if hits else ("ok", None)
        points = self._points
        while points and points[0][0] < now - self.window:
            points.popleft()
        if not points:
            return None
        values = [v for _, v in points]
        if self.aggregation in EACH:
            judge = any if self.aggregation == "at least one" else all
            return ("critical" if judge(map(self._breached, values)) else "ok"), values[-1]
        value = self._aggregate(values)
        return ("critical" if self._breached(value) else "ok"), value

    def _aggregate(self, values: list[float]) -> float:
        if self.aggregation == "sum":
            return sum(values)
        if self.aggregation == "at least":
            return min(values)
        if self.aggregation == "at most":
            return max(values)
        return sum(values) / len(values)

    def _breached(self, value: float) -> bool:
        if self.rule == "is above":
            return value > self.threshold
        if self.rule == "is below":
            return value < self.threshold
        inside = self.range_low <= value <= self.range_high
        return inside if self.rule == "is inside range" else not inside


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _positive(name: str, value) -> float:
    number = _number(name, value)
    if number <= 0:
        raise UsageError(f"{name} must be a positive number of seconds, got {value!r}")
    return number


def make_alert(name, source, *, rule=None, metric=None, threshold=None, range_low=None,
               range_high=None, window=5, frequency=1, aggregation="average", pattern=None,
               notification="none", trigger_abort=False, description=None) -> Alert:
    """A checked alert definition; UsageError says what is wrong."""
    from .checks import metric_name

    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise UsageError(f"an alert name must be a non-empty string, got {name!r}")
    if source not in SOURCES:
        raise UsageError(f"alert source must be one of {', '.join(SOURCES)}, got {source!r}")
    if notification not in NOTIFICATIONS:
        raise UsageError(f"notification must be 'none' or 'email', got {notification!r}")
    if not isinstance(trigger_abort, bool):
        raise UsageError(f"trigger_abort must be True or False, got {trigger_abort!r}")
    if description is not None and (not isinstance(description, str) or
                                    len(description) > TEXT_MAX):
        raise UsageError(f"an alert description must be a string of at most {TEXT_MAX} "
                         f"characters, got {description!r}"[:300])
    window = 5 if window is None else window  # Simvue's None: the default window
    alert = Alert(name=name, source=source, window=_positive("window", window),
                  frequency=_positive("frequency", frequency), notification=notification,
                  trigger_abort=trigger_abort, description=description or "")
    if source == "metrics":
        if rule not in METRIC_RULES:
            raise UsageError(f"rule must be one of {', '.join(METRIC_RULES)}, got {rule!r}")
        if aggregation not in AGGREGATIONS:
            raise UsageError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got "
                             f"{aggregation!r}")
        alert.rule, alert.metric, alert.aggregation = rule, metric_name(metric), aggregation
        if rule in ("is above", "is below"):
            alert.threshold = _number("threshold", threshold)
        else:
            alert.range_low = _number("range_low", range_low)
            alert.range_high = _number("range_high", range_high)
            if alert.range_low > alert.range_high:
                raise UsageError(f"range_low {range_low!r} is above range_high "
                                 f"{range_high!r}")
    elif source == "events":
        if not isinstance(pattern, str) or not pattern:
            raise UsageError(f"an event alert needs a non-empty pattern, got {pattern!r}")
        alert.pattern = pattern
    return alert


def transition(alert: Alert, state: str, value) -> dict:
    """Record ``alert`` entering ``state``; the line for ``alerts.jsonl``."""
    alert.state = state
    record = {"ts": time.time(), "alert": alert.name, "state": state}
    if isinstance(value, float) and not math.isfinite(value):
        value = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if value is not None:
        record["value"] = value
    return record
