"""Series lines from anyone: bounded reads, checked shapes, bad lines reported once."""

import json
import os
import time
import tracemalloc

import pytest

from runyard.engine import Run
from runyard.engine.jsonl import SeriesReader, read_all
from runyard.engine.summary import event_summary, metric_summary
from runyard.engine.tail import RecentValues, RunTail, TextTail
from runyard.engine.untrusted import LINE_MAX, MAX_DEPTH

from hostile import runyard

GOOD = b'{"s":0,"t":0.0,"ts":1.0,"v":{"x":1}}\n'


def test_a_line_longer_than_the_bound_is_skipped_without_holding_it(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with open(path, "wb") as f:
        f.write(GOOD)
        f.write(b'{"s":1,"v":{"x":"' + b"y" * (3 * LINE_MAX) + b'"}}\n')
        f.write(GOOD)
    tracemalloc.start()
    try:
        records, bad = read_all(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r["v"] for r in records] == [{"x": 1}, {"x": 1}]
    assert [(b.line, b.reason) for b in bad] == [(2, f"longer than {LINE_MAX} bytes: "
                                                     "skipped")]
    assert peak < 1.5 * LINE_MAX  # never the whole line


def test_a_long_line_growing_across_reads_is_one_bad_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"msg":"a"}\n{"msg":"' + b"z" * (LINE_MAX // 2))
    reader = SeriesReader(path)
    assert reader.read_new() == ([{"msg": "a"}], [])
    with open(path, "ab") as f:
        f.write(b"z" * LINE_MAX)  # now too long, and still unfinished
    assert reader.read_new() == ([], [])
    with open(path, "ab") as f:
        f.write(b'"}\n{"msg":"b"}\n')
    records, bad = reader.read_new()
    assert records == [{"msg": "b"}] and [b.line for b in bad] == [2]
    assert reader.read_new() == ([], [])


def test_a_backlog_beyond_the_bound_is_read_from_its_end(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(b'{"msg":"%d"}\n' % i for i in range(1000)))
    reader = SeriesReader(path)
    records, bad = reader.read_new(backlog=200)
    assert records and records[-1] == {"msg": "999"} and len(records) < 20
    assert len(bad) == 1 and "bytes after this line skipped" in bad[0].reason
    with open(path, "ab") as f:
        f.write(b'{"msg":"next"}\n')
    assert reader.read_new(backlog=200) == ([{"msg": "next"}], [])


@pytest.mark.timeout(60)
def test_a_huge_sparse_series_costs_a_bounded_read(root):
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(name="sparse")
    run.log_metrics({"x": 1.0})
    run.close()
    metrics = root / f"{run.id}.meta" / "metrics.jsonl"
    with open(metrics, "r+b") as f:
        f.truncate(100 << 30)  # 100 GiB of nothing, in no disk space
    started = time.monotonic()
    tail = RunTail(root / f"{run.id}.meta")
    update = tail.poll()
    assert "bytes after this line skipped" in str(update.bad[0])
    assert tail.poll().bad == []
    result = runyard("show", run.id, "--json", "--root", root)
    assert result.returncode == 0 and "skipped" in result.stderr
    assert time.monotonic() - started < 45


def test_integers_beyond_64_bits_read_back_exactly(root):
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(name="big-ints")
    run.log_metrics({"count": 2**70, "small": 3}, step=2**64)
    run.log_metrics({"count": -(2**65)})
    run.close()
    meta = root / f"{run.id}.meta"
    stats, bad = metric_summary(meta)
    assert bad == [] and stats["count"]["max"] == 2**70 and stats["count"]["min"] == -(2**65)
    assert stats["small"]["last_step"] == 2**64
    tail = RunTail(meta)
    tail.poll()
    assert tail.metrics["count"].max == 2**70 and tail.bad == []
    assert RecentValues(meta, "count").update() == [float(2**70), float(-(2**65))]
    shown = json.loads(runyard("show", run.id, "--json", "--root", root).stdout)
    assert shown["metrics"]["count"]["max"] == 2**70


WRONG = {
    "metrics": [b'{"s":"1","v":{"x":1}}', b'{"s":-1,"v":{"x":1}}', b'{"v":[1]}',
                b'{"s":1}', b'{"v":{"x":"1"}}', b'{"v":{"x":[1]}}', b'{"ts":"1","v":{}}',
                b'{"ts":true,"v":{}}', b'{"t":null,"v":{}}', b'{"v":{},"instance":3}'],
    "events": [b'{"msg":1}', b'{"level":["info"],"msg":"m"}', b'{"level":"loud","msg":"m"}',
               b'{"ts":"now","msg":"m"}', b'{"level":"info"}'],
    "alerts": [b'{"alert":5,"state":"ok"}', b'{"alert":"a","state":"on"}',
               b'{"alert":"a","state":"ok","value":[1]}', b'{"alert":"a"}'],
    "files": [b'{"name":1}', b'{"name":"a","size":-1}', b'{"name":"a","category":"x"}',
              b'{"name":"a","metadata":{"k":{"n":1}}}', b'{"name":"a","metadata":[1]}'],
}
NOT_JSON = [b'{"x":NaN}', b'{"x":"\\ud800"}', b'{"x":1e999}',
            b'{"x":1e999,"n":1234567890123456789}',  # 19 digits: the standard library's turn
            b'{"x":"\\ud800","n":12345678901234567890}', b'\xff\xfe', b"[" * 100_000,
            b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1)]


@pytest.mark.parametrize("kind", list(WRONG))
def test_records_of_the_wrong_shape_are_bad_lines(tmp_path, kind):
    path = tmp_path / f"{kind}.jsonl"
    good = {"metrics": b'{"s":1,"t":1.5,"ts":2,"v":{"x":true,"y":"NaN"}}',
            "events": b'{"ts":1,"level":"error","msg":"m","instance":"/a"}',
            "alerts": b'{"ts":1,"alert":"a","state":"critical","value":"text"}',
            "files": b'{"ts":1,"name":"a","category":"input","size":0,"source":null,'
                     b'"metadata":{"k":1.5}}'}[kind]
    lines = [good, *WRONG[kind], *NOT_JSON, good]
    path.write_bytes(b"\n".join(lines) + b"\n")
    records, bad = read_all(path)
    assert len(records) == 2 and [b.line for b in bad] == list(range(2, len(lines)))
    assert all("\n" not in str(b) and len(str(b)) < len(str(path)) + 200 for b in bad)


def test_mixed_times_over_several_writers_sort_and_summarise(tmp_path):
    meta = tmp_path
    (meta / "metrics.jsonl").write_bytes(b'{"ts":2,"s":1,"v":{"x":2}}\n'
                                         b'{"ts":"late","s":9,"v":{"x":9}}\n')
    (meta / "metrics.w0.jsonl").write_bytes(b'{"ts":1.5,"s":0,"v":{"x":1}}\n{"v":{"x":0}}\n')
    (meta / "events.jsonl").write_bytes(b'{"ts":3,"msg":"c"}\n{"ts":[3],"msg":"bad"}\n')
    (meta / "events.w0.jsonl").write_bytes(b'{"ts":1,"msg":"a"}\n{"msg":"no time"}\n')
    stats, bad = metric_summary(meta)
    assert stats["x"] == {"last": 2, "count": 3, "min": 0, "max": 2, "last_step": 1,
                          "nonfinite": 0}
    assert [b.line for b in bad] == [2]
    events, bad = event_summary(meta)
    assert [e["msg"] for e in events["last"]] == ["no time", "a", "c"]
    assert RecentValues(meta, "x").update() == [0.0, 1.0, 2.0]


def test_an_unreadable_series_is_reported_once_not_at_every_poll(tmp_path):
    os.mkfifo(tmp_path / "metrics.jsonl")
    (tmp_path / "events.jsonl").mkdir()
    os.symlink("/dev/zero", tmp_path / "alerts.jsonl")
    os.symlink("metrics.w0.jsonl", tmp_path / "metrics.w0.jsonl")
    tail = RunTail(tmp_path)
    reasons = sorted(str(b).split(": ", 1)[1] for b in tail.poll().bad)
    link = "cannot read: it is a symbolic link (runyard never writes one there)"
    assert reasons == ["cannot read: it is a FIFO, not a regular file",
                       "cannot read: it is a directory, not a regular file", link, link]
    for _ in range(3):
        assert tail.poll().bad == []
    assert len(tail.bad) == 4
    (tmp_path / "events.jsonl").rmdir()
    (tmp_path / "events.jsonl").write_bytes(b'{"msg":"back"}\n')
    assert [e["msg"] for e in tail.poll().events] == ["back"]


def test_an_output_log_that_is_a_fifo_or_a_link_is_never_waited_on(tmp_path):
    os.mkfifo(tmp_path / "output.log")
    os.symlink("/dev/zero", tmp_path / "w0.log")
    for name, reason in (("output.log", "is a FIFO"), ("w0.log", "is a symbolic link")):
        tail = TextTail(tmp_path / name)
        assert tail.read_new() == []
        assert reason in tail.error


def test_a_file_of_bad_lines_costs_a_count_not_a_list(tmp_path):
    """Half a million bad lines ("1\\n" each): a bounded list of them and a count, in
    memory that does not grow with the file."""
    import tracemalloc

    from runyard.engine.jsonl import MAX_BAD_LISTED, read_all

    path = tmp_path / "metrics.jsonl"
    with open(path, "wb") as f:
        for _ in range(5):
            f.write(b"1\n" * 100_000)
    tracemalloc.start()
    records, bad = read_all(path)
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert records == []
    assert len(bad) == MAX_BAD_LISTED + 1
    assert bad[-1].reason == f"{500_000 - MAX_BAD_LISTED} more bad lines up to here, not listed"
    assert peak < 16 * 2**20, peak  # the file is 1 MB; a BadLine each was ~90 MB
