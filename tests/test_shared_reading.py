"""A live run open in the detail screen is read once: the runs table's cell (the
refresh thread) and the detail screen (its worker) read its metrics file through one
reader, so each byte the run appends is read from the file once, not once by each."""

import asyncio

from read_count import ReadCounter
from test_app import SIZE, until

from runyard.app.dashboard import RunyardApp
from runyard.app.screens.detail import DetailScreen
from runyard.engine import Run


async def test_a_live_run_open_in_detail_is_read_once(app_root, monkeypatch):
    counter = ReadCounter(monkeypatch)
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="live")
    path = app_root / f"{run.id}.meta" / "metrics.jsonl"
    run.log_metrics({"loss": 0.5})
    app = RunyardApp(app_root)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: run.id in app.snapshot.cells and
                               app.snapshot.cells[run.id].last == 0.5)
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            tail = app.screen.tail
            assert await until(pilot, lambda: "loss" in tail.metrics)
            counter.counting = True
            before = path.stat().st_size
            points = 40
            for step in range(1, points + 1):
                run.log_metrics({"loss": float(step)})
                await asyncio.sleep(0.05)  # twenty points a second, flushed as they come
            assert await until(pilot, lambda: app.snapshot.cells[run.id].last == points and
                               tail.metrics["loss"].last == points)
            counter.counting = False
            after = path.stat().st_size
            assert tail.metrics["loss"].count == points + 1  # all of it, once
    finally:
        run.close()
    fewest, most = counter.times_read(path, before, after)
    # Each byte once; a line caught half written (a read racing the write) is read
    # again when whole, so a few bytes may be read twice: never the whole file.
    assert fewest == 1, (fewest, most)
    assert counter.total(path) <= 1.25 * (after - before), (counter.total(path), after - before)


async def test_alert_changes_are_read_once_by_the_cell_and_the_detail_screen(
        app_root, monkeypatch):
    # The cell read every alerts file whole again each time one grew (summary's
    # alert_states), besides the detail screen's own reading of it.
    counter = ReadCounter(monkeypatch)
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="alerting")
    run.create_user_alert("flag")
    path = app_root / f"{run.id}.meta" / "alerts.jsonl"
    app = RunyardApp(app_root)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: run.id in app.snapshot.cells)
            await pilot.press("enter")
            assert isinstance(app.screen, DetailScreen)
            tail = app.screen.tail
            counter.counting = True
            for turn in range(6):
                state = "critical" if turn % 2 == 0 else "ok"
                run.log_alert("flag", state=state)
                assert await until(pilot, lambda state=state: tail.alerts.get(
                    "flag", {}).get("state") == state and
                    app.snapshot.cells[run.id].critical == (["flag"] if state == "critical"
                                                            else []))
            counter.counting = False
            size = path.stat().st_size
    finally:
        run.close()
    fewest, most = counter.times_read(path, 0, size)
    assert fewest == 1, (fewest, most)
    assert counter.total(path) <= 1.25 * size, (counter.total(path), size)
