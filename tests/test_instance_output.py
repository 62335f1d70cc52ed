"""Each instance's own output (issue 12, item 6): the engine records which bytes of
its worker's log an instance printed (stdout and stderr), and enter on an instance
row of the Instances tab shows them in a pager, searchable with /. Before, the
output of every instance a worker ran was one undivided log (the Output tab) and
an instance row opened nothing."""

import json
import textwrap

from test_app import until

from runyard.app.dashboard import RunyardApp
from runyard.app.tabs.instances import instance_output
from runyard.app.widgets.pager import Pager
from runyard.engine.control import start, wait_for_end
from runyard.engine.spec import RunSpec
from runyard.engine.work import InstanceBook

SIZE = (100, 30)
MODULE = textwrap.dedent("""
    import sys
    from pathlib import Path

    def run(instance, save, state):
        name = Path(instance).stem
        for n in range(3):
            print(f"{name} says {n}")
        print(f"{name} warns", file=sys.stderr)
        if name == "c":
            raise ValueError("c cannot")
""")


def run_module(root, tmp_path) -> str:
    module = tmp_path / "talk.py"
    module.write_text(MODULE)
    inputs = []
    for name in "abcd":
        (tmp_path / f"{name}.txt").write_text(name)
        inputs.append(str(tmp_path / f"{name}.txt"))
    info = start(root, RunSpec(kind="module", module=str(module), instances=inputs,
                               workers=1, max_attempts=1), name="talkers")
    assert wait_for_end(root, info.id, 60).status == "failed"  # c fails
    return info.id


def test_each_instance_records_where_its_output_is(app_root, tmp_path):
    run_id = run_module(app_root, tmp_path)
    from runyard.engine.layout import RunPaths

    paths = RunPaths(app_root, run_id)
    records = InstanceBook(paths).records()
    assert len(records) == 4
    for record in records.values():
        name = record["instance"].rsplit("/", 1)[-1][0]
        lines, _note = instance_output(paths.meta_dir, record)
        assert lines == [f"{name} says 0", f"{name} says 1", f"{name} says 2",
                         f"{name} warns"], (name, lines)
    # a record pointing elsewhere (a stranger's) reads nothing outside log/
    bad = dict(next(iter(records.values())), log="../attrs.json")
    assert instance_output(paths.meta_dir, bad)[0] == []
    assert "not a worker's log" in instance_output(paths.meta_dir, bad)[1]
    past = dict(next(iter(records.values())), log_from=10**30, log_to=10**30 + 5)
    assert instance_output(paths.meta_dir, past) == (
        [], "its record points past the end of log/w0.log")
    json.dumps(records)  # plain data


async def test_enter_on_an_instance_shows_its_output_searchable(app_root, tmp_path):
    run_module(app_root, tmp_path)
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.view) == 1)
        await pilot.press("enter")
        assert await until(pilot, lambda: app.screen.__class__.__name__ == "DetailScreen")
        await pilot.press(*["right_square_bracket"] * 3)  # Instances
        table = app.screen.query_one("#instance-table")
        assert await until(pilot, lambda: table.row_count == 4)
        assert await until(pilot, lambda: app.focused is table)  # enter, j/k: its rows
        table.move_cursor(row=1)  # b
        await pilot.press("enter")
        pager = app.screen.query_one("#instance-output", Pager)
        assert await until(pilot, lambda: pager.lines == [
            "b says 0", "b says 1", "b says 2", "b warns"])
        assert app.focused is pager
        await pilot.press("slash", *"WARNS", "enter")
        assert pager.lines[round(pager.scroll_offset.y)] == "b warns" or \
            "line 4" in str(pager.border_title)
        assert "'WARNS': line 4, 1 in all" in str(pager.border_title)
