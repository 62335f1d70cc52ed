"""What readers accept is at least what runyard writes (docs/format.md, "What readers
accept"): the biggest texts the tracking API and the engine take read back whole,
and anything bigger is refused where it is given, never written to be refused later."""

import json
import subprocess
import sys
import textwrap

import pytest

from runyard.engine import Run, UsageError, list_runs
from runyard.engine.meta import read_attrs, update_attrs
from runyard.engine.summary import event_summary
from runyard.engine.tail import RunTail
from runyard.engine.untrusted import ATTRS_MAX
from runyard.engine.validate import TEXT_MAX
from runyard.engine.work import InstanceBook

from hostile import runyard

MB = 1_000_000


def new_run(root, **init) -> Run:
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(**init)
    return run


def test_a_megabyte_of_control_characters_reads_back_whole(root):
    # each ESC is six bytes of JSON: the worst case of a text's size on disk
    text = "\x1b[31m" * (MB // 5)
    run = new_run(root, name="big", description=text, metadata={"v": text})
    run.update_metadata({"w": text})
    run.log_event(text)
    run.close()
    attrs = read_attrs(root / f"{run.id}.meta")
    assert attrs["description"] == text and attrs["metadata"] == {"v": text, "w": text}
    tail = RunTail(root / f"{run.id}.meta")
    assert tail.poll().bad == [] and tail.events[-1]["msg"] == text
    result = runyard("show", run.id, "--json", "--root", root)
    assert result.returncode == 0 and result.stderr == ""
    shown = json.loads(result.stdout)
    assert shown["description"] == text and shown["events"]["last"][-1]["msg"] == text


def test_texts_beyond_the_bound_are_refused_when_given(root):
    too_long = "x" * (TEXT_MAX + 1)
    with pytest.raises(UsageError, match="at most"):
        new_run(root, name="long-description", description=too_long)
    with pytest.raises(UsageError, match="at most"):
        new_run(root, name="long-metadata", metadata={"v": too_long})
    run = new_run(root, name="kept", metadata={"a": 1})
    with pytest.raises(UsageError, match="at most"):
        run.update_metadata({"v": too_long})
    with pytest.raises(UsageError, match="at most"):
        run.log_event(too_long)
    run.close()
    assert [info.name for info in list_runs(root)] == ["kept"]
    assert list_runs(root)[0].attrs["metadata"] == {"a": 1}
    assert event_summary(root / f"{run.id}.meta") == ({"count": 0, "last": []}, [])


def test_attributes_a_reader_would_refuse_are_never_written(root):
    run = new_run(root, name="guarded", metadata={"a": 1})
    run.close()
    meta = root / f"{run.id}.meta"
    before = (meta / "attrs.json").read_bytes()
    with pytest.raises(UsageError, match="more than"):
        update_attrs(meta, lambda a: a.update(description="x" * ATTRS_MAX), None)
    with pytest.raises(UsageError, match="'progress'"):
        update_attrs(meta, lambda a: a.update(progress=[1, 2]), None)
    assert (meta / "attrs.json").read_bytes() == before
    refused = []
    for number in range(1, 6):  # metadata grown by updates, each within the bound
        try:
            update_attrs(meta, lambda a, n=number: a["metadata"].update(
                {f"k{n}": "y" * (ATTRS_MAX // 4)}), None)
        except UsageError as exc:
            refused.append(number)
            assert "more than" in str(exc)
    assert refused == [4, 5]  # a fourth quarter would pass the bound: refused, kept
    assert sorted(read_attrs(meta)["metadata"]) == ["a", "k1", "k2", "k3"]


def test_a_state_beyond_the_bound_fails_its_instance_at_save(root, tmp_path):
    module = tmp_path / "big_state.py"
    module.write_text(textwrap.dedent("""\
        def run(instance, save, state):
            save("s" * 1000)
            save("x" * (33 * 1024 * 1024))
        """))
    data = tmp_path / "a.txt"
    data.write_text("a")
    result = subprocess.run([sys.executable, "-m", "runyard.app.cli", "run", "--root", root,
                             module, "--instances", data], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    (info,) = list_runs(root)
    (record,) = InstanceBook(info.paths).records().values()
    assert record["status"] == "failed" and "at most" in record["error"]
    assert record["state"] == "s" * 1000  # the last state that could be kept


def test_alert_definitions_a_reader_would_refuse_are_never_written(root):
    from runyard.engine.summary import read_alert_definitions

    run = new_run(root, name="alerted")
    described = "\x1b" * TEXT_MAX  # 24 MiB of JSON each
    run.create_user_alert("one", description=described)
    run.create_user_alert("two", description=described)
    with pytest.raises(UsageError, match="more than"):
        run.create_user_alert("three", description=described)
    run.log_alert("two", state="critical")
    run.close()
    definitions, bad = read_alert_definitions(root / f"{run.id}.meta")
    assert [d["name"] for d in definitions] == ["one", "two"] and bad == []
