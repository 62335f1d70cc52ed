"""The Events and Output tabs read like a pager (issue 12, item 4): a run's first
events are reachable by keyboard, search and error jumps go where they say, the tail
is followed until the user scrolls up, and long output lines scroll sideways. Before,
Up/Down/j/k moved the metric list on every tab and Right changed the tab."""

from test_app import new_run, until

from runyard.app.dashboard import RunyardApp
from runyard.app.widgets.pager import Pager
from runyard.engine import Run

SIZE = (80, 24)


def top_line(pager: Pager) -> str:
    return pager.lines[round(pager.scroll_offset.y)]


async def open_tab(pilot, app, tab: str) -> Pager:
    assert await until(pilot, lambda: app.snapshot.view and app.screen.query("RunsTable"))
    await pilot.press("enter")
    assert await until(pilot, lambda: app.screen.__class__.__name__ == "DetailScreen")
    presses = {"events": 1, "output": 6}[tab]
    await pilot.press(*["right_square_bracket"] * presses)
    pager = app.screen.query_one("#event-log" if tab == "events" else "#output-log", Pager)
    assert await until(pilot, lambda: app.focused is pager)
    return pager


async def test_the_events_tab_scrolls_searches_and_follows_by_keyboard(app_root):
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="chatty")
    run.log_metrics({"loss": 1.0, "acc": 0.5})
    for step in range(300):
        run.log_event(f"step {step} done")
        if step == 200:
            run.log_event("could not open shard 7", log_level="error")
    run._writer.flush()
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.view) == 1)
        pager = await open_tab(pilot, app, "events")
        assert await until(pilot, lambda: len(pager.lines) >= 301)
        assert "following" in str(pager.border_title)
        selected = app.screen.query_one("#metrics-grid").focus_index
        await pilot.press("g")  # the first event, out of reach before
        assert "step 0 done" in top_line(pager)
        await pilot.press("j", "j", "down")
        assert "step 3 done" in top_line(pager)
        assert app.screen.query_one("#metrics-grid").focus_index == selected  # not the charts
        await pilot.press("slash", *"STEP 150", "enter")  # any case
        assert "step 150 done" in top_line(pager) and app.focused is pager
        assert "line" in str(pager.border_title)
        await pilot.press("n")
        assert "step 150 done" in top_line(pager) and "no later" in str(pager.border_title)
        await pilot.press("e")
        assert "could not open shard 7" in top_line(pager)
        run.log_event("while scrolled up")  # not followed: the view stays put
        run._writer.flush()
        assert await until(pilot, lambda: any("while scrolled up" in line
                                              for line in pager.lines))
        assert "could not open shard 7" in top_line(pager)
        await pilot.press("G")
        assert "following" in str(pager.border_title)
        run.log_event("at the tail")
        run._writer.flush()
        assert await until(pilot, lambda: "at the tail" in pager.lines[-1])
        assert await until(pilot, lambda: pager.is_vertical_scroll_end)
        await pilot.press("slash", *"[bold]x", "escape")  # closed, nothing searched
        assert app.focused is pager and app.screen.__class__.__name__ == "DetailScreen"
        await pilot.press("escape")
        assert app.screen.__class__.__name__ == "RunsScreen"
    run.close()


async def test_long_output_lines_scroll_sideways(app_root):
    paths = new_run(app_root, "wide", end="completed")
    log = paths.meta("log")
    log.mkdir(exist_ok=True)
    (log / "w0.log").write_text("".join(f"line {i} " + "x" * 150 + f" end{i}\n"
                                        for i in range(40)))
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.view) == 1)
        pager = await open_tab(pilot, app, "output")
        assert await until(pilot, lambda: any("end39" in line for line in pager.lines))
        await pilot.press("g")
        assert pager.scroll_offset.x == 0
        await pilot.press(*["l"] * 5, "right")
        assert pager.scroll_offset.x > 0
        assert app.screen.query_one("#tabs").active == "output"  # right scrolled, no tab


async def test_a_pager_focused_late_does_not_take_its_tab_back(app_root):
    """Seen in tmux under load: ``]`` from the Events tab stayed on Events. Showing
    Events focuses its pager; that focus reached the tabs as a message, and a switch
    made before it was handled was undone by it. Keys alone choose the tab."""
    paths = new_run(app_root, "run", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        await open_tab(pilot, app, "events")
        tabs = app.screen.query_one("#tabs")
        pager = app.screen.query_one("#event-log", Pager)
        app.screen.set_focus(None)
        pager.focus()  # the focus message is on its way...
        tabs.active = "alerts"  # ...when the next key switches the tab
        await pilot.pause()
        await pilot.pause(0.2)
        assert tabs.active == "alerts"
    assert paths
