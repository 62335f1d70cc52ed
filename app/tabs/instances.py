"""The Instances tab's own part: enter on an instance shows its output in a pager.

The engine records in each instance's record which bytes of its worker's log that
instance printed (``log``: the log's name, ``log_from`` and ``log_to``: where the
log ended before and after it ran; no ``log_to`` while it runs: up to the end now).
The record is a stranger's text like everything else in a run: the name must be
a worker's log (``w<N>.log``), the offsets counts, the file a regular file opened
without following a link, and what is read is bounded (its last OUTPUT_MAX bytes).
Reading happens on a worker thread; the lines go to the pager made safe.
"""

import re

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widgets import DataTable

from runyard.engine.untrusted import MiB, NotReadable, open_regular, read_upto

from ..safe_text import one_line
from ..widgets.pager import Pager
from .file_reading import byte_size, text_lines
from .run_tab import RunTab
from .run_text import instance_row
from .shown import displayed

OUTPUT_MAX = 4 * MiB  # of one instance's output, its last bytes shown
INSTANCES_SHOWN = 1000  # rows of the table at most: a run has up to 1,000,000 units
WORKER_LOG = re.compile(r"w\d{1,9}\.log")


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and \
        value >= 0 else None


def instance_output(meta_dir, record: dict) -> tuple[list[str], str]:
    """The lines an instance printed (made safe) and a note saying what they are."""
    log, start, end = record.get("log"), _count(record.get("log_from")), \
        record.get("log_to")
    if log is None or start is None:
        return [], "no output of its own recorded (ran before runyard kept it apart, " \
                   "or on Dask: see the Output tab)"
    if not isinstance(log, str) or not WORKER_LOG.fullmatch(log):
        return [], f"its record names {one_line(log, limit=80)}, not a worker's log"
    end = _count(end) if end is not None else None
    try:
        with open_regular(meta_dir / "log" / log) as handle:
            size = handle.seek(0, 2)
            stop = min(end, size) if end is not None else size
            if start > stop:
                return [], f"its record points past the end of log/{log}"
            first = max(start, stop - OUTPUT_MAX)
            handle.seek(first)
            data = read_upto(handle, max(0, stop - first))
    except FileNotFoundError:
        return [], f"log/{log} is gone"
    except NotReadable as exc:
        return [], f"log/{log} {one_line(exc.why, limit=200)}"
    except OSError as exc:
        return [], f"log/{log} cannot be read ({one_line(exc.strerror)})"
    note = f"{byte_size(stop - start)} in log/{log}"
    if first > start:
        note += f", its last {byte_size(len(data))}"
    if end is None:
        note += ", still running"
    if data.endswith(b"\n"):
        data = data[:-1]
    return (text_lines(data) if data else []), note


MORE = "\0more"  # the key of the row saying how many are not listed


def shown_keys(records: dict, most: int = INSTANCES_SHOWN) -> list[str]:
    """The records listed, in their order: all of them, or ``most`` with the failed
    and running ones first of all (a row each of a million units took minutes to lay
    out, on the screen's thread, at every refresh)."""
    if len(records) <= most:
        return list(records)
    urgent = [k for k, r in records.items() if r.get("status") in ("failed", "running")]
    chosen = set(urgent[:most])
    for key in records:
        if len(chosen) >= most:
            break
        chosen.add(key)
    return [key for key in records if key in chosen]


class InstancesTab(Vertical, RunTab):
    """The instances' table over a pager; its rows are filled while it is shown."""

    BINDINGS = [
        Binding("enter", "show_output", "Show the instance's own output", show=False,
                id="instance-output"),
        Binding("j", "row(1)", "Next row", show=False, id="instances-down"),
        Binding("k", "row(-1)", "Previous row", show=False, id="instances-up"),
    ]

    DEFAULT_CSS = """
    InstancesTab #instance-list {
        height: 1fr;
    }
    InstancesTab #instance-pane {
        height: 1fr;
    }
    """

    class Read(Message):
        def __init__(self, key: str, lines: list[str], note: str):
            super().__init__()
            self.key, self.lines, self.note = key, lines, note

    def __init__(self, meta_dir, **kwargs):
        super().__init__(**kwargs)
        self.meta_dir = meta_dir
        self.records: dict[str, dict] = {}  # key -> record, as the screen last read them
        self._filled: dict | None = None    # the records the table shows
        self._wanted: str | None = None     # the instance whose output is being read

    def compose(self) -> ComposeResult:
        # each focusable alone in its box (see FilesTab.compose)
        with Container(id="instance-list"):
            yield DataTable(id="instance-table", cursor_type="row")
        with Container(id="instance-pane"):
            yield Pager(name="output", max_lines=20_000, id="instance-output")

    def on_mount(self) -> None:
        self.query_one("#instance-table", DataTable).add_columns(
            "instance", "it", "status", "tries", "done", "left", "state", "saved", "error")
        pager = self.query_one("#instance-output", Pager)
        pager.what = "an instance's output (enter on a row)"
        pager.show_place()

    def files_read(self, found) -> None:
        self.records = found.records
        if displayed(self):
            self.fill()

    def tab_shown(self) -> None:
        self.fill()
        self.query_one("#instance-table", DataTable).focus()  # enter, j/k: on its rows

    def fill(self) -> None:
        """The table's rows as the records were last read (added, or their cells
        updated): INSTANCES_SHOWN of them at most, then a row saying how many more."""
        if self._filled is self.records:
            return
        self._filled = self.records
        table = self.query_one("#instance-table", DataTable)
        keys = shown_keys(self.records)
        wanted = set(keys)
        for row_key in list(table.rows):
            if row_key.value not in wanted:  # no longer among those shown, or the note
                table.remove_row(row_key)
        for key in keys:
            row = instance_row(self.records[key])
            if key in table.rows:
                for column, value in zip(table.columns, row, strict=True):
                    table.update_cell(key, column, value)
            else:
                table.add_row(*row, key=key)
        if len(keys) < len(self.records):
            table.add_row(Text(f"... {len(self.records) - len(keys)} more instances not "
                               "listed (runyard show --json counts them)", style="dim"),
                          *([""] * (len(table.columns) - 1)), key=MORE)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "instance-table":
            return
        event.stop()
        self._show(event.row_key.value)

    def action_show_output(self) -> None:
        """Enter with the pager focused: the instance under the table's cursor again."""
        table = self.query_one("#instance-table", DataTable)
        if table.row_count:
            self._show(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def action_row(self, delta: int) -> None:
        table = self.query_one("#instance-table", DataTable)
        table.move_cursor(row=table.cursor_row + delta)

    def _show(self, key: str) -> None:
        record = self.records.get(key)
        if record is None:
            return
        self._wanted = key
        pager = self.query_one("#instance-output", Pager)
        pager.what = "output of " + one_line(
            str(record.get("instance", "?")).rsplit("/", 1)[-1], limit=60)
        self.read_output(key, dict(record))

    @work(thread=True, exclusive=True, exit_on_error=False, group="instance-output")
    def read_output(self, key: str, record: dict) -> None:
        lines, note = instance_output(self.meta_dir, record)
        self.post_message(self.Read(key, lines, note))

    def on_instances_tab_read(self, message: Read) -> None:
        if message.key != self._wanted:
            return
        pager = self.query_one("#instance-output", Pager)
        pager.clear()
        pager.note = message.note
        pager.write_lines(message.lines or ["(nothing printed)"])
        pager.scroll_home(animate=False)
        pager.focus()
        pager.show_place()
