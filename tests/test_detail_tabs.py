"""Each tab of the detail screen is a widget of its own (issue 12, "How it is built"):
a tab never shown builds nothing (its text waits for its first show), and each tab,
fed alone without the screen, shows what it was given."""

from test_app import until
from textual.app import App

from runyard.app.dashboard import RunyardApp
from runyard.app.messages import OpenRun
from runyard.app.run_reading import RunFiles, RunReading
from runyard.app.screens.detail import DetailScreen
from runyard.app.tabs.alerts import AlertsTab
from runyard.app.tabs.events import EventsTab
from runyard.app.tabs.info import InfoTab
from runyard.app.tabs.instances import InstancesTab
from runyard.app.tabs.output import OutputTab
from runyard.app.tabs.steps import StepsTab, step_rows
from runyard.engine.demo import make_flow_sample
from runyard.engine.jsonl import append_records
from runyard.engine.layout import RunPaths
from runyard.engine.work import InstanceBook, new_record

from hostile import good_run

SIZE = (100, 30)
NEXT = "right_square_bracket"


def with_instance(paths) -> None:
    book = InstanceBook(paths)
    book.folder.mkdir()
    book.write("00000-0", new_record("/data/a.txt", 0))


async def test_a_tab_never_shown_builds_nothing_until_it_is_first_shown(app_root):
    """Before, the Alerts text was built and the Instances rows added on every read
    of the run, on whatever tab the user looked at."""
    with_instance(good_run(app_root, "lazy"))
    app = RunyardApp(app_root)
    async with app.run_test(size=SIZE) as pilot:
        assert await until(pilot, lambda: len(app.snapshot.view) == 1)
        await pilot.press("enter")
        assert await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        screen = app.screen
        instances = screen.query_one("#instances-tab")
        assert await until(pilot, lambda: instances.records)  # a full read arrived
        await pilot.pause(0.2)
        alerts, info = screen.query_one("#alert-text"), screen.query_one("#info-text")
        table = screen.query_one("#instance-table")
        assert str(alerts.render()) == ""  # on the Metrics tab: not built
        assert str(info.render()) == ""
        assert table.row_count == 0
        await pilot.press(NEXT, NEXT)  # Alerts: built when first shown
        assert await until(pilot, lambda: "loss-high" in str(alerts.render()))
        assert "critical" in str(alerts.render())
        assert table.row_count == 0 and str(info.render()) == ""
        await pilot.press(NEXT)  # Instances
        assert await until(pilot, lambda: table.row_count == 1)
        await pilot.press(NEXT, NEXT)  # Info
        assert await until(pilot, lambda: "the good run lazy" in str(info.render()))


# -- each tab alone: a tiny app holds it, the test feeds it what a read found -----------
class One(App):
    """One tab and nothing else: no detail screen routes to it."""

    def __init__(self, tab):
        super().__init__()
        self.tab = tab
        self.opened: list[str] = []  # runs the tab asked to open
        self.notes: list[str] = []   # what it told the user

    def compose(self):
        yield self.tab

    def on_open_run(self, message: OpenRun) -> None:
        self.opened.append(message.run_id)

    def notify(self, message, **_kwargs) -> None:
        self.notes.append(message)


def read(root, paths, steps=None) -> tuple[RunReading, RunFiles]:
    """What the detail screen's worker reads of a run, read the same way."""
    reading = RunReading.of(paths.meta_dir)
    return reading, reading.read_files(root, paths.id, reading.tail.poll(), steps)


def lines_of(widget) -> list[str]:
    return [str(widget.render_line(y).text).rstrip() for y in range(widget.size.height)]


async def test_the_events_tab_alone_shows_the_events_it_is_given(root):
    paths = good_run(root, "ev")
    append_records(paths.meta("events.jsonl"), [
        {"ts": 1_800_000_009.0, "level": "error", "msg": "boom \x1b]0;owned\x07 [b]x[/b]"}])
    _reading, found = read(root, paths)
    tab = EventsTab(RunReading.of(paths.meta_dir), id="event-log")
    async with One(tab).run_test(size=(80, 12)) as pilot:
        assert tab.line_count == 0
        tab.series_read(found.update)
        await pilot.pause()
        assert [line.split(" ", 1)[1] for line in tab.lines] == [
            *(f"info     ev event {i}" for i in range(5)),
            "error    boom \\x1b]0;owned\\x07 [b]x[/b]"]
        assert "ev event 0" in "\n".join(lines_of(tab))


async def test_the_events_tab_opened_again_shows_what_was_read_before(root):
    paths = good_run(root, "again")
    reading, _found = read(root, paths)
    tab = EventsTab(reading)
    async with One(tab).run_test(size=(80, 12)) as pilot:
        assert await until(pilot, lambda: tab.line_count == 5)
        assert "again event 4" in tab.lines[-1]


async def test_the_output_tab_alone_shows_the_output_it_is_given(root):
    paths = good_run(root, "out")
    paths.meta("log/w0.log").write_bytes(b"hello\nstep 10%\rstep 100%\n\x1b[2Jcleared\n")
    reading, found = read(root, paths)
    tab = OutputTab(reading, id="output-log")
    async with One(tab).run_test(size=(80, 12)) as pilot:
        tab.files_read(found)
        await pilot.pause()
        shown = ["[w0.log] hello", "[w0.log] step 100%", "[w0.log] \\x1b[2Jcleared"]
        runner = [line for line in tab.lines if line.startswith("[runner] ")]
        assert "named out" in runner[0]  # the runner's log first, then the worker's
        assert tab.lines == [*runner, *shown]
    again = OutputTab(reading)  # the run opened again: its output kept
    async with One(again).run_test(size=(80, 12)) as pilot:
        assert await until(pilot, lambda: again.lines == [*runner, *shown])


async def test_the_alerts_tab_alone_draws_what_it_is_given_and_only_while_shown(root):
    paths = good_run(root, "al")
    reading, found = read(root, paths)
    tab = AlertsTab(reading.tail, id="alert-text")
    async with One(tab).run_test(size=(80, 12)) as pilot:
        tab.display = False  # behind another tab
        tab.files_read(found)
        await pilot.pause()
        assert tab.drawn is None and str(tab.render()) == ""
        tab.display = True
        tab.tab_shown()
        await pilot.pause()
        assert str(tab.render()).startswith("critical loss-high")
        assert "value 2.5" in str(tab.render())
        assert "history" in lines_of(tab)[2]


async def test_the_info_tab_alone_shows_the_run_it_is_given(root):
    paths = good_run(root, "inf")
    _reading, found = read(root, paths)
    tab = InfoTab()
    async with One(tab).run_test(size=(100, 40)) as pilot:
        tab.files_read(found)
        await pilot.pause()
        text = str(tab.query_one("#info-text").render())
        assert "name inf" in text and "seed = 1" in text
        assert "output/a.txt  3 B  text/plain" in text


async def test_the_instances_tab_alone_lists_the_records_it_is_given(root):
    paths = good_run(root, "inst")
    with_instance(paths)
    _reading, found = read(root, paths)
    tab = InstancesTab(paths.meta_dir, id="instances-tab")
    async with One(tab).run_test(size=(100, 20)) as pilot:
        tab.files_read(found)
        await pilot.pause()
        table = tab.query_one("#instance-table")
        assert table.row_count == 1
        assert str(table.get_row_at(0)[0]) == "a.txt"
        assert str(table.get_row_at(0)[2]) == "pending"


async def test_the_steps_tab_alone_lists_the_steps_and_opens_a_step_run(root):
    make_flow_sample(root)
    paths = RunPaths(root, "00000000000007")
    _reading, found = read(root, paths, step_rows)
    tab = StepsTab(found.info, id="step-table")
    async with One(tab).run_test(size=(100, 12)) as pilot:
        tab.files_read(found)
        await pilot.pause()
        rows = [[str(cell) for cell in tab.get_row_at(i)] for i in range(tab.row_count)]
        assert [row[:3] for row in rows] == [
            ["mesh", "✔ completed", "nightly.mesh"], ["solve", "■ terminated", "nightly.solve"],
            ["report", "· pending", "-"]]
        tab.focus()
        await pilot.press("enter")  # the first step
        assert await until(pilot, lambda: pilot.app.opened == ["00000000000008"])
        await pilot.press("down", "down", "enter")  # the step that has not started
        assert await until(pilot, lambda: pilot.app.notes == [
            "step report has not started yet"])
        assert pilot.app.opened == ["00000000000008"]


async def test_the_instances_tab_of_a_huge_run_lists_part_of_it_and_its_failures(root):
    """A run of 5,000 units (the engine takes 1,000,000): the tab made a table row of
    each, on the screen's thread, and again each refresh (200,000 units: no key
    answered for 27 s). It lists INSTANCES_SHOWN, the failed and running ones first
    of all, and says how many more there are."""
    from runyard.app.tabs.instances import INSTANCES_SHOWN

    paths = good_run(root, "huge")
    book = InstanceBook(paths)
    book.folder.mkdir()
    for i in range(5_000):
        record = new_record("/data/a.txt", i)
        if i == 4_321:
            record.update(status="failed", attempts=1, failures=1, error="ValueError: no")
        book.write(f"00000-{i}", record)
    _reading, found = read(root, paths)
    tab = InstancesTab(paths.meta_dir, id="instances-tab")
    async with One(tab).run_test(size=(100, 20)) as pilot:
        tab.files_read(found)
        await pilot.pause()
        table = tab.query_one("#instance-table")
        assert table.row_count == INSTANCES_SHOWN + 1
        rows = [[str(cell) for cell in table.get_row_at(r)] for r in range(table.row_count)]
        assert ["4321", "failed"] in [row[1:3] for row in rows]
        assert f"{5_000 - INSTANCES_SHOWN} more instances" in rows[-1][0]


async def test_the_alerts_tab_of_a_run_with_huge_alert_files_lists_part_of_them(root):
    """300,000 alert definitions (alerts.json takes 64 MiB, written by hand): the tab
    laid out a line each, and no key was answered for 52 s. It lists ALERTS_SHOWN,
    the critical ones first, and says how many more there are."""
    import json
    import time

    from runyard.app.tabs.run_text import ALERTS_SHOWN

    paths = good_run(root, "alerty")
    (paths.meta_dir / "alerts.json").write_text(json.dumps(
        [{"name": f"a{i:05d}", "source": "user"} for i in range(20_000)]))
    append_records(paths.meta("alerts.jsonl"), [
        {"ts": time.time(), "alert": "a19999", "state": "critical", "value": 1}])
    reading, found = read(root, paths)
    tab = AlertsTab(reading.tail, id="alert-text")
    async with One(tab).run_test(size=(80, 12)) as pilot:
        tab.files_read(found)
        await pilot.pause()
        text = str(tab.render())
        assert text.startswith("critical a19999")
        listed = [line for line in text.splitlines() if line.startswith(("critical", "ok"))]
        assert len(listed) == ALERTS_SHOWN  # loss-high (good_run's) is critical too
        assert f"{20_001 - ALERTS_SHOWN} more alerts not listed" in text


def test_a_flow_of_a_huge_number_of_steps_lists_part_of_them(root):
    """A flow run's attributes naming 5,000 steps (a stranger's hand-written attrs.json
    can name a million): each was read from its run and made a table row, on the
    screen's thread at each refresh. STEPS_SHOWN are listed, then how many more."""
    from runyard.app.tabs.steps import STEPS_SHOWN
    from runyard.engine import load_run
    from runyard.engine.meta import update_attrs

    make_flow_sample(root)
    flow = RunPaths(root, "00000000000007")
    steps = {f"s{i:05d}": {"run": "00000000000008", "status": "completed"}
             for i in range(5_000)}
    update_attrs(flow.meta_dir, lambda a: a["flow"].update(steps=steps), None)
    rows = step_rows(root, load_run(root, flow.id))
    assert len(rows) == STEPS_SHOWN + 1
    assert f"{5_000 - STEPS_SHOWN} more steps not listed" in str(rows[-1][1][0])
