"""Series files: whole lines, torn last lines, corrupt lines reported with their number.

The line mechanics are tested on ``lines.jsonl``, a name that is no series of a
run, so that any JSON object is a record; the shapes of metrics, events, alerts
and files records are tested in test_hostile_series.py."""

import json
import math

from runyard.engine.jsonl import JsonlWriter, SeriesReader, append_records, read_all
from runyard.engine.series import decode_value, metric_record


def test_torn_last_line_is_left_until_complete(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b'{"s":0}\n{"s":1}\n{"s":2,"v"')
    reader = SeriesReader(path)
    records, bad = reader.read_new()
    assert records == [{"s": 0}, {"s": 1}]
    assert bad == []
    assert reader.read_new() == ([], [])  # still torn: nothing new, nothing bad
    with open(path, "ab") as f:
        f.write(b':{"x":1}}\n{"s":3}\n')
    records, bad = reader.read_new()
    assert records == [{"s": 2, "v": {"x": 1}}, {"s": 3}]
    assert bad == []
    assert reader.read_new() == ([], [])  # each record comes once


def test_garbage_line_in_the_middle_is_reported_with_its_number(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b'{"s":0}\n{"s":1}\n\x00\x00garbage{\n[1,2]\n{"s":4}\n')
    records, bad = read_all(path)
    assert records == [{"s": 0}, {"s": 1}, {"s": 4}]
    assert [(b.line, b.path) for b in bad] == [(3, str(path)), (4, str(path))]
    assert "not JSON" in bad[0].reason
    assert bad[1].reason == "not a JSON object"
    assert str(bad[0]).startswith(f"{path}:3: ")


def test_line_numbers_carry_across_incremental_reads(tmp_path):
    path = tmp_path / "lines.jsonl"
    reader = SeriesReader(path)
    assert reader.read_new() == ([], [])  # no file yet
    append_records(path, [{"a": 1}, {"a": 2}])
    assert reader.read_new()[0] == [{"a": 1}, {"a": 2}]
    with open(path, "ab") as f:
        f.write(b"oops\n")
    append_records(path, [{"a": 4}])
    records, bad = reader.read_new()
    assert records == [{"a": 4}]
    assert [b.line for b in bad] == [3]


def test_a_new_writer_ends_a_torn_fragment_first(tmp_path):
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b'{"s":0}\n{"s":1,"v":{"x"')  # a writer died mid-line
    writer = JsonlWriter(path)
    writer.append([{"s": 2}])
    writer.close()
    records, bad = read_all(path)
    assert records == [{"s": 0}, {"s": 2}]
    assert [b.line for b in bad] == [2]  # the fragment, once, never glued to s=2


def test_reader_starts_again_when_a_file_is_replaced(tmp_path):
    path = tmp_path / "lines.jsonl"
    append_records(path, [{"a": 1}, {"a": 2}, {"a": 3}])
    reader = SeriesReader(path)
    reader.read_new()
    path.write_bytes(b'{"b":1}\n')
    assert reader.read_new() == ([{"b": 1}], [])


def test_non_finite_metric_values_round_trip(tmp_path):
    path = tmp_path / "metrics.jsonl"
    append_records(path, [metric_record(0, 0.0, 1.0, {"a": math.nan, "b": math.inf,
                                                      "c": -math.inf, "d": 1.5, "e": True})])
    line = path.read_text()
    json.loads(line)  # strict JSON: no bare NaN tokens
    assert "NaN" not in line.replace('"NaN"', "")
    values = {k: decode_value(v) for k, v in read_all(path)[0][0]["v"].items()}
    assert math.isnan(values["a"])
    assert values["b"] == math.inf and values["c"] == -math.inf
    assert values["d"] == 1.5 and values["e"] is True


def test_unicode_and_newlines_in_a_message_stay_on_one_line(tmp_path):
    path = tmp_path / "events.jsonl"
    append_records(path, [{"msg": "línea\nsecond ✓"}])
    assert path.read_text().count("\n") == 1
    assert read_all(path)[0] == [{"msg": "línea\nsecond ✓"}]
