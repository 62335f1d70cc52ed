"""A big run's whole history, drawn from its end first (issue 11): the history read
behind the tail adds up to exactly what one full read finds, squeezed charts keep
their spikes, and the dashboard shows the whole run, not only its last steps."""

import json
import math
import random
import sys

import psutil
from hypothesis import given, settings
from hypothesis import strategies as st
from test_app import SIZE, until

from runyard.app.dashboard import RunyardApp
from runyard.app.messages import OpenRun
from runyard.app.screens.detail import DetailScreen
from runyard.app.widgets.plot import Plot
from runyard.engine import Run
from runyard.engine.history import (
    SPAN,
    Envelope,
    History,
    discard,
    read_all_behind,
    read_all_elsewhere,
    read_behind,
    read_history,
    read_skipped,
    start_reader,
)
from runyard.engine.jsonl import read_all
from runyard.engine.tail import RunTail

LINES = [
    b'[0,0.1,1700000000.0,{"loss":1.5,"acc":0.5}]',
    b'{"s":1,"t":0.2,"ts":1700000000.1,"v":{"loss":"NaN","acc":0.25}}',  # older form
    b'[2,0.3,1700000000.2,{"loss":"Infinity"}]',
    b'[3,0.4,1700000000.3,{"loss":100000000000000000000000000}]',  # beyond 64 bits
    b'not json at all',
    b'[4,0.5,1700000000.4,{"loss":"high"}]',  # a string that is no number: bad
    b'[5,0.6,1700000000.5,{"loss":-3,"acc":true}]',
    b'[-1,0.7,1700000000.6,{"loss":1}]',  # a negative step: bad
    b'[7,0.8,1700000000.7,{"loss":2.5},"inst/a"]',
    b'[8,0.8,1700000000.7,{"loss":2.5},7]',  # an instance that is no string: bad
    b'',
]


def full_read(path) -> dict:
    """Per metric: (count, non-finite, min, max) over one plain read of the file."""
    records, _bad = read_all(path, "metrics")
    found: dict = {}
    for record in records:
        for name, value in record["v"].items():
            count, nonfinite, low, high = found.get(name, (0, 0, None, None))
            if isinstance(value, float) and not math.isfinite(value):
                found[name] = (count + 1, nonfinite + 1, low, high)
                continue
            low = value if low is None else min(low, value)
            high = value if high is None else max(high, value)
            found[name] = (count + 1, nonfinite, low, high)
    return found


def tail_then_history(meta, backlog: int) -> dict:
    """The same, as the dashboard reads it: the file's end, then what it skipped."""
    tail = RunTail(meta, first_backlog=backlog)
    tail.poll()
    history = History()
    for path, (identity, end) in tail.skipped.items():
        read_history(path, identity, end, history)
    found = {}
    for name in set(tail.metrics) | set(history.summaries):
        stats = tail.metrics.get(name)
        earlier = history.summaries.get(name)
        lows = [v for v in (stats and stats.min, earlier and earlier.min) if v is not None]
        highs = [v for v in (stats and stats.max, earlier and earlier.max) if v is not None]
        found[name] = ((stats.count if stats else 0) + (earlier.count if earlier else 0),
                       (stats.nonfinite if stats else 0) +
                       (earlier.nonfinite if earlier else 0),
                       min(lows) if lows else None, max(highs) if highs else None)
    return found


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=400),
       backlog=st.integers(min_value=1, max_value=20_000))
def test_the_tail_and_the_history_behind_it_are_the_whole_file(tmp_path_factory, lines,
                                                                backlog):
    meta = tmp_path_factory.mktemp("run") / "x.meta"
    meta.mkdir()
    path = meta / "metrics.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert tail_then_history(meta, backlog) == full_read(path)


def test_a_squeezed_history_keeps_its_spike_and_stays_small():
    envelope = Envelope()
    steps = list(range(100_000))
    values = [0.0] * 100_000
    values[54_321] = 1000.0
    envelope.extend(steps[:50_000], [s / 10 for s in steps[:50_000]], values[:50_000])
    for step in steps[50_000:]:  # one at a time, as a live run adds them
        envelope.add(step, step / 10, values[step])
    assert envelope.points == 100_000
    assert len(envelope.buckets) < 2 * SPAN
    assert sum(b.count for b in envelope.buckets) == 100_000
    spike = [b for b in envelope.buckets if b.hi == 1000.0]
    assert len(spike) == 1 and spike[0].step_lo <= 54_321 <= spike[0].step_hi
    assert spike[0].time_lo <= 5432.1 <= spike[0].time_hi
    spans = envelope.spans(by_time=False)
    assert spans[0][0] == 0 and spans[-1][0] == 99_999  # the first step to the last


async def test_a_big_run_shows_its_whole_history(app_root):
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="long")
    rng = random.Random(7)
    for step in range(30_000):
        # the lowest loss of all comes early, long before the last 2,000 steps
        loss = -50.0 if step == 100 else 1.0 + rng.random()
        run.log_metrics({"loss": loss, "acc": rng.random()}, step=step)
    run.close()
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: list(app.snapshot.view) == [run.id])
        app.post_message(OpenRun(run.id))
        assert await until(pilot, lambda: isinstance(app.screen, DetailScreen) and
                           app.screen.query(Plot))
        screen = app.screen
        chart = screen.query(Plot).first()
        assert await until(pilot, lambda: chart.title == "loss")
        assert screen.tail.skipped  # drawn from the end first
        assert await until(pilot, lambda: screen.reading.history is not None, 30)
        assert await until(pilot, lambda: "min -50" in chart.foot_text().plain)  # not the tail's
        status = str(screen.query_one("#metrics-grid .ws-status").render())
        assert "loading history" not in status
        text = chart.canvas.render().plain
        assert text.splitlines()[-1].split()[0] == "0"  # the x axis starts at step 0
        # opened again: what was read is kept, nothing is read twice
        await pilot.press("escape")
        assert await until(pilot, lambda: not isinstance(app.screen, DetailScreen))
        reading = screen.reading
        app.post_message(OpenRun(run.id))
        assert await until(pilot, lambda: isinstance(app.screen, DetailScreen) and
                           app.screen.query(Plot))
        assert app.screen.reading is reading and reading.history is not None
        chart = app.screen.query(Plot).first()
        assert await until(pilot, lambda: "min -50" in chart.foot_text().plain)


def test_history_of_a_replaced_file_is_not_read(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps([0, 0.1, 1.0, {"loss": 1}]) + "\n")
    history = History()
    read_history(path, (0, 0), path.stat().st_size, history)  # another file's identity
    assert history.lines == 0


def test_long_fractions_are_no_big_integers():
    """A small float's many fraction digits sent a third of a real run's lines to the
    slow exact decoder; only an integer part of 19 digits or more may need it."""
    from runyard.engine.untrusted import has_long_digits

    assert not has_long_digits(b'[1,0.5,1.0,{"loss":0.00010999999999999999}]')
    assert not has_long_digits(b'{"v":1.0000000000000000000002e-5}')
    assert has_long_digits(b'[1,0.5,1.0,{"count":1180591620717411303424}]')  # 2**70
    assert has_long_digits(b'[18446744073709551616,0.5,1.0,{}]')  # a step of 2**64
    assert has_long_digits(b'{"v":-1180591620717411303424}')
    assert has_long_digits(b'{"v":1e1180591620717411303424}')  # an exponent: exact path


def test_bad_lines_past_the_list_are_counted_not_lost(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"not json\n" * 150 + b'[1,0.1,1.0,{"loss":1}]\n')
    history = History()
    read_history(path, (path.stat().st_dev, path.stat().st_ino), path.stat().st_size,
                 history)
    assert history.lines == 1 and len(history.bad) == 100 and history.unlisted == 50
    assert "50 more bad lines" in history.all_bad()[-1].reason


def skipped_of(*paths) -> dict:
    return {str(p): ((p.stat().st_dev, p.stat().st_ino), p.stat().st_size) for p in paths}


def test_a_child_process_reads_the_same_history(tmp_path):
    """The dashboard reads a big run's history in a child process, on the other core:
    what comes back is what a read in the dashboard's own process finds, bad lines,
    big integers, NaN counts and all, over several files, with progress in bytes."""
    first, second = tmp_path / "metrics.jsonl", tmp_path / "metrics.1.jsonl"
    first.write_bytes(b"\n".join(LINES * 50) + b"\n")
    second.write_bytes(b"".join(b"[%d,0.1,1.0,{\"loss\":%d.5}]\n" % (i, i % 97)
                                for i in range(40_000)))
    skipped = skipped_of(first, second)
    here = History()
    read_skipped(skipped, here)
    seen = []
    before = {p.pid for p in psutil.Process().children()}
    there = read_all_elsewhere([skipped], seen.append)[0]
    assert there is not None and there == here
    assert there.lines > 40_000 and there.bad and there.summaries["loss"].nonfinite
    assert seen and seen == sorted(seen) and seen[-1] == sum(e for _, e in skipped.values())
    assert {p.pid for p in psutil.Process().children()} <= before  # waited for


def test_a_child_that_cannot_run_leaves_the_read_to_the_caller(tmp_path, monkeypatch):
    """No child (an interpreter that fails) is None, and the dashboard reads in its
    own process; a read stopped on the way is None too, and its child is gone."""
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"".join(b"[%d,0.1,1.0,{\"loss\":1.5}]\n" % i for i in range(300_000)))
    assert read_all_elsewhere([skipped_of(path)], stop=lambda: True) is None
    assert not psutil.Process().children()
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert read_all_elsewhere([skipped_of(path)]) is None
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert read_all_elsewhere([skipped_of(path)]) is None
    here = History()
    read_skipped(skipped_of(path), here)
    assert read_behind(skipped_of(path)) == here  # no child: read here instead
    assert read_behind(skipped_of(path), stop=lambda: True) is None


def test_one_child_reads_several_runs_histories_each_its_own(tmp_path):
    """The compare screen's runs are read by one child process, started ahead of the
    request: each run gets the History a read of its own files finds."""
    runs = []
    for n in range(3):
        path = tmp_path / f"r{n}" / "metrics.jsonl"
        path.parent.mkdir()
        path.write_bytes(b"".join(b"[%d,0.1,1.0,{\"m%d\":%d.5}]\n" % (i, n, i * (n + 1))
                                  for i in range(5_000 * (n + 1))))
        runs.append(skipped_of(path))
    here = []
    for skipped in runs:
        here.append(History())
        read_skipped(skipped, here[-1])
    before = {p.pid for p in psutil.Process().children()}
    child = start_reader()
    assert child is not None and child.pid not in before
    seen = []
    there = read_all_elsewhere(runs, seen.append, child=child)
    assert there == here
    assert [sorted(h.envelopes) for h in there] == [["m0"], ["m1"], ["m2"]]
    assert seen[-1] == sum(e for skipped in runs for _, e in skipped.values())
    assert read_all_behind(runs, child_from=1 << 40) == here  # small: read here
    assert {p.pid for p in psutil.Process().children()} <= before  # waited for


def test_a_reader_started_ahead_and_not_needed_ends(tmp_path):
    before = {p.pid for p in psutil.Process().children()}
    child = start_reader()
    discard(child)
    assert child.returncode == 0  # told there is nothing to read: it ended by itself
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"[1,0.1,1.0,{\"loss\":1.5}]\n")
    child = start_reader()
    assert read_all_behind([skipped_of(path)], child_from=1 << 40, child=child)
    assert child.returncode == 0  # under the size for a child: discarded, not leaked
    assert {p.pid for p in psutil.Process().children()} <= before
