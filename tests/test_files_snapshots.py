"""SVG snapshots of the Files tab (issue 12, item 5) at 80x24 and 160x48: a run's
saved CSV and its folder's entries listed, the CSV shown in the pager.

After a deliberate change of the tab: pytest tests/test_files_snapshots.py --snapshot-update
"""

import time

import pytest
from test_snapshots import loaded, sample

from runyard.engine.demo import make_files_sample

RUN = "00000000000001"  # make_files_sample's run


@pytest.fixture
def files_app(tmp_path, monkeypatch):
    yield from sample(tmp_path, monkeypatch, make_files_sample)


async def open_saved_csv(pilot) -> None:
    await loaded(pilot)
    await pilot.press("slash", *f"id:{RUN}", "enter", "enter")
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DetailScreen")
    await pilot.press(*["right_square_bracket"] * 4)
    table = app.screen.query_one("#file-table")
    await wait_for(pilot, lambda: table.row_count == 5)
    await pilot.press("enter")  # the first row: the saved CSV
    pager = app.screen.query_one("#file-view")
    await wait_for(pilot, lambda: len(pager.lines) == 41)
    await pilot.pause(0.3)


async def wait_for(pilot, check, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():
        await pilot.pause(0.1)
    assert check()


def test_files_tab_80x24(snap_compare, files_app):
    assert snap_compare(files_app, terminal_size=(80, 24), run_before=open_saved_csv)


def test_files_tab_160x48(snap_compare, files_app):
    assert snap_compare(files_app, terminal_size=(160, 48), run_before=open_saved_csv)
