"""Units end as lines of their worker's journal (instances/done/), over the run's plan
and whatever whole-file records they have: what a reader and a resume see."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runyard.engine.control import resume, start, wait_for_end
from runyard.engine.spec import RunSpec
from runyard.engine.work import InstanceBook

from hostile import runyard

# each instance leaves a file it creates exclusively: one finished twice fails loudly
ONCE = """
    import os

    def run(instance, save, state):
        name = os.path.basename(instance)
        if name == "c.txt" and os.path.exists({flag!r}):
            raise ValueError("not yet")
        if name == "b.txt":
            save("half")  # b has a whole-file record; a and c's end is their line alone
        os.close(os.open("finished-" + name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
"""


def first_attempt(root: Path, tmp_path: Path):
    """A run of a, b and c whose c failed: a and b are done, by their journal lines."""
    flag = tmp_path / "c-fails"
    flag.write_text("")
    module = tmp_path / "once.py"
    module.write_text(textwrap.dedent(ONCE.format(flag=str(flag))))
    data = []
    for name in "abc":
        data.append(str(tmp_path / f"{name}.txt"))
        Path(data[-1]).write_text(name)
    info = start(root, RunSpec(kind="module", module=str(module), instances=data))
    info = wait_for_end(root, info.id, 60)
    assert info.status == "failed", info.attrs.get("exit")
    flag.unlink()
    return info


def finished(info) -> list[str]:
    return sorted(p.name for p in info.paths.run_dir.iterdir())


def test_a_record_is_its_file_or_plan_with_its_done_line_over_it(root, tmp_path):
    info = first_attempt(root, tmp_path)
    book = InstanceBook(info.paths)
    records = book.records()
    assert [r["status"] for r in records.values()] == ["done", "done", "failed"]
    assert records["00000-0"]["instance"].endswith("a.txt")  # from the plan
    assert records["00001-0"]["state"] == "half"  # from its file, saved before the end
    keys = book.keys()  # the plan's, and any with a file
    assert records == {key: book.read(key) for key in keys}
    assert not book.path("00000-0").exists()  # a: its plan entry and a line, no file
    info = resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    assert finished(info) == ["finished-a.txt", "finished-b.txt", "finished-c.txt"]
    records = InstanceBook(info.paths).records()
    assert [r["attempts"] for r in records.values()] == [1, 1, 2]


def test_bad_journals_never_crash_or_hang_a_reader_and_hide_no_good_line(root, tmp_path):
    info = first_attempt(root, tmp_path)
    done = info.meta_dir / "instances" / "done"
    (journal,) = done.iterdir()
    good = journal.read_bytes()
    with journal.open("ab") as f:  # lines of every wrong kind, after the good ones
        f.write(b'not json\n{"key": 7, "status": "done"}\n["00002-0"]\n'
                b'{"key": "00002-0", "status": "failed"}\n'
                b'{"key": "../00002-0", "status": "done"}\n'
                b'{"key": "00002-0", "status": "done", "attempts": "two"}\n'
                + b"x" * (1 << 20) + b"\n" + b'{"key": "00002-0", "stat')  # torn
    os.mkfifo(done / "fifo.jsonl")  # would block a reader that opened it plainly
    os.symlink("/dev/zero", done / "zero.jsonl")
    (done / "folder.jsonl").mkdir()
    book = InstanceBook(info.paths)
    records = book.records()
    assert [r["status"] for r in records.values()] == ["done", "done", "failed"]
    assert book.journals.bad >= 6
    shown = runyard("show", info.id, "--root", root)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    assert journal.read_bytes().startswith(good)
    info = resume(root, info.id)  # c runs once more; nothing else runs again
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    assert finished(info) == ["finished-a.txt", "finished-b.txt", "finished-c.txt"]


def test_a_run_of_an_earlier_version_resumes_from_its_record_files(root, tmp_path):
    """Before plans and journals every unit had a whole-file record, pending ones
    included, and a link per lock: such a run resumes doing only what is unfinished."""
    info = first_attempt(root, tmp_path)
    book = InstanceBook(info.paths)
    folder = info.meta_dir / "instances"
    for key, record in book.records().items():  # as the earlier version left them
        (folder / f"{key}.json").write_text(json.dumps(record, indent=1))
        os.link(folder / ".shared.lock", folder / f"{key}.lock")
    (folder / "plan.json").unlink()
    shutil.rmtree(folder / "done")
    assert list(InstanceBook(info.paths).records()) == ["00000-0", "00001-0", "00002-0"]
    info = resume(root, info.id)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "completed", info.attrs.get("exit")
    assert finished(info) == ["finished-a.txt", "finished-b.txt", "finished-c.txt"]
    records = InstanceBook(info.paths).records()
    assert [r["status"] for r in records.values()] == ["done"] * 3


@pytest.mark.parametrize("plan", ['{"instances": "a.txt", "iterations": 1}', "[]", "{"])
def test_a_spoiled_plan_is_said_and_runs_nothing(root, tmp_path, plan):
    info = first_attempt(root, tmp_path)
    (info.meta_dir / "instances" / "plan.json").write_text(plan)
    shown = runyard("show", info.id, "--root", root)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
    result = subprocess.run([sys.executable, "-m", "runyard.app.cli", "resume", "--root",
                             str(root), info.id], capture_output=True, text=True, timeout=60)
    info = wait_for_end(root, info.id, 60)
    assert info.status == "failed" and "plan.json" in info.attrs["exit"]["error"], \
        (result, info.attrs["exit"])
    assert finished(info) == ["finished-a.txt", "finished-b.txt"]  # nothing ran again
