"""What a logged point costs: work per call, bytes on disk, and what the compact
line keeps (issue 11). No timings here: the benchmark prints those."""

import collections
import math
import random
import sys
import threading
import tracemalloc

import orjson
import pytest

from runyard.engine import Run
from runyard.engine.jsonl import read_all
from runyard.engine.layout import RunPaths
from runyard.engine.series import decode_record
from runyard.engine.writer import BackgroundWriter

from conftest import read_series


def realistic(count: int) -> list[dict]:
    rnd = random.Random(7)
    return [{name: round(rnd.random(), 12) for name in ("loss", "accuracy", "lr")}
            for _ in range(count)]


def test_a_step_of_realistic_floats_takes_at_most_115_bytes(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="compact")
        for values in realistic(2_000):
            run.log_metrics(values)
    path = env_root / f"{run.id}.meta" / "metrics.jsonl"
    assert path.stat().st_size / 2_000 <= 115
    records = read_series(env_root, run.id, "metrics.jsonl")
    assert [r["v"] for r in records] == realistic(2_000)  # nothing dropped to get there
    assert [r["s"] for r in records] == list(range(2_000))
    assert all(isinstance(r["t"], float) and isinstance(r["ts"], float) for r in records)


def test_the_writer_thread_does_no_python_work_per_point(env_root):
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(name="lean")
    calls: collections.Counter = collections.Counter()
    counting = threading.Event()

    def profile(frame, event, _arg):
        if event == "call":
            calls[frame.f_code.co_name] += 1

    def count_from_now(_now):
        if not counting.is_set():
            sys.setprofile(profile)  # the writer thread's own, not this one's
            counting.set()

    run._writer.tickers.append(count_from_now)
    assert counting.wait(10)
    run._writer.flush()
    calls.clear()
    for values in realistic(3_000):
        run.log_metrics(values)
    run._writer.flush()
    counted = sum(calls.values())
    run.close()
    assert counted < 300, calls.most_common(5)  # was 2 calls or more a point


def test_the_writer_thread_runs_no_python_line_per_point(env_root):
    """The writer holds the GIL while it runs Python: a line of it per point is time
    taken from the caller's loop (and from close(), which waits for the last round)."""
    run = Run()
    run.config(disable_resources_metrics=True)
    run.init(name="lean-lines")
    lines: collections.Counter = collections.Counter()
    tracing = threading.Event()

    def trace(frame, event, _arg):
        if event == "line":
            lines[frame.f_code.co_name] += 1
        return trace

    def trace_from_now(_now):
        if not tracing.is_set():
            sys.settrace(trace)  # the writer thread's own, not this one's
            tracing.set()

    run._writer.tickers.append(trace_from_now)
    assert tracing.wait(10)
    points = realistic(3_001)
    run.log_metrics(points[0])  # the series files are opened before counting
    run.log_event("before the points")
    run._writer.flush()
    lines.clear()
    for values in points[1:]:
        run.log_metrics(values)
    run.log_event("among the points")
    run._writer.flush()
    counted = sum(lines.values())
    run.close()
    assert counted < 300, lines.most_common(5)  # was 4 lines a point
    records = read_series(env_root, run.id, "metrics.jsonl")
    assert [r["v"] for r in records] == points
    events = read_series(env_root, run.id, "events.jsonl")
    assert [e["msg"] for e in events] == ["before the points", "among the points"]


def test_a_round_holds_the_queued_lines_once(tmp_path):
    """A burst of points is copied once by the writer (out of the caller's buffer):
    each further copy of a burst is fresh memory, page faults and time with the GIL
    held, which the caller's loop and close() wait for."""
    paths = RunPaths(tmp_path, "burst")
    paths.meta_dir.mkdir()
    writer = BackgroundWriter(paths, queue_size=100_000, blocking=True,
                              on_error=lambda what, exc: pytest.fail(f"{what}: {exc}"),
                              flush_interval=3600, heartbeat_interval=None)
    writer.start()  # it waits an hour, or until told: every point is in one round
    points = [orjson.dumps([step, 0.5, 1.8e9, values], option=orjson.OPT_APPEND_NEWLINE)
              for step, values in enumerate(realistic(5_000))]
    for line in points:
        writer.put_line(line)
    size = sum(map(len, points))
    tracemalloc.start()
    try:
        assert writer.flush()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    writer.stop()
    assert (paths.meta("metrics.jsonl")).read_bytes() == b"".join(points)
    assert peak < 1.5 * size, (peak, size)  # was 3 copies at once


def test_a_queued_point_holds_its_line_and_nothing_more(env_root):
    """Queued points are counted, not kept one by one beside their lines: a slot per
    point was memory here and a pop per point on the writer thread, GIL held, which
    the caller's loop and close() waited for."""
    run = Run()
    run.config(disable_resources_metrics=True, queue_size=100_000)
    run.init(name="counted")
    held, answering = threading.Event(), threading.Event()

    def hung_disk(_now):  # the writer is held: every point stays queued
        held.set()
        answering.wait(30)

    run._writer.tickers.append(hung_disk)
    assert held.wait(10)
    points = realistic(20_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for values in points:
            run.log_metrics(values)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    lines = sys.getsizeof(run._writer.lines)  # the lines, as allocated
    answering.set()
    run.close()
    assert grown - lines < 20_000, (grown, lines)  # was 8 bytes a point more
    assert [r["v"] for r in read_series(env_root, run.id, "metrics.jsonl")] == points


def test_the_line_keeps_everything_the_call_gave(env_root):
    values = {"nan": math.nan, "up": math.inf, "down": -math.inf, "ok": True}
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="exact")
        run.log_metrics(values)
        run.log_metrics({"big": 2**70, "nan": math.nan})
        given = {"a": 0.123456789012}
        run.log_metrics(given, step=10, time=0.1234567891234, timestamp=1_800_000_000.123456)
        given["a"] = 99.0  # changed after the call: the point keeps what was logged
        run.log_metrics({"a:null": 1.5})  # looks like an encoded NaN, is not one
    first, big, second, third = read_series(env_root, run.id, "metrics.jsonl")
    assert math.isnan(first["v"]["nan"]) and first["v"]["up"] == math.inf
    assert first["v"]["down"] == -math.inf and first["v"]["ok"] is True
    assert big["v"]["big"] == 2**70 and math.isnan(big["v"]["nan"]) and big["s"] == 1
    assert second == {"s": 10, "t": 0.1234567891234, "ts": 1_800_000_000.123456,
                      "v": {"a": 0.123456789012}}
    assert third["v"] == {"a:null": 1.5} and third["s"] == 11


def test_a_nan_or_infinity_under_names_already_logged_is_kept(env_root):
    """Known names take log_metrics' fast path, which checks the values itself."""

    class Real(float):  # a float subclass, as numpy.float64 is
        pass

    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="known")
        run.log_metrics({"a": 1.0, "b": 2, "c": True})  # the names are known from now on
        run.log_metrics({"a": math.nan, "b": 3, "c": False})
        run.log_metrics({"a": math.inf, "b": -math.inf, "c": 0.5})
        run.log_metrics({"a": Real(math.nan), "b": Real(-math.inf), "c": Real(2.5)})
        run.log_metrics({"a": -0.0, "b": 1e308, "c": -5e-324})
    points = read_series(env_root, run.id, "metrics.jsonl")
    assert [p["s"] for p in points] == [0, 1, 2, 3, 4]
    second, third, fourth, fifth = (p["v"] for p in points[1:])
    assert math.isnan(second["a"]) and second["b"] == 3 and second["c"] is False
    assert third == {"a": math.inf, "b": -math.inf, "c": 0.5}
    assert math.isnan(fourth["a"]) and fourth["b"] == -math.inf and fourth["c"] == 2.5
    assert fifth == {"a": 0.0, "b": 1e308, "c": -5e-324}
    assert math.copysign(1, fifth["a"]) == -1


def test_time_since_start_is_written_to_the_microsecond(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="micro")
        for i in range(50):
            run.log_metrics({"x": i})
    lines = (env_root / f"{run.id}.meta" / "metrics.jsonl").read_bytes().splitlines()
    for line in lines:
        seconds = orjson.loads(line)[1]
        assert seconds == round(seconds, 6) and len(repr(seconds)) <= 20


def test_points_of_an_instance_carry_its_path(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="context")
        run._context = "/data/a.txt"  # as current_run() sets it inside a run module
        run.log_metrics({"x": 1.0})
    (point,) = read_series(env_root, run.id, "metrics.jsonl")
    assert point["instance"] == "/data/a.txt" and point["v"] == {"x": 1.0}


def test_old_and_compact_lines_read_as_the_same_record():
    old = decode_record(b'{"s":3,"t":1.5,"ts":1800000000.25,"v":{"x":1,"y":"NaN"}}',
                        "metrics")
    new = decode_record(b'[3,1.5,1800000000.25,{"x":1,"y":"NaN"}]', "metrics")
    assert old.keys() == new.keys() == {"s", "t", "ts", "v"}
    assert new["s"] == 3 and new["t"] == 1.5 and new["v"]["x"] == 1
    assert math.isnan(new["v"]["y"]) and math.isnan(old["v"]["y"])
    assert decode_record(b'[0,0,0,{},"/a"]', "metrics")["instance"] == "/a"


COMPACT_WRONG = [b"[]", b"[1]", b"[1,2,3]", b'[1,2,3,{},"/a",6]', b'["1",0,0,{}]',
                 b"[-1,0,0,{}]", b"[1.5,0,0,{}]", b"[true,0,0,{}]", b"[1,null,0,{}]",
                 b'[1,"0",0,{}]', b"[1,0,true,{}]", b"[1,0,0,[1]]", b'[1,0,0,{"x":"1"}]',
                 b'[1,0,0,{"x":[1]}]', b"[1,0,0,{},3]", b"[1,0,0,{},null]", b"[[1],0,0,{}]"]


@pytest.mark.parametrize("line", COMPACT_WRONG)
def test_a_compact_line_of_the_wrong_shape_is_a_bad_line(tmp_path, line):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"[0,0.5,1.0,{\"x\":1}]\n" + line + b"\n[1,0.75,2.0,{\"x\":2}]\n")
    records, bad = read_all(path)
    assert [r["s"] for r in records] == [0, 1]
    assert [b.line for b in bad] == [2] and "\n" not in bad[0].reason


def test_an_array_is_no_record_of_any_other_series(tmp_path):
    for kind in ("events", "alerts", "files"):
        path = tmp_path / f"{kind}.jsonl"
        path.write_bytes(b'[0,0.5,1.0,{"x":1}]\n')
        records, bad = read_all(path)
        assert records == [] and bad[0].reason == "not a JSON object"
