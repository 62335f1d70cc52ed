"""What the dashboard redraws while it watches (issue 11): nothing while nothing
changes, and only the row of a live run while that run logs, never a relayout of
the screen. These count refreshes, relayouts and repainted lines rather than time
them, so a loaded machine cannot make them pass or fail."""

import asyncio
from collections import Counter
from contextlib import asynccontextmanager

from test_app import SIZE, new_run, until

from runyard.app.dashboard import RunyardApp
from runyard.app.refresher import RESCAN_EVERY
from runyard.engine import Run


async def settled(pilot) -> None:
    """Once the first screen is drawn: Textual composes the footer's keys after the
    first refreshes (one relayout), which is start-up, not watching."""
    await until(pilot, lambda: pilot.app.screen.query("FooterKey"))
    await pilot.pause()


@asynccontextmanager
async def detail_of_one_run(app_root, name: str):
    """The dashboard over one completed run, its detail screen just asked for:
    yields the pilot (its ``app``) and that screen."""
    new_run(app_root, name, end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.snapshot.view) == 1)
        await settled(pilot)
        await pilot.press("enter")
        yield pilot, app.screen


class Meter:
    """Counts the relayouts of the app's screen and the table lines it repaints, by
    run (the run a repainted line showed)."""

    def __init__(self, app: RunyardApp):
        self.app = app
        self.relayouts = 0
        self.lines: Counter = Counter()
        self.on = False
        screen = app.screen
        table = screen.table
        layout, render_line = screen._refresh_layout, table.render_line

        def counted_layout(*args, **kwargs):
            self.relayouts += self.on
            return layout(*args, **kwargs)

        def counted_line(y):
            if self.on:
                index = table.scroll_offset.y + y
                view = app.snapshot.view
                self.lines[view[index] if index < len(view) else None] += 1
            return render_line(y)

        screen._refresh_layout = counted_layout
        table.render_line = counted_line


async def test_an_idle_dashboard_redraws_nothing(app_root):
    for i in range(5):
        new_run(app_root, f"done-{i}", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.snapshot.view) == 5 and len(app.snapshot.cells) == 5)
        await settled(pilot)
        meter = Meter(app)
        await pilot.pause(0.5)
        meter.on, start = True, app.refresher.count
        await pilot.pause(2 * RESCAN_EVERY + 0.5)  # the window measured, two heartbeats
        await pilot.press("down", "up")  # moving the cursor is no change on disk
        await pilot.pause(0.5)
        meter.on = False
    refreshes = app.refresher.count - start
    # the heartbeat re-scans and at most one refresh for the cursor's rows
    assert refreshes <= 4, refreshes
    assert meter.relayouts == 0
    # the cursor's two moves repaint the lines it left and reached, nothing else
    assert sum(meter.lines.values()) <= 4, meter.lines


async def test_a_live_run_repaints_its_own_row_only(app_root):
    for i in range(3):
        new_run(app_root, f"done-{i}", end="completed")
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="live")
    run.log_metrics({"loss": 0.5})
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.snapshot.cells) == 4 and
                    app.snapshot.cells[run.id].last == 0.5)  # every row's cells filled
        await settled(pilot)
        meter = Meter(app)
        meter.on, start = True, app.refresher.count
        points = 30
        for step in range(points):
            run.log_metrics({"loss": float(step)})
            await asyncio.sleep(0.1)  # ten points a second, as a training loop would
        shown = await until(pilot, lambda: app.snapshot.cells[run.id].last == points - 1)
        meter.on = False
        refreshes = app.refresher.count - start
    run.close()
    assert shown
    assert meter.relayouts == 0  # a new value is a repaint, never a relayout
    others = {k: n for k, n in meter.lines.items() if k != run.id}
    assert not others, f"rows of runs that did not change were repainted: {others}"
    # one refresh per flush at most (no refresh loop), and each repaints one line
    assert 1 <= refreshes <= points + 6, refreshes
    assert meter.lines[run.id] <= refreshes + 2


async def test_a_new_run_above_redraws_the_table_once(app_root):
    """When the view itself changes, the whole table is drawn (and only then)."""
    new_run(app_root, "old", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.snapshot.view) == 1 and app.snapshot.cells)
        await settled(pilot)
        meter = Meter(app)
        meter.on = True
        new_run(app_root, "new", end="completed")
        assert await until(pilot, lambda: len(app.snapshot.view) == 2)
        assert await until(pilot, lambda: min(meter.lines[i] for i in app.snapshot.view) >= 1)
        meter.on = False
    assert meter.relayouts <= 1  # the table grew a row: its scroll region, laid out once


async def test_the_cursor_stays_on_screen_past_the_last_row(app_root):
    """At 80x24 the table's last line sat under a horizontal scrollbar: moving down
    to it hid the cursor, and the table scrolled a press too late."""
    for i in range(40):
        new_run(app_root, f"run-{i:02d}", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.snapshot.view) == 40 and app.screen.query("RunsTable"))
        table = app.screen.table
        assert not table.show_horizontal_scrollbar  # the columns fit: nothing to scroll
        for press in range(30):
            await pilot.press("j")
            top = table.scroll_offset.y
            shown = table.scrollable_content_region.height
            assert top <= table.cursor < top + shown, (press, table.cursor, top, shown)
            # and the row drawn in reverse video is the cursor's, on screen
            line = table.render_line(table.cursor - top)
            assert any(seg.style and seg.style.reverse for seg in line), press


def test_the_first_page_is_the_newest_runs_and_the_rest_comes_behind(app_root):
    """The first screen waits for the newest runs only (a root of 50,000 took 6.6 s
    to show anything); the rest is read in batches, newest first."""
    import shutil

    from runyard.app.model import RunsModel

    made = [new_run(app_root, f"run-{i:02d}", end="completed") for i in range(30)]
    model = RunsModel(app_root)
    model.load_first(page=5)
    assert model.view == [p.id for p in reversed(made[-5:])]
    assert model.loading() == "loading 5 of 30 runs"
    late = new_run(app_root, "late", end="completed")  # one started meanwhile
    shutil.rmtree(made[0].meta_dir)                     # and one removed, not yet read
    model._root_mtime = None  # as if the root's clock had moved on
    assert model.rescan() == {late.id}  # what is still to be read is not news
    assert set(model.load_more(10)) == {p.id for p in made[15:25]}  # newest first
    while model.pending:
        model.load_more(10)
    model.apply_view()
    assert model.view == [late.id] + [p.id for p in reversed(made[1:])]
    assert model.loading() == ""


async def test_the_dashboard_fills_in_every_run_behind_its_first_page(app_root, monkeypatch):
    from runyard.app import model as model_module

    monkeypatch.setattr(model_module, "FIRST_PAGE", 4)
    monkeypatch.setattr(model_module, "LOAD_BATCH", 7)
    made = [new_run(app_root, f"run-{i:02d}", end="completed") for i in range(30)]
    app = RunyardApp(app_root)
    batches = []
    load_more = app.refresher.model.load_more
    app.refresher.model.load_more = lambda *a: batches.append(load_more(*a)) or batches[-1]
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.view) == 30)
        assert list(app.snapshot.view) == [p.id for p in reversed(made)]
        assert [len(b) for b in batches] == [7, 7, 7, 5]  # read behind the first page
        assert await until(pilot, lambda: "30 runs: 30 completed" in
                           str(app.screen.query_one("#summary").render()))


async def test_an_idle_run_open_in_the_detail_screen_is_read_again_only_on_heartbeats(
        app_root):
    # a run without instances/ (any run of the tracking API): the folder was marked
    # changed on every refresh as a folder newly watched, the mark made a refresh,
    # and each refresh read the whole run again, three times a second
    async with detail_of_one_run(app_root, "idle") as (pilot, screen):
        assert await until(pilot, lambda: screen._last is not None)  # its first read
        assert not (screen.meta_dir / "instances").exists()
        reads, read_files = [], screen.read_files

        def counted(full: bool = True):
            reads.append(full)
            return read_files(full)

        screen.read_files = counted
        start = pilot.app.refresher.count
        await pilot.pause(2 * RESCAN_EVERY + 0.5)  # the window measured, two heartbeats
        refreshes = pilot.app.refresher.count - start
    assert refreshes <= 3 and len(reads) <= 3, (refreshes, reads)


async def test_the_key_bar_is_rebuilt_only_when_the_keys_it_shows_change(app_root):
    # Textual's Footer rebuilt all its keys after every check of the bindings (17 on
    # opening a run's detail screen: 0.23 s before its first chart was drawn)
    async with detail_of_one_run(app_root, "one") as (pilot, screen):
        assert await until(pilot, lambda: screen._last is not None and
                           screen.query("FooterKey"))
        await pilot.pause(0.3)
        bar = screen.query_one("KeyBar")
        rebuilds, recompose = [], bar.recompose

        async def counted():
            rebuilds.append(tuple(k.description for k in bar.query("FooterKey")))
            await recompose()

        bar.recompose = counted
        shown = [str(k.description) for k in bar.query("FooterKey")]
        for _ in range(5):  # what a focus move or a widget mounted asks, keys unchanged
            screen.refresh_bindings()
            await pilot.pause()
        await pilot.pause(0.3)
        assert rebuilds == [], rebuilds
        assert [str(k.description) for k in bar.query("FooterKey")] == shown
        await pilot.press("]")  # Events: a pager's keys, not the charts'
        assert await until(pilot, lambda: rebuilds)
        await pilot.pause(0.3)
        assert len(rebuilds) == 1, rebuilds
        assert "Crosshair" not in [str(k.description) for k in bar.query("FooterKey")]
