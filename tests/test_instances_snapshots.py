"""SVG snapshots of the Instances tab (issue 12, item 6) at 80x24 and 160x48: the
instances' table over the pager, one instance's own output shown.

After a deliberate change of the tab:
pytest tests/test_instances_snapshots.py --snapshot-update
"""

import pytest
from test_app import until
from test_snapshots import loaded, open_by_id, sample, settled

from runyard.engine.atomic import write_json_atomic
from runyard.engine.demo import SAMPLE_START
from runyard.engine.layout import RunPaths
from runyard.engine.work import InstanceBook, new_record, work_key

RUN = "00000000000006"  # the sample's terminated ensemble
MEMBERS = [f"/data/member-{n}.nc" for n in range(4)]


def instances(root) -> None:
    """Four instances of the ensemble, fixed: two done, one failed, one pending, the
    output of the first three in one worker's log."""
    paths = RunPaths(root, RUN)
    book = InstanceBook(paths)
    book.create(MEMBERS, 1)
    log, outputs = b"", {}
    for n in range(3):
        start = len(log)
        log += "".join(f"member {n}: step {s} residual {10.0 ** -s:.1e}\n"
                       for s in range(6)).encode()
        outputs[n] = (start, len(log))
    paths.meta("log").mkdir(exist_ok=True)
    paths.meta("log/w0.log").write_bytes(log)
    for n, status in ((0, "done"), (1, "done"), (2, "failed")):
        record = new_record(MEMBERS[n], 0)
        record.update(status=status, attempts=1, state=f"step {5 - n}", state_size=6,
                      saved=SAMPLE_START + 100 * n, started=SAMPLE_START + 100 * n,
                      ended=SAMPLE_START + 100 * n + 90, log="w0.log",
                      log_from=outputs[n][0], log_to=outputs[n][1])
        if status == "failed":
            record.update(failures=1, error="FloatingPointError: residual diverged")
        write_json_atomic(paths.meta(f"instances/{work_key(n, 0)}.json"), record,
                          compact=True)


@pytest.fixture
def instances_app(tmp_path, monkeypatch):
    yield from sample(tmp_path, monkeypatch, instances)


async def show_output(pilot) -> None:
    await loaded(pilot)
    await open_by_id(pilot, RUN)
    app = pilot.app
    await pilot.press(*["right_square_bracket"] * 3)
    table = app.screen.query_one("#instance-table")
    assert await until(pilot, lambda: table.row_count == 4 and app.focused is table)
    await pilot.press("down", "enter")  # the second member
    pager = app.screen.query_one("#instance-output")
    assert await until(pilot, lambda: len(pager.lines) == 6)
    await settled(pilot)


def test_instances_tab_80x24(snap_compare, instances_app):
    assert snap_compare(instances_app, terminal_size=(80, 24), run_before=show_output)


def test_instances_tab_160x48(snap_compare, instances_app):
    assert snap_compare(instances_app, terminal_size=(160, 48), run_before=show_output)
