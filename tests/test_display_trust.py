"""What the screen shows can be trusted: run text as data, values the API accepts drawn,
actions on the run the user chose, the glyphs the terminal can show."""

import os
import subprocess
import sys
import threading

from rich.segment import Segment
from test_app import MODULE, SIZE, names, new_run, status_of, until

from runyard.app.ascii_filter import AsciiFilter
from runyard.app.dashboard import RunyardApp
from runyard.app.safe_text import one_line, visible
from runyard.app.screens.detail import DetailScreen
from runyard.app.widgets.glyphs import glyph_mode
from runyard.app.widgets.plot import Plot
from runyard.engine import Run, load_run
from runyard.engine.control import close, start, wait_for_end
from runyard.engine.spec import RunSpec

from terminal import CLI


def test_control_characters_are_shown_never_sent():
    shown = visible("a\x1b]0;title\x07b\x9b31m\u202ec\x00\x7f\ud800\u2028")
    assert shown == "a\\x1b]0;title\\x07b\\x9b31m\\u202ec\\x00\\x7f\\ud800\\u2028"
    assert shown.isprintable() and shown.isascii()
    assert one_line("two\nlines\tand\rreturn") == "two\\nlines\\tand\\rreturn"
    kept = visible("line 1\n\tline 2\x1b", multiline=True)
    assert kept == "line 1\n\tline 2\\x1b"
    assert visible("café ∑ 漢字 Z\u0301") == "café ∑ 漢字 Z\u0301"  # text, not control
    assert visible(42) == "42" and visible(None) == "None"


def test_long_values_are_cut_saying_how_much():
    shown = one_line("x" * 1_000_000, limit=100)
    assert shown == "x" * 100 + "... (999900 more characters)"


def test_glyphs_follow_the_locale_and_term_not_stdout():
    assert glyph_mode({"TERM": "xterm", "LANG": "en_GB.UTF-8"})[0] is True
    assert glyph_mode({"TERM": "xterm", "LANG": "en_GB.utf8"})[0] is True
    assert glyph_mode({"TERM": "xterm", "LANG": "C"})[0] is False
    assert glyph_mode({"TERM": "xterm", "LANG": "en_GB.UTF-8", "LC_ALL": "C"})[0] is False
    assert glyph_mode({"TERM": "xterm", "LC_CTYPE": "C.UTF-8", "LANG": "C"})[0] is True
    assert glyph_mode({"TERM": "dumb", "LANG": "C.UTF-8"})[0] is False
    assert glyph_mode({"TERM": "xterm"})[0] is False
    assert glyph_mode({"TERM": "dumb", "RUNYARD_GLYPHS": "unicode"})[0] is True
    assert glyph_mode({"TERM": "xterm", "LANG": "C.UTF-8", "RUNYARD_GLYPHS": "ascii"})[0] \
        is False


def test_doctor_says_what_the_dashboard_will_draw(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "RUNYARD"))}
    for locale, expected in (("C", "ASCII everywhere"), ("C.UTF-8", "Unicode")):
        done = subprocess.run([*CLI, "doctor", "--root", str(tmp_path)], text=True,
                              capture_output=True, timeout=60,
                              env={**env, "LANG": locale, "LC_ALL": locale,
                                   "TERM": "xterm"})
        assert done.returncode == 0, done.stderr
        line = next(li for li in done.stdout.splitlines() if li.startswith("glyphs:"))
        assert expected in line and f"LC_ALL={locale}" in line


def test_the_ascii_filter_keeps_every_cell_in_place():
    segments = [Segment("╭─┤▶ run ┃"), Segment("漢字…✔", None), Segment("⠿⠀▁█")]
    out = AsciiFilter().apply(segments, None)
    assert [s.text for s in out] == ["+-+> run |", "????~+", ". _#"]
    assert all(s.cell_length == t.cell_length for s, t in zip(segments, out, strict=True))


async def test_infinite_and_huge_values_are_drawn_and_counted(tmp_path):
    root = tmp_path / "runs"
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(name="extremes")
    for value in (1.0, float("inf"), -1e308, 1e308, float("-inf"), float("nan"), 2.0):
        run.log_metrics({"loss": value})
    run.close()
    app = RunyardApp(root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: names(app) == ["extremes"])
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        chart = app.screen.query_one(Plot)
        assert await until(pilot, lambda: len(chart.prepared.lines[0][1]) == 4 if
                           chart.prepared.lines else False)  # finite ones only
        await pilot.pause(0.2)
        assert "3 non-finite not drawn" in chart.head_text().plain
        drawn = chart.canvas.render().plain
        assert "1e308" in drawn and "-1e308" in drawn  # the axis spans them
        assert "min -1e308 max 1e308" in chart.foot_text().plain
        assert app.return_code is None  # nothing crashed


def start_slow(root, tmp_path, name):
    (tmp_path / "slow.py").write_text(MODULE)
    (tmp_path / "a.txt").write_text("a")
    return start(root, RunSpec(kind="module", module=str(tmp_path / "slow.py"),
                               instances=[str(tmp_path / "a.txt")]), name=name)


async def test_a_run_starting_above_the_cursor_does_not_move_the_action(app_root, tmp_path):
    chosen = start_slow(app_root, tmp_path, "chosen")
    app = RunyardApp(app_root)
    notes: list[str] = []
    app.notify = lambda message, **_: notes.append(message)
    other = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: names(app) == ["chosen"])
            table = app.screen.table
            assert table.current_id() == chosen.id
            other = start_slow(app_root, tmp_path, "newcomer")  # sorts above: newest first
            assert await until(pilot, lambda: names(app) == ["newcomer", "chosen"])
            await pilot.press("p")
            assert await until(pilot, lambda: status_of(app, "chosen") == "paused")
            assert status_of(app, "newcomer") == "running"
            assert any(f"chosen ({chosen.id})" in n for n in notes), notes
            await pilot.press("o")  # another sort: the cursor stays on its run
            assert table.current_id() == chosen.id
    finally:
        for run in (chosen, other):
            if run is not None:
                close(app_root, run.id)
                wait_for_end(app_root, run.id, 30)
    assert load_run(app_root, chosen.id).status == "terminated"


def test_errors_on_the_command_line_quote_run_data_as_text(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    done = subprocess.run([*CLI, "show", "no\x1b]0;PWNED\x07such", "--root", str(root)],
                          capture_output=True, timeout=60)
    assert done.returncode != 0
    assert b"\x1b" not in done.stderr and b"\\x1b]0;PWNED\\x07" in done.stderr


async def test_the_detail_title_says_when_a_full_disk_stopped_the_run(app_root):
    from runyard.engine.meta import update_attrs

    paths = new_run(app_root, "filled", end="failed")
    update_attrs(paths.meta_dir, lambda a: a["exit"].update(cause="disk full"), None)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: names(app) == ["filled"])
        await pilot.press("enter")
        title = app.screen.query_one("#run-title")
        assert await until(pilot, lambda: "failed (disk full)" in str(title.render()))


async def test_the_instances_tab_says_an_instance_was_killed(app_root):
    from runyard.engine.work import InstanceBook, new_record

    paths = new_run(app_root, "oom", end="terminated")
    book = InstanceBook(paths)
    book.create(["/data/a.txt", "/data/doomed.txt"], 1)
    book.write("00000-0", {**new_record("/data/a.txt", 0), "status": "done"})
    book.write("00001-0", {**new_record("/data/doomed.txt", 0), "status": "pending",
                           "killed": "SIGKILL", "kills": 3, "attempts": 3})
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        rows = await instance_column(pilot, app, "oom", 2, column=2)
        assert rows == {"a.txt": "done", "doomed.txt": "killed (SIGKILL) x3"}


async def instance_column(pilot, app, name: str, count: int, column: int) -> dict:
    """Run ``name``'s Instances tab once its ``count`` rows are there: each instance's
    file name to the text of ``column``."""
    assert await until(pilot, lambda: names(app) == [name])
    await pilot.press("enter", *["right_square_bracket"] * 3)  # the Instances tab
    table = app.screen.query_one("#instance-table")
    assert await until(pilot, lambda: table.row_count == count)
    return {str(table.get_row(key)[0]): str(table.get_row(key)[column]) for key in table.rows}


async def test_the_instances_tab_shows_each_saved_state_itself(app_root):
    # issue 12, item 6: the state column gave its size in bytes ('7 B'), not 'epoch 7'
    from runyard.engine.work import InstanceBook, new_record

    paths = new_run(app_root, "states", end="terminated")
    book = InstanceBook(paths)
    book.create(["/data/a.txt", "/data/b.txt", "/data/c.txt", "/data/d.txt"], 1)
    big = "x" * (1 << 20)
    for key, state in (("00000-0", "epoch 7"), ("00001-0", big),
                       ("00002-0", "\x1b]0;pwned\x07[b]x[/b]")):
        book.write(key, {**new_record(f"/data/{'abc'[int(key[4])]}.txt", 0),
                         "status": "running", "state": state,
                         "state_size": len(state.encode())})
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        states = await instance_column(pilot, app, "states", 4, column=6)
        assert states["a.txt"] == "epoch 7" and states["d.txt"] == "-"
        assert states["b.txt"].startswith("x" * 20) and states["b.txt"].endswith("(1.0 MB)")
        assert len(states["b.txt"]) < 40
        assert "\x1b" not in states["c.txt"] and "[b]x[/b]" in states["c.txt"]


async def test_a_part_of_a_run_that_cannot_be_read_is_named_and_the_rest_shown(app_root):
    import shutil

    paths = new_run(app_root, "half", end="completed", metadata={"kept": "yes"})
    shutil.rmtree(paths.meta("log"))
    paths.meta("log").write_text("a file where a folder should be")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: names(app) == ["half"])
        await pilot.press("enter", *["right_square_bracket"] * 5)  # the Info tab
        info = app.screen.query_one("#info-text")
        assert await until(pilot, lambda: "cannot read log/" in str(info.render()))
        assert "kept = yes" in str(info.render())
        assert app.return_code is None


def test_the_ui_reads_snapshots_no_refresh_changes(app_root):
    """The refresh thread alone changes the model; the UI thread draws from the
    snapshots it publishes, which stay whole and consistent while later refreshes add
    and remove runs (a dict that grows under an iteration raised 'dictionary changed
    size'; a view with runs the dict no longer had drew blank rows)."""
    import shutil

    from runyard.app.model import RunsModel, folder_counts
    from runyard.engine.ids import new_run_id

    for _ in range(1000):
        (app_root / (new_run_id() + ".meta")).mkdir()
    model = RunsModel(app_root)
    model.load_all()
    published = [model.snapshot()]
    errors, stop = [], threading.Event()

    def ui():
        while not stop.is_set():
            snapshot = published[-1]
            try:
                folder_counts(snapshot.runs)
                assert sum(snapshot.counts.values()) == len(snapshot.runs)
                assert set(snapshot.view) <= set(snapshot.runs)
                assert all(snapshot.runs[i].id == i for i in snapshot.view)
            except (RuntimeError, AssertionError, KeyError) as exc:
                errors.append(exc)
                return

    reader = threading.Thread(target=ui)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # hand the GIL over often: many chances to interleave
    reader.start()
    try:
        for _ in range(15):
            extra = [app_root / (new_run_id() + ".meta") for _ in range(50)]
            for path in extra:
                path.mkdir()
            model._root_mtime = None  # as if the root's mtime moved
            model.rescan()
            model.apply_view()
            published.append(model.snapshot())
            for path in extra:
                shutil.rmtree(path)
            model._root_mtime = None
            model.rescan()  # changes the model under the snapshot the UI may be reading
            model.apply_view()
            published.append(model.snapshot())
    finally:
        stop.set()
        reader.join(30)
        sys.setswitchinterval(switch)
    assert errors == []
    assert len(published[-2].runs) == 1050 and len(published[-1].runs) == 1000
    assert len(model.runs) == 1000


async def test_integers_beyond_a_float_are_shown_not_crashed_on(tmp_path):
    root = tmp_path / "runs"
    run = Run(root=root)
    run.config(disable_resources_metrics=True)
    run.init(name="huge")
    run.log_metrics({"count": 1})
    run.log_metrics({"count": 2}, step=10**400)
    run.close()
    # the API refuses a value beyond a float (issue 13); another writer may not
    from runyard.engine.series import encode_point

    with open(root / f"{run.id}.meta" / "metrics.jsonl", "ab") as series:
        series.write(encode_point((1, 0.5, 1.0, {"count": 10**400})))
    app = RunyardApp(root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: names(app) == ["huge"])
        await pilot.press("enter")
        chart = app.screen.query_one(Plot)
        assert await until(pilot, lambda: "max 1.00e400" in chart.foot_text().plain)
        assert chart.title == "count" and chart.canvas.render().plain.strip()
        assert app.return_code is None


def test_ls_names_a_hostile_folder_without_obeying_it(tmp_path):
    """Anyone who can make a folder in the root chooses its 'id': ls's warning about
    an unreadable run printed it raw (an OSC title change reached the terminal)."""
    root = tmp_path / "runs"
    root.mkdir()
    new_run(root, "good", end="completed")
    (root / "zz\x1b]0;PWN\x07.meta").mkdir()
    done = subprocess.run([*CLI, "ls", "--root", str(root)], capture_output=True, timeout=60)
    assert done.returncode == 0 and b"good" in done.stdout
    assert b"\x1b" not in done.stderr + done.stdout and b"\x07" not in done.stderr
    assert b"runyard: run zz\\x1b]0;PWN\\x07 is unreadable" in done.stderr, done.stderr
