"""Alerts fire and recover where the data is written, with nobody watching."""

import socket
import time

import pytest

from runyard.engine import Run, UsageError, load_run

from conftest import read_series


def transitions(root, run, alert=None):
    return [(r["alert"], r["state"]) for r in read_series(root, run.id, "alerts.jsonl")
            if alert is None or r["alert"] == alert]


def feed(run, name, value, seconds, every=0.05):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        run.log_metrics({name: value})
        time.sleep(every)


def test_threshold_alert_fires_and_recovers(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="thresholds")
        assert run.create_metric_threshold_alert(
            "loss-high", metric="loss", threshold=1.0, rule="is above", window=0.3,
            frequency=0.1) == "loss-high"
        feed(run, "loss", 0.5, 0.5)
        feed(run, "loss", 5.0, 0.8)
        feed(run, "loss", 0.2, 0.8)
    assert transitions(env_root, run) == [("loss-high", "critical"), ("loss-high", "ok")]
    critical = read_series(env_root, run.id, "alerts.jsonl")[0]
    assert critical["value"] > 1.0  # the window average that crossed the line


def test_range_and_below_rules(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="ranges")
        run.create_metric_range_alert("temp-out", metric="temp", range_low=10, range_high=20,
                                      rule="is outside range", window=0.3, frequency=0.1)
        run.add_alert("temp-low", source="metrics", rule="is below", metric="temp",
                      threshold=5, window=0.3, frequency=0.1)
        feed(run, "temp", 15, 0.5)
        feed(run, "temp", 2, 0.8)
        feed(run, "temp", 15, 0.8)
    assert transitions(env_root, run, "temp-out") == [("temp-out", "critical"),
                                                      ("temp-out", "ok")]
    assert transitions(env_root, run, "temp-low") == [("temp-low", "critical"),
                                                      ("temp-low", "ok")]


def test_event_alert_fires_on_a_pattern_and_recovers(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="event-alerts")
        run.create_event_alert("diverged", pattern="NaN", frequency=0.2)
        run.log_event("step 1 fine")
        time.sleep(0.5)
        run.log_event("residual is NaN at step 2")
        time.sleep(0.5)
        run.log_event("recovered")
        time.sleep(0.5)
    assert transitions(env_root, run) == [("diverged", "critical"), ("diverged", "ok")]
    assert read_series(env_root, run.id, "alerts.jsonl")[0]["value"] == \
        "residual is NaN at step 2"


def test_user_alert_is_set_by_log_alert(env_root):
    with Run() as run:
        run.init(name="user-alerts")
        run.create_user_alert("manual-check")
        assert run.log_alert("manual-check", state="critical") is True
        run.log_alert(name="manual-check", state="critical")  # no change, no line
        run.log_alert("manual-check", state="ok")
        with pytest.raises(UsageError, match="no alert 'nope'"):
            run.log_alert("nope")
        with pytest.raises(UsageError, match="'ok' or 'critical'"):
            run.log_alert("manual-check", state="amber")
    assert transitions(env_root, run) == [("manual-check", "critical"),
                                          ("manual-check", "ok")]


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "logs"}, "alert source must be one of"),
    ({"rule": "is weird", "metric": "x", "threshold": 1}, "rule must be one of"),
    ({"rule": "is above", "metric": "x"}, "threshold must be a finite number"),
    ({"rule": "is above", "metric": "x", "threshold": 1, "window": 0}, "window must be"),
    ({"rule": "is inside range", "metric": "x", "range_low": 5, "range_high": 1},
     "is above range_high"),
    ({"source": "events"}, "needs a non-empty pattern"),
    ({"source": "user", "notification": "sms"}, "notification must be"),
])
def test_bad_alert_definitions(env_root, kwargs, message):
    with Run() as run:
        run.init(name="bad-alerts")
        with pytest.raises(UsageError, match=message):
            run.add_alert("a", **kwargs)


def test_alert_definitions_show_with_their_state(env_root, cli):
    with Run() as run:
        run.init(name="shown")
        run.create_user_alert("first")
        run.create_user_alert("second")
        run.log_alert("second", state="critical")
    data = cli("show", "shown", "--json", "--root", env_root).json()
    assert {a["name"]: a["state"] for a in data["alerts"]} == {"first": "ok",
                                                               "second": "critical"}


def test_email_through_a_local_smtp_server(env_root, monkeypatch):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("RUNYARD_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("RUNYARD_SMTP_PORT", str(port))
        monkeypatch.setenv("RUNYARD_SMTP_TO", "ops@example.org")
        with Run() as run:
            run.init(name="mailed")
            run.create_user_alert("page-me", notification="email")
            run.log_alert("page-me", state="critical")
            deadline = time.monotonic() + 10
            while not received and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        controller.stop()
    assert len(received) == 1
    assert received[0].rcpt_tos == ["ops@example.org"]
    body = received[0].content.decode()
    assert "page-me is critical on run mailed" in body
    assert run.error_count == 0


def test_abort_ends_the_run_terminated(env_root):
    with pytest.raises(KeyboardInterrupt), Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="aborted")
        run.create_metric_threshold_alert("explode", metric="energy", threshold=100,
                                          rule="is above", window=0.2, frequency=0.1,
                                          trigger_abort=True)
        # until the abort stops it: no fixed budget (a loaded machine is slow to check)
        deadline = time.monotonic() + 120
        step = 0
        while time.monotonic() < deadline:
            run.log_metrics({"energy": step})
            step += 1
            time.sleep(0.01)
    info = load_run(env_root, run.id)
    assert info.status == "terminated"
    assert info.attrs["exit"]["error"] == "aborted by alert explode"
    assert time.monotonic() < deadline  # the abort stopped the loop, not the deadline
    assert any("aborted the run" in e["msg"] for e in read_series(env_root, run.id,
                                                                 "events.jsonl"))


def test_abort_callback_replaces_the_interrupt(env_root):
    calls = []
    with Run() as run:
        run.config(abort_callback=lambda r: calls.append(r.name))
        run.init(name="called-back")
        run.create_user_alert("stop-now", trigger_abort=True)
        run.log_alert("stop-now", state="critical")
    assert calls == ["called-back"]
    assert load_run(env_root, run.id).status == "terminated"
