"""One reader per series file (engine/series_feed.py): followers of one file read each
appended byte once between them, on any thread, and each gets every record once, in
order, whoever read it."""

import gc
import os
import threading

from read_count import ReadCounter

from runyard.engine import series_feed
from runyard.engine.jsonl import append_records
from runyard.engine.series import encode_record, metric_record
from runyard.engine.series_feed import Follower
from runyard.engine.tail import RecentValues, RunTail


def points(path, start: int, count: int) -> None:
    """Appended as a writer does, in one write (append_records would read the file's
    last byte first, to end a torn line: a read, counted)."""
    with open(path, "ab") as f:
        f.write(b"".join(encode_record(metric_record(s, s * 0.5, 1000.0 + s, {"x": float(s)}))
                         for s in range(start, start + count)))


def steps(follower: Follower, backlog=None) -> list[int]:
    return [r["s"] for records, _bad in follower.chunks(backlog) for r in records]


def test_two_followers_read_each_appended_byte_once_and_both_get_every_record(
        tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    points(path, 0, 10)
    counter = ReadCounter(monkeypatch)
    one, two = Follower(path), Follower(path)
    assert steps(one) == list(range(10))
    assert steps(two) == list(range(10))
    counter.counting = True
    before = path.stat().st_size
    for start in range(10, 100, 10):
        points(path, start, 10)
        puller, other = (one, two) if start % 20 else (two, one)
        assert steps(puller) == list(range(start, start + 10))
        assert steps(other) == list(range(start, start + 10))  # what the first read
    assert counter.times_read(path, before, path.stat().st_size) == (1, 1)
    assert steps(one) == steps(two) == []


def test_a_late_follower_reads_its_window_then_shares(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    points(path, 0, 1000)
    first = Follower(path)
    assert len(steps(first)) == 1000
    late = Follower(path)
    got = steps(late, backlog=2000)  # the end of the file, as a table cell reads it
    assert 0 < len(got) < 100 and got[-1] == 999 and late.skipped is not None
    counter = ReadCounter(monkeypatch)
    counter.counting = True
    before = path.stat().st_size
    points(path, 1000, 5)
    assert steps(late) == steps(first) == list(range(1000, 1005))
    assert counter.times_read(path, before, path.stat().st_size) == (1, 1)


def test_a_follower_that_does_not_pull_leaves_and_catches_up_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(series_feed, "INBOX_MAX", 4096)
    path = tmp_path / "metrics.jsonl"
    busy, idle = Follower(path), Follower(path)
    assert steps(busy) == steps(idle) == []
    for start in range(0, 2000, 100):  # far more than the idle one may hold
        points(path, start, 100)
        assert steps(busy) == list(range(start, start + 100))
    assert sum(map(len, (r for r, _ in idle.inbox))) < 4096 / 40  # it let go
    assert steps(idle) == list(range(2000))  # from where it had got to: all, once
    points(path, 2000, 3)
    assert steps(busy) == steps(idle) == [2000, 2001, 2002]  # and back in the feed


def test_followers_on_two_threads_each_get_every_record_once(tmp_path):
    path = tmp_path / "metrics.jsonl"
    total = 3000
    done = threading.Event()
    got: dict[str, list] = {"a": [], "b": []}

    def follow(name: str) -> None:
        follower = Follower(path)
        while True:
            finished = done.is_set()
            got[name] += steps(follower)
            if finished:
                return

    threads = [threading.Thread(target=follow, args=(n,)) for n in got]
    for thread in threads:
        thread.start()
    for start in range(0, total, 10):
        points(path, start, 10)
    done.set()
    for thread in threads:
        thread.join(60)
    assert got["a"] == got["b"] == list(range(total))


def test_a_feed_is_gone_with_its_last_follower(tmp_path):
    path = tmp_path / "metrics.jsonl"
    points(path, 0, 3)
    one, two = Follower(path), Follower(path)
    assert one.feed is two.feed
    steps(one), steps(two)
    del one
    assert series_feed._feeds  # two still follows it
    del two
    gc.collect()
    assert not [key for key in series_feed._feeds if key[0] == str(path)]


def test_a_cell_and_a_detail_tail_share_the_run_files(tmp_path, monkeypatch):
    meta = tmp_path / "0000000000000a.meta"
    meta.mkdir()
    points(meta / "metrics.jsonl", 0, 50)
    append_records(meta / "events.jsonl", [{"ts": 1.0, "msg": "hello"}])
    cell, tail = RecentValues(meta, "x"), RunTail(meta, first_backlog=64 * 1024)
    assert cell.update()[-1] == 49.0 and tail.poll().metrics
    counter = ReadCounter(monkeypatch)
    counter.counting = True
    before = (meta / "metrics.jsonl").stat().st_size
    for start in range(50, 90, 10):
        points(meta / "metrics.jsonl", start, 10)
        assert cell.update()[-1] == start + 9.0
        assert tail.poll().metrics and tail.metrics["x"].last == start + 9.0
    assert tail.metrics["x"].count == 90 and len(tail.events) == 1
    assert counter.times_read(meta / "metrics.jsonl", before,
                              (meta / "metrics.jsonl").stat().st_size) == (1, 1)


def test_critical_alerts_read_incrementally_agree_with_the_summary(tmp_path):
    import random

    from runyard.engine.summary import alert_states
    from runyard.engine.tail import CriticalAlerts

    rnd = random.Random(12)
    for trial in range(30):
        meta = tmp_path / f"{trial:014d}.meta"
        meta.mkdir()
        cell = CriticalAlerts(meta)
        files = rnd.sample(["alerts.jsonl", "alerts.w0.jsonl", "alerts.supervisor.jsonl"],
                           rnd.randint(1, 3))
        for _round in range(4):
            for name in files:
                records = []
                for _ in range(rnd.randint(0, 4)):
                    record = {"alert": rnd.choice("abc"),
                              "state": rnd.choice(["ok", "critical"])}
                    if rnd.random() < 0.9:  # a record without a time counts as 0
                        record["ts"] = rnd.choice([1.0, 2.0, 3.0, float(rnd.randint(0, 9))])
                    records.append(record)
                append_records(meta / name, records)
            states, _bad = alert_states(meta)
            expected = {s["name"] for s in states if s["state"] == "critical"}
            assert set(cell.update()) == expected, (trial, files)


def test_a_file_replaced_under_a_feed_is_read_once_by_a_new_follower(tmp_path):
    # A feed still placed in the old file (a follower from before, that has not pulled
    # since): the new follower caught up in the new file, then got it again from the
    # feed, which found the file replaced and read it from its start (the snapshot
    # sample, made again at the same path for each test, showed every value twice).
    path = tmp_path / "metrics.jsonl"
    points(path, 0, 50)
    old = Follower(path)
    assert steps(old) == list(range(50))
    fresh = tmp_path / "new.jsonl"
    points(fresh, 100, 50)
    keep = tmp_path / "keep"  # the old file stays (its inode is not taken again)
    os.link(path, keep)
    os.replace(fresh, path)
    new = Follower(path)
    assert steps(new, backlog=64 * 1024) == list(range(100, 150))
    assert steps(old) == list(range(100, 150))  # a replaced file is read again
    points(path, 150, 2)
    assert steps(new) == steps(old) == [150, 151]


def test_a_first_read_refused_keeps_the_backlog_for_the_read_that_succeeds(tmp_path):
    """metrics.jsonl is a FIFO (another user's doing), then a regular file of 5,000
    points: the tail then reads its last 16 KB and leaves the rest to the history,
    not the whole file line by line (the refused read used up the first read)."""
    meta = tmp_path / "r.meta"
    meta.mkdir()
    os.mkfifo(meta / "metrics.jsonl")
    tail = RunTail(meta, first_backlog=16 << 10)
    update = tail.poll()
    assert update.bad and not tail.metrics  # refused, said so
    (meta / "metrics.jsonl").unlink()
    append_records(meta / "metrics.jsonl", [metric_record(s, 0.1, 1.0, {"loss": s / 7})
                                            for s in range(5000)])
    tail.poll()
    assert meta / "metrics.jsonl" in tail.skipped  # the start left to the history
    assert tail.metrics["loss"].count < 1000  # the tail alone
    assert tail.metrics["loss"].last == 4999 / 7
