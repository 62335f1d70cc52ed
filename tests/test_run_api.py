"""The tracking API's methods, states and argument checks (references 001 and 002)."""

import json
import math
import re
from datetime import UTC, datetime

import pytest

from runyard.engine import OperationalError, Run, UsageError, folder_details, load_run

from conftest import read_series


def attrs_of(root, run):
    return json.loads((root / f"{run.id}.meta" / "attrs.json").read_text())


def test_init_records_the_run_and_returns_true(env_root):
    run = Run()
    assert run.init(name="my-first-run", metadata={"environment": "test"}, tags=["test"],
                    description="This is a test", folder="/tests") is True
    assert run.name == "my-first-run" and run.status == "running"
    assert re.fullmatch(r"[0-9a-z]{14}", run.id)
    attrs = attrs_of(env_root, run)
    assert attrs["metadata"] == {"environment": "test"}
    assert attrs["tags"] == ["test"] and attrs["folder"] == "/tests"
    assert attrs["description"] == "This is a test"
    assert load_run(env_root, run.id).status == "running"
    assert run.close() is True
    assert load_run(env_root, run.id).status == "completed"
    assert run.status == "completed"


def test_a_name_is_generated_and_the_folder_defaults_to_root(env_root):
    with Run() as run:
        run.init()
        assert re.fullmatch(r"[a-z]+-[a-z]+", run.name)
        assert attrs_of(env_root, run)["folder"] == "/"


def test_metrics_step_time_and_timestamp(env_root):
    with Run() as run:
        run.init(name="metrics")
        assert run.log_metrics({"loss": 0.5, "acc": 1}) is True
        run.log_metrics({"loss": 0.25})
        run.log_metrics({"loss": 0.125}, step=10, time=99.5,
                        timestamp="2024-01-02 03:04:05.123456")
        run.log_metrics({"loss": 0.0625})
        run.log_metrics({"flag": True, "big": 10**12, "np": 1.5})
    points = read_series(env_root, run.id, "metrics.jsonl")
    assert [p["s"] for p in points] == [0, 1, 10, 11, 12]
    assert points[0]["v"] == {"loss": 0.5, "acc": 1}
    assert 0 <= points[0]["t"] <= points[1]["t"] < 5
    assert points[2]["t"] == 99.5
    expected = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC).timestamp()
    assert points[2]["ts"] == pytest.approx(expected, abs=1e-6)
    assert abs(points[3]["ts"] - datetime.now(UTC).timestamp()) < 30
    assert points[4]["v"] == {"flag": True, "big": 10**12, "np": 1.5}


def test_non_finite_values_are_recorded_faithfully(env_root, cli):
    with Run() as run:
        run.init(name="nans")
        run.log_metrics({"a": math.nan, "b": math.inf, "c": -math.inf, "d": 1.0})
    text = (env_root / f"{run.id}.meta" / "metrics.jsonl").read_text()
    assert '"a":"NaN"' in text and '"b":"Infinity"' in text and '"c":"-Infinity"' in text
    data = cli("show", "nans", "--json", "--root", env_root)
    assert data.code == 0
    assert data.json()["metrics"]["d"]["last"] == 1.0


@pytest.mark.parametrize("metrics, message", [
    ({"bad\nname": 1}, "invalid metric name"),
    ({"loss\n": 1}, "invalid metric name"),  # the pattern's '$' let one end in a newline
    ({"": 1}, "invalid metric name"),
    ({"x" * 201: 1}, "invalid metric name"),
    ({"loss": "0.5"}, "must be an int, float or bool, not str"),
    ({"loss": None}, "not NoneType"),
    ({"loss": [1]}, "not list"),
    ([("loss", 1)], "must be a dict"),
])
def test_bad_metrics_raise_at_once_with_the_value(env_root, metrics, message):
    with Run() as run:
        run.init(name="strict")
        with pytest.raises(UsageError, match=re.escape(message)):
            run.log_metrics(metrics)
        run.log_metrics({"ok": 1})
    assert [p["v"] for p in read_series(env_root, run.id, "metrics.jsonl")] == [{"ok": 1}]


@pytest.mark.parametrize("kwargs, message", [
    ({"step": -1}, "step must be a non-negative int"),
    ({"step": 1.5}, "step must be a non-negative int"),
    ({"time": math.nan}, "time must be a finite number"),
    ({"timestamp": "yesterday"}, "timestamp must look like"),
])
def test_bad_step_time_timestamp(env_root, kwargs, message):
    with Run() as run:
        run.init(name="strict-step")
        with pytest.raises(UsageError, match=message):
            run.log_metrics({"x": 1}, **kwargs)


def test_every_error_is_a_runtime_error():
    assert issubclass(UsageError, RuntimeError)
    assert issubclass(OperationalError, RuntimeError)


def test_calls_in_the_wrong_state_raise(env_root):
    run = Run()
    with pytest.raises(UsageError, match="before init"):
        run.log_metrics({"x": 1})
    with pytest.raises(UsageError, match="before init"):
        run.log_event("x")
    with pytest.raises(UsageError, match="before init"):
        run.close()
    run.init(name="states")
    with pytest.raises(UsageError, match="already called"):
        run.init(name="again")
    run.close()
    with pytest.raises(UsageError, match="after the run 'states' was closed"):
        run.log_metrics({"x": 1})
    assert run.close() is True  # a second close changes nothing, as Simvue's
    with pytest.raises(UsageError, match="mode must be one of"):
        Run(mode="cloud")


def test_a_taken_name_is_a_usage_error_without_suppress_errors(env_root):
    with Run() as first:
        first.init(name="taken")
    strict = Run()
    strict.config(suppress_errors=False)
    with pytest.raises(UsageError, match="already used"):
        strict.init(name="taken")
    assert Run().init(name="taken") is False  # suppressed, as Simvue's server errors


def test_events_with_levels(env_root):
    with Run() as run:
        run.init(name="events")
        assert run.log_event("started") is True
        run.log_event("careful", log_level="warning", timestamp="2024-05-06 07:08:09.5")
        with pytest.raises(UsageError, match="log_level must be one of"):
            run.log_event("x", log_level="loud")
        with pytest.raises(UsageError, match="message must be a string"):
            run.log_event(42)
    events = read_series(env_root, run.id, "events.jsonl")
    assert [(e["level"], e["msg"]) for e in events] == [("info", "started"),
                                                        ("warning", "careful")]


def test_update_tags_and_metadata(env_root):
    with Run() as run:
        run.init(name="updated", tags=["a"], metadata={"k": 1, "keep": "x"})
        assert run.update_tags(["b", "a"]) is True
        assert run.update_metadata({"k": 2, "new": True}) is True
        with pytest.raises(UsageError, match="metadata value"):
            run.update_metadata({"k": object()})
        attrs = attrs_of(env_root, run)
        assert attrs["tags"] == ["a", "b"]
        assert attrs["metadata"] == {"k": 2, "keep": "x", "new": True}


def test_set_status_is_kept_by_close(env_root):
    run = Run()
    run.init(name="unconverged")
    run.log_metrics({"residual": 1.0})
    assert run.set_status("failed") is True
    assert load_run(env_root, run.id).status == "failed"
    with pytest.raises(UsageError, match="status must be one of"):
        run.set_status("running")
    run.close()
    assert load_run(env_root, run.id).status == "failed"
    assert read_series(env_root, run.id, "metrics.jsonl")[0]["v"] == {"residual": 1.0}


def test_set_folder_details(env_root):
    with Run() as run:
        run.init(name="foldered", folder="/campaign/a")
        assert run.set_folder_details(metadata={"owner": "ana"}, tags=["x"],
                                      description="A campaign") is True
        run.set_folder_details(path="/campaign", description="Top")
    assert folder_details(env_root, "/campaign/a")["metadata"] == {"owner": "ana"}
    assert folder_details(env_root, "/campaign")["description"] == "Top"


def test_resource_metrics_of_the_process_and_children(env_root):
    import subprocess
    import sys
    import time

    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with Run() as run:
            run.config(resources_metrics_interval=0.3)
            run.init(name="resources")
            assert run.set_pid(child.pid) is True
            time.sleep(1.5)
    finally:
        child.kill()
        child.wait()
    points = [p["v"] for p in read_series(env_root, run.id, "metrics.jsonl")]
    cpu = [v["resources/cpu.usage.percentage"] for v in points
           if "resources/cpu.usage.percentage" in v]
    memory = [v["resources/memory.usage"] for v in points if "resources/memory.usage" in v]
    # the busy child shows: a whole core alone, a share of one when the machine is
    # loaded (seen: 48% with a test suite and Slurm jobs beside it); an idle one reads 0
    assert len(cpu) >= 2 and max(cpu) > 10
    assert all(m > 1 for m in memory)


def test_resource_metrics_can_be_disabled(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True, resources_metrics_interval=0.1)
        run.init(name="quiet")
        run.log_metrics({"x": 1})
        import time

        time.sleep(0.4)
    assert [p["v"] for p in read_series(env_root, run.id, "metrics.jsonl")] == [{"x": 1}]


def test_config_checks(env_root):
    run = Run()
    with pytest.raises(UsageError, match="queue_size must be a positive int"):
        run.config(queue_size=0)
    with pytest.raises(UsageError, match="suppress_errors must be True or False"):
        run.config(suppress_errors="yes")
    with pytest.raises(UsageError, match="unknown option"):
        run.config(colour="red")
    assert run.config(system_metrics_interval=5) is True
    run.init(name="configured")
    with pytest.raises(UsageError, match="before init"):
        run.config(queue_size=10)
    run.close()


def test_logging_handler_turns_records_into_events(env_root):
    import logging

    from runyard.engine import RunLogHandler

    logger = logging.getLogger("test-sim")
    logger.setLevel(logging.DEBUG)
    with Run() as run:
        run.init(name="logged")
        handler = RunLogHandler(run)
        logger.addHandler(handler)
        logger.info("step %d done", 3)
        logger.error("diverged")
        logger.removeHandler(handler)
    events = read_series(env_root, run.id, "events.jsonl")
    assert [(e["level"], e["msg"]) for e in events] == [("info", "step 3 done"),
                                                        ("error", "diverged")]


def test_timeout_sets_when_a_silent_run_turns_lost(env_root):
    import os
    import time

    with Run() as run:
        run.init(name="short-timeout", timeout=1.5)
        attrs = attrs_of(env_root, run)
        assert attrs["timeout"] == 1.5
        heartbeat = env_root / f"{run.id}.meta" / "heartbeat"
        first = os.stat(heartbeat).st_mtime
        time.sleep(1.0)  # beats every timeout/3 seconds, so within a second here
        assert os.stat(heartbeat).st_mtime > first
    with pytest.raises(UsageError, match="timeout must be a positive number"):
        Run().init(name="bad-timeout", timeout=-1)
