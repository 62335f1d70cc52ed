"""A new user's first ``runyard``: the root does not exist yet. The dashboard opens on
it empty and offers to create it; nothing is made until the user says so."""

from pathlib import Path

from test_app import until

from runyard.app.dashboard import RunyardApp
from runyard.app.screens.runs import RunsScreen

SIZE = (80, 24)


def screen_name(app) -> str:
    return app.screen.__class__.__name__


async def test_a_missing_root_is_offered_and_made_only_when_asked(root):
    assert not root.exists() and root.parent.is_dir()
    app = RunyardApp(root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: screen_name(app) == "NewRootScreen")
        text = str(app.screen.query_one("#new-root-question").render())
        assert str(root) in text and "does not exist" in text
        # the dashboard has read the root (and found nothing): it made nothing
        assert "does not exist" in (app.snapshot.error or "")
        assert not root.exists()
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert (root / ".runyard" / "schema").read_text() == "1\n"
        # the runs screen drops the 'does not exist' it showed, and s starts a run
        assert await until(pilot, lambda: app.snapshot.error is None
                           and "does not exist" not in str(
                               app.screen.query_one("#summary").render()), 10)
        await pilot.press("s")
        assert await until(pilot, lambda: screen_name(app) == "StartScreen")


async def test_not_now_leaves_nothing_and_an_empty_table(root):
    app = RunyardApp(root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: screen_name(app) == "NewRootScreen")
        await pilot.press("escape")
        assert await until(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert dict(app.snapshot.runs) == {}
        await pilot.press("s")  # the start form says that Start will make the root
        assert await until(pilot, lambda: screen_name(app) == "StartScreen")
        assert "does not exist yet" in str(app.screen.query_one("#start-note").render())
    assert not root.exists()


async def test_s_makes_the_root_and_opens_the_start_form(root):
    app = RunyardApp(root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: screen_name(app) == "NewRootScreen")
        await pilot.press("s")
        assert await until(pilot, lambda: screen_name(app) == "StartScreen")
        assert root.is_dir()


async def test_a_root_that_cannot_be_made_says_why_in_one_line(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    root = blocker / "runs"
    app = RunyardApp(root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: screen_name(app) == "NewRootScreen")
        await pilot.press("enter")
        error = app.screen.query_one("#new-root-error")
        assert await until(pilot, lambda: "cannot create" in str(error.render()))
        line = str(error.render())
        assert "\n" not in line.strip() and "not a directory" in line.lower(), line
        assert screen_name(app) == "NewRootScreen"  # still asking: esc goes on without
    assert blocker.read_text() == "not a folder"
