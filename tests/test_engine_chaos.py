"""Chaos: a run killed with SIGKILL at random moments, resumed each time, ends with
every instance's saved work done exactly once (each saved step leaves an O_EXCL
mark), one done(), and no corrupt state file."""

import contextlib
import json
import os
import random
import signal
import textwrap
import time

import psutil

from runyard.engine import list_runs, load_run
from runyard.engine.control import resume, start, wait_for_end
from runyard.engine.spec import RunSpec
from runyard.engine.work import InstanceBook

STEPS = 60

MODULE = f"""
    import os, time

    def mark(path):
        # O_EXCL: a unit of work done a second time cannot create its mark again
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))

    def run(instance, save, state):
        name = os.path.basename(instance)
        os.makedirs("units", exist_ok=True)
        first = int(state or 0)
        if first and not os.path.exists(f"units/{{name}}.{{first - 1}}"):
            mark(f"units/{{name}}.{{first - 1}}")  # killed between save() and its mark
        for step in range(first, {STEPS}):
            time.sleep(0.01)  # the work of one step; a step not saved is done again
            save(str(step + 1))
            mark(f"units/{{name}}.{{step}}")  # saved: done, and never to be done again

    def done():
        with open("done.log", "a") as f:
            f.write("done\\n")
"""


def kill_everything(info) -> None:
    supervisor = psutil.Process(info.attrs["lock"]["pid"])
    victims = [supervisor, *supervisor.children(recursive=True)]
    random.shuffle(victims)
    for proc in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(victims, timeout=10)


def test_sigkill_ten_times_and_resume(root, tmp_path):
    rng = random.Random(20261122)
    module = tmp_path / "chaos.py"
    module.write_text(textwrap.dedent(MODULE))
    data = []
    for i in range(20):
        path = tmp_path / "data" / f"inst{i:02d}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text(str(i))
        data.append(str(path))
    info = start(root, RunSpec(kind="module", module=str(module), instances=data, workers=3))
    kills = 0
    while kills < 10:
        time.sleep(rng.uniform(0.15, 0.6))
        info = load_run(root, info.id)
        if info.status != "running":
            break
        kill_everything(info)
        kills += 1
        assert load_run(root, info.id).status == "lost"
        info = resume(root, info.id)
    assert kills == 10, "the run finished before it could be killed ten times"
    info = wait_for_end(root, info.id, 120)
    assert info.status == "completed", info.attrs.get("exit")
    assert info.attrs["attempt"] == 11
    run_dir = info.paths.run_dir
    marks = sorted(p.name for p in (run_dir / "units").iterdir())
    # every saved step of every instance marked once: none lost, none done twice (a
    # second time would have failed its instance, and the run)
    assert marks == sorted(f"{os.path.basename(path)}.{step}" for path in data
                           for step in range(STEPS))
    assert (run_dir / "done.log").read_text() == "done\n"
    for record_file in (info.meta_dir / "instances").glob("*.json"):
        json.loads(record_file.read_text())  # never half-written
    records = InstanceBook(info.paths).records()  # whole files, and journals over them
    assert len(records) == len(data)
    assert all(r["status"] == "done" and r["state"] == str(STEPS) for r in records.values())
    assert [r.id for r in list_runs(root)] == [info.id]
