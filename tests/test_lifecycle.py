"""The files each lifecycle step produces (in the manner of reference 004)."""

import json
import re
import subprocess
import sys

import pytest

from runyard.engine import (
    RunyardError,
    clear_pause_marker,
    finalize_run,
    init_run_meta,
    list_runs,
    load_run,
    make_run,
    pause_marker,
    start_run,
)
from runyard.engine.layout import SCHEMA

LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4} [A-Z].*$")


def tree(path) -> list[str]:
    """Every file and folder below ``path``, relative, sorted; folders end in '/'."""
    return sorted(str(p.relative_to(path)) + ("/" if p.is_dir() else "")
                  for p in path.rglob("*"))


def log_lines(paths) -> list[str]:
    lines = paths.meta("log/runner").read_text().splitlines()
    assert all(LOG_LINE.match(line) for line in lines), lines
    return [line.split(" ", 1)[1] for line in lines]


def test_make_run_creates_only_an_empty_run_folder(root):
    paths = make_run(root)
    assert paths.run_dir == root / paths.id
    assert tree(paths.run_dir) == []
    assert not paths.meta_dir.exists()
    assert list_runs(root) == []  # not listed until its meta exists
    assert tree(root) == [".runyard/", ".runyard/folders/", ".runyard/names/",
                          ".runyard/schema", f"{paths.id}/"]
    assert (root / ".runyard/schema").read_text() == f"{SCHEMA}\n"


def test_init_run_meta_writes_the_record_and_claims_the_name(root):
    paths = make_run(root)
    attrs = init_run_meta(paths, name="first-light", folder="/a/b/", tags=["x", "y", "x"],
                          metadata={"lr": 0.1, "n": 3, "ok": True, "kind": "test"},
                          description="a test run", timeout=30)
    assert tree(paths.meta_dir) == ["attrs.json", "log/", "log/runner"]
    assert tree(paths.run_dir) == []
    on_disk = json.loads(paths.meta("attrs.json").read_text())
    assert on_disk == attrs
    assert on_disk["schema"] == SCHEMA
    assert on_disk["id"] == paths.id
    assert on_disk["folder"] == "/a/b"
    assert on_disk["tags"] == ["x", "y"]
    assert on_disk["metadata"] == {"lr": 0.1, "n": 3, "ok": True, "kind": "test"}
    assert on_disk["timeout"] == 30.0
    assert {"created", "host", "user", "scheduler"} <= set(on_disk)
    assert "started" not in on_disk and "lock" not in on_disk
    assert log_lines(paths) == [f"Initialized run {paths.id} named first-light"]
    assert sorted(p.name for p in (root / ".runyard/names").iterdir()) == ["first-light"]
    assert load_run(root, paths.id).status == "created"
    # no temporary folder is left behind
    assert sorted(p.name for p in root.iterdir()) == [".runyard", paths.id,
                                                      paths.id + ".meta"]


def test_start_pause_resume_finalize(root):
    paths = make_run(root)
    init_run_meta(paths, name="steps")
    attrs = start_run(paths)
    assert tree(paths.meta_dir) == ["attrs.json", "attrs.lock", "heartbeat", "log/",
                                    "log/runner"]
    assert attrs["attempt"] == 1
    assert set(attrs["lock"]) == {"host", "pid", "pid_started", "pid_ticks"}
    assert load_run(root, paths.id).status == "running"

    pause_marker(paths)
    assert "paused" in tree(paths.meta_dir)
    assert load_run(root, paths.id).status == "paused"
    clear_pause_marker(paths)
    assert load_run(root, paths.id).status == "running"

    attrs = finalize_run(paths, "completed")
    assert attrs["exit"]["status"] == "completed"
    assert attrs["ended"] == attrs["exit"]["time"]
    assert tree(paths.meta_dir) == ["attrs.json", "attrs.lock", "heartbeat", "log/",
                                    "log/runner"]
    assert load_run(root, paths.id).status == "completed"
    lines = log_lines(paths)
    assert lines[1].startswith("Started by pid ")
    assert lines[2:] == ["Paused", "Resumed", "Finished completed"]


def test_restart_after_an_end_is_a_new_attempt(root):
    paths = make_run(root)
    init_run_meta(paths, name="again")
    start_run(paths)
    finalize_run(paths, "terminated")
    assert load_run(root, paths.id).status == "terminated"
    attrs = start_run(paths)
    assert attrs["attempt"] == 2
    assert "exit" not in attrs and "ended" not in attrs
    assert load_run(root, paths.id).status == "running"


def test_finalize_refuses_a_non_final_state(root):
    paths = make_run(root)
    init_run_meta(paths, name="bad-end")
    start_run(paths)
    with pytest.raises(ValueError, match="not 'running'"):
        finalize_run(paths, "running")
    assert load_run(root, paths.id).status == "running"


def test_bad_attributes_leave_nothing_half_created(root):
    paths = make_run(root)
    with pytest.raises(ValueError, match="folder must start with '/'"):
        init_run_meta(paths, name="half", folder="no-slash")
    assert not paths.meta_dir.exists()
    assert list((root / ".runyard/names").iterdir()) == []
    assert sorted(p.name for p in root.iterdir()) == [".runyard"]  # no empty run folder
    # the name is free again
    again = make_run(root)
    init_run_meta(again, name="half")
    assert load_run(root, again.id).name == "half"


def test_names_are_unique_within_a_root(root):
    first = make_run(root)
    init_run_meta(first, name="taken")
    second = make_run(root)
    with pytest.raises(RunyardError, match=f"already used by run {first.id}"):
        init_run_meta(second, name="taken")
    assert not second.meta_dir.exists() and not second.run_dir.exists()


def test_generated_names_are_adjective_noun_and_distinct(root):
    names = set()
    for _ in range(30):
        paths = make_run(root)
        names.add(init_run_meta(paths)["name"])
    assert len(names) == 30
    assert all(re.fullmatch(r"[a-z]+-[a-z]+", n) for n in names), names


def test_concurrent_processes_get_distinct_ids_and_names(root):
    code = ("import sys; from pathlib import Path\n"
            "from runyard.engine import make_run, init_run_meta\n"
            "for _ in range(20):\n"
            "    init_run_meta(make_run(Path(sys.argv[1])))\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root)]) for _ in range(4)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    runs = list_runs(root)
    assert len(runs) == 80
    assert len({r.name for r in runs}) == 80
    assert [r.id for r in runs] == sorted(r.id for r in runs)


def test_ids_sort_by_creation_time(root):
    ids = [make_run(root).id for _ in range(50)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50
