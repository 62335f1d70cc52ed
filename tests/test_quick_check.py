"""The quick check of a record's fields never passes what the full check refuses."""

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
         "an object": {}}


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
