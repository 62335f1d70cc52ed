"""Files, directories and objects saved as artifacts."""

import hashlib
import json
import os

import pytest

from runyard.engine import Run, UsageError

from conftest import read_series


def artifacts(root, run, category=None):
    return {r["name"]: r for r in read_series(root, run.id, "files.jsonl")
            if r["category"] == category or (category is None and r["category"] != "code")}


def test_save_file_copies_and_describes_it(env_root, tmp_path):
    source = tmp_path / "input.csv"
    source.write_text("a,b\n1,2\n")
    with Run() as run:
        run.init(name="files")
        assert run.save_file(source, "input", metadata={"rows": 1}) is True
        assert run.save(str(source), "code", filetype="text/x-custom") is True
        assert run.save_file(source, "output", name="renamed/data.csv") is True
    saved = artifacts(env_root, run)
    record = saved["input.csv"]
    assert record["size"] == 8
    assert record["sha256"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert record["mime"] == "text/csv" and record["metadata"] == {"rows": 1}
    meta = env_root / f"{run.id}.meta"
    assert (meta / "artifacts/input/input.csv").read_text() == "a,b\n1,2\n"
    assert (meta / "artifacts/code/input.csv").exists()
    assert (meta / "artifacts/output/renamed/data.csv").exists()
    assert [r["mime"] for r in read_series(env_root, run.id, "files.jsonl")][1] == \
        "text/x-custom"


def test_preserve_path_and_directories(env_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/sub").mkdir(parents=True)
    (tmp_path / "results/a.txt").write_text("a")
    (tmp_path / "results/sub/b.txt").write_text("b")
    with Run() as run:
        run.init(name="dirs")
        run.save_file("results/a.txt", "output", preserve_path=True)
        run.save_directory("results", "output")
        run.save_all(["results/sub", "results/a.txt"], "code")
    assert set(artifacts(env_root, run, "output")) == {"results/a.txt", "results/sub/b.txt"}
    assert set(artifacts(env_root, run, "code")) == {"sub/b.txt", "a.txt"}


def test_objects_as_json_numpy_and_pickle(env_root):
    np = pytest.importorskip("numpy")
    with Run() as run:
        run.init(name="objects")
        assert run.save_object({"alpha": [1, 2]}, "output", name="params.json") is True
        assert run.save_object(np.arange(6).reshape(2, 3), "output", name="grid.npy")
        with pytest.raises(UsageError, match="allow_pickle=True"):
            run.save_object({1, 2}, "output", name="a-set")
        assert run.save_object({1, 2}, "output", name="a-set", allow_pickle=True)
        assert run.save({"x": 1}, "input", name="via-save") is True
        listed = [1]
        assert run.save_object(listed, "output") is True  # named as Simvue names it
    meta = env_root / f"{run.id}.meta/artifacts"
    assert json.loads((meta / "output/params.json").read_text()) == {"alpha": [1, 2]}
    assert np.load(meta / "output/grid.npy").tolist() == [[0, 1, 2], [3, 4, 5]]
    import pickle

    assert pickle.loads((meta / "output/a-set").read_bytes()) == {1, 2}
    assert artifacts(env_root, run)["params.json"]["mime"] == "application/json"
    assert json.loads((meta / f"output/list_{id(listed)}").read_text()) == [1]


@pytest.mark.parametrize("name", ["../escape", "a/../../b", "/etc/passwd", "~/x", ""])
def test_names_that_escape_are_refused(env_root, tmp_path, name):
    source = tmp_path / "f.txt"
    source.write_text("x")
    with Run() as run:
        run.init(name="escapes")
        with pytest.raises(UsageError, match=r"artifact name|non-empty"):
            run.save_file(source, "output", name=name)
        with pytest.raises(UsageError):
            run.save_object({"a": 1}, "output", name=name)
    assert not os.path.exists(env_root / "escape")
    assert not (env_root / f"{run.id}.meta/files.jsonl").exists()


def test_bad_file_arguments(env_root, tmp_path):
    with Run() as run:
        run.init(name="bad-files")
        with pytest.raises(UsageError, match="is not a file"):
            run.save_file(tmp_path / "missing.txt", "output")
        with pytest.raises(UsageError, match="category must be one of"):
            run.save_object({}, "results", name="x")
        with pytest.raises(UsageError, match="is not a directory"):
            run.save_directory(tmp_path / "nope", "output")
        with pytest.raises(UsageError, match="list of paths"):
            run.save_all("one-string", "output")
