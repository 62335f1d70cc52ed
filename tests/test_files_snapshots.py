"""SVG snapshots of the Files tab (issue 12, item 5) at 80x24 and 160x48: a run's
saved CSV and its folder's entries listed, the CSV shown in the pager.

After a deliberate change of the tab: pytest tests/test_files_snapshots.py --snapshot-update
"""

import os
import time

import pytest
from test_snapshots import loaded, sample

from runyard.engine.demo import SAMPLE_START
from runyard.engine.jsonl import append_records
from runyard.engine.layout import RunPaths

RUN = "00000000000001"
CSV = "step,loss,lr\n" + "".join(f"{s},{1 / (s + 1):.4f},0.01\n" for s in range(40))


def run_files(root) -> None:
    """Fixed files in the sample run: a saved CSV and a few entries of its folder."""
    paths = RunPaths(root, RUN)
    saved = paths.meta("artifacts/output/loss.csv")
    saved.parent.mkdir(parents=True)
    saved.write_text(CSV)
    append_records(paths.meta("files.jsonl"), [
        {"ts": SAMPLE_START + 290, "name": "loss.csv", "category": "output",
         "path": "artifacts/output/loss.csv", "size": len(CSV), "mime": "text/csv",
         "sha256": "0" * 64}])
    paths.run_dir.mkdir(exist_ok=True)
    (paths.run_dir / "results").mkdir()
    (paths.run_dir / "train.log").write_text("epoch 1 done\n" * 12)
    (paths.run_dir / "model.pt").write_bytes(b"\x00\x01" * 3000)
    (paths.run_dir / "data").symlink_to("/srv/shared/data")
    for name in ("results", "train.log", "model.pt", "data"):
        os.utime(paths.run_dir / name, (SAMPLE_START + 300, SAMPLE_START + 300),
                 follow_symlinks=False)


@pytest.fixture
def files_app(tmp_path, monkeypatch):
    yield from sample(tmp_path, monkeypatch, run_files)


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
