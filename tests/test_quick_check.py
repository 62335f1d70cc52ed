"""The quick check of a record's fields never passes what the full check refuses."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.engine.attrs_schema import EXIT, FIELDS, LOCK
from runyard.engine.shapes import WrongShape, check_fields, quick_check

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | st.sampled_from(["/", "/a", "completed", "1m8mvqj0k4dy2f", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=3),
    max_leaves=6)


class Text(str):
    """A str subclass: the full check takes it, the quick one sends it there."""


# A value each field accepts, by what it wants
VALID = {"a string": "x", "a string starting '/'": "/a", "a list of strings": ["t"],
         "a positive number": 2.5, "a whole number >= 0": 3, "an object or null": {},
         "a string or null": None, "a finite number": 1.5, "a whole number or null": 0,
         "an object": {}, "a run id": "1m8mvqj0k4dy2f"}


def valid(kind):
    return VALID.get(kind.what, "completed")  # one_of(...): exit.status


def records(fields):
    """A record that check_fields passes, with any of its fields left out and at most
    one given an arbitrary value."""
    names = list(fields)
    return st.tuples(st.sets(st.sampled_from(names)), st.sampled_from([*names, "other"]),
                     st.none() | values | st.builds(Text, st.text(max_size=3))).map(
        lambda drawn: {**{n: valid(fields[n][0]) for n in names if n not in drawn[0]},
                       **({} if drawn[2] is None else {drawn[1]: drawn[2]})})


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_quick_check_passes_only_what_check_fields_passes(data):
    for fields in (FIELDS, LOCK, EXIT):
        record = data.draw(records(fields))
        try:
            check_fields(record, fields)
            full = True
        except WrongShape:
            full = False
        assert quick_check(fields)(record) in ((True, False) if full else (False,)), record


def test_quick_check_takes_a_typical_record_whole():
    for fields in (FIELDS, LOCK, EXIT):  # the records drawn above start from these
        assert quick_check(fields)({n: valid(kind) for n, (kind, _req) in fields.items()})
    record = {"id": "1m8mvqj0k4dy2f", "name": "a", "folder": "/x", "tags": ["t"],
              "timeout": 60.0, "attempt": 1, "lock": None, "exit": {"status": "completed"},
              "metadata": {"lr": 0.1}, "schema": 1}
    assert quick_check(FIELDS)(record)
    assert not quick_check(FIELDS)({**record, "tags": ["t", 1]})
    assert not quick_check(LOCK)({"host": "h", "pid": 1})  # pid_started is required
    assert quick_check(LOCK)({"host": "h", "pid": 1, "pid_started": 2.5})


# attrs.json as the engine writes it for a run it started, with every field checked
TYPICAL = {"schema": 1, "id": "1m8mvqj0k4dy2f", "name": "a", "folder": "/x", "tags": ["t"],
           "metadata": {"lr": 0.1, "n": 3, "ok": True, "m": "x"}, "description": "",
           "timeout": 60.0, "host": "h", "user": "u", "created": "2026-11-22T05:04:55Z",
           "started": "2026-11-22T05:04:55Z", "ended": "2026-11-22T06:04:55Z", "attempt": 1,
           "kind": "module", "scheduler": {"scheduler": "slurm", "job_id": "7", "n": 2},
           "lock": {"host": "h", "pid": 1, "pid_started": 2.5, "pid_ticks": 3},
           "exit": {"status": "completed", "time": "2026-11-22T06:04:55Z", "error": None,
                    "code": 0},
           "progress": {"pending": 0, "done": 4}}
NESTED = {"lock": ["host", "pid", "pid_started", "pid_ticks"],
          "exit": ["status", "time", "error", "code"], "metadata": ["lr", "n", "ok", "new"],
          "scheduler": ["job_id", "n", "new"], "progress": ["done", "new"]}
DROP = object()


def attrs_records():
    """TYPICAL with any fields left out, one field given an arbitrary value (or a
    flow), and one field of a nested object changed or left out."""
    edges = st.sampled_from([math.nan, math.inf, -math.inf, True, False, -1, 0, 2**70, 1.5])
    anything = st.none() | values | edges | st.builds(Text, st.text(max_size=3)) | \
        st.just(DROP)
    return st.tuples(st.sets(st.sampled_from(list(TYPICAL))),
                     st.sampled_from([*TYPICAL, "flow", "other"]), anything,
                     st.sampled_from(list(NESTED)), st.data(), anything).map(_damaged)


def _damaged(drawn):
    dropped, name, value, nested, data, inner = drawn
    record = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TYPICAL.items()
              if k not in dropped}
    if isinstance(record.get(nested), dict):
        key = data.draw(st.sampled_from(NESTED[nested]))
        if inner is DROP:
            record[nested].pop(key, None)
        else:
            record[nested][key] = inner
    if value is DROP:
        record.pop(name, None)
    elif value is not None or name != "other":
        record[name] = value
    return record


@settings(max_examples=1500, deadline=None)
@given(record=attrs_records())
def test_the_quick_attrs_check_passes_only_what_the_full_check_passes(record):
    from runyard.engine.attrs_schema import attrs_ok, check_attrs_fully

    if attrs_ok(record):
        check_attrs_fully(record)  # raises WrongShape if the quick check let it through


def test_the_quick_attrs_check_takes_what_runyard_writes(root):
    """Else every listing would take the slow way (issue 11: ls --json's time)."""
    from runyard.engine import finalize_run, init_run_meta, make_run, start_run
    from runyard.engine.attrs_schema import attrs_ok
    from runyard.engine.meta import read_attrs

    assert attrs_ok(TYPICAL)
    paths = make_run(root)
    init_run_meta(paths, name="a", folder="/x", tags=["t"], metadata={"lr": 0.1, "ok": True})
    assert attrs_ok(read_attrs(paths.meta_dir))
    start_run(paths)
    assert attrs_ok(read_attrs(paths.meta_dir))
    finalize_run(paths, "failed")
    assert attrs_ok(read_attrs(paths.meta_dir))
    assert not attrs_ok({**TYPICAL, "flow": None, "tags": ["t", 1]})


EDGES = [None, True, False, 0, -1, 1, 2**70, -(2**70), 1.5, -1.5, 0.0, math.nan, math.inf,
         -math.inf, "", "x", "/x", "completed", "1m8mvqj0k4dy2f", Text("x"), Text("/x"),
         Text("completed"), [], ["t"], ["t", 1], [Text("t")], ("t",), {}, {"a": 1},
         {"a": None}, {"a": math.nan}, {"a": [1]}, {"a": -1}, {"a": True}, DROP]


def test_the_quick_attrs_check_passes_no_single_wrong_field():
    """Each field of TYPICAL, and each field of its nested objects, given each of
    EDGES in turn: what the quick check passes, the full check passes."""
    from runyard.engine.attrs_schema import attrs_ok, check_attrs_fully

    def changed(record, key, value):
        if value is DROP:
            record.pop(key, None)
        else:
            record[key] = value
        return record

    cases = [changed(dict(TYPICAL), name, value)
             for name in [*TYPICAL, "flow"] for value in EDGES]
    cases += [{**TYPICAL, nested: changed(dict(TYPICAL[nested]), key, value)}
              for nested, keys in NESTED.items() for key in keys for value in EDGES]
    def fully_passes(record) -> bool:
        try:
            check_attrs_fully(record)
        except WrongShape:
            return False
        return True

    full = [record for record in cases if fully_passes(record)]
    quick = [record for record in cases if attrs_ok(record)]
    assert all(record in full for record in quick)
    assert len(quick) >= len(full) * 0.8, (len(quick), len(full))  # most good ones
