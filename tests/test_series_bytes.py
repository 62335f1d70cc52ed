"""The bytes a run's series are written in (docs/format.md) do not change when their
encoding moves: every line below is what the tracking writer wrote before engine/series.py
became the one module that encodes them. Readers of older versions read these files,
and ``runyard sync`` copies them by byte offsets."""

import math

from runyard.engine import Run
from runyard.engine.layout import RunPaths
from runyard.engine.series import encode_point
from runyard.engine.writer import ALERT, EVENT, BackgroundWriter

from conftest import read_series

VALUES = {"loss": 0.5, "big": 2**70, "nan": math.nan, "inf": math.inf, "ninf": -math.inf,
          "flag": True, "small": 1e-05, "tiny": 2.5e-07, "huge": 1e300, "neg": -3, "int": 7}
MESSAGE = "h\u00e9llo \u2713 \x1b[31m \U0001d11e \u2028 \"q\" \\ \n"
BIG_VALUES = (b'"loss":0.5,"big":1180591620717411303424,"nan":"NaN","inf":"Infinity",'
              b'"ninf":"-Infinity","flag":true,"small":1e-05,"tiny":2.5e-07,"huge":1e+300,')
HELLO = (b'{"ts":1795237501.3,"level":"info","msg":"h\xc3\xa9llo \xe2\x9c\x93 \\u001b[31m '
         b'\xf0\x9d\x84\x9e \xe2\x80\xa8 \\"q\\" \\\\ \\n"}\n')


def test_log_metrics_and_log_event_write_todays_bytes(env_root):
    with Run() as run:
        run.config(disable_resources_metrics=True)
        run.init(name="bytes")
        run.log_metrics(VALUES, step=0, time=0.25, timestamp=1795237501.3)
        run.log_metrics({"loss": 0.25, "nan": math.nan}, step=1, time=0.5,
                        timestamp=1795237501.5)
        run.log_metrics({"loss": 0.125, "small": 1e-05}, step=2, time=0.75,
                        timestamp=1795237501.75)
        run.log_metrics({"big": 2**70}, step=3, time=1, timestamp=1795237502)
        run.log_event(MESSAGE, timestamp=1795237501.3)
        run.log_event("w", timestamp=1795237502, log_level="warning")
    meta = env_root / f"{run.id}.meta"
    assert (meta / "metrics.jsonl").read_bytes() == (
        b"[0,0.25,1795237501.3,{" + BIG_VALUES + b'"neg":-3,"int":7}]\n'
        b'[1,0.5,1795237501.5,{"loss":0.25,"nan":"NaN"}]\n'
        b'[2,0.75,1795237501.75,{"loss":0.125,"small":0.00001}]\n'
        b'[3,1.0,1795237502.0,{"big":1180591620717411303424}]\n')
    assert (meta / "events.jsonl").read_bytes() == \
        HELLO + b'{"ts":1795237502.0,"level":"warning","msg":"w"}\n'
    assert read_series(env_root, run.id, "events.jsonl")[0]["msg"] == MESSAGE


def write_with(paths: RunPaths, points: list, events: list, alerts: list) -> list:
    """Series written by a tracking writer of its own; the errors it reported."""
    errors = []
    writer = BackgroundWriter(paths, queue_size=1000, blocking=True,
                              on_error=lambda what, exc: errors.append((what, exc)),
                              heartbeat_interval=None)
    writer.start()
    for point in points:
        writer.put_line(encode_point(point))
    writer.queue.extend((EVENT, event) for event in events)
    writer.queue.extend((ALERT, alert) for alert in alerts)
    assert writer.flush(30)
    writer.stop()
    return errors


def test_the_writer_writes_todays_bytes(tmp_path):
    paths = RunPaths(tmp_path, "0000000000000a")
    paths.meta_dir.mkdir(parents=True)
    errors = write_with(paths, [
        (0, 0.25, 1795237501.3, VALUES),
        (1, 0.5, 1795237501.5, {"loss": 0.25, "nan": math.nan}, "/data/\u00e4.txt"),
        (2, 0.75, 1795237501.75, {"loss": 0.125}),
    ], [
        {"ts": 1795237501.3, "level": "info", "msg": MESSAGE},
        {"ts": 1795237502, "level": "warning", "msg": "big", "n": 2**70, "small": 1e-05},
        {"ts": 1795237503.25, "level": "error", "msg": "x", "instance": "/data/a.txt"},
    ], [
        {"ts": 1795237504.5, "alert": "loss-high", "state": "critical", "value": 1.5},
        {"ts": 1795237506.5, "alert": "nanny", "state": "ok", "value": math.nan},
        {"ts": 1795237507.5, "alert": "\u00fcn\u00ef", "state": "ok", "value": "m \u2713 1e-05"},
    ])
    assert errors == []
    assert paths.meta("metrics.jsonl").read_bytes() == (
        b"[0,0.25,1795237501.3,{" + BIG_VALUES + b'"neg":-3,"int":7}]\n'
        b'[1,0.5,1795237501.5,{"loss":0.25,"nan":"NaN"},"/data/\xc3\xa4.txt"]\n'
        b'[2,0.75,1795237501.75,{"loss":0.125}]\n')
    assert paths.meta("events.jsonl").read_bytes() == HELLO + (
        b'{"ts":1795237502,"level":"warning","msg":"big","n":1180591620717411303424,'
        b'"small":1e-05}\n'
        b'{"ts":1795237503.25,"level":"error","msg":"x","instance":"/data/a.txt"}\n')
    assert paths.meta("alerts.jsonl").read_bytes() == (
        b'{"ts":1795237504.5,"alert":"loss-high","state":"critical","value":1.5}\n'
        b'{"ts":1795237506.5,"alert":"nanny","state":"ok","value":null}\n'
        b'{"ts":1795237507.5,"alert":"\xc3\xbcn\xc3\xaf","state":"ok",'
        b'"value":"m \xe2\x9c\x93 1e-05"}\n')



def test_an_alert_value_beyond_64_bits_is_written_and_loses_no_other_change(tmp_path):
    # A metric alert on a counter ("at most" of values past 2**64): orjson refused the
    # record, the writer thread reported a TypeError and lost that round's remaining
    # alert changes with it.
    paths = RunPaths(tmp_path, "0000000000000a")
    paths.meta_dir.mkdir(parents=True)
    errors = write_with(paths, [], [], [
        {"ts": 1795237505.5, "alert": "counter", "state": "critical", "value": 2**70},
        {"ts": 1795237506.5, "alert": "after", "state": "ok", "value": 1.0},
    ])
    assert errors == []
    assert paths.meta("alerts.jsonl").read_bytes() == (
        b'{"ts":1795237505.5,"alert":"counter","state":"critical",'
        b'"value":1180591620717411303424}\n'
        b'{"ts":1795237506.5,"alert":"after","state":"ok","value":1.0}\n')
