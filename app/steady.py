"""Waiting for the dashboard to be still, for whatever drives it with Textual's Pilot
(the snapshot tests, the screenshot script): no worker running and nothing on screen
changed for a moment. A fixed pause is either too long or, on a loaded machine,
too short: the last draw came after it."""

import time


def screen_now(app) -> list:
    """What the screen shows now: each line's segments, text and style."""
    return [[(s.text, str(s.style)) for s in line]
            for line in app.screen._compositor.render_strips()]


async def steady(pilot, quiet: float = 0.5, timeout: float = 30) -> bool:
    """Until no worker runs and the screen has not changed for ``quiet`` seconds;
    False if that did not happen within ``timeout``."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if any(w.is_running for w in pilot.app.workers):
            last = None
            continue
        now = screen_now(pilot.app)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False
