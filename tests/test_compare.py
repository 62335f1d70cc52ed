"""Compare runs (issue 12 item 2): tag a sweep by a filter, open the side-by-side table,
see which keys differ, pin a baseline and read the others against it; a live run's
values keep updating."""

import json

import pytest
from test_app import SIZE, names, until

from runyard.app.dashboard import RunyardApp
from runyard.engine import Run


def sweep(root, n: int = 4) -> list:
    runs = []
    for i in range(n):
        run = Run(root=root)
        run.config(disable_resources_metrics=True)
        run.init(name=f"lr-{i}", metadata={"lr": 10.0 ** -(i + 1), "model": "mlp"},
                 tags=["sweep"])
        for step in range(5):
            run.log_metrics({"loss": (i + 1) / (step + 1)})
        run.close()
        runs.append(run)
    other = Run(root=root)
    other.config(disable_resources_metrics=True)
    other.init(name="unrelated")
    other.close()
    return runs


def cells(app) -> dict:
    """The side-by-side table: row key -> the runs' cells, as plain text."""
    table = app.screen.query_one("#compare-table")
    found = {}
    for row in range(table.row_count):
        values = [str(v) for v in table.get_row_at(row)]
        found[values[0][2:]] = values[1:]
    return found


def shown_plots(app) -> list:
    """The compare screen's charts that show a metric."""
    if not app.screen.query("#compare-charts"):
        return []
    return [p for p in app.screen.query("Plot") if p.display and p.series]


def headers(app) -> list[str]:
    table = app.screen.query_one("#compare-table")
    return [str(c.label) for c in table.columns.values()][1:]


async def test_tag_a_sweep_by_filter_and_compare_it(app_root):
    sweep(app_root)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 5)
        await pilot.press("v")  # nothing tagged: says how
        await pilot.press("slash", *"tag:sweep", "enter")
        assert await until(pilot, lambda: len(names(app)) == 4)
        await pilot.press("A")  # every run the filter shows
        assert await until(pilot, lambda: len(app.tagged) == 4)
        await pilot.press("v")
        assert await until(pilot, lambda: shown_plots(app))
        # the charts first: loss overlaid, one line a run, named in the legend
        plots = shown_plots(app)
        assert [p.title for p in plots] == ["loss"]
        assert [s.label for s in plots[0].series] == ["lr-3", "lr-2", "lr-1", "lr-0"]
        assert [s.last for s in plots[0].series] == [0.8, 0.6, 0.4, 0.2]
        assert len({s.style for s in plots[0].series}) == 4  # each its colour and marker
        await pilot.press("b")  # on the charts: the first run is the baseline
        assert await until(pilot, lambda: plots[0].series[0].label == "baseline lr-3")
        await pilot.press("b", "b", "b", "b")  # and on to none
        assert await until(pilot, lambda: plots[0].series[0].label == "lr-3")
        await pilot.press("right_square_bracket")  # the table
        assert await until(pilot, lambda: app.screen.focused is
                           app.screen.query_one("#compare-table") and "last loss" in cells(app))
        assert headers(app) == ["lr-3", "lr-2", "lr-1", "lr-0"]
        table = cells(app)
        assert table["last loss"] == ["0.8", "0.6", "0.4", "0.2"]
        assert table["meta lr"] == ["0.0001", "0.001", "0.01", "0.1"]
        differing = [str(app.screen.query_one("#compare-table").get_row_at(r)[0])
                     for r in range(len(table))]
        assert "≠ meta lr" in differing and "  meta model" in differing
        # the best run (lowest loss, lr-0, the last column) pinned as the baseline
        await pilot.press("right", "right", "right", "right", "b")
        assert await until(pilot, lambda: headers(app)[0] == "◆ lr-0")
        table = cells(app)
        assert table["last loss"] == ["0.2", "0.8 +300%", "0.6 +200%", "0.4 +100%"]
        await pilot.press("d")  # only the keys that differ
        assert await until(pilot, lambda: "meta model" not in cells(app))
        assert "meta lr" in cells(app) and "status" not in cells(app)


async def test_a_live_run_keeps_updating_in_the_comparison(app_root):
    done = sweep(app_root, 1)
    live = Run(root=app_root)
    live.config(disable_resources_metrics=True)
    live.init(name="live", metadata={"lr": 0.5})
    live.log_metrics({"loss": 9.0})
    app = RunyardApp(app_root)
    try:
        async with app.run_test(size=SIZE) as pilot:
            assert await until(pilot, lambda: len(names(app)) == 3)
            await pilot.press("space", "down", "space")  # live and lr-0 (not unrelated)
            await pilot.press("v")
            assert await until(pilot, lambda: shown_plots(app))
            chart = shown_plots(app)[0]
            assert [s.last for s in chart.series] == [9.0, 0.2]
            live.log_metrics({"loss": 3.5})
            assert await until(pilot, lambda: chart.series[0].last == 3.5)  # live, overlaid
            await pilot.press("right_square_bracket")  # and in the table
            assert await until(pilot, lambda: cells(app).get("last loss") == ["3.5", "0.2"])
            assert cells(app)["status"] == ["running", "completed"]
    finally:
        live.close()
    assert done


async def test_hostile_names_and_values_are_text(app_root):
    sweep(app_root, 1)
    run = Run(root=app_root)
    run.config(disable_resources_metrics=True)
    run.init(name="evil", metadata={"k": "\x1b]0;pwned\x07[red]x"})
    run.close()
    meta = app_root / f"{run.id}.meta"
    with open(meta / "metrics.jsonl", "ab") as f:  # written by hand: names the API refuses
        f.write(json.dumps([0, 0.1, 1.0, {"[b]\x1b[2J": 1e308, "nan": "NaN"}])
                .encode() + b"\n")
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        await pilot.press("space", "space", "v")
        assert await until(pilot, lambda: shown_plots(app))
        await pilot.press("right_square_bracket")
        assert await until(pilot, lambda: "meta k" in cells(app))
        table = cells(app)
        assert table["meta k"][0] == "\\x1b]0;pwned\\x07[red]x"
        assert "last [b]\\x1b[2J" in table


async def test_long_runs_are_overlaid_from_their_tails_then_whole(app_root, monkeypatch):
    """Runs longer than a tail: their last steps are overlaid at once, "loading
    history" said meanwhile, then their whole length (one child process reads every
    run's start); the last values come from the tails all along."""
    import runyard.app.compare_data as compare_data
    from runyard.app.screens.compare import CompareScreen

    monkeypatch.setattr(compare_data, "ELSEWHERE", 1)  # a child even for these few bytes
    reads = []  # (more, the note shown, the tails' first step, histories read) a read
    on_read = CompareScreen.on_compare_read

    def counted(screen, message):
        on_read(screen, message)
        runs = list(message.runs.values())
        reads.append((message.more, screen.query_one("#compare-charts").note,
                      min(r.tail.metrics["loss"].envelope.spans(False)[0][0] for r in runs),
                      [r.history is not None for r in runs]))

    monkeypatch.setattr(CompareScreen, "on_compare_read", counted)
    for i in range(3):
        run = Run(root=app_root)
        run.config(disable_resources_metrics=True)
        run.init(name=f"long-{i}")
        for step in range(3000):  # ~120 KB: past the 16 KB tail
            run.log_metrics({"loss": (i + 1) / (step + 1)}, step=step)
        run.close()
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 3)
        await pilot.press("A", "v")
        assert await until(pilot, lambda: shown_plots(app))
        charts = app.screen.query_one("#compare-charts")

        def whole() -> bool:
            plots = shown_plots(app)
            return not charts.note and plots and len(plots[0].series) == 3 and \
                all(s.spans[0][0] == 0 for s in plots[0].series)

        assert await until(pilot, whole)
        loss = shown_plots(app)[0]
        assert sorted(s.last for s in loss.series) == [pytest.approx((i + 1) / 3000)
                                                       for i in range(3)]
        assert loss.prepared.x0 == 0 and loss.prepared.x1 == 2999
    more, note, first_step, _ = reads[0]  # the tails, before the rest was read
    assert more and note == "loading history" and first_step > 2000
    assert reads[1][:2] == (False, "") and all(reads[1][3])


async def test_a_metric_logged_only_before_the_tail_has_its_last_value(app_root):
    """A run that stopped logging "warmup" long ago: its last value is in its start,
    which the tail skipped; the table shows it once the start is read, not "-"."""
    for i in range(2):
        run = Run(root=app_root)
        run.config(disable_resources_metrics=True)
        run.init(name=f"warm-{i}")
        for step in range(100):
            run.log_metrics({"warmup": i + step / 100}, step=step)
        for step in range(100, 3000):  # ~120 KB after it: past the 16 KB tail
            run.log_metrics({"loss": 1 / step}, step=step)
        run.close()
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 2)
        await pilot.press("A", "v", "right_square_bracket")
        assert await until(pilot, lambda: "last warmup" in cells(app))
        assert await until(pilot, lambda: cells(app)["last warmup"] == ["1.99", "0.99"]), \
            cells(app)["last warmup"]
        assert cells(app)["last loss"] == ["3.33444e-4"] * 2


async def test_a_run_with_a_huge_metadata_is_shown_in_part_saying_how_much(app_root):
    """A run whose metadata has 20,000 keys (the API takes some 70,000; a stranger's
    hand-written attrs.json a million): the compare table and the Info tab made a
    row or line of each, and the dashboard answered no key for a minute and more
    (200,000 keys: 37 s to draw the table, 65 s to show only the differing keys).
    They show the first ones and say how many more there are."""
    from runyard.app.screens.compare import ROWS_SHOWN
    from runyard.app.tabs.run_text import METADATA_SHOWN

    wide = Run(root=app_root)
    wide.config(disable_resources_metrics=True)
    wide.init(name="wide", metadata={f"k{i:05d}": i for i in range(20_000)})
    wide.close()
    narrow = Run(root=app_root)
    narrow.config(disable_resources_metrics=True)
    narrow.init(name="narrow", metadata={"k00000": 1})
    narrow.close()
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(names(app)) == 2)
        await pilot.press("A", "v", "right_square_bracket")
        table = "#compare-table"
        assert await until(pilot, lambda: app.screen.query(table) and
                           app.screen.query_one(table).row_count, 60)
        rows = app.screen.query_one(table).row_count
        assert rows == ROWS_SHOWN + 1
        last = str(app.screen.query_one(table).get_row_at(rows - 1)[0])
        assert f"{20_000 + 5 - ROWS_SHOWN} more rows" in last, last
        await pilot.press("escape", "escape")
        await pilot.press("slash", *"name:wide", "enter")
        assert await until(pilot, lambda: names(app) == ["wide"])
        await pilot.press("enter")
        for _ in range(5):  # metrics, events, alerts, instances, files, info
            await pilot.press("right_square_bracket")
        assert await until(pilot, lambda: app.screen.query("#info-text") and
                           "more metadata keys" in str(
                               app.screen.query_one("#info-text").render()), 60)
        text = str(app.screen.query_one("#info-text").render())
        assert f"{20_000 - METADATA_SHOWN} more metadata keys" in text
        assert text.count(" = ") == METADATA_SHOWN
