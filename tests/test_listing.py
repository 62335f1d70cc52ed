"""Listing runs: in pages for the dashboard, streamed by ``ls --json``, and a CLI that
loads only the command it runs."""

import json
import os

from runyard.engine import finalize_run, init_run_meta, load_run, make_run, start_run
from runyard.engine.store import run_ids


def new_run(root, name, *, end=None, start=True):
    paths = make_run(root)
    init_run_meta(paths, name=name, folder="/f", tags=["t"])
    if start:
        start_run(paths)
    if end:
        finalize_run(paths, end)
    return paths


def same(a, b) -> bool:
    def seen(info):  # all but the duration of a live run, which grows between reads
        return {**info.summary(), "duration": None}, info.attrs, info.meta_dir

    return seen(a) == seen(b)


def test_runs_load_in_pages_newest_first_as_each_alone(root, tmp_path):
    from runyard.engine.store import load_runs

    done = new_run(root, "done", end="completed")
    live = new_run(root, "live")  # locked by this process: running
    new_run(root, "fresh", start=False)
    broken = new_run(root, "broken", end="failed")
    broken.meta("attrs.json").write_text('{"schema": 1, "na')
    elsewhere = tmp_path / "elsewhere.meta"
    os.rename(done.meta_dir, elsewhere)
    os.symlink(elsewhere, done.meta_dir)  # a meta folder made a link: never followed
    ids = run_ids(root)
    assert len(ids) == 4 and ids == sorted(ids)

    newest = load_runs(root, ids[-2:])  # what the dashboard paints first
    rest = load_runs(root, ids[:-2])
    assert [i.id for i in newest + rest] == ids[-2:] + ids[:-2]
    for info in newest + rest:
        assert same(info, load_run(root, info.id))
    by_id = {i.id: i for i in newest + rest}
    assert by_id[live.id].status == "running"
    assert by_id[done.id].status == "unreadable" and "symbolic link" in by_id[done.id].error
    assert by_id[broken.id].status == "unreadable"
    assert "not valid JSON" in by_id[broken.id].error
    assert load_runs(root, []) == []


def test_ls_json_streams_the_same_list_in_chunks(root, cli, monkeypatch):
    from runyard.app.commands import ls

    for i in range(5):  # none running: a live run's duration grows between listings
        new_run(root, f"r{i}", end="completed" if i % 2 else "failed", start=i != 4)
    whole = cli("ls", "--json", "--root", root).out
    monkeypatch.setattr(ls, "JSON_CHUNK", 2)
    chunked = cli("ls", "--json", "--root", root).out
    assert chunked == whole
    assert [r["name"] for r in json.loads(chunked)] == ["r0", "r1", "r2", "r3", "r4"]
    assert cli("ls", "--json", "--root", root, "--tag", "none").out == "[]\n"
