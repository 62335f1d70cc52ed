"""The dashboard on a root full of hostile runs: it starts, lists the good runs as
usual and the bad ones as unreadable, and opens every one of them."""

import json
import os
from types import SimpleNamespace

import pytest
from test_app import until
from textual.css.query import NoMatches

from runyard.app.dashboard import RunyardApp
from runyard.app.messages import OpenRun
from runyard.app.screens.detail import DetailScreen
from runyard.engine.jsonl import append_records
from runyard.engine.work import InstanceBook, new_record

from hostile import good_root, good_run, set_attrs

SIZE = (100, 30)
NO_LINES = SimpleNamespace(line_count=0)
NO_TITLE = SimpleNamespace(render=lambda: "")


def shown(app, selector: str):
    """The widget of the detail screen once that screen is up, else None."""
    if not isinstance(app.screen, DetailScreen):
        return None
    try:
        return app.screen.query_one(selector)
    except NoMatches:
        return None


def hostile_root(root) -> tuple[list, dict]:
    """Good runs, and runs each broken in one way: {id: what is expected of it}."""
    good = good_root(root)
    bad = {}
    fifo = good_run(root, "attrs-fifo")
    fifo.meta("attrs.json").unlink()
    os.mkfifo(fifo.meta("attrs.json"))
    bad[fifo.id] = "is a FIFO"
    loop = good_run(root, "attrs-loop")
    loop.meta("attrs.json").unlink()
    os.symlink("attrs.json", loop.meta("attrs.json"))
    bad[loop.id] = "symbolic link"
    deep = good_run(root, "attrs-deep")
    deep.meta("attrs.json").write_text("[" * 100_000 + "]" * 100_000)
    bad[deep.id] = "not valid JSON"
    typed = good_run(root, "attrs-typed")
    set_attrs(typed, progress=[1, 2], kind="module")
    bad[typed.id] = "'progress'"
    scarred = good_run(root, "scarred")
    scarred.meta("metrics.jsonl").unlink()
    os.mkfifo(scarred.meta("metrics.jsonl"))
    append_records(scarred.meta("events.jsonl"), [{"ts": "x", "level": [1], "msg": 5}])
    scarred.meta("alerts.json").write_text(json.dumps([{"name": ["x"]}]))
    book = InstanceBook(scarred)
    book.folder.mkdir()
    book.write("00000-0", new_record("/data/a.txt", 0))
    os.mkfifo(book.path("00001-0"))
    book.path("00002-0").write_text('{"instance": 5, "status": "done"}')
    return [*good, scarred], bad


@pytest.mark.timeout(120)
async def test_the_dashboard_starts_and_opens_every_run_of_a_hostile_root(root):
    root.mkdir(parents=True)
    readable, bad = hostile_root(root)
    app = RunyardApp(root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.view) == len(readable) + len(bad))
        statuses = {i: info.status for i, info in app.snapshot.runs.items()}
        assert {i: statuses[i] for i in bad} == dict.fromkeys(bad, "unreadable")
        assert {statuses[p.id] for p in readable} == {"completed"}
        for run_id, reason in bad.items():
            assert reason in app.snapshot.runs[run_id].error
        for paths in readable:
            app.post_message(OpenRun(paths.id))
            assert await until(pilot, lambda: (shown(app, "#event-log") or
                                               NO_LINES).line_count >= 5)
            await pilot.press("right_square_bracket", "right_square_bracket",
                              "right_square_bracket")  # alerts, instances
            await pilot.pause(0.3)
            await pilot.press("escape")
            assert await until(pilot, lambda: not isinstance(app.screen, DetailScreen))
        for run_id in bad:
            app.post_message(OpenRun(run_id))
            assert await until(pilot, lambda: "unreadable" in str(
                (shown(app, "#run-title") or NO_TITLE).render()))
            await pilot.press("escape")
            assert await until(pilot, lambda: not isinstance(app.screen, DetailScreen))
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors == []
