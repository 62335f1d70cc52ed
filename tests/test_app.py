"""The dashboard driven with Pilot: live updates, detail, control, filter, alerts."""

import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from runyard.app.dashboard import RunyardApp
from runyard.app.screens.detail import DetailScreen
from runyard.app.screens.runs import RunsScreen
from runyard.engine import Run, finalize_run, init_run_meta, load_run, make_run, start_run
from runyard.engine.control import close, wait_for_end

SIZE = (100, 30)


def new_run(root: Path, name: str, *, end: str | None = None, **attrs):
    paths = make_run(root)
    init_run_meta(paths, name=name, **attrs)
    start_run(paths)
    if end:
        finalize_run(paths, end)
    return paths


async def until(pilot, predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await pilot.pause(0.1)
    return predicate()


def names(app: RunyardApp) -> list[str]:
    """The names in the table's order, once the table is on screen (the model is read
    before the runs screen is composed: a key pressed before that has no table)."""
    if not app.screen.query("RunsTable"):
        return []
    return [app.snapshot.runs[i].name for i in app.snapshot.view]


def status_of(app: RunyardApp, name: str) -> str | None:
    for info in app.snapshot.runs.values():
        if info.name == name:
            return info.status
    return None


async def test_the_table_follows_runs_appearing_changing_and_disappearing(app_root):
    first = new_run(app_root, "first", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: names(app) == ["first"])
        second = new_run(app_root, "second")
        assert await until(pilot, lambda: names(app) == ["second", "first"])
        assert await until(pilot, lambda: status_of(app, "second") == "running")
        finalize_run(second, "failed")
        assert await until(pilot, lambda: status_of(app, "second") == "failed")
        shutil.rmtree(first.meta_dir)
        assert await until(pilot, lambda: names(app) == ["second"])
        table = app.screen.table
        assert table.current_id() == second.id


async def test_the_detail_screen_follows_another_process(app_root):
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from runyard.engine import Run
        with Run(root={str(app_root)!r}) as run:
            run.config(disable_resources_metrics=True)
            run.init(name="writer")
            for step in range(100):
                run.log_metrics({{"loss": 1 / (step + 1), "energy": step}})
                if step % 10 == 0:
                    run.log_event(f"step {{step}}")
                time.sleep(0.05)
    """)])
    try:
        app = RunyardApp(app_root)
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: "writer" in names(app))
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            grid = app.screen.query_one("#metrics-grid")
            assert await until(pilot, lambda: set(grid.source.names()) == {"loss", "energy"})
            charts = app.screen.query("Plot")
            assert await until(pilot, lambda: {p.title for p in charts} == {"loss", "energy"})
            first = app.screen.tail.metrics["loss"].count
            assert await until(pilot, lambda: app.screen.tail.metrics["loss"].count > first + 10)
            drawn = next(p for p in charts if p.title == "loss")
            assert await until(pilot, lambda: drawn.series[0].last == 1 / 100)  # kept up
            log = app.screen.query_one("#event-log")
            assert await until(pilot, lambda: log.line_count >= 3)
            assert "step 0" in log.lines[0]
            await pilot.press("escape")
            assert isinstance(app.screen, RunsScreen)
    finally:
        writer.wait(30)


MODULE = """
import time
def run(instance, save, state):
    for i in range(int(state or 0), 400):
        time.sleep(0.05)
        save(str(i + 1))
"""


async def test_keys_start_pause_resume_and_close_a_real_run(app_root, tmp_path,
                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "slow.py").write_text(MODULE)
    (tmp_path / "a.txt").write_text("a")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.click("#target")
        await pilot.press(*"slow.py", "tab", *"a.txt", "tab", "1", "tab", *"keyed")
        await pilot.press("enter")
        assert await until(pilot, lambda: status_of(app, "keyed") == "running", 20)
        run_id = next(i for i, r in app.snapshot.runs.items() if r.name == "keyed")
        assert load_run(app_root, run_id).status == "running"
        await pilot.press("p")
        assert await until(pilot, lambda: status_of(app, "keyed") == "paused")
        assert load_run(app_root, run_id).status == "paused"
        await pilot.press("r")
        assert await until(pilot, lambda: status_of(app, "keyed") == "running")
        await pilot.press("c")
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        await pilot.press("y")
        assert await until(pilot, lambda: status_of(app, "keyed") == "terminated", 20)
    info = load_run(app_root, run_id)
    assert info.status == "terminated"
    assert (app_root / f"{run_id}.meta" / "instances" / "00000-0.json").exists()


async def test_the_start_form_can_save_an_operation_keeping_comments(app_root, tmp_path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quick.py").write_text("def run(instance, save, state):\n    pass\n")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "runyard.toml").write_text("# our project\n[operations.other]  # keep me\n"
                                           "module = 'quick.py'\ninstances = ['a.txt']\n")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.click("#target")
        await pilot.press(*"quick.py", "tab", *"a.txt")
        app.screen.query_one("#save").value = True
        app.screen.query_one("#save-as").value = "quick"
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: any(r.name and r.status == "completed"
                                              for r in app.snapshot.runs.values()), 20)
    text = (tmp_path / "runyard.toml").read_text()
    assert "# our project" in text and "# keep me" in text
    assert "[operations.quick]" in text and 'module = "quick.py"' in text


async def test_filter_sort_and_tag_several_runs(app_root):
    for name, folder, tags in (("alpha", "/gpu", ["gpu"]), ("beta", "/cpu", ["cpu"]),
                               ("gamma", "/gpu/big", ["gpu", "big"])):
        new_run(app_root, name, folder=folder, tags=tags, end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        await pilot.press("slash", *"tag:gpu", "enter")
        assert await until(pilot, lambda: names(app) == ["gamma", "alpha"])
        assert app.screen.table.has_focus  # enter gives the keys back to the table
        await pilot.press("slash", "ctrl+u", *"folder:/gpu/big", "enter")
        assert await until(pilot, lambda: names(app) == ["gamma"])
        await pilot.press("escape")
        assert await until(pilot, lambda: names(app) == ["gamma", "beta", "alpha"])
        table = app.screen.table
        assert app.snapshot.runs[table.current_id()].name == "gamma"
        await pilot.press("o")  # sort by name: the cursor stays on its run
        assert await until(pilot, lambda: app.snapshot.sort_key == "name" and
                           names(app) == ["alpha", "beta", "gamma"])
        assert app.snapshot.runs[table.current_id()].name == "gamma"
        await pilot.press("home", "space", "space")
        assert await until(pilot, lambda: len(app.screen.table.tagged) == 2)
        assert len(app.tagged) == 2  # the app's, bound into the screen and its table
        assert [app.snapshot.runs[i].name for i in app.screen.table.selected_ids()] == \
            ["alpha", "beta"]
        await pilot.press("escape")
        assert await until(pilot, lambda: not app.screen.table.tagged and not app.tagged)


async def test_pause_acts_on_every_tagged_run(app_root, tmp_path):
    from runyard.engine.control import start
    from runyard.engine.spec import RunSpec

    (tmp_path / "slow.py").write_text(MODULE)
    (tmp_path / "a.txt").write_text("a")
    ids = [start(app_root, RunSpec(kind="module", module=str(tmp_path / "slow.py"),
                                   instances=[str(tmp_path / "a.txt")]), name=n).id
           for n in ("one", "two", "three")]
    app = RunyardApp(app_root)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: len(names(app)) == 3)
            await pilot.press("space", "space", "p")  # three, two tagged
            assert await until(pilot, lambda: [status_of(app, n) for n in
                                               ("three", "two", "one")] ==
                                ["paused", "paused", "running"])
    finally:
        for run_id in ids:
            close(app_root, run_id)
        for run_id in ids:
            wait_for_end(app_root, run_id, 30)


async def test_a_corrupt_run_shows_as_unreadable_and_the_rest_works(app_root):
    good = new_run(app_root, "good", end="completed")
    bad = new_run(app_root, "bad", end="completed")
    (bad.meta_dir / "attrs.json").write_text('{"schema": 1, "name": ')
    half = app_root / "1m80zzzzzzzzzz.meta"
    half.mkdir()  # a meta folder with nothing in it yet
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        statuses = {i: app.snapshot.runs[i].status for i in app.snapshot.view}
        assert statuses[bad.id] == "unreadable" and statuses[good.id] == "completed"
        assert "not valid JSON" in app.snapshot.runs[bad.id].error
        assert "is missing" in app.snapshot.runs["1m80zzzzzzzzzz"].error
        table = app.screen.table
        table.move_to(app.snapshot.view.index(bad.id))
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        title = str(app.screen.query_one("#run-title").render())
        assert "unreadable" in title
        await pilot.press("escape")
        new_run(app_root, "later")
        assert await until(pilot, lambda: "later" in names(app))


async def test_a_refresh_that_comes_while_the_runs_screen_has_no_table_draws_nothing(app_root):
    # seen in CI: the refresh thread's message reached a runs screen whose widgets had
    # gone as the app ended, and the dashboard crashed (NoMatches); so can one that
    # comes while the screen is composed (its on_mount draws it all)
    from runyard.app.messages import ModelRefreshed

    new_run(app_root, "first", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: names(app) == ["first"])
        app.push_screen(RunsScreen("watching"))
        assert not app.screen.query("RunsTable")  # pushed, not composed yet
        app.on_model_refreshed(ModelRefreshed(app.snapshot, {"x"}, set()))
        await pilot.pause()
        assert names(app) == ["first"] and app.screen.table.visible_ids() == list(app.snapshot.view)
        await app.screen.remove_children()  # as when the app ends: widgets go first
        app.on_model_refreshed(ModelRefreshed(app.snapshot, {"x"}, set()))
        await pilot.pause()
        assert app.return_code is None


async def test_an_alert_turning_critical_notifies_once_and_rings(app_root):
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="watched")
    run.create_user_alert("pressure")
    app = RunyardApp(app_root)
    rings = []
    app.bell = lambda: rings.append(1)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: run.id in app.snapshot.cells)
        run.log_alert("pressure", state="critical")
        assert await until(pilot, lambda: any("pressure" in str(n.message)
                                              for n in app._notifications), 10)
        await pilot.pause(1.0)
        assert rings == [1]
        assert app.snapshot.cells[run.id].critical == ["pressure"]
    run.close()


async def test_help_lists_every_binding_and_the_palette_has_the_actions(app_root):
    new_run(app_root, "any", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-text").render())
        for description in ("Open", "Start", "Pause", "Resume", "Close", "Tag", "Filter",
                            "Sort", "Quit", "Back", "Next tab"):
            assert description in text, description
        await pilot.press("escape")
        from runyard.app.palette import BindingCommands

        provider = BindingCommands(app.screen)
        found = [hit async for hit in provider.discover()]
        texts = " ".join(str(h.text) for h in found)
        for description in ("Pause", "Resume", "Close", "Start", "Filter", "Quit"):
            assert description in texts


def test_ascii_fallbacks_of_runyards_own_glyphs(monkeypatch):
    from runyard.app.widgets import glyphs

    monkeypatch.setattr(glyphs, "UNICODE", False)
    assert glyphs.sparkline([1, 2, 3], 3) == "_~@"
    assert glyphs.status_symbol("running")[0] == ">"




async def test_the_refresh_thread_and_the_watcher_stop_before_the_screens_go(app_root,
                                                                             monkeypatch):
    # a refresh finishing while the screens are removed posted to a stack that was
    # emptying (ScreenStackError at shutdown, seen in the suite): by the time the first
    # screen goes, nothing in the background may still be running
    new_run(app_root, "first", end="completed")
    app = RunyardApp(app_root)
    seen = []
    own = RunsScreen.on_unmount if "on_unmount" in vars(RunsScreen) else None

    def spy(screen, *args):
        seen.append((app.refresher._thread.is_alive(), app.watcher.observer.is_alive()))
        if own is not None:
            own(screen, *args)

    monkeypatch.setattr(RunsScreen, "on_unmount", spy, raising=False)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: names(app) == ["first"])
        assert app.refresher._thread.is_alive() and app.watcher.observer.is_alive()
        await pilot.press("q")
    assert seen == [(False, False)]
    assert app.return_code == 0


async def test_resuming_a_run_whose_module_changed_says_so(app_root, tmp_path):
    # the CLI prints the engine's warning; the dashboard showed nothing (and a warning
    # written to stderr from its worker thread would land on the screen)
    from runyard.engine.control import start
    from runyard.engine.spec import RunSpec

    module = tmp_path / "slow.py"
    module.write_text(MODULE)
    (tmp_path / "a.txt").write_text("a")
    info = start(app_root, RunSpec(kind="module", module=str(module),
                                   instances=[str(tmp_path / "a.txt")]), name="changed")
    close(app_root, info.id)
    assert wait_for_end(app_root, info.id, 30).status == "terminated"
    module.write_text(MODULE.replace("0.05", "0.01"))
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: status_of(app, "changed") == "terminated")
        await pilot.press("r")
        assert await until(pilot, lambda: status_of(app, "changed") == "running", 20)
        assert await until(pilot, lambda: any(
            "the new attempt runs it as it is now" in n.message and n.severity == "warning"
            for n in app._notifications), 10)
        close(app_root, info.id)
        assert await until(pilot, lambda: status_of(app, "changed") == "terminated", 20)
