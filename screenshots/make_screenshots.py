"""Render the real dashboard to SVG screenshots, for the README.

Builds the fixed sample runs root (runyard.engine.demo.make_sample) in a
temporary folder and drives the app with Textual's Pilot at 80x24 and 160x48.

    python screenshots/make_screenshots.py
"""

import asyncio
import os
import tempfile
import time
from pathlib import Path

from runyard.app.dashboard import RunyardApp
from runyard.app.steady import steady
from runyard.engine.demo import make_files_sample, make_flow_sample, make_sample

OUT = Path(__file__).parent
SHOTS = [
    ("runs", []),
    ("detail-metrics", ["down", "down", "enter"]),
    ("detail-events", ["down", "down", "enter", "right_square_bracket"]),
    ("detail-alerts", ["down", "down", "down", "enter", "right_square_bracket",
                       "right_square_bracket"]),
    ("detail-system", ["down", "down", "enter", "left_square_bracket"]),
    ("filter", ["slash", *"tag:cpu", "enter"]),
    ("metric-chooser", ["m"]),
    ("compare-charts", ["slash", *"folder:/sweeps", "enter", "A", "v"]),
    ("compare-table", ["slash", *"folder:/sweeps", "enter", "A", "v",
                       "right_square_bracket", "right", "b"]),
    ("compare-crosshair", ["slash", *"folder:/sweeps", "enter", "A", "v", "b", "b", "L",
                           *["l"] * 8]),
    ("start", ["s"]),
    ("help", ["question_mark"]),
]
FLOW_SHOTS = [  # on the sample plus a flow run and its steps
    ("flow-runs", []),
    ("flow-detail", ["enter"]),
]
FILES_SHOTS = [  # on the sample with files in its first run: a saved CSV opened
    ("detail-files", ["slash", *"id:00000000000001", "enter", "enter",
                      *["right_square_bracket"] * 4, "enter"]),
]
SIZES = [(80, 24), (160, 48)]


async def shoot(root: Path, name: str, keys: list[str], size: tuple[int, int]) -> Path:
    app = RunyardApp(root)
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(app.snapshot.cells) < len(app.snapshot.runs):
            await pilot.pause(0.1)
        await steady(pilot)
        for key in keys:
            await pilot.press(key)
            await steady(pilot, quiet=0.2)
        app.clear_notifications()  # a toast's life is a timer
        await steady(pilot)
        filename = f"{name}-{size[0]}x{size[1]}.svg"
        app.save_screenshot(filename=filename, path=str(OUT))
    return OUT / filename


async def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "runs"
        make_sample(root)
        with_flow = Path(tmp) / "with-flow"
        make_sample(with_flow)
        make_flow_sample(with_flow)
        with_files = Path(tmp) / "with-files"
        make_sample(with_files)
        make_files_sample(with_files)
        for size in SIZES:
            for name, keys in SHOTS:
                print(await shoot(root, name, keys, size))
            for name, keys in FLOW_SHOTS:
                print(await shoot(with_flow, name, keys, size))
            for name, keys in FILES_SHOTS:
                print(await shoot(with_files, name, keys, size))


if __name__ == "__main__":
    asyncio.run(main())
