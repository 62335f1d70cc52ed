"""The runs screen's summary line at 80 columns keeps every status count and the watch
mode (it cut `watch:` and the counts), in words where they fit."""

import pytest
from test_app import new_run, until

from runyard.app.dashboard import RunyardApp


def statuses(root) -> None:
    for name, end in (("a", None), ("b", "failed"), ("c", "completed"), ("d", "terminated"),
                      ("e", "completed")):
        new_run(root, name, end=end)


@pytest.mark.parametrize("width", [80, 160])
async def test_the_summary_keeps_counts_and_watch_mode(app_root, width):
    statuses(app_root)
    app = RunyardApp(app_root)
    async with app.run_test(size=(width, 24)) as pilot:
        summary = app.screen.query_one("#summary")
        assert await until(pilot, lambda: str(summary.render()).startswith("5 runs"))
        await pilot.press("space")  # one run tagged: said too
        assert await until(pilot, lambda: "1 tagged" in str(summary.render()))
        line = str(summary.render())
        assert line.endswith(f"watch: {app.watcher.describe()}")
        assert len(line) <= width - 2
        words = "1 running, 1 failed, 1 terminated, 2 completed"
        if width == 160:
            assert words in line
        else:  # words do not fit beside the rest: the table's status symbols, counted
            assert line.startswith("5 runs: 1▶ 1✖ 1■ 2✔  1 tagged"), line
