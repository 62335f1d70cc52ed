"""A project folder shared by a group (reference 004's run directory on a cluster):
the runs one member records follow that member's umask, so a teammate in the same
group lists them with ``ls`` and sees them in the dashboard's model, live ones too;
``proc/`` (the recorded command and environment) and the lock files stay the
owner's alone.

The tests run as root. The owner's process is root with umask 007 in a setgid
folder of group GROUP (as ``chgrp proj; chmod 2770`` makes a project folder): what
it creates belongs to GROUP and is closed to others, so the teammate (uid 65534,
member of GROUP only) reads it through the group's bits alone.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import wait_until

GROUP = 4343
UMASK = 0o007

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root to act as a second user")

OWNER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from runyard.engine import Run
    from runyard.engine.control import start, wait_for_end
    from runyard.engine.spec import RunSpec
    from runyard.engine.spool import sync_spool

    root, home = Path(sys.argv[1]), Path(sys.argv[2])
    os.environ["RUNYARD_SPOOL"] = str(home / "spool")
    data = home / "a.txt"
    data.write_text("a")
    with Run(root=root) as run:
        run.init(name="tracked", metadata={"lr": 0.1})
        run.log_metrics({"acc": 0.5})
        run.log_event("checkpoint")
        run.create_user_alert("flag")
        run.log_alert(name="flag", state="critical")
        run.save_file(str(data), "input")
    with Run(mode="offline") as run:
        run.init(name="offline")
        run.log_metrics({"acc": 0.25})
    sync_spool(home / "spool", root)
    done = home / "done.py"
    done.write_text("def run(instance, save, state):\\n    save('1')\\n    print('ok')\\n")
    info = start(root, RunSpec(kind="module", module=str(done), instances=[str(data)]),
                 name="module")
    wait_for_end(root, info.id, 60)
    info = start(root, RunSpec(kind="command", argv=["sh", "-c", "echo out"]),
                 name="command")
    wait_for_end(root, info.id, 60)
    live = home / "live.py"
    live.write_text("import time\\nfrom runyard.engine import current_run\\n"
                    "def run(instance, save, state):\\n"
                    "    while True:\\n"
                    "        current_run().log_metrics({'acc': 1.0})\\n"
                    "        time.sleep(0.2)\\n")
    print(start(root, RunSpec(kind="module", module=str(live), instances=[str(data)]),
                name="live").id)
""")

# Imports everything as root first (the interpreter's own library may sit in a
# folder only root can enter), then becomes the teammate and looks.
TEAMMATE = textwrap.dedent("""
    import contextlib, io, json, os, sys
    from pathlib import Path
    from runyard.app.cli import main
    from runyard.app.model import RunsModel

    root = Path(sys.argv[1])

    def cli(*args):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in args])
        return code, out.getvalue(), err.getvalue()

    def look():
        code, out, err = cli("ls", "--json", "--root", root)
        seen = {"ls": [code, json.loads(out) if code == 0 else out, err], "model": {},
                "show": {}}
        model = RunsModel(root)
        model.set_settings(model.settings.with_metric("acc"))
        model.load_all()
        for run_id, info in model.runs.items():
            seen["model"][run_id] = [info.name, info.status, info.error,
                                     model.cell(run_id).trend]
            seen["show"][run_id] = cli("show", run_id, "--root", root)[::2]
        try:
            proc = next(root.glob("*.meta/proc"))
            seen["proc"] = sorted(os.listdir(proc))
        except OSError as exc:
            seen["proc"] = exc.strerror
        return seen

    look()
    os.setgroups([int(sys.argv[2])])
    os.setgid(65534)
    os.setuid(65534)
    print(json.dumps(look()))
""")


def modes(root: Path) -> dict[str, tuple[bool, int]]:
    """Every file and folder below ``root``: whether it is a folder, and its permission
    bits (the setgid bit a folder inherits left out). A live run renames temporary
    files meanwhile: one gone before it is looked at is skipped."""
    found = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            found[os.path.relpath(path, root)] = (stat.S_ISDIR(info.st_mode),
                                                  stat.S_IMODE(info.st_mode) & 0o777)
    return found


def private(relative: str) -> bool:
    """What stays the owner's alone: proc/ and its files, and every lock file."""
    parts = Path(relative).parts
    return "proc" in parts or relative.endswith(".lock")


def test_a_teammate_in_the_group_sees_the_runs_but_not_proc():
    shared = Path(tempfile.mkdtemp(prefix="runyard-group-"))
    live = None
    try:
        os.chown(shared, 0, GROUP)
        shared.chmod(0o2770)  # the group's project folder: others may not even enter
        root = shared / "runs"
        owner = subprocess.run(["sh", "-c", f'umask {UMASK:03o}; exec "$0" -c "$1" "$2" "$3"',
                                sys.executable, OWNER, str(root), str(shared)],
                               capture_output=True, text=True, timeout=180)
        assert owner.returncode == 0, owner.stderr
        live = owner.stdout.split()[-1]

        found = modes(root)
        assert any(name.endswith("metrics.jsonl") for name in found)
        assert any(name.endswith("log/runner") for name in found)
        for relative, (folder, mode) in found.items():
            if private(relative):
                assert mode == (0o700 if folder else 0o600), (relative, oct(mode))
            else:  # the umask's bits, nothing taken away beyond them
                assert mode == (0o777 if folder else 0o666) & ~UMASK, (relative, oct(mode))

        wait_until(lambda: (root / f"{live}.meta" / "metrics.w0.jsonl").exists() or
                   any((root / f"{live}.meta").glob("metrics*.jsonl")), 30)
        seen = subprocess.run([sys.executable, "-c", TEAMMATE, str(root), str(GROUP)],
                              cwd=shared, capture_output=True, text=True, timeout=120)
        assert seen.returncode == 0, seen.stderr
        seen = json.loads(seen.stdout)
        code, listed, err = seen["ls"]
        assert code == 0 and err == "", err
        statuses = {entry["name"]: (entry["status"], entry.get("error")) for entry in listed}
        assert statuses == {"tracked": ("completed", None), "offline": ("completed", None),
                            "module": ("completed", None), "command": ("completed", None),
                            "live": ("running", None)}
        model = {name: (status, error, trend)
                 for name, status, error, trend in seen["model"].values()}
        assert model["tracked"] == ("completed", None, [0.5])
        assert model["offline"] == ("completed", None, [0.25])
        assert model["live"][:2] == ("running", None) and model["live"][2]
        assert all(shown == [0, ""] for shown in seen["show"].values()), seen["show"]
        assert seen["proc"] == "Permission denied"  # the command and environment: not theirs
    finally:
        if live is not None:
            from runyard.engine.control import close

            close(shared / "runs", live, wait=60)
        shutil.rmtree(shared)
