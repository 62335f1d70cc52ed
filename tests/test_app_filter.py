"""The runs screen's filter driven with Pilot: OR/NOT and comparisons find runs, a
filter that cannot be meant says why under the input and keeps the rows, and the
active filter stays on screen at 80 columns."""

from test_app import SIZE, names, until
from textual import events

from runyard.app.dashboard import RunyardApp
from runyard.engine import Run


def sweep(root) -> None:
    """Three finished runs: two with a loss, one with a critical alert."""
    for name, lr, loss, critical in (("alpha", 0.01, 0.5, False),
                                     ("beta", "1e-4", 0.05, True),
                                     ("gamma", "fast", None, False)):
        run = Run(root=root)
        run.config(disable_resources_metrics=True)
        run.init(name=name, metadata={"lr": lr}, tags=["sweep"])
        if loss is not None:
            run.log_metrics({"loss": loss * 2, "acc": 1 - loss * 2})
            run.log_metrics({"loss": loss, "acc": 1 - loss})
        if critical:
            run.create_user_alert("pressure")
            run.log_alert("pressure", state="critical")
        run.close()


def summary(app) -> str:
    return str(app.screen.query_one("#summary").render())


def error_line(app) -> str | None:
    found = app.screen.query("#filter-error")
    line = found.first() if found else None
    return str(line.render()) if line and line.display and line.parent.display else None


async def type_filter(pilot, text: str) -> None:
    if not pilot.app.screen.query_one("#filter-input").has_focus:
        await pilot.press("slash")
    await pilot.press("ctrl+u", *text, "enter")


async def test_or_not_and_comparisons_find_runs(app_root):
    sweep(app_root)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        await type_filter(pilot, "name:alpha OR name:gamma")
        assert await until(pilot, lambda: names(app) == ["gamma", "alpha"])
        await type_filter(pilot, "sweep -name:alpha")
        assert await until(pilot, lambda: names(app) == ["gamma", "beta"])
        await type_filter(pilot, "meta:lr>=1e-3")
        # "1e-4" is a number too; "fast" is not
        assert await until(pilot, lambda: names(app) == ["alpha"])
        await type_filter(pilot, "meta:lr<1e-3 | NOT has:lr")
        assert await until(pilot, lambda: names(app) == ["beta"])
        # the last values the table reads, for every run (not only those on screen)
        await type_filter(pilot, "metric:loss<0.1")
        assert await until(pilot, lambda: names(app) == ["beta"])
        await type_filter(pilot, "alert:critical")
        assert await until(pilot, lambda: names(app) == ["beta"])
        await type_filter(pilot, "NOT alert:critical")
        assert await until(pilot, lambda: names(app) == ["gamma", "alpha"])
        assert error_line(app) is None and app.screen.table.has_focus


async def test_a_filter_that_cannot_be_meant_is_an_error_and_keeps_the_rows(app_root):
    sweep(app_root)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        await type_filter(pilot, "name:beta")
        assert await until(pilot, lambda: names(app) == ["beta"])
        await type_filter(pilot, "status:bogus")
        assert "unknown status 'bogus'" in error_line(app)
        assert await until(pilot, lambda: names(app) == ["beta"])  # the filter before stays applied
        assert app.snapshot.filter_text == "name:beta"
        assert app.screen.query_one("#filter-input").has_focus  # to mend it
        await type_filter(pilot, "meta:lr>")
        assert "'meta:lr>' needs a value after '>'" in error_line(app)
        assert await until(pilot, lambda: names(app) == ["beta"])
        await pilot.press("1")  # mended as it is typed: the error goes
        assert await until(pilot, lambda: error_line(app) is None)
        await pilot.press("enter")
        # no run has lr > 1: a valid filter may match none
        assert await until(pilot, lambda: names(app) == [])
        await type_filter(pilot, "foo:bar OR")
        assert "unknown field 'foo'" in error_line(app)
        await pilot.press("escape")  # esc still clears the filter
        assert await until(pilot, lambda: names(app) == ["gamma", "beta", "alpha"])
        assert error_line(app) is None


async def test_the_active_filter_shows_at_80_columns_as_text(app_root):
    sweep(app_root)
    app = RunyardApp(app_root)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        await type_filter(pilot, '-"[b]zz[/b]" -name:alpha OR meta:lr>=0.001 has:lr')
        assert await until(pilot, lambda: names(app) == ["gamma", "beta", "alpha"])
        line = summary(app)
        assert line.startswith('3 of 3 runs  filter: -"[b]zz[/b]" -name:alpha OR')
        assert line.index("…;") < 78 - 10  # shortened: it ends well within the 78 cells
        shown = app.screen.query_one("#summary").render()
        assert "[b]zz[/b]" in shown.plain  # shown as typed, never read as markup
        # a name pasted with a control character in it is shown, not obeyed
        await pilot.press("slash", "ctrl+u")
        box = app.screen.query_one("#filter-input")
        box.post_message(events.Paste("\x1b]0;evil"))
        assert await until(pilot, lambda: box.value == "\x1b]0;evil")
        await pilot.press("enter")
        assert await until(pilot, lambda: "filter: \\x1b]0;evil" in summary(app))


async def test_a_metric_filter_shows_its_metric_in_the_metric_column(app_root):
    sweep(app_root)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        await type_filter(pilot, "metric:acc>0.9")
        # the column shows the values filtered by
        assert await until(pilot, lambda: app.snapshot.metric == "acc")
        assert await until(pilot, lambda: names(app) == ["beta"])
        await type_filter(pilot, "metric:acc>0.9 OR metric:loss<0.1")
        assert "one metric at a time" in error_line(app)
        assert names(app) == ["beta"] and app.snapshot.metric == "acc"
