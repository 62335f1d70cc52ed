"""Property: whatever is done to some runs' folders, ``ls --json``, ``show --json``,
``show`` and the dashboard's model list and show the other runs exactly as before,
never raise and never hang (issue 10).

Hypothesis builds hostile runs next to good ones: files of the wrong kind (FIFOs,
folders, symbolic links to /dev/zero, to themselves, to a good run's file),
fields of the wrong type, torn, long and broken lines, deep nesting, sparse
files, mode 000. The readers' bounds are made small for the test (lines of 2 KiB,
reads of 512 bytes, backlogs of 16 KiB) so that every bound is crossed without
writing megabytes. Checks run in this process under a watchdog that interrupts
a blocked call; ``test_hostile_runs.py`` runs the same commands as processes.
Mode 000 does not stop root, which runs the tests: ``test_unreadable_files_as_
another_user`` covers permissions as the user ``nobody``.
"""

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runyard.app.cli import main
from runyard.app.eta_text import records_with_progress, run_progress_line
from runyard.app.model import RunsModel, folder_counts, progress_text, step_link
from runyard.engine import list_runs
from runyard.engine.summary import alert_definitions
from runyard.engine.tail import RunTail, TextTail
from runyard.engine.work import InstanceBook

from hostile import good_run

TARGETS = ["attrs.json", "metrics.jsonl", "metrics.w0.jsonl", "events.jsonl",
           "events.cmd.jsonl", "alerts.jsonl", "alerts.json", "files.jsonl",
           "instances/00000-0.json", "instances", "log/output.log", "log/runner",
           "heartbeat", "paused", "progress.w0.json"]
TEMPLATES = {
    "attrs": None,  # the run's own attributes
    "metrics": {"s": 1, "t": 0.5, "ts": 1.8e9, "v": {"loss": 0.5}},
    "events": {"ts": 1.8e9, "level": "info", "msg": "m"},
    "alerts": {"ts": 1.8e9, "alert": "a", "state": "critical", "value": 1.0},
    "files": {"ts": 1.8e9, "name": "a", "category": "output", "path": "p", "size": 1},
    "instance": {"instance": "/a", "iteration": 0, "status": "done", "attempts": 1,
                 "state": "", "state_size": 0, "saved": None, "error": None},
    "progress": {"key": "00000-0", "instance": "/a", "fraction": 0.5, "ts": 1.8e9,
                 "started": 1.8e9},
}
FIELDS = ["schema", "id", "name", "folder", "tags", "metadata", "description", "timeout",
          "host", "user", "scheduler", "created", "started", "ended", "attempt", "lock",
          "exit", "progress", "kind", "flow", "s", "t", "ts", "v", "level", "msg", "alert",
          "state", "value", "category", "size", "instance", "status", "attempts", "x",
          "eta", "fraction", "left", "at", "key", "started", "run"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**80, 2**80) | st.floats() |
    st.text(max_size=12) | st.sampled_from(["NaN", "Infinity", "completed", "/", "1m80"]),
    lambda inner: st.lists(inner, max_size=3) |
    st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=4),
    max_leaves=10)


@st.composite
def records(draw, template: dict | None, base: dict) -> bytes:
    """A record of the file's kind with one field changed, or any JSON at all."""
    record = dict(template if template is not None else base)
    how = draw(st.sampled_from(["same", "field", "drop", "any", "nested", "long", "remote"]))
    if how == "remote":  # a run live on another host: its heartbeat decides
        record.pop("exit", None)
        record["lock"] = {"host": "elsewhere", "pid": 1, "pid_started": 1.0}
    elif how == "field":
        record[draw(st.sampled_from(FIELDS))] = draw(json_values)
    elif how == "drop" and record:
        record.pop(draw(st.sampled_from(sorted(record))))
    elif how == "any":
        record = draw(json_values)
    elif how == "nested":
        depth = draw(st.integers(1, 2000))
        return b'{"v":' * depth + b"1" + b"}" * depth
    elif how == "long":
        record["msg"] = "x" * draw(st.integers(1000, 6000))
    return json.dumps(record).encode()


@st.composite
def contents(draw, target: str, base: dict) -> bytes:
    kind = {"attrs.json": "attrs", "alerts.json": "alerts",
            "instances/00000-0.json": "instance"}.get(target, target.split(".")[0])
    template = TEMPLATES.get(kind, TEMPLATES["events"])
    if target.endswith(".json"):
        if kind == "alerts":
            return json.dumps(draw(st.lists(json_values, max_size=3))).encode()
        return draw(records(template, base))
    lines = draw(st.lists(records(template, base) | st.binary(max_size=40), max_size=6))
    torn = draw(st.booleans())
    return b"\n".join(lines) + (b"" if torn else b"\n")


@st.composite
def damages(draw, base: dict) -> list:
    """What is done to one run: (target, how, content) triples."""
    found = []
    for target in draw(st.lists(st.sampled_from(TARGETS), min_size=1, max_size=4,
                                unique=True)):
        how = draw(st.sampled_from(["content", "content", "content", "fifo", "folder",
                                    "zero", "loop", "dangling", "good", "empty", "sparse",
                                    "missing", "mode 000"]))
        content = draw(contents(target, base)) if how == "content" else b""
        found.append((target, how, content))
    if draw(st.integers(0, 9)) == 0:
        found.append(("", draw(st.sampled_from(["file", "fifo", "loop", "empty"])), b""))
    return found


def damage(meta: Path, good_meta: Path, target: str, how: str, content: bytes) -> None:
    if target == "":  # the meta folder itself
        _replace_meta(meta, how)
        return
    path = meta / target
    try:
        path.parent.mkdir(exist_ok=True)
    except FileExistsError:  # the parent was itself damaged into something else
        return
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    if how == "content":
        path.write_bytes(content)
    elif how == "fifo":
        os.mkfifo(path)
    elif how == "folder":
        path.mkdir()
    elif how == "zero":
        os.symlink("/dev/zero", path)
    elif how == "loop":
        os.symlink(path.name, path)
    elif how == "dangling":
        os.symlink("/nonexistent/file", path)
    elif how == "good":
        os.symlink(good_meta / target, path)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "sparse":
        with open(path, "wb") as f:
            f.write(b'{"s":0,"v":{"loss":1}}\n')
            f.truncate(64 * 1024)
    elif how == "mode 000":
        path.write_bytes(b"{}\n")
        path.chmod(0)


def _replace_meta(meta: Path, how: str) -> None:
    shutil.rmtree(meta)
    if how == "file":
        meta.write_text("not a folder")
    elif how == "fifo":
        os.mkfifo(meta)
    elif how == "loop":
        os.symlink(meta.name, meta)
    else:
        meta.mkdir()


class Hang(BaseException):
    """A reader blocked: no ordinary ``except`` in the code under test catches it."""


@contextlib.contextmanager
def watchdog(seconds: float):
    """Interrupt the main thread (even in a blocking system call) after ``seconds``."""
    main_thread = threading.main_thread().ident

    def bark(_signum, _frame):
        raise Hang(f"a reader blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGUSR1, bark)
    timer = threading.Timer(seconds, signal.pthread_kill, (main_thread, signal.SIGUSR1))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)


@pytest.fixture
def small_bounds(monkeypatch):
    import runyard.engine.jsonl as jsonl

    monkeypatch.setattr(jsonl, "LINE_MAX", 2048)
    monkeypatch.setattr(jsonl, "CHUNK", 512)
    monkeypatch.setattr(jsonl, "BACKLOG_MAX", 16 * 1024)


def cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def picture(root: Path, good: list) -> dict:
    """All a user sees of the good runs: ls --json, show --json, the model's rows."""
    code, out, err = cli("ls", "--json", "--root", root)
    assert code == 0, err
    listed = {entry["id"]: entry for entry in json.loads(out)}
    seen = {"ls": {p.id: listed[p.id] for p in good}}
    for paths in good:
        code, out, err = cli("show", paths.id, "--json", "--root", root)
        assert code == 0 and err == "", err
        seen[paths.id] = json.loads(out)
        seen[paths.id].pop("duration")
    model = read_model(root, list(listed))
    seen["model"] = {p.id: (model.runs[p.id].status, model.runs[p.id].attrs,
                            model.cells[p.id].trend, model.cells[p.id].critical)
                     for p in good}
    return seen


def read_model(root: Path, ids: list[str]) -> RunsModel:
    """Every reading entry point of the dashboard's model and detail view."""
    model = RunsModel(root)
    model.load_all()
    model._root_mtime = None  # as if the root changed
    model.rescan()
    model.reload(set(model.runs))
    for key in ("created", "name", "status", "folder", "started", "duration", "progress"):
        model.set_settings(replace(model.settings, sort_key=key))
        model.apply_view()
    model.counts()
    folder_counts(model.runs)
    model.snapshot(again=True)
    for run_id, info in model.runs.items():
        model.cell(run_id)
        progress_text(info)
        step_link(info)
        tail = RunTail(info.meta_dir)
        tail.poll()
        tail.poll()
        for log in ("runner", "output.log"):
            TextTail(info.meta_dir / "log" / log).read_new()
        with contextlib.suppress(OSError):  # a folder that cannot be listed says so
            records_with_progress(info.meta_dir, InstanceBook(info.paths).records())
        run_progress_line(info)
        alert_definitions(info.meta_dir)
    assert set(ids) <= set(model.runs)
    return model


HOSTILE = settings(max_examples=100, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow, HealthCheck.data_too_large])


@HOSTILE
@given(data=st.data())
def test_hostile_runs_never_change_what_is_shown_of_the_good_ones(small_bounds, data):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "runs"
        good = [good_run(root, "good-a", 1), good_run(root, "good-b", 2)]
        before = picture(root, good)
        hostile = [good_run(root, f"hostile-{n}", n + 3)
                   for n in range(data.draw(st.integers(1, 3)))]
        for paths in hostile:
            base = json.loads(paths.meta("attrs.json").read_text())
            for target, how, content in data.draw(damages(base)):
                damage(paths.meta_dir, good[0].meta_dir, target, how, content)
        with watchdog(20):
            assert picture(root, good) == before
            for paths in hostile:
                for args in (["--json"], []):
                    code, _out, err = cli("show", paths.id, *args, "--root", root)
                    assert code in (0, 1, 2), err
                    assert all(line.startswith("runyard: ") for line in err.splitlines())
            for info in list_runs(root):
                assert info.error is None or "\n" not in info.error


def test_unreadable_files_as_another_user(tmp_path):
    """Mode 000 and folders nobody may enter, read by ``nobody``: the good runs are
    listed and shown as usual, the others unreadable or with a bad line."""
    folder = Path(tempfile.mkdtemp(dir="/tmp", prefix="runyard-perm-"))
    try:
        folder.chmod(0o755)
        root = folder / "runs"
        good = good_run(root, "good")
        no_attrs, no_metrics, no_meta, no_instances = (
            good_run(root, name) for name in ("no-attrs", "no-metrics", "no-meta",
                                              "no-instances"))
        # a root shared with others: everyone may read, whatever the test's umask
        subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
        no_attrs.meta("attrs.json").chmod(0)
        no_metrics.meta("metrics.jsonl").chmod(0)
        no_meta.meta_dir.chmod(0)
        (no_instances.meta_dir / "instances").mkdir()
        (no_instances.meta_dir / "instances" / "00000-0.json").write_text("{}")
        (no_instances.meta_dir / "instances").chmod(0)
        (no_metrics.meta_dir / "log" / "output.log").write_text("out\n")
        (no_metrics.meta_dir / "log" / "output.log").chmod(0)
        result = subprocess.run([sys.executable, "-c", AS_NOBODY, str(root)], cwd=folder,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout)
        assert seen["uid"] == 65534
        listed = {entry["id"]: entry for entry in seen["ls"]}
        assert listed[good.id]["status"] == "completed"
        assert listed[no_metrics.id]["status"] == "completed"
        assert listed[no_instances.id]["status"] == "completed"
        for paths in (no_attrs, no_meta):
            assert listed[paths.id]["status"] == "unreadable"
            assert "is not readable (permission denied)" in listed[paths.id]["error"]
        assert seen["show"][good.id][0] == 0
        code, _out, err = seen["show"][no_metrics.id]
        assert code == 0 and "metrics.jsonl:0: cannot read: it is not readable" in err
        assert seen["show"][no_attrs.id][0] == 1
        assert seen["model"][good.id] == ["completed", [float(i) for i in range(10)]]
        assert seen["model"][no_meta.id][0] == "unreadable"
        assert seen["records"][no_instances.id].endswith(
            "instances cannot be listed (Permission denied)")
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(folder)], check=True)
        import shutil

        shutil.rmtree(folder)


# Imports everything first (the interpreter's own files may be closed to
# ``nobody``), then becomes ``nobody`` and reads the root.
AS_NOBODY = """
import contextlib, io, json, os, sys
from pathlib import Path
from runyard.app.cli import main
from runyard.app.model import RunsModel
from runyard.engine import tail, work

root = Path(sys.argv[1])


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def look():
    seen = {"uid": os.getuid(), "show": {}, "model": {}, "records": {}}
    code, out, err = cli("ls", "--json", "--root", root)
    assert code == 0, err
    seen["ls"] = json.loads(out)
    model = RunsModel(root)
    model.set_settings(model.settings.with_metric("acc"))
    model.load_all()
    for entry in seen["ls"]:
        run_id = entry["id"]
        seen["show"][run_id] = cli("show", run_id, "--json", "--root", root)
        cli("show", run_id, "--root", root)
        info = model.runs[run_id]
        seen["model"][run_id] = [info.status, model.cell(run_id).trend]
        t = tail.RunTail(info.meta_dir)
        t.poll()
        tail.TextTail(info.meta_dir / "log" / "output.log").read_new()
        try:
            seen["records"][run_id] = work.InstanceBook(info.paths).records()
        except OSError as exc:  # a folder that cannot be listed: said, never taken as empty
            seen["records"][run_id] = str(exc)
    return seen


# Once as root, thrown away: every module the calls import on the way (runyard
# imports what a command needs when it runs) is loaded before the interpreter's own
# library, which may sit in a folder only root can enter, is out of reach.
look()
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
print(json.dumps(look()))
"""
