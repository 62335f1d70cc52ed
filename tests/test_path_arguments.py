"""Every engine function that takes a path takes a ``str`` or any ``os.PathLike`` as
well as a ``Path`` (reference 004 passes ``make_run`` and ``list_runs`` a string), and
anything else is a ``UsageError`` naming the argument, not a bare TypeError or
AttributeError from deep inside runyard."""

import os
import tempfile
from pathlib import Path

import pytest

from runyard.engine import (
    UsageError,
    beat,
    check_root,
    clear_pause_marker,
    close,
    ensure_root,
    finalize_run,
    find_run,
    folder_details,
    init_run_meta,
    list_runs,
    load_run,
    make_run,
    pause,
    pause_marker,
    run_status,
    set_folder_details,
    start,
    start_run,
)
from runyard.engine.control import wait_for_end
from runyard.engine.layout import RunPaths
from runyard.engine.spec import RunSpec, read_spec


class Where:
    """A path-like object that is not a ``pathlib.Path`` (as a user's own class is)."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def __fspath__(self) -> str:
        return self.path


def test_reference_004_with_a_string_runs_home():
    """Reference 004's own lines: ``make_temp_dir()`` gives a string."""
    runs_home = tempfile.mkdtemp(prefix="runyard-home-")
    try:
        run = make_run(runs_home)
        assert os.path.exists(run.run_dir)
        assert os.fspath(run.run_dir) == os.path.join(runs_home, run.id)
        assert os.listdir(run.run_dir) == []
        assert list_runs(runs_home) == []
        init_run_meta(run)
        assert [info.id for info in list_runs(runs_home)] == [run.id]
    finally:
        import shutil

        shutil.rmtree(runs_home)


@pytest.mark.parametrize("kind", [str, Where], ids=["str", "PathLike"])
def test_the_lifecycle_and_the_readers_take_any_path(tmp_path, kind):
    root = kind(tmp_path / "runs")
    assert ensure_root(root) == tmp_path / "runs"
    assert check_root(root) == tmp_path / "runs"
    paths = make_run(root)
    assert isinstance(paths.root, Path) and paths.run_dir == tmp_path / "runs" / paths.id
    init_run_meta(paths, name="by-string")
    start_run(paths)
    beat(paths)
    pause_marker(paths)
    assert load_run(root, paths.id).status == "paused"
    clear_pause_marker(paths)
    finalize_run(paths, "completed")
    assert [info.id for info in list_runs(root)] == [paths.id]
    assert find_run(root, "by-string").id == paths.id
    assert run_status(load_run(root, paths.id).attrs, kind(paths.meta_dir)) == "completed"
    assert wait_for_end(root, paths.id, 5).status == "completed"
    for verb in (pause, close):  # reach the run: refused for its state, not its path
        with pytest.raises(UsageError, match="is completed"):
            verb(root, paths.id)
    set_folder_details(root, "/sweeps", tags=["x"])
    assert folder_details(root, "/sweeps")["tags"] == ["x"]
    again = RunPaths(kind(tmp_path / "runs"), paths.id)
    assert again.meta_dir == paths.meta_dir and again == paths


@pytest.mark.parametrize("kind", [str, Where], ids=["str", "PathLike"])
def test_a_run_started_with_paths_of_any_kind(tmp_path, kind):
    module = tmp_path / "m.py"
    module.write_text("def run(instance, save, state):\n    open(instance).read()\n")
    data = tmp_path / "a.txt"
    data.write_text("a")
    root = kind(tmp_path / "runs")
    info = start(root, RunSpec(kind="module", module=kind(module), instances=[kind(data)]))
    assert wait_for_end(root, info.id, 60).status == "completed"
    spec = read_spec(info.meta_dir)  # recorded as text, as the engine reads it back
    assert (spec.module, spec.instances) == (str(module), [str(data)])


@pytest.mark.parametrize("call", [
    lambda: make_run(42),
    lambda: list_runs(None),
    lambda: ensure_root(b"/tmp/runs"),
    lambda: check_root(3.5),
    lambda: load_run(["/tmp"], "x"),
    lambda: find_run(42, "x"),
    lambda: folder_details(42, "/a"),
    lambda: start(42, RunSpec(kind="command", argv=["true"])),
    lambda: make_run(""),
], ids=["make_run", "list_runs", "ensure_root", "check_root", "load_run", "find_run",
        "folder_details", "start", "empty"])
def test_anything_else_is_a_usage_error_naming_the_argument(call):
    with pytest.raises(UsageError, match=r"^root must be "):
        call()


def test_an_experiment_of_path_like_module_and_instances(tmp_path):
    from runyard.engine import Experiment

    module = tmp_path / "m.py"
    module.write_text("def run(instance, save, state):\n    open(instance).read()\n")
    data = tmp_path / "a.txt"
    data.write_text("a")
    exp = Experiment(Where(module), [Where(data)], root=Where(tmp_path / "runs"))
    exp.start()
    assert exp.join(60) == "completed"
    spec = read_spec(exp.info().meta_dir)
    assert (spec.module, spec.instances) == (str(module), [str(data)])
