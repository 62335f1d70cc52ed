"""What writing to the Events or Output tab costs while another tab is shown.

The detail screen writes a run's new events and output lines to their pagers on
every read, shown or not (app/tabs/log_tab.py). This times ``write_lines`` on the
UI thread for a pager in a hidden tab and in the tab shown, for batches of 1, 10
and 200 lines, and a plain list taking the same lines (what buffering them apart
until the tab is shown would cost), median of ``--calls`` writes each.

    python benchmarks/hidden_pager.py [--calls 300]
"""

import argparse
import asyncio
import statistics
import time

from textual.app import App
from textual.widgets import Static, TabbedContent, TabPane

from runyard.app.widgets.pager import Pager

LINE = "12:00:00 info     [00003-0] step 123 loss 0.123456 words of an event message"


class Tabs(App):
    def compose(self):
        with TabbedContent(id="tabs"):
            with TabPane("Front", id="front"):
                yield Static("the tab shown")
            with TabPane("Log", id="log"):
                yield Pager(name="events", max_lines=2000, id="pager")


async def pager_writes(shown: bool, batch: int, calls: int) -> float:
    """Median milliseconds of one ``write_lines`` of ``batch`` lines."""
    app = Tabs()
    async with app.run_test(size=(80, 24)) as pilot:
        if shown:
            app.query_one("#tabs", TabbedContent).active = "log"
            await pilot.pause()
        pager = app.query_one("#pager", Pager)
        times = []
        for call in range(calls):
            lines = [f"{LINE} {call}.{i}" for i in range(batch)]
            start = time.perf_counter()
            pager.write_lines(lines)
            times.append(time.perf_counter() - start)
            if call % 10 == 0:  # let the app repaint and the width workers finish
                await pilot.pause()
        await app.workers.wait_for_complete()
    return statistics.median(times) * 1e3


def list_writes(batch: int, calls: int) -> float:
    kept, times = [], []
    for call in range(calls):
        lines = [f"{LINE} {call}.{i}" for i in range(batch)]
        start = time.perf_counter()
        kept.extend(lines)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


async def main(calls: int) -> None:
    print("lines a write   pager hidden   pager shown   list (a buffer)")
    for batch in (1, 10, 200):
        hidden = await pager_writes(False, batch, calls)
        shown = await pager_writes(True, batch, calls)
        print(f"{batch:13d}   {hidden:9.3f} ms   {shown:8.3f} ms   "
              f"{list_writes(batch, calls):10.4f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    asyncio.run(main(parser.parse_args().calls))
