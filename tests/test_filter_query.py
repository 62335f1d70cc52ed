"""The runs filter language: what a query matches, and that bad ones say why."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runyard.app.filter_query import FilterError, Subject, evaluate, parse
from runyard.engine.store import RunInfo

ROOT = Path("/nonexistent")


def run(run_id, name, status="completed", tags=(), folder="/", metadata=None,
        loss=None, critical=()):
    info = RunInfo(run_id, ROOT, {"name": name, "tags": list(tags), "folder": folder,
                                  "metadata": metadata or {}}, status)
    return Subject(info, {} if loss is None else {"loss": loss}, list(critical))


RUNS = [
    run("1a", "alpha", "running", ["gpu"], "/sweep", {"lr": 0.01, "opt": "Adam"}, 0.5),
    run("1b", "beta", "failed", ["cpu"], "/sweep", {"lr": "1e-4", "seed": 3}, 0.05,
        critical=["nan-loss"]),
    run("1c", "gamma", "completed", ["gpu", "big"], "/other", {"lr": True}, None),
    run("1d", "delta exp:1", "lost", [], "/", {"opt": "sgd", "lr": "fast"}, 0.09),
]


def shown(text: str) -> list[str]:
    query = parse(text)
    return [s.info.name for s in RUNS if evaluate(query, s)]


@pytest.mark.parametrize("text, names", [
    ("", ["alpha", "beta", "gamma", "delta exp:1"]),
    ("tag:gpu", ["alpha", "gamma"]),
    ("tag:gpu status:running", ["alpha"]),  # AND between terms
    ("status:failed OR status:lost", ["beta", "delta exp:1"]),
    ("status:failed | status:lost", ["beta", "delta exp:1"]),
    ("status:failed|status:lost", ["beta", "delta exp:1"]),
    ("tag:gpu status:running OR status:lost", ["alpha", "delta exp:1"]),  # OR looser
    ("-tag:gpu", ["beta", "delta exp:1"]),
    ("NOT tag:gpu", ["beta", "delta exp:1"]),
    ("NOT NOT tag:gpu", ["alpha", "gamma"]),
    ("- tag:gpu", ["beta", "delta exp:1"]),
    ("meta:lr>=1e-3", ["alpha"]),  # "1e-4" read as a number; True and "fast" are not
    ("meta:lr<1e-3", ["beta"]),
    ("meta:lr<=0.01", ["alpha", "beta"]),
    ("meta:lr>0.01", []),
    ("meta:lr=0.0001", ["beta"]),  # numbers as numbers: "1e-4" == 0.0001
    ("meta:lr!=0.01", ["beta", "gamma", "delta exp:1"]),
    ("meta:opt=adam", ["alpha"]),  # text compared as text, case aside
    ("meta:opt!=adam", ["delta exp:1"]),  # a run without the key does not match
    ("meta:opt", ["alpha", "delta exp:1"]),
    ("has:seed", ["beta"]),
    ("metric:loss<0.1", ["beta", "delta exp:1"]),  # gamma's last loss is unknown
    ("metric:loss>=0.5", ["alpha"]),
    ("alert:critical", ["beta"]),
    ("-alert:critical", ["alpha", "gamma", "delta exp:1"]),
    ('"exp:1"', ["delta exp:1"]),  # quoted: a word, not a field
    ('name:"delta exp"', ["delta exp:1"]),
    ("folder:/sweep -status:failed", ["alpha"]),
    ("or", []),  # keywords only in capitals: a word like any other
    ("sweep", ["alpha", "beta"]),  # a word looks in names, folders and tags
    ("id:1c", ["gamma"]),
])
def test_a_query_shows_the_runs_it_describes(text, names):
    assert shown(text) == names


@pytest.mark.parametrize("text, reason", [
    ("status:bogus", "unknown status 'bogus'"),
    ("foo:bar", "unknown field 'foo'"),
    ("meta:lr>", "needs a value after '>'"),
    ("meta:>3", "needs a key"),
    ("meta:lr>fast", "'fast' is not a number"),
    ("metric:loss", "needs a comparison"),
    ("metric:loss=low", "not a number"),
    ("tag:", "needs a value"),
    ("has:", "needs a value"),
    ("alert:mild", "alert: takes critical"),
    ("OR tag:gpu", "needs a term on each side"),
    ("tag:gpu OR", "needs a term on each side"),
    ("tag:gpu | | status:lost", "needs a term on each side"),
    ("tag:gpu NOT", "NOT needs a term after it"),
    ("tag:gpu -", "NOT needs a term after it"),
    ("NOT OR tag:gpu", "needs a term on each side"),
    ('name:"open', "not closed"),
])
def test_a_query_that_cannot_be_meant_says_why_on_one_line(text, reason):
    with pytest.raises(FilterError) as raised:
        parse(text)
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)


# Text built from the language's own pieces, so that most draws get past the tokenizer
PIECES = st.sampled_from(["OR", "|", "NOT", "-", "status:", "running", "bogus", "meta:",
                          "metric:", "has:", "alert:", "critical", "lr", ">", ">=", "<",
                          "!=", "=", "1e-3", "0.01", "nan", "inf", '"', ":", " ", "tag:",
                          "gpu", "foo:", "x", "-tag:gpu", "folder:/", "id:"])
FILTER_TEXT = st.one_of(st.text(), st.lists(PIECES, max_size=12).map("".join),
                        st.lists(PIECES, max_size=12).map(" ".join))


@settings(max_examples=400, deadline=None)
@given(FILTER_TEXT)
def test_any_text_parses_or_raises_filter_error_only(text):
    try:
        query = parse(text)
    except FilterError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for subject in RUNS:
        assert evaluate(query, subject) in (True, False)


TERMS = st.sampled_from(["tag:gpu", "status:failed", "meta:lr>=1e-3", "has:seed",
                         "metric:loss<0.1", "alert:critical", "sweep", "meta:opt=adam",
                         "folder:/sweep", "id:1a"])


def matched(text: str) -> set[str]:
    query = parse(text)
    return {s.info.id for s in RUNS if evaluate(query, s)}


ALL = {s.info.id for s in RUNS}


@settings(max_examples=200, deadline=None)
@given(TERMS, TERMS, TERMS)
def test_not_and_or_obey_the_laws_of_sets(a, b, c):
    assert matched(f"NOT {a}") == ALL - matched(a)
    assert matched(f"-{a}") == matched(f"NOT {a}")
    assert matched(f"NOT NOT {a}") == matched(a)
    assert matched(f"{a} OR {b}") == matched(a) | matched(b)
    assert matched(f"{a} {b}") == matched(a) & matched(b)
    assert matched(f"{a} | {b}") == matched(f"{b} OR {a}")
    # OR binds looser than AND: a b OR c == (a AND b) OR c
    assert matched(f"{a} {b} OR {c}") == (matched(a) & matched(b)) | matched(c)
    # De Morgan, as far as a language without brackets can say it
    assert ALL - (matched(a) | matched(b)) == matched(f"NOT {a} NOT {b}")


@pytest.mark.parametrize("metadata", [["lr"], "lr", 5, None, {"lr": [1]}, {"lr": {"a": 1}},
                                      {"lr": float("nan")}, {"lr": 10 ** 400}])
def test_metadata_of_any_shape_matches_no_comparison_and_raises_nothing(metadata):
    info = RunInfo("1z", ROOT, {"name": "odd", "metadata": metadata}, "completed")
    for text in ("meta:lr>0", "meta:lr<=0", "meta:lr=1"):
        assert not evaluate(parse(text), Subject(info))
    assert evaluate(parse("has:lr"), Subject(info)) == isinstance(metadata, dict)
