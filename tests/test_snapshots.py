"""SVG snapshots of the main screens at 80x24 (pytest-textual-snapshot).

The sample root is fixed (ids, times, values), so the screens are too. After a
deliberate change of a screen: pytest tests/test_snapshots.py --snapshot-update
"""

import os
import time

import pytest

from runyard.app.dashboard import RunyardApp
from runyard.engine.demo import make_sample


def sample(tmp_path, monkeypatch, *extras):
    """The app on the fixed sample root (plus ``extras`` samples), with UTC times."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    root = tmp_path / "runs"
    make_sample(root)
    for extra in extras:
        extra(root)
    yield RunyardApp(root, no_poll=True)
    os.environ.pop("TZ", None)
    time.tzset()


@pytest.fixture
def sample_app(tmp_path, monkeypatch):
    yield from sample(tmp_path, monkeypatch)


async def loaded(pilot) -> None:
    app = pilot.app
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(app.snapshot.cells) < len(app.snapshot.runs):
        await pilot.pause(0.1)
    await pilot.pause(0.5)


def test_runs_screen(snap_compare, sample_app):
    assert snap_compare(sample_app, terminal_size=(80, 24), run_before=loaded)


def test_detail_metrics(snap_compare, sample_app):
    assert snap_compare(sample_app, press=["down", "down", "enter"], terminal_size=(80, 24),
                        run_before=loaded)


def test_detail_alerts(snap_compare, sample_app):
    assert snap_compare(sample_app, press=["down", "down", "down", "enter",
                                           "right_square_bracket", "right_square_bracket"],
                        terminal_size=(80, 24), run_before=loaded)


def test_help_screen(snap_compare, sample_app):
    assert snap_compare(sample_app, press=["question_mark"], terminal_size=(80, 24),
                        run_before=loaded)


@pytest.fixture
def flow_app(tmp_path, monkeypatch):
    from runyard.engine.demo import make_flow_sample

    yield from sample(tmp_path, monkeypatch, make_flow_sample)


async def open_flow_run(pilot) -> None:
    await loaded(pilot)
    await pilot.press("enter")
    deadline = time.monotonic() + 10  # its steps are read in a worker thread
    while time.monotonic() < deadline and pilot.app.screen.query_one(
            "#step-table").row_count < 3:
        await pilot.pause(0.1)
    await pilot.pause(0.3)


def test_flow_run_and_its_steps(snap_compare, flow_app):
    assert snap_compare(flow_app, terminal_size=(80, 24), run_before=open_flow_run)
