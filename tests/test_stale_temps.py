"""Temporary files left by interrupted atomic writes are removed by the next write
into their folder or by a resume, but only once they are old: a young one may be a
live writer's (on another node of a shared filesystem) that is about to be renamed.
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from runyard.engine.atomic import STALE_AFTER
from runyard.engine.control import resume, start, wait_for_end
from runyard.engine.spec import RunSpec

OLD = STALE_AFTER + 3600


def leftover(folder: Path, target: str, age: float) -> Path:
    """What a writer killed between creating its temporary file and renaming it
    leaves: the same call write_atomic makes, with some content, ``age`` seconds old."""
    fd, name = tempfile.mkstemp(prefix=f".{target}.", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "wb") as f:
        f.write(b'{"half": ')
    then = time.time() - age
    os.utime(name, (then, then))
    return Path(name)


def write_in_a_new_process(path: Path) -> None:
    code = "import sys\nfrom runyard.engine.atomic import write_atomic\n" \
           "write_atomic(sys.argv[1], 'new')\n"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)


def test_the_next_write_removes_old_leftovers_and_keeps_young_ones(tmp_path):
    stale = [leftover(tmp_path, "attrs.json", OLD), leftover(tmp_path, "alerts.json", OLD)]
    young = leftover(tmp_path, "attrs.json", 5)
    unrelated = [tmp_path / n for n in ("notes.tmp", ".attrs.json.tmp", "attrs.json.abcdefgh.tmp")]
    for path in unrelated:
        path.write_text("mine")
    unrelated.append(tmp_path / ".x.abcdefgh.tmp")
    unrelated[-1].mkdir()  # a folder with a temporary file's name
    for path in unrelated:
        os.utime(path, (time.time() - OLD, time.time() - OLD))
    kept = [young, *unrelated]
    write_in_a_new_process(tmp_path / "attrs.json")
    assert (tmp_path / "attrs.json").read_text() == "new"
    assert [p for p in stale if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["attrs.json", *(p.name for p in kept)])


def test_resume_removes_old_leftovers_of_the_run(root, tmp_path):
    module = tmp_path / "flaky.py"
    module.write_text(textwrap.dedent(f"""
        import os
        def run(instance, save, state):
            save("1")
            if not os.path.exists({str(tmp_path / 'second')!r}):
                open({str(tmp_path / 'second')!r}, "w").close()
                raise RuntimeError("the first attempt fails")
    """))
    data = tmp_path / "a.txt"
    data.write_text("a")
    info = start(root, RunSpec(kind="module", module=str(module), instances=[str(data)]))
    info = wait_for_end(root, info.id, 60)
    assert info.status == "failed"
    meta = info.meta_dir
    stale = [leftover(meta, "attrs.json", OLD), leftover(meta, "control.json", OLD),
             leftover(meta / "instances", "00000-0.json", OLD),
             leftover(meta / "proc", "spec.json", OLD)]
    young = leftover(meta / "instances", "00000-0.json", 1)
    resume(root, info.id)
    assert wait_for_end(root, info.id, 60).status == "completed"
    assert [p.name for p in stale if p.exists()] == []
    assert young.exists()
