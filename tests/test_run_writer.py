"""The writing path: bounded queue, SIGKILL mid-logging, operational failures."""

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from runyard.engine import OperationalError, Run, list_runs, load_run
from runyard.engine.jsonl import SeriesReader

from conftest import read_series


def test_a_full_non_blocking_queue_drops_and_counts(env_root):
    # A disk that stops answering: the writer thread is held (a ticker that waits,
    # as a write to a hung mount would), so the queue of 10 fills. (A FIFO in place
    # of metrics.jsonl no longer does: writers refuse anything but a regular file.)
    run = Run()
    run.config(queue_size=10, queue_blocking=False, disable_resources_metrics=True)
    run.init(name="dropping")
    held, answering = threading.Event(), threading.Event()

    def hung_disk(_now):
        held.set()
        answering.wait(30)

    run._writer.tickers.append(hung_disk)
    assert held.wait(10)
    results = [run.log_metrics({"x": i}) for i in range(2_000)]
    dropped = results.count(False)
    assert dropped >= 2_000 - 20
    answering.set()  # the disk answers again
    run.close()
    lines = read_series(env_root, run.id, "metrics.jsonl")
    assert len(lines) == 2_000 - dropped  # everything accepted was written
    notes = [e["msg"] for e in read_series(env_root, run.id, "events.jsonl")]
    counted = sum(int(m.split()[1]) for m in notes if m.startswith("Dropped "))
    assert counted == dropped
    assert all("queue_size=10" in m for m in notes)


def test_a_blocking_queue_keeps_everything(env_root):
    with Run() as run:
        run.config(queue_size=10, queue_blocking=True, disable_resources_metrics=True)
        run.init(name="blocking")
        assert all(run.log_metrics({"x": i}) for i in range(20_000))
    assert [p["v"]["x"] for p in read_series(env_root, run.id, "metrics.jsonl")] == \
        list(range(20_000))


def test_threads_logging_into_one_run_through_a_blocking_queue_lose_nothing(env_root):
    with Run() as run:
        run.config(queue_size=10, queue_blocking=True, disable_resources_metrics=True)
        run.init(name="threads")

        def log(thread: int) -> None:
            for i in range(5_000):
                assert run.log_metrics({"x": thread * 10_000 + i}, step=i)
                if i % 500 == 0:
                    assert run.log_event(f"thread {thread} at {i}")

        threads = [threading.Thread(target=log, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)
    values = sorted(p["v"]["x"] for p in read_series(env_root, run.id, "metrics.jsonl"))
    assert values == sorted(t * 10_000 + i for t in range(4) for i in range(5_000))
    assert len(read_series(env_root, run.id, "events.jsonl")) == 4 * 10


def test_another_process_reads_a_point_before_close(env_root):
    with Run() as run:
        run.init(name="visible")
        reader = SeriesReader(env_root / f"{run.id}.meta" / "metrics.jsonl")
        run.log_metrics({"x": 42})
        deadline = time.monotonic() + 5
        seen = []
        while not seen and time.monotonic() < deadline:
            seen = reader.read_new()[0]
            time.sleep(0.01)
        assert [r["v"] for r in seen] == [{"x": 42}]


HEAVY = textwrap.dedent("""
    import sys, time
    from runyard.engine import Run
    run = Run()
    run.config(disable_resources_metrics=True, queue_blocking=True)
    run.init(name="heavy")
    print(run.id, flush=True)
    step = 0
    while True:
        run.log_metrics({"wall": time.time(), "a": step * 0.5, "b": -step}, step=step)
        run.log_event(f"event {step}")
        step += 1
""")


def test_sigkill_during_heavy_logging_keeps_all_but_the_last_flush(env_root):
    proc = subprocess.Popen([sys.executable, "-c", HEAVY], stdout=subprocess.PIPE, text=True,
                            env={**os.environ})
    run_id = proc.stdout.readline().strip()
    time.sleep(1.5)
    killed_at = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert load_run(env_root, run_id).status == "lost"
    points = read_series(env_root, run_id, "metrics.jsonl")  # asserts no bad line
    steps = [p["s"] for p in points]
    assert len(steps) > 1000
    assert steps == list(range(len(steps)))  # nothing lost in the middle, nothing twice
    assert killed_at - points[-1]["v"]["wall"] < 1.0  # at most one flush interval lost
    events = read_series(env_root, run_id, "events.jsonl")
    assert [e["msg"] for e in events] == [f"event {i}" for i in range(len(events))]
    # the run can be taken over afterwards and logs on from the next step
    again = Run()
    again.config(disable_resources_metrics=True)
    again.reconnect(run_id)
    again.log_metrics({"a": 1.0})
    again.close()
    assert read_series(env_root, run_id, "metrics.jsonl")[-1]["s"] == steps[-1] + 1
    assert load_run(env_root, run_id).attrs["attempt"] == 2


def test_suppressed_failures_are_logged_once_counted_and_lose_nothing(env_root, caplog):
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(name="disk-trouble")
    target = env_root / f"{run.id}.meta" / "metrics.jsonl"
    target.mkdir()
    with caplog.at_level(logging.ERROR, logger="runyard"):
        for i in range(5):
            assert run.log_metrics({"x": i}) is True
            run._writer.flush()
    assert run.error_count >= 5
    assert len([r for r in caplog.records if r.name == "runyard"]) == 1
    assert "writing metrics.jsonl failed" in caplog.records[0].getMessage()
    target.rmdir()  # the disk recovers: everything queued is still written
    run.log_metrics({"x": 5})
    run.close()
    assert [p["v"]["x"] for p in read_series(env_root, run.id, "metrics.jsonl")] == \
        list(range(6))


def test_unsuppressed_failures_raise_on_the_next_call(env_root):
    run = Run()
    run.config(suppress_errors=False, disable_resources_metrics=True)
    run.init(name="strict-disk")
    (env_root / f"{run.id}.meta" / "metrics.jsonl").mkdir()
    run.log_metrics({"x": 1})
    run._writer.flush()
    with pytest.raises(OperationalError, match=r"writing metrics\.jsonl failed"):
        run.log_metrics({"x": 2})
    (env_root / f"{run.id}.meta" / "metrics.jsonl").rmdir()
    run.log_metrics({"x": 3})
    run.close()
    assert [p["v"]["x"] for p in read_series(env_root, run.id, "metrics.jsonl")] == [1, 3]


def test_a_vanished_root_does_not_stop_the_program(env_root):
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(name="vanishing")
    shutil.rmtree(env_root)
    for i in range(100):
        assert run.log_metrics({"x": i}) is True
    assert run.close() is False  # the ending could not be written either
    assert run.error_count > 0


def test_init_failure_follows_suppress_errors(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("RUNYARD_ROOT", str(blocker / "runs"))
    run = Run()
    assert run.init(name="nowhere") is False
    assert run.log_metrics({"x": 1}) is False  # goes on, records nothing
    strict = Run()
    strict.config(suppress_errors=False)
    with pytest.raises(OperationalError, match="cannot create runs root"):
        strict.init(name="nowhere")
    assert list_runs(tmp_path) == []
