"""The dashboard's state has one owner (issue 12): the refresh thread reads the runs and
publishes snapshots; what the user chooses (filter, sort, metric column, tags) lives on
the app and reaches the screens without them calling the app; and the UI thread opens
no file of the root while the user picks a metric column or re-sorts."""

import json
import sys
import threading

from test_app import SIZE, names, until
from test_app_filter import sweep

from runyard.app.dashboard import RunyardApp
from runyard.engine import Run


class FileOpens:
    """Files and folders under ``root`` opened or listed by the thread that runs the
    app (the UI thread)."""

    def __init__(self, root):
        self.root = str(root)
        self.ui = threading.get_ident()
        self.seen: list[str] = []
        self.on = False

    def __call__(self, event: str, args: tuple) -> None:
        if self.on and event in ("open", "os.listdir", "os.scandir") and \
                threading.get_ident() == self.ui:
            path = args[0]
            if isinstance(path, str | bytes) and str(path).startswith(self.root):
                self.seen.append(str(path))


async def test_the_metric_column_is_picked_from_a_list_without_reading_on_the_ui(app_root):
    sweep(app_root)
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="delta")
    run.log_metrics({"loss": 0.3})
    run.close()
    # a name the API refuses, written by hand (by someone else's code)
    with open(app_root / f"{run.id}.meta" / "metrics.jsonl", "ab") as f:
        f.write(json.dumps([1, 0.1, 1.0, {"\x1b]0;evil\x07[b]x": 1.0}]).encode() + b"\n")
    opens = FileOpens(app_root)
    sys.addaudithook(opens)  # stays for the process: it only records while ``on``
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 4)
        assert await until(pilot, lambda: {"acc", "loss"} <= set(app.snapshot.metric_names))
        opens.on = True
        await pilot.press("m")
        assert await until(pilot, lambda: app.screen.query("#metric-list"))
        listed = app.screen.query_one("#metric-list")
        shown = [str(listed.get_option_at_index(i).prompt)
                 for i in range(listed.option_count)]
        assert "* loss" in shown and "  acc" in shown  # the current one marked
        assert "  \\x1b]0;evil\\x07[b]x" in shown  # a run's name for a metric: text
        await pilot.press(*"ac")
        assert await until(pilot, lambda: listed.option_count == 1)
        await pilot.press("enter")
        assert await until(pilot, lambda: app.snapshot.metric == "acc")
        header = app.screen.query_one("#table-header")
        assert await until(pilot, lambda: "ACC" in "".join(
            s.text for s in header.render_line(0)))
        await pilot.press("o")  # a new sort, applied by the refresh thread
        assert await until(pilot, lambda: app.snapshot.sort_key == "name")
        opens.on = False
        assert opens.seen == []  # the chooser, the new column and the sort read nothing here


async def test_tags_are_the_apps_and_follow_their_runs(app_root):
    sweep(app_root)
    opens = FileOpens(app_root)
    sys.addaudithook(opens)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: names(app) == ["gamma", "beta", "alpha"])
        await pilot.press("space")  # tags gamma, moves to beta
        assert await until(pilot, lambda: len(app.tagged) == 1)
        gamma = next(iter(app.tagged))
        assert app.snapshot.runs[gamma].name == "gamma"
        table = app.screen.table
        assert await until(pilot, lambda: table.tagged == app.tagged)
        await pilot.press("o")  # sorted by name: gamma moves to the end, still tagged
        assert await until(pilot, lambda: names(app) == ["alpha", "beta", "gamma"])
        assert table.selected_ids() == [gamma]
        assert "1 tagged" in str(app.screen.query_one("#summary").render())
        opens.on = True
        await pilot.press("enter")  # the detail screen of the run under the cursor (beta)
        assert await until(pilot, lambda: getattr(app.screen, "run_id", None) is not None)
        await pilot.press(*["right_square_bracket"] * 7)  # every tab: read by workers
        opens.on = False
        assert opens.seen == []
        assert app.snapshot.runs[app.screen.run_id].name == "beta"
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen.query("RunsTable"))
        assert app.screen.table.selected_ids() == [gamma]  # kept while away


async def test_a_filter_typed_while_refreshes_are_spaced_applies_at_once(app_root):
    """A screen may space refreshes (the compare screen: a second; more on a slow
    root): changes on disk wait for the gap, a filter the user typed must not."""
    from test_app import new_run

    for i in range(3):
        new_run(app_root, f"run-{i}", end="completed")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        app.refresher.gap = 60.0  # as a screen that refreshes once a minute would
        new_run(app_root, "late", end="completed")  # a change: it waits for the gap
        assert await until(pilot, lambda: app.refresher.watcher._pending)
        await pilot.press("slash", *"run-1", "enter")
        assert await until(pilot, lambda: names(app) == ["run-1"], timeout=10)
