"""SVG snapshots of every screen at 80x24 and at 160x48 (pytest-textual-snapshot).

The sample root is fixed (ids, times, values), so the screens are too. After a
deliberate change of a screen: pytest tests/test_snapshots.py --snapshot-update
"""

import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from test_app import until

from runyard.app.dashboard import RunyardApp
from runyard.app.steady import steady
from runyard.engine.demo import make_sample


def sample(tmp_path, monkeypatch, *extras):
    """The app on the fixed sample root (plus ``extras`` samples), with UTC times, at
    the same path every time (the Info tab shows the run folder's path)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    fixed = Path(tempfile.gettempdir()) / "runyard-snapshot-sample"
    # one test at a time on this machine may own the fixed path: two suites at once
    # (a developer's and a helper's) removed each other's sample mid-test
    with open(f"{fixed}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(fixed, ignore_errors=True)
        root = fixed / "runs"
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
    """Every run of the sample listed, with its cells, and the screen steady."""
    app = pilot.app
    assert await until(pilot, lambda: app.snapshot.ready and not app.snapshot.loading and
                       app.snapshot.view and len(app.snapshot.cells) >= len(app.snapshot.runs),
                       timeout=30)
    await steady(pilot, quiet=0.3)


async def open_by_id(pilot, run_id: str) -> None:
    """The run of that id opened from the runs table (filtered to it, then Enter)."""
    await pilot.press("slash", *f"id:{run_id}", "enter", "enter")
    assert await until(pilot, lambda: pilot.app.screen.__class__.__name__ == "DetailScreen")


def still(app) -> None:
    """No blinking cursor in a snapshot: where it is in its blink is a timer's."""
    from textual.widgets import Input

    for box in app.screen.query(Input):
        box.cursor_blink = False


async def settled(pilot) -> None:
    """What the keys opened is read by workers (files, series, the compared runs):
    wait until none runs, then for the messages they posted to be drawn."""
    await steady(pilot)
    pilot.app.clear_notifications()  # a toast's life is a timer: not in a snapshot
    still(pilot.app)
    await pilot.wait_for_scheduled_animations()
    await steady(pilot, quiet=0.2)


SIZES = [(80, 24), (160, 48)]
SIZE_IDS = ["80x24", "160x48"]
NEXT = "right_square_bracket"
SWEEP = ["slash", *"folder:/sweeps", "enter", "A", "v"]  # tag a filtered sweep, compare
SCREENS = {  # the keys from the runs table to each screen
    "runs": [],
    "filter": ["slash", *"tag:cpu", "enter"],
    "filter_error": ["slash", *"status:bogus", "enter"],
    "folders": ["f"],
    "metric_chooser": ["m"],
    "confirm_close": ["c"],
    "help": ["question_mark"],
    "detail_metrics": ["down", "down", "enter"],
    "detail_events": ["down", "down", "enter", NEXT],
    "detail_alerts": ["down", "down", "down", "enter", NEXT, NEXT],
    "detail_info": ["down", "down", "enter", *[NEXT] * 5],
    "detail_output": ["down", "down", "enter", *[NEXT] * 6],
    "detail_system": ["down", "down", "enter", *[NEXT] * 7],
    "compare_charts": SWEEP,
    "compare_table": [*SWEEP, NEXT, "right", "b"],
}


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, sample_app, screen, size):
    async def shown(pilot) -> None:
        await loaded(pilot)
        for key in SCREENS[screen]:
            await pilot.press(key)
        await settled(pilot)

    assert snap_compare(sample_app, terminal_size=size, run_before=shown)


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
    await settled(pilot)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_flow_run_and_its_steps(snap_compare, flow_app, size):
    assert snap_compare(flow_app, terminal_size=size, run_before=open_flow_run)


async def start_form_with_errors(pilot) -> None:
    """The start form half filled in, with three fields to mend."""
    await loaded(pilot)
    await pilot.press("s")
    app = pilot.app
    while app.screen.__class__.__name__ != "StartScreen":
        await pilot.pause(0.05)
    for key, text in (("target", "quick.py"), ("instances", "data/*.csv"), ("workers", "0"),
                      ("tags", "nightly"), ("metadata", "lr")):
        app.screen.query_one(f"#{key}").value = text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and \
            "to mend" not in str(app.screen.query_one("#start-status").render()):
        await pilot.pause(0.05)
    app.screen.query_one("#target").focus()
    await settled(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_start_form(snap_compare, sample_app, tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "quick.py").write_text("def run(instance, save, state):\n    pass\n")
    assert snap_compare(sample_app, terminal_size=size, run_before=start_form_with_errors)


def progress_sample(root) -> None:
    """A module run closed half-way: two instances done, one 40% through (its
    worker's progress file), one pending."""
    import json

    from runyard.engine.demo import _sample_run
    from runyard.engine.layout import RunPaths
    from runyard.engine.work import InstanceBook, new_record

    run_id = "00000000000010"
    _sample_run(root, run_id, "sweep-progress", "/sweeps", ["cpu"], "terminated", 800, 10,
                {"kind": "module", "progress": {"pending": 1, "running": 1, "done": 2,
                                                "failed": 0, "total": 4},
                 "eta": {"fraction": 0.6, "left": None, "at": 0}})
    paths = RunPaths(root, run_id)
    book = InstanceBook(paths)
    cases = [f"/data/case-{n}.inp" for n in range(4)]
    book.create(cases, 1)
    for n, status in enumerate(("done", "done", "running")):
        book.write(f"0000{n}-0", {**new_record(cases[n], 0), "status": status,
                                  "attempts": 1, "state": f"step {100 * (n + 1)}"})
    book.close()
    (paths.meta_dir / "progress.w0.json").write_text(json.dumps(
        {"key": "00002-0", "instance": cases[2], "fraction": 0.4, "ts": 2.0e9,
         "started": 2.0e9 - 120}))


@pytest.fixture
def progress_app(tmp_path, monkeypatch):
    yield from sample(tmp_path, monkeypatch, progress_sample)


async def open_instances(pilot) -> None:
    await loaded(pilot)
    app = pilot.app
    index = next(i for i, run_id in enumerate(app.snapshot.view) if run_id.endswith("10"))
    await pilot.press(*["down"] * index, "enter", *["right_square_bracket"] * 3)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and app.screen.query_one(
            "#instance-table").row_count < 4:
        await pilot.pause(0.1)
    await settled(pilot)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_instances_tab_with_progress(snap_compare, progress_app, size):
    assert snap_compare(progress_app, terminal_size=size, run_before=open_instances)
