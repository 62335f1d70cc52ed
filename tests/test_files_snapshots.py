"""SVG snapshots of the Files tab (issue 12, item 5) at 80x24 and 160x48: a run's
saved CSV and its folder's entries listed, the CSV shown in the pager.

After a deliberate change of the tab: pytest tests/test_files_snapshots.py --snapshot-update
"""

import pytest
from test_app import until
from test_snapshots import loaded, open_by_id, sample, settled

from runyard.engine.demo import make_files_sample

RUN = "00000000000001"  # make_files_sample's run


@pytest.fixture
def files_app(tmp_path, monkeypatch):
    yield from sample(tmp_path, monkeypatch, make_files_sample)


async def open_saved_csv(pilot) -> None:
    await loaded(pilot)
    await open_by_id(pilot, RUN)
    app = pilot.app
    await pilot.press(*["right_square_bracket"] * 4)
    table = app.screen.query_one("#file-table")
    assert await until(pilot, lambda: table.row_count == 5)
    await pilot.press("enter")  # the first row: the saved CSV
    pager = app.screen.query_one("#file-view")
    assert await until(pilot, lambda: len(pager.lines) == 41)
    await settled(pilot)


def test_files_tab_80x24(snap_compare, files_app):
    assert snap_compare(files_app, terminal_size=(80, 24), run_before=open_saved_csv)


def test_files_tab_160x48(snap_compare, files_app):
    assert snap_compare(files_app, terminal_size=(160, 48), run_before=open_saved_csv)
