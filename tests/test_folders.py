"""Folder details (reference 002 set_folder_details) and the checks on run attributes."""

import subprocess
import sys

import pytest

from runyard.engine import folder_details, set_folder_details
from runyard.engine.folders import folders_with_details
from runyard.engine.validate import check_folder, check_metadata, check_tags


def test_details_merge_and_persist(root):
    assert folder_details(root, "/sims")["description"] == ""
    set_folder_details(root, "/sims/", metadata={"a": 1}, tags=["x"], description="first")
    set_folder_details(root, "/sims", metadata={"b": 2.5}, tags=["y", "x"])
    details = folder_details(root, "/sims")
    assert details["metadata"] == {"a": 1, "b": 2.5}
    assert details["tags"] == ["x", "y"]
    assert details["description"] == "first"
    set_folder_details(root, "/", description="top")
    assert folders_with_details(root) == ["/", "/sims"]


def test_concurrent_writers_lose_nothing(root):
    code = ("import sys; from pathlib import Path\n"
            "from runyard.engine import set_folder_details\n"
            "for i in range(25):\n"
            "    set_folder_details(Path(sys.argv[1]), '/shared', "
            "metadata={f'{sys.argv[2]}-{i}': i})\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root), f"w{n}"])
             for n in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    assert len(folder_details(root, "/shared")["metadata"]) == 75


@pytest.mark.parametrize("bad", ["", "relative", "/a//b", "/a/../b", "/a/./b", "/a\nb", 3])
def test_bad_folders_are_refused_with_the_value(bad):
    with pytest.raises(ValueError, match="folder"):
        check_folder(bad)


def test_good_folders_are_normalised():
    assert check_folder("/") == "/"
    assert check_folder("/a/b/") == "/a/b"
    assert check_folder("/größe/run 1") == "/größe/run 1"


@pytest.mark.parametrize("bad", ["single-string", [""], ["ok", 3], ["a\tb"], ["x" * 101]])
def test_bad_tags_are_refused(bad):
    with pytest.raises(ValueError, match="tag"):
        check_tags(bad)


@pytest.mark.parametrize("bad", [{"k": None}, {"k": [1]}, {"": 1}, {"k": float("nan")},
                                 {1: "v"}, "not-a-dict"])
def test_bad_metadata_is_refused(bad):
    with pytest.raises(ValueError, match="metadata"):
        check_metadata(bad)
