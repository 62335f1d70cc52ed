"""The alert methods of ``Run`` (reference 002 ``add_alert`` and Simvue's ``create_*_alert``).

Definitions are kept in ``alerts.json``; evaluation happens on the writer
thread as the data is written (see alerts.py).
"""

import os
import signal
import threading
import time

from .alerts import Alert, make_alert, transition
from .atomic import write_atomic
from .errors import UsageError
from .layout import ALERT_DEFS
from .meta import encode_record
from .series import decode_record
from .stall import STALLED, StallWatch, stalled_alert
from .untrusted import ALERT_DEFS_MAX
from .writer import ALERT, EVENT


class AlertsMixin:
    def _init_alerts(self) -> None:
        self._alerts: dict[str, Alert] = {}
        self._kept_aside: dict[str, Alert] = {}  # attach_to_run=False: for add_alerts
        self._stall_watch: StallWatch | None = None

    def _attach_alerts(self, writer) -> None:
        self._load_alert_definitions()
        writer.observers.append(self._observe_for_alerts)
        writer.tickers.append(self._check_alerts)
        if not self._attached:  # a run the engine owns is watched by its supervisor
            writer.tickers.append(self._check_stall)
        writer.closers.append(self._final_alert_check)

    def _load_alert_definitions(self) -> None:
        if not os.path.lexists(self._paths.meta(ALERT_DEFS)):
            return  # a new run has none: the readers stay unloaded
        from .summary import alert_states, read_alert_definitions

        defs, _bad = read_alert_definitions(self._paths.meta_dir)
        if not defs:
            return
        states = {a["name"]: a["state"] for a in alert_states(self._paths.meta_dir)[0]}
        for definition in defs:
            try:
                alert = make_alert(**definition)
            except (TypeError, UsageError):
                continue  # written by another version: leave it out of evaluation
            alert.state = states.get(alert.name, "ok")  # as a reconnected run left it
            self._alerts.setdefault(alert.name, alert)

    # -- defining --------------------------------------------------------
    def _define(self, alert: Alert) -> str:
        gate = self._gate("add_alert", "created", "running")
        if gate is not None:
            return alert.name
        old = self._alerts.get(alert.name)
        if old is not None:
            alert.state = old.state
        alerts = {**self._alerts, alert.name: alert}
        # UsageError, nothing changed, if readers would refuse the file
        data = encode_record([a.definition() for a in alerts.values()],
                             "the alert definitions", ALERT_DEFS_MAX)
        self._alerts[alert.name] = alert
        try:
            write_atomic(self._paths.meta(ALERT_DEFS), data)
        except OSError as exc:
            self._operational("saving alert definitions", exc)
        return alert.name

    def add_alert(self, name: str, source: str = "metrics", frequency: float = 1,
                  window: float | None = 5, rule: str | None = None, metric: str | None = None,
                  threshold: float | None = None, range_low: float | None = None,
                  range_high: float | None = None, notification: str = "none",
                  pattern: str | None = None, trigger_abort: bool = False,
                  description: str | None = None, aggregation: str = "average",
                  attach_to_run: bool = True) -> str:
        """Define an alert (reference 002); returns its identifier, its name. With
        ``attach_to_run=False`` it is kept aside until ``add_alerts`` attaches it."""
        if self._mode == "disabled":
            return name
        if source == "walltime":
            raise UsageError("the walltime alert belongs to a run on Slurm: it is set with "
                             "runyard run --walltime-alert SECONDS")
        if source == STALLED:
            raise UsageError("the stalled-run alert is set with init(stalled_after=...) or "
                             "config(stalled_after=...), not with add_alert()")
        if not isinstance(attach_to_run, bool):
            raise UsageError(f"attach_to_run must be True or False, got {attach_to_run!r}")
        alert = make_alert(
            name, source, rule=rule, metric=metric, threshold=threshold,
            range_low=range_low, range_high=range_high, window=window, frequency=frequency,
            aggregation=aggregation, pattern=pattern, notification=notification,
            trigger_abort=trigger_abort, description=description)
        if not attach_to_run:
            self._kept_aside[alert.name] = alert
            return alert.name
        return self._define(alert)

    def add_alerts(self, ids: list | None = None, names: list | None = None) -> bool:
        """Attach alerts defined with ``attach_to_run=False`` (an alert's id is its
        name here); one already attached is left as it is."""
        gate = self._gate("add_alerts", "created", "running")
        if gate is not None:
            return gate
        wanted = []
        for what, given in (("ids", ids), ("names", names)):
            if given is None:
                continue
            if isinstance(given, str) or not isinstance(given, list | tuple) or \
                    not all(isinstance(n, str) for n in given):
                raise UsageError(f"add_alerts {what} must be a list of strings, got "
                                 f"{given!r}"[:300])
            wanted += given
        unknown = [n for n in wanted if n not in self._kept_aside and n not in self._alerts]
        if unknown:
            raise UsageError(f"add_alerts: no alert {', '.join(map(repr, unknown))} was "
                             "defined (create it with attach_to_run=False first)")
        for name in wanted:
            if name not in self._alerts:
                self._define(self._kept_aside.pop(name))
        return True

    def create_metric_threshold_alert(self, name: str, metric: str, threshold: float,
                                      rule: str, window: float | None = 5, frequency: float = 1,
                                      aggregation: str = "average", notification: str = "none",
                                      trigger_abort: bool = False, attach_to_run: bool = True,
                                      description: str | None = None) -> str:
        if rule not in ("is above", "is below"):
            raise UsageError(f"a threshold alert's rule is 'is above' or 'is below', got "
                             f"{rule!r}")
        return self.add_alert(name, "metrics", frequency, window, rule, metric, threshold,
                              notification=notification, trigger_abort=trigger_abort,
                              description=description, aggregation=aggregation,
                              attach_to_run=attach_to_run)

    def create_metric_range_alert(self, name: str, metric: str, range_low: float,
                                  range_high: float, rule: str, window: float | None = 5,
                                  frequency: float = 1, aggregation: str = "average",
                                  notification: str = "none", trigger_abort: bool = False,
                                  attach_to_run: bool = True,
                                  description: str | None = None) -> str:
        if rule not in ("is inside range", "is outside range"):
            raise UsageError(f"a range alert's rule is 'is inside range' or 'is outside "
                             f"range', got {rule!r}")
        return self.add_alert(name, "metrics", frequency, window, rule, metric,
                              range_low=range_low, range_high=range_high,
                              notification=notification, trigger_abort=trigger_abort,
                              description=description, aggregation=aggregation,
                              attach_to_run=attach_to_run)

    def create_event_alert(self, name: str, pattern: str, frequency: float = 1,
                           notification: str = "none", trigger_abort: bool = False,
                           attach_to_run: bool = True, description: str | None = None) -> str:
        return self.add_alert(name, "events", frequency, pattern=pattern,
                              notification=notification, trigger_abort=trigger_abort,
                              description=description, attach_to_run=attach_to_run)

    def create_user_alert(self, name: str, notification: str = "none",
                          trigger_abort: bool = False, attach_to_run: bool = True,
                          description: str | None = None) -> str:
        return self.add_alert(name, "user", notification=notification,
                              trigger_abort=trigger_abort, description=description,
                              attach_to_run=attach_to_run)

    def log_alert(self, identifier: str | None = None, name: str | None = None,
                  state: str = "critical") -> bool:
        """Set a user alert's state (``ok`` or ``critical``), named by its identifier
        or its name (both are the name here), in Simvue's order."""
        gate = self._gate("log_alert", "running")
        if gate is not None:
            return gate
        if (identifier is None) == (name is None) and identifier != name:
            raise UsageError("log_alert() takes the alert's identifier or its name, "
                             f"not both: got {identifier!r} and {name!r}")
        key = identifier if identifier is not None else name
        if not isinstance(key, str):
            raise UsageError(f"log_alert() needs an alert identifier or name, got {key!r}")
        alert = self._alerts.get(key)
        if alert is None:
            raise UsageError(f"no alert {key!r} on run {self.name!r}; define it with "
                             "create_user_alert() first")
        if alert.source != "user":
            raise UsageError(f"alert {key!r} is a {alert.source} alert: only user alerts "
                             "are set with log_alert()")
        if state not in ("ok", "critical"):
            raise UsageError(f"an alert state is 'ok' or 'critical', got {state!r}")
        if state != alert.state:
            self._queue.append((ALERT, transition(alert, state, None)))
            self._after_transition(alert)
        return True

    def _set_stalled_after(self, seconds: float | None) -> None:
        """Define (or, with None, remove) the stalled-run alert of this run."""
        if self._attached:
            return  # the engine's supervisor watches its runs, with the engine's setting
        if seconds is not None:
            self._define(stalled_alert(seconds))
            return
        alert = self._alerts.get(STALLED)
        if alert is None or alert.source != STALLED:
            return
        del self._alerts[STALLED]
        try:
            write_atomic(self._paths.meta(ALERT_DEFS), encode_record(
                [a.definition() for a in self._alerts.values()], "the alert definitions",
                ALERT_DEFS_MAX))
        except OSError as exc:
            self._operational("saving alert definitions", exc)

    # -- evaluating (writer thread) ---------------------------------------
    def _check_stall(self, now: float) -> None:
        """No metric or event from the user's code for the alert's window: critical;
        back to ok at the next one."""
        alert = self._alerts.get(STALLED)
        if alert is None or alert.source != STALLED:
            return
        watch = self._stall_watch
        if watch is None or watch.alert is not alert:
            watch = self._stall_watch = StallWatch(alert, now)
        if not watch.due(now):
            return
        writer = self._writer
        line = watch.check((writer.put - writer.own, self._progress), now)
        if line is not None:
            writer.emit_alert(line)
            self._after_transition(alert)

    def _observe_for_alerts(self, metrics: bytes, events: list) -> None:
        alerts = list(self._alerts.values())
        if not alerts:
            return
        points = None
        for alert in alerts:
            if alert.source == "metrics":
                if points is None:  # lines as written: decoded only when an alert reads them
                    points = [decode_record(line, "metrics") for line in metrics.splitlines()]
                name = alert.metric
                for point in points:
                    if name in point["v"]:
                        alert.feed_metric(point["ts"], point["v"][name])
            elif alert.source == "events":
                for event in events:
                    alert.feed_event(event.get("msg", ""))

    def _final_alert_check(self) -> None:
        """On close, every alert judges the last data once more, due or not; a
        stalled run that ends is stalled no more."""
        self._check_alerts(time.time(), every=True)
        if self._stall_watch is not None and self._alerts.get(STALLED) is \
                self._stall_watch.alert:
            line = self._stall_watch.end()
            if line is not None:
                self._writer.emit_alert(line)

    def _check_alerts(self, now: float, every: bool = False) -> None:
        for alert in list(self._alerts.values()):
            if alert.source == "user" or not (alert.due(now) or every):
                continue
            if every and alert.source == "events" and not alert.pending_hits():
                continue  # no news since the last check is no reason to recover now
            verdict = alert.evaluate(now)
            if verdict is None or verdict[0] == alert.state:
                continue
            self._writer.emit_alert(transition(alert, *verdict))
            self._after_transition(alert)

    def _after_transition(self, alert: Alert) -> None:
        if alert.notification == "email":
            from .notify import send_alert_mail

            threading.Thread(target=send_alert_mail, args=(self, alert), daemon=True,
                             name="runyard-mail").start()
        if alert.state == "critical" and alert.trigger_abort:
            self._abort(alert)

    def _abort(self, alert: Alert) -> None:
        """An aborting alert fired: the run ends ``terminated`` and the code is stopped
        (as ``config(abort_on_alert=...)`` says: ``run`` only ends the run, ``ignore``
        neither)."""
        if self._final_status is not None:
            return
        callback, how = self._config.abort_callback, self._config.abort_on_alert
        if how == "ignore":
            if callback is not None:
                callback(self)
            return
        threading.Thread(target=self.kill_all_processes, daemon=True,
                         name="runyard-kill").start()
        from .lifecycle import finalize_run

        self._queue.append((EVENT, {"ts": time.time(), "level": "critical",
                                    "msg": f"Alert {alert.name!r} aborted the run"}))
        self._final_status = "terminated"
        try:
            finalize_run(self._paths, "terminated", error=f"aborted by alert {alert.name}")
        except OSError as exc:
            self._writer_error("finalizing an aborted run", exc)
        if callback is not None:
            callback(self)
        elif how == "terminate" and self._state != "closed":  # closing: no interrupt
            os.kill(os.getpid(), signal.SIGINT)  # KeyboardInterrupt in the main thread
