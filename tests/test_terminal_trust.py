"""A runs root written by a stranger, read in a real terminal (tmux), byte for byte.

Hostile strings (terminal escapes that retitle the pane, write the clipboard or
clear the screen, C1 controls, the bell, Rich markup and hyperlinks, bidi
overrides, combining characters, megabyte values) go into every field a run
has, through the real tracking API, the real engine and hand-written files.
Then ``runyard ls``, ``runyard show`` and every screen of the dashboard are
driven in tmux, and the test asserts on the raw bytes that reached the
terminal: none of the hostile sequences, the pane title unchanged, and the
values shown as visible text instead.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runyard.engine import finalize_run, init_run_meta, make_run, start_run
from runyard.engine.control import start, wait_for_end
from runyard.engine.jsonl import append_records
from runyard.engine.meta import update_attrs
from runyard.engine.procs import process_lock
from runyard.engine.spec import RunSpec

from conftest import wait_until
from terminal import CLI, Terminal

PAYLOADS = [
    "\x1b]0;PWNED-TITLE\x07",          # OSC 0: set the window and pane title
    "\x1b]52;c;UFdORUQ=\x07",          # OSC 52: write the clipboard
    "\x1b[2J\x1b[HCLEARED",            # clear the screen, cursor home
    "\x9b31mC1-CSI",                   # a C1 control: CSI in one character
    "BELL\x07",
    "\x1bP+q544e\x1b\\",               # DCS: ask the terminal about itself
    "[reverse]REV[/reverse] [link=https://evil.example/]LINK[/link] bad [/boom]",
    "\u202eRTL-OVERRIDE\u202c",
    "Z" + "\u0301" * 40,                # a pile of combining accents
]
HOSTILE = "EVIL " + " ".join(PAYLOADS)
SHORT = " ".join(PAYLOADS[:2] + PAYLOADS[6:8])  # for fields of at most 200 characters
BIG = "M" * 1_000_000
# Bytes that must never reach the terminal: the sequences above as they would be
# sent, plus an OSC 8 hyperlink (what [link=...] becomes if it is read as markup).
FORBIDDEN = [p.encode() for p in PAYLOADS[:6]] + [
    b"\x1b]0;PWNED", b"\x1b]52;", b"\xc2\x9b", b"\x1bP+q", b"\xe2\x80\xae", b"\x1b]8;",
    b"BELL\x07"]
SHOWN = "\\x1b]0;PWNED-TITLE\\x07"  # how the first payload must look on screen

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from runyard.engine import Run
    root, hostile, short = sys.argv[1], sys.argv[2], sys.argv[3]
    big, folder = "M" * 1_000_000, Path(sys.argv[4])
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(name="api-hostile", folder="/api", tags=["api"],
             metadata={"note": hostile, "big": big}, description=hostile + "\\n" + big)
    run.create_user_alert("ALERT-MARK " + short)
    run.log_event("EVT-MARK " + hostile)
    run.log_event("multi-line\\n" + hostile + "\\n" + big)
    for value in (1.0, float("inf"), -1e308, 1e308, float("-inf"), float("nan"), 2.0):
        run.log_metrics({"loss": value})
    odd = folder / ("file-" + hostile.replace("/", "_")[:120] + ".txt")
    odd.write_text("x")
    run.save_file(odd, "output", file_type=hostile)
    print(run.id, flush=True)
    for line in sys.stdin:
        if line.strip() == "alert":
            run.log_alert("ALERT-MARK " + short, state="critical")
    run.close()
""")

MODULE = textwrap.dedent("""
    import sys
    from runyard.engine.context import current_run

    HOSTILE = %r

    def run(instance, save, state):
        current_run().log_metrics({"loss": 0.5})
        current_run().log_event("EVT-MARK " + HOSTILE)
        print("OUT-MARK " + HOSTILE, flush=True)
        print("progress 10%%\\rprogress 100%% " + HOSTILE, flush=True)
        raise ValueError("bad [/boom] " + HOSTILE)
""") % HOSTILE


def hand_written(root: Path, name: str, *, alive: bool) -> str:
    """A run whose every file was written by hand, as another user could."""
    paths = make_run(root)
    init_run_meta(paths, name=name)
    start_run(paths)
    if not alive:
        finalize_run(paths, "failed", error="ERR-MARK " + HOSTILE)

    def hostile_attrs(attrs: dict) -> None:
        attrs.update(name=name + " " + HOSTILE, folder="/hand/" + HOSTILE.replace("/", "_"),
                     tags=["t " + HOSTILE], metadata={"key " + HOSTILE: HOSTILE},
                     description=HOSTILE, host="host " + HOSTILE, user="user " + HOSTILE)
        if alive:  # held by this test process, so the run reads as running
            attrs["lock"] = process_lock()
        attrs["eta"] = {"fraction": HOSTILE, "left": HOSTILE, "at": HOSTILE}  # reads 'bad'

    update_attrs(paths.meta_dir, hostile_attrs, None)
    now = time.time()
    append_records(paths.meta("metrics.jsonl"),
                   [{"s": i, "t": i, "ts": now, "v": {"loss " + HOSTILE: v}}
                    for i, v in enumerate((1.0, "Infinity", 3.0))])
    append_records(paths.meta("events.jsonl"), [
        {"ts": now, "level": "info", "msg": "EVT-MARK " + HOSTILE},
        {"ts": now, "level": "warning " + HOSTILE, "msg": HOSTILE + "\n" + HOSTILE}])
    (paths.meta_dir / "alerts.json").write_text(json.dumps(
        [{"name": "ALERT-MARK " + HOSTILE, "source": "user", "rule": HOSTILE}]))
    append_records(paths.meta("alerts.jsonl"), [
        {"ts": now, "alert": "ALERT-MARK " + HOSTILE, "state": "ok", "value": HOSTILE}])
    append_records(paths.meta("files.jsonl"), [
        {"name": HOSTILE, "category": "output", "size": 1, "mime": HOSTILE}])
    (paths.meta_dir / "instances").mkdir()
    (paths.meta_dir / "instances" / "00000-0.json").write_text(json.dumps({
        "instance": "/data/" + HOSTILE, "iteration": 0, "status": "failed", "attempts": 1,
        "state": HOSTILE, "state_size": 5, "saved": now, "error": "ERR " + HOSTILE}))
    (paths.meta_dir / "progress.w0.json").write_text(json.dumps({
        "key": "00000-0", "instance": HOSTILE, "fraction": HOSTILE, "ts": HOSTILE,
        "started": HOSTILE}))
    with open(paths.meta("log/output.log"), "w") as log:
        log.write("OUT-MARK " + HOSTILE + "\n" + HOSTILE + "\n")
    (paths.run_dir / ("made-" + HOSTILE.replace("/", "_")[:100])).write_text("x")
    return paths.id


@pytest.fixture
def hostile_root(tmp_path):
    """Four runs: one through the API (live), one through the engine (failed), one
    hand-written and ended, one hand-written and live."""
    root = tmp_path / "runs"
    root.mkdir()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), HOSTILE, SHORT,
                               str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    api_id = writer.stdout.readline().strip()
    assert api_id, "the API writer did not start"
    module = tmp_path / "hostile_module.py"
    module.write_text(MODULE)
    data = tmp_path / "in.txt"
    data.write_text("x")
    engine_info = start(root, RunSpec(kind="module", module=str(module),
                                      instances=[str(data)], max_attempts=1),
                        name="engine-hostile",
                        alerts=[{"name": "ALERT-MARK " + SHORT, "source": "user"}])
    assert wait_for_end(root, engine_info.id, 60).status == "failed"
    runs = {"api": api_id, "engine": engine_info.id,
            "ended": hand_written(root, "hand-ended", alive=False),
            "live": hand_written(root, "hand-live", alive=True)}
    yield root, runs, writer
    writer.stdin.close()
    writer.wait(30)


def assert_clean(term: Terminal) -> None:
    raw = term.raw()
    for sequence in FORBIDDEN:
        assert sequence not in raw, f"{sequence!r} reached the terminal"
    assert term.title() == term.title_before, "the pane title changed"


def tmux_env(**extra) -> dict:
    return {"TERM": "xterm-256color", "LANG": "C.UTF-8", **extra}


def test_ls_and_show_print_hostile_runs_as_text(hostile_root, tmp_path):
    root, runs, _writer = hostile_root
    script = [f"{' '.join(CLI)} ls --root {root}"]
    script += [f"{' '.join(CLI)} show {run_id} --root {root}" for run_id in runs.values()]
    term = Terminal(["sh", "-c", "; ".join(script)], tmp_path, tmux_env(), size=(200, 50),
                    record=tmp_path / "cli.raw")
    try:
        assert term.exit_code(60) == 0
        raw = term.raw()
        assert_clean(term)
        assert b"\x1b" not in raw.replace(b"\r\n", b"\n")  # the CLI writes no escapes
        assert SHOWN.encode() in raw  # shown, visibly
        assert b"[/boom]" in raw and b"\\u202eRTL-OVERRIDE" in raw
        assert len(raw) < 200_000  # a megabyte value is cut, not dumped
    finally:
        term.close()


def test_json_output_stays_exact(hostile_root):
    root, runs, _writer = hostile_root
    shown = subprocess.run([*CLI, "show", runs["ended"], "--root", str(root), "--json"],
                           capture_output=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert b"\x1b" not in shown.stdout  # JSON escapes it
    data = json.loads(shown.stdout)
    assert data["name"] == "hand-ended " + HOSTILE
    assert data["description"] == HOSTILE


def open_run(term: Terminal, run_id: str, marks: dict) -> None:
    """Filter the table to one run, open it and visit every tab."""
    term.keys("/")
    term.expect("filter: words")
    term.type(f"id:{run_id}")
    term.keys("Enter")
    term.expect(f"filter: id:{run_id}")
    term.keys("Enter")
    term.expect(f"({run_id})")
    for mark in marks:
        term.keys("]")
        term.expect(mark.format(id=run_id))
    term.keys("Escape")
    term.expect_gone(f"({run_id})")
    term.keys("Escape")  # and clear the filter
    term.expect_gone("filter: id:")


def compare_all(term: Terminal, ascii_only: bool) -> None:
    """Tag every run, compare them side by side (every key shown, then only those that
    differ), and go back with the tags cleared."""
    term.keys("A")
    term.expect("4 tagged")
    term.keys("v")
    term.expect("Comparing 4 runs")
    term.expect("runs overlaid: ")  # the overlaid charts
    if ascii_only:
        assert term.screen().isascii(), term.screen()
    term.keys("]")
    term.expect("meta")  # the table's metadata rows
    if ascii_only:
        assert term.screen().isascii(), term.screen()
    term.keys("d")
    term.expect("only differing keys")
    term.keys("Escape")
    term.expect_gone("Comparing 4 runs")
    term.keys("Escape")
    term.expect_gone("4 tagged")


def test_every_dashboard_screen_shows_hostile_runs_as_text(hostile_root, tmp_path):
    root, runs, writer = hostile_root
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path, tmux_env(),
                    size=(160, 48), record=tmp_path / "dash.raw")
    try:
        term.expect("api-hostile")
        term.expect("hand-live EVIL")
        # each tab in turn: events, alerts, instances, files, info, output, system,
        # back to metrics
        tabs = ["EVT-MARK", "ALERT-MARK", "tries", "run folder:", "id {id}", "[runner]",
                "system: ", "metrics: "]
        for run_id in runs.values():
            open_run(term, run_id, tabs)
        assert SHOWN.encode() in term.raw()
        term.expect("4 runs")
        for key, mark in (("f", "Folders"), ("?", "runyard keys")):
            term.keys(key)
            term.expect(mark)
            term.keys("Escape")  # (the next key would read as alt+key if sent at once)
            term.expect_gone(mark)
        term.keys("/")
        term.expect("filter: words")  # focus moves to the box once it is drawn
        term.type("name:hand-live")
        term.keys("Enter")
        term.expect("1 of 4 runs")
        term.keys("c")
        term.expect("Close run hand-live")
        term.keys("n")
        term.expect_gone("Close run hand-live")
        term.keys("Escape")
        term.expect_gone("filter: name:")
        compare_all(term, ascii_only=False)
        # a notification quoting the alert's and the run's names
        writer.stdin.write("alert\n")
        writer.stdin.flush()
        term.expect("is critical on run")
        term.keys("q")
        assert term.exit_code() == 0
        assert_clean(term)
    finally:
        term.close()


@pytest.mark.parametrize("env", [
    {"NO_COLOR": "1"},
    {"TERM": "xterm"},
    {"TERM": "dumb"},
    {"LANG": "C", "LC_ALL": "C"},
], ids=["NO_COLOR", "xterm", "dumb", "LANG=C"])
def test_every_screen_under_each_terminal_setting(hostile_root, tmp_path, env):
    root, runs, _writer = hostile_root
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path, tmux_env(**env),
                    size=(80, 24), record=tmp_path / "env.raw")
    ascii_only = env.get("TERM") == "dumb" or env.get("LANG") == "C"
    try:
        term.expect("watch:")
        tabs = ["EVT-MARK", "ALERT-MARK", "tries", "run folder:", "id {id}", "[runner]",
                "system: ", "metrics: "]
        for run_id in (runs["engine"], runs["ended"]):
            open_run(term, run_id, tabs)
            if ascii_only:
                assert term.screen().isascii(), term.screen()
        for key, mark in (("f", "Folders"), ("?", "runyard keys"), ("s", "Start a run"),
                          ("C-p", "Search")):
            term.keys(key)
            term.expect(mark)
            if ascii_only:
                assert term.screen().isascii(), term.screen()
            term.keys("Escape")
            term.expect_gone(mark)
        compare_all(term, ascii_only)
        term.keys("q")
        assert term.exit_code() == 0
        assert_clean(term)
        if ascii_only:
            assert term.raw().isascii()
    finally:
        term.close()


def hostile_flow(root: Path) -> tuple[str, str]:
    """A flow run whose steps' names, statuses and errors a stranger wrote, and the
    run of its first step (its name as hostile)."""
    step = make_run(root)
    init_run_meta(step, name="step-run")
    start_run(step)
    finalize_run(step, "completed")
    update_attrs(step.meta_dir, lambda a: a.update(name="step-run " + HOSTILE), None)
    flow = make_run(root)
    init_run_meta(flow, name="flow-hostile")
    start_run(flow)
    finalize_run(flow, "failed")
    steps = {"STEP-MARK " + SHORT: {"run": step.id, "status": "done " + SHORT,
                                    "error": "ERR " + HOSTILE},
             "later " + SHORT: {"run": None, "status": "pending " + SHORT, "error": None}}
    update_attrs(flow.meta_dir, lambda a: a.update(
        kind="flow", flow={"name": "FLOW " + HOSTILE, "steps": steps}), None)
    return flow.id, step.id


def test_a_hostile_flow_run_shows_its_steps_as_text(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    flow_id, step_id = hostile_flow(root)
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path, tmux_env(),
                    size=(160, 48), record=tmp_path / "flow.raw")
    try:
        term.expect("flow-hostile")
        # the Steps tab first, then events, info, output and back to the steps
        open_run(term, flow_id, ["events: ", "id {id}", "[runner]", "STEP-MARK " + SHOWN])
        term.keys("/")
        term.expect("filter: words")
        term.type(f"id:{flow_id}")
        term.keys("Enter")
        term.expect(f"filter: id:{flow_id}")
        term.keys("Enter")
        term.expect("STEP-MARK " + SHOWN)
        term.keys("Enter")  # the first step's run
        term.expect(f"({step_id})")
        term.expect("step-run EVIL " + SHOWN)
        term.keys("Escape")
        term.expect_gone(f"({step_id})")
        term.keys("q")
        assert term.exit_code() == 0
        assert_clean(term)
    finally:
        term.close()


CRASHING = textwrap.dedent("""
    import sys
    from pathlib import Path
    from runyard.app.commands.dash import run_dashboard
    from runyard.app.dashboard import RunyardApp

    class Broken(RunyardApp):
        def on_mount(self):  # Textual calls RunyardApp.on_mount as well
            self.set_timer(0.5, self.explode)

        def explode(self):
            raise RuntimeError("an unexpected \\x1b]0;PWNED-TITLE\\x07 failure")

    sys.exit(run_dashboard(Broken(Path(sys.argv[1]))))
""")


def test_an_unexpected_error_exits_non_zero_and_names_the_traceback(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    state = tmp_path / "state"
    env = tmux_env(XDG_STATE_HOME=str(state), HOME=str(tmp_path))
    script = tmp_path / "crashing.py"
    script.write_text(CRASHING)
    term = Terminal(["sh", "-c", f"{sys.executable} {script} {root}; "
                    "code=$?; stty -a | tr ' ' '\\n' | grep -x -e echo -e icanon; "
                    "exit $code"], tmp_path, env, record=tmp_path / "crash.raw")
    try:
        assert term.exit_code(60) == 1
        screen = term.screen()
        assert "the dashboard stopped on an unexpected error (RuntimeError" in screen
        assert "echo" in screen.split() and "icanon" in screen.split()  # terminal usable
        reports = wait_until(lambda: list(state.rglob("dashboard-crash-*.txt")), 10)
        assert str(reports[0]) in screen.replace("\n", "")
        assert "explode" in reports[0].read_text()  # the full traceback
        assert_clean(term)
    finally:
        term.close()
        shutil.rmtree(state, ignore_errors=True)
    assert os.path.isdir(root)


@pytest.mark.parametrize("after", ["Enter", "s", "?", "f"])
def test_a_key_pressed_just_after_quit_opens_nothing(tmp_path, after):
    root = tmp_path / "runs"
    root.mkdir()
    paths = make_run(root)
    init_run_meta(paths, name="any")
    start_run(paths)
    finalize_run(paths, "completed")
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path, tmux_env(),
                    record=tmp_path / "quit.raw")
    try:
        term.expect("any")
        term.keys("q", after)  # in one write, as a quick typist sends them
        assert term.exit_code() == 0, term.screen()
        assert "unexpected error" not in term.screen()
    finally:
        term.close()


def test_start_again_shows_hostile_records_as_text(hostile_root, tmp_path):
    """S (start again) on each run: a recorded spec full of escapes fills no field with
    them and shows what it left out as text; runs with no spec say so, as text."""
    root, runs, _writer = hostile_root
    proc = root / f"{runs['ended']}.meta" / "proc"
    proc.mkdir()
    (proc / "spec.json").write_text(json.dumps({
        "kind": "module", "module": f"/x/{HOSTILE}.py", "instances": [f"/in/{SHORT}"],
        "workers": 2, "executor": SHORT, "iterations": SHORT}))
    term = Terminal([*CLI, "dash", "--root", str(root)], tmp_path, tmux_env(),
                    size=(80, 24), record=tmp_path / "again.raw")
    try:
        term.expect("watch:")
        for kind, run_id in runs.items():
            term.keys("/")
            term.expect("filter: words")
            term.type(f"id:{run_id}")
            term.keys("Enter")
            term.expect(f"filter: id:{run_id}")
            term.keys("S")
            if kind in ("engine", "ended"):
                term.expect("Start a run again")
                if kind == "ended":
                    term.expect("left out: module")
                term.keys("Escape")
                term.expect_gone("Start a run again")
            else:
                term.expect("no recorded spec")
            term.keys("Escape")
            term.expect_gone("filter: id:")
        term.keys("q")
        assert term.exit_code() == 0
        assert_clean(term)
    finally:
        term.close()
