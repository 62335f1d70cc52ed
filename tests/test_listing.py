"""Listing runs: in pages for the dashboard, streamed by ``ls --json``, and a CLI that
loads only the command it runs."""

import json
import os
import subprocess
import sys

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


def commands_loaded_by(args: list[str]) -> set[str]:
    """The command modules a ``runyard`` process loaded to run ``args``."""
    code = ("import sys\nfrom runyard.app.cli import main\n"
            f"main({args!r})\n"
            "print(*(f'LOADED {m}' for m in sys.modules), sep='\\n', file=sys.stderr)")
    err = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stderr
    assert "LOADED runyard.app.cli" in err, err
    return {line.split()[1] for line in err.splitlines()
            if line.startswith("LOADED runyard.app.commands.")}


def test_a_command_loads_only_its_own_module(root):
    root.mkdir()
    assert commands_loaded_by(["ls", "--json", "--root", str(root)]) == \
        {"runyard.app.commands.ls"}
    assert commands_loaded_by(["--root", str(root), "show", "nosuchrun"]) == \
        {"runyard.app.commands.show"}
    assert commands_loaded_by(["--root", str(root), "pause", "nosuchrun"]) == \
        {"runyard.app.commands.control"}


def test_help_still_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "runyard.app.cli", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for command in ("dash", "ls", "show", "run", "flow", "sync", "demo", "doctor", "pause",
                    "resume", "close"):
        assert f"    {command} " in out, command


def test_json_output_is_ascii_and_exact():
    from runyard.app.formatting import ascii_json

    value = [{"name": "caf\u00e9 \u009b[31m \u202e \U0001f600 \x1b", "big": 2**70, "f": 0.1}]
    text = ascii_json(value)
    assert text.isascii() and "\x1b" not in text
    assert json.loads(text) == value
    small = [{"name": "caf\u00e9 \u009b \U0001f600 \x1b\n", "f": 0.1, "n": -3}]
    assert ascii_json(small) == json.dumps(small, separators=(",", ":"))
