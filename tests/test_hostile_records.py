"""Whole-file records other than attrs.json, from anyone: instance records, folder
details, the name index. A bad one is shown as bad; it never crashes, hangs or
makes the engine do work twice."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from runyard.engine import OperationalError, Run, folder_details, list_runs
from runyard.engine.control import resume, wait_for_end
from runyard.engine.names import lookup_name
from runyard.engine.work import InstanceBook

from hostile import good_run, runyard

MODULE = """
    import os

    def run(instance, save, state):
        name = os.path.basename(instance)
        if name == "c.txt" and os.path.exists({flag!r}):
            raise ValueError("not yet")
        # O_EXCL: an instance finished a second time fails loudly
        os.close(os.open("finished-" + name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))

    def done():
        os.close(os.open("done-called", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
"""


def spoil(path, how: str, record: dict) -> None:
    """Make the whole-file record of a unit (done by its journal: it has none, or
    one of before its end) unusable."""
    if how == "wrong type":
        path.write_text(json.dumps({**record, "attempts": "one"}))
        return
    path.unlink(missing_ok=True)
    if how == "fifo":
        os.mkfifo(path)
    elif how == "link":
        os.symlink("/dev/zero", path)
    elif how == "folder":
        path.mkdir()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", ["wrong type", "fifo", "link", "folder"])
def test_a_bad_instance_record_fails_that_instance_and_nothing_runs_twice(root, tmp_path,
                                                                          how):
    flag = tmp_path / "c-fails"
    flag.write_text("")
    module = tmp_path / "once.py"
    module.write_text(textwrap.dedent(MODULE.format(flag=str(flag))))
    data = []
    for name in "abc":
        data.append(tmp_path / f"{name}.txt")
        data[-1].write_text(name)
    first = subprocess.run([sys.executable, "-m", "runyard.app.cli", "run", "--root", root,
                            module, "--instances", *data], capture_output=True, text=True,
                           timeout=60)
    assert first.returncode == 1 and "1 of 3 instances failed" in first.stdout
    (info,) = list_runs(root)
    book = InstanceBook(info.paths)
    assert book.read("00001-0")["status"] == "done"
    spoil(book.path("00001-0"), how, book.read("00001-0"))  # b: done, now unreadable
    flag.unlink()
    resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "failed"
    assert info.attrs["exit"]["error"] == "1 of 3 instances failed"
    records = book.records()
    assert [r["status"] for r in records.values()] == ["done", "failed", "done"]
    bad = records["00001-0"]
    assert bad["bad"] and str(book.path("00001-0")) in bad["error"]
    ran = sorted(p.name for p in info.paths.run_dir.iterdir())
    assert ran == ["finished-a.txt", "finished-b.txt", "finished-c.txt"]  # each once
    assert records["00002-0"]["attempts"] == 2 and records["00000-0"]["attempts"] == 1
    resume(root, info.id)  # the bad record is never retried, nor anything else
    info = wait_for_end(root, info.id, 60)
    assert info.status == "failed" and sorted(p.name for p in info.paths.run_dir.iterdir()) \
        == ran
    shown = runyard("show", info.id, "--root", root)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr


def test_bad_folder_details_are_reported_and_never_replaced(root):
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(name="foldered", folder="/a")
    assert run.set_folder_details(description="first")
    details = root / ".runyard" / "folders" / "%2Fa.json"
    for content in ('{"description": ["x"]}', '{"tags": "t"}', '{"metadata": {"k": [1]}}',
                    "[1]", "{"):
        details.write_text(content)
        found = folder_details(root, "/a")
        assert found["description"] == "" and str(details) in found["error"]
        assert run.set_folder_details(description="second") is False
        assert details.read_text() == content
    details.unlink()
    os.mkfifo(details)
    assert "is a FIFO" in folder_details(root, "/a")["error"]
    run.close()


def test_a_bad_name_index_entry_never_hangs_or_leads_outside_the_root(root, tmp_path):
    good = good_run(root, "named")
    assert lookup_name(root, "named") == good.id
    entry = root / ".runyard" / "names" / "named"
    outside = tmp_path / "elsewhere"
    good_run(outside, "stranger")
    (stranger,) = list_runs(outside)
    relative = os.path.relpath(outside / stranger.id, root)
    for content in (json.dumps({"name": "named", "id": relative}),
                    json.dumps({"name": "named", "id": ["x"]}), "[]", "{"):
        entry.write_text(content)
        assert lookup_name(root, "named") is None
    entry.unlink()
    os.mkfifo(entry)
    assert lookup_name(root, "named") is None
    result = runyard("show", "named", "--root", root)
    assert result.returncode == 2 and "no run named 'named'" in result.stderr


def test_the_tracking_api_on_a_run_made_unreadable_under_it(root):
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(name="spoiled", metadata={"a": 1})
    attrs = root / f"{run.id}.meta" / "attrs.json"
    spoiled = attrs.read_text().replace('"timeout": 60.0', '"timeout": "60"')
    attrs.write_text(spoiled)
    assert run.update_metadata({"b": 2}) is False  # an operational failure: said, counted
    assert run.update_tags(["t"]) is False
    assert attrs.read_text() == spoiled  # nothing written over it
    assert run.log_metrics({"x": 1.0})  # what does not touch attrs.json goes on
    run.close()
    strict = Run(root=root)
    strict.config(disable_resources_metrics=True, suppress_errors=False)
    strict.init(name="strict")
    attrs = root / f"{strict.id}.meta" / "attrs.json"
    attrs.write_text(attrs.read_text().replace('"tags": []', '"tags": "t"'))
    with pytest.raises(OperationalError, match="'tags' must be a list of strings"):
        strict.update_metadata({"b": 2})
    with pytest.raises(OperationalError, match="close failed"):
        strict.close()


@pytest.mark.parametrize("how", ["loop", "fifo", "file"])
def test_an_instances_folder_that_cannot_be_listed_is_said_not_taken_for_empty(root, how):
    from runyard.engine.untrusted import NotReadable

    paths = good_run(root, "no-list")
    folder = paths.meta("instances")
    {"loop": lambda p: os.symlink(p.name, p), "fifo": os.mkfifo,
     "file": lambda p: p.write_text("{}")}[how](folder)
    book = InstanceBook(paths)
    if how == "loop":  # cannot be listed: the engine must not see a run without work
        with pytest.raises(NotReadable, match="instances cannot be listed"):
            book.records()
    else:  # not a folder at all: no records, as for a run without instances
        assert book.records() == {}
    assert book.killed() == []
    shown = runyard("show", paths.id, "--root", root)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr


def test_a_name_like_an_id_prefix_does_not_capture_that_prefix(app_root, cli):
    from test_app import new_run

    victim = new_run(app_root, "victim", end="completed")
    prefix = victim.id[:8]
    shadow = new_run(app_root, prefix, end="completed")  # a stranger's run, named so
    shown = cli("--root", app_root, "show", prefix)
    assert shown.code == 2 and "give the whole id" in shown.err
    assert victim.id in shown.err and shadow.id in shown.err
    assert cli("--root", app_root, "show", victim.id).code == 0


def test_a_name_index_entry_pointing_at_another_run_is_not_followed(app_root, cli):
    import json

    from test_app import new_run

    from runyard.engine.names import _index_path

    meant = new_run(app_root, "train-a", end="completed")
    other = new_run(app_root, "train-b", end="completed")
    entry = _index_path(app_root, "train-a")
    entry.write_text(json.dumps({"name": "train-a", "id": other.id}))  # repointed
    shown = cli("--root", app_root, "show", "train-a", "--json")
    assert shown.code == 2 and "no run named 'train-a'" in shown.err
    assert cli("--root", app_root, "show", meant.id).code == 0


def test_meta_folders_swapped_by_someone_are_unreadable_not_acted_on(app_root, cli):
    from test_app import new_run

    first = new_run(app_root, "train-a", end="failed")
    second = new_run(app_root, "train-b", end="failed")
    swap = app_root / "swap.meta"
    first.meta_dir.rename(swap)
    second.meta_dir.rename(first.meta_dir)
    swap.rename(second.meta_dir)
    listed = {r["id"]: r for r in cli("--root", app_root, "ls", "--json").json()}
    for run in (first, second):
        assert listed[run.id]["status"] == "unreadable"
        assert "is the record of run" in listed[run.id]["error"]
    assert cli("--root", app_root, "resume", first.id).code == 1
