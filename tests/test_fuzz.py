"""Fuzzed input: every call records the value or raises a clear UsageError, and the
run and its writer thread stay sound."""

import json
import math
import tempfile
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runyard.engine import Run, UsageError, list_runs
from runyard.engine.jsonl import read_all
from runyard.engine.series import decode_value

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
scalars = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                    st.booleans(), st.text(max_size=5), st.none(),
                    st.lists(st.integers(), max_size=2))


@contextmanager
def fresh_run(**init):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "runs"
        run = Run(root=root)
        run.config(disable_resources_metrics=True)
        run.init(**init)
        yield run, root


def clean(records_path: Path) -> list[dict]:
    records, bad = read_all(records_path)
    assert bad == []
    return records


def same(a, b) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return (a == b and type(a) is type(b)) or (isinstance(a, int | float) and
                                             not isinstance(a, bool) and a == b)


@FUZZ
@given(batches=st.lists(st.dictionaries(st.text(max_size=12), scalars, max_size=4),
                        max_size=8))
def test_metric_dicts(batches):
    with fresh_run(name="fuzz-metrics") as (run, root):
        accepted = []
        for metrics in batches:
            try:
                run.log_metrics(metrics)
            except UsageError as exc:
                assert str(exc) and ("metric" in str(exc))
                continue
            if metrics:
                accepted.append(metrics)
        run.log_metrics({"sentinel": 1})
        run.close()
        recorded = [r["v"] for r in clean(root / f"{run.id}.meta/metrics.jsonl")]
        assert recorded[-1] == {"sentinel": 1}
        assert len(recorded) == len(accepted) + 1
        for given_values, stored in zip(accepted, recorded, strict=False):
            assert set(given_values) == set(stored)
            for key, value in given_values.items():
                assert same(value, decode_value(stored[key])), (key, value, stored[key])


names = st.one_of(st.none(), st.text(max_size=20))
folders = st.one_of(st.just("/"), st.text(max_size=12),
                    st.lists(st.text(max_size=5), max_size=3).map(lambda p: "/" + "/".join(p)))
tag_lists = st.lists(st.one_of(st.text(max_size=8), st.integers()), max_size=4)
metadata = st.dictionaries(st.one_of(st.text(max_size=8), st.integers()), scalars, max_size=4)


@FUZZ
@given(name=names, folder=folders, tags=tag_lists, meta=metadata)
def test_init_attributes(name, folder, tags, meta):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        run = Run(root=root)
        run.config(disable_resources_metrics=True)
        try:
            run.init(name=name, folder=folder, tags=tags, metadata=meta)
        except UsageError as exc:
            assert str(exc)
            assert not root.exists() or list_runs(root) == []
            names_dir = root / ".runyard/names"
            assert not names_dir.exists() or list(names_dir.iterdir()) == []
            return
        run.update_metadata({"after": 1})
        run.close()
        (info,) = list_runs(root)
        assert info.error is None and info.status == "completed"
        assert info.attrs["folder"].startswith("/")
        assert info.tags == list(dict.fromkeys(tags))
        assert info.attrs["metadata"] == {**meta, "after": 1}
        if name is not None:
            assert info.name == name


@FUZZ
@given(updates=st.lists(st.one_of(tag_lists, metadata), max_size=6))
def test_tag_and_metadata_updates(updates):
    with fresh_run(name="fuzz-updates") as (run, root):
        expected_tags, expected_meta = [], {}
        for update in updates:
            try:
                if isinstance(update, list):
                    run.update_tags(update)
                    expected_tags = list(dict.fromkeys(expected_tags + update))
                else:
                    run.update_metadata(update)
                    expected_meta.update(update)
            except UsageError as exc:
                assert str(exc)
        run.close()
        attrs = json.loads((root / f"{run.id}.meta/attrs.json").read_text())
        assert attrs["tags"] == expected_tags
        assert attrs["metadata"] == expected_meta


@FUZZ
@given(names=st.lists(st.text(max_size=16), max_size=6))
def test_artifact_names(names):
    with fresh_run(name="fuzz-files") as (run, root):
        artifacts = (root / f"{run.id}.meta/artifacts").resolve()
        for name in names:
            try:
                run.save_object({"name": name}, "output", name=name)
            except UsageError as exc:
                assert "artifact name" in str(exc) or "non-empty" in str(exc)
        run.log_event("still alive")
        run.close()
        for record in clean(root / f"{run.id}.meta/files.jsonl"):
            stored = (root / f"{run.id}.meta" / record["path"]).resolve()
            assert stored.is_relative_to(artifacts)
            assert stored.is_file()
        for path in root.rglob("*"):
            assert path.resolve().is_relative_to(root.resolve())
        assert clean(root / f"{run.id}.meta/events.jsonl")[-1]["msg"] == "still alive"
