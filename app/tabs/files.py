"""The Files tab of the detail screen: the run's saved files and its own folder.

Above, a table: the files the run saved (``Run.save_file`` and friends, as
``files.jsonl`` lists them; their copies are under ``<id>.meta/artifacts/``), then
the entries of the run's folder, each with its size, type and time. Enter on a
folder goes into it (``..`` back up), on a file shows it in the pager below: a
text file from its tail, followed while it grows; a binary or huge one named with
its size and type; a link, FIFO or device refused with the reason. Everything
there may be a stranger's: nothing is read until the tab is shown, every read is
on a worker thread (engine/run_folder.py opens without following links, and only
regular files), and every name is shown through safe_text.
"""

import time
from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from runyard.engine.run_folder import Entry, artifact_parts, list_folder
from runyard.engine.untrusted import NotReadable

from ..safe_text import one_line
from ..widgets.pager import Pager
from .file_reading import FileFollower, Shown, byte_size, type_by_name
from .run_tab import RunTab
from .shown import displayed

FOLLOW_EVERY = 0.5   # seconds between two looks at the file shown, while the tab is
LIST_EVERY = 4       # looks between two listings of the folder
NAME_SHOWN = 60      # characters of a name in the table


@dataclass(frozen=True)
class Row:
    """What a row of the table stands for."""

    where: str          # "saved", "run" or "up"
    parts: tuple = ()   # below the meta folder (saved) or the run folder (run)
    entry: Entry | None = None
    label: str = ""     # the name as shown (safe)


def when(seconds) -> str:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
        return "-"
    try:
        return time.strftime("%m-%d %H:%M", time.localtime(seconds))
    except (OverflowError, OSError, ValueError):
        return "?"


def saved_rows(records: list[dict]) -> dict[str, tuple[Row, tuple]]:
    """The saved files, the last record of each name, as table rows."""
    rows = {}
    for record in records:
        parts = artifact_parts(record)
        label = one_line(f"{record.get('category', '?')}/{record.get('name', '?')}",
                         limit=NAME_SHOWN)
        size = record.get("size")
        size = byte_size(size) if isinstance(size, int) and not isinstance(size, bool) \
            else "?"
        cells = ("saved", label, size, one_line(record.get("mime") or "", limit=30),
                 when(record.get("ts")))
        key = "saved\0" + label
        rows[key] = (Row("saved", tuple(parts) if parts else (), None, label), cells)
    return rows


def entry_row(where: tuple, entry: Entry) -> tuple[Row, tuple]:
    label = one_line(entry.name, limit=NAME_SHOWN)
    kind = entry.kind
    if kind == "file":
        kind, size = type_by_name(entry.name) or "file", byte_size(entry.size)
    elif kind == "link":
        label += " -> " + one_line(entry.target, limit=NAME_SHOWN)
        kind, size = "link (outside)" if entry.outside else "link", ""
    else:
        size = ""
    shown_name = label + ("/" if entry.kind == "folder" else "")
    return (Row("run", (*where, entry.name), entry, label),
            ("run", shown_name, size, kind, when(entry.mtime)))


class FilesTab(Vertical, RunTab):
    BINDINGS = [
        Binding("enter", "open", "Show the file, or go into the folder", show=False,
                id="files-open"),
        Binding("backspace", "up_folder", "Up a folder", id="files-up"),
        Binding("j", "row(1)", "Next row", show=False, id="files-down"),
        Binding("k", "row(-1)", "Previous row", show=False, id="files-up-row"),
    ]
    DEFAULT_CSS = """
    FilesTab #files-where {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    FilesTab #file-list {
        height: 2fr;
    }
    FilesTab #file-pane {
        height: 3fr;
    }
    """

    class Listed(Message):
        def __init__(self, folder: tuple, rows: dict, where: Text):
            super().__init__()
            self.folder, self.rows, self.where = folder, rows, where

    class Read(Message):
        def __init__(self, follower: FileFollower, shown: Shown):
            super().__init__()
            self.follower, self.shown = follower, shown

    def __init__(self, meta_dir, run_dir, **kwargs):
        super().__init__(**kwargs)
        self.meta_dir, self.run_dir = meta_dir, run_dir
        self.where: tuple = ()             # the folder shown, below the run's folder
        self.saved: list[dict] = []        # files.jsonl's records, as the screen read them
        self.rows: dict[str, Row] = {}     # table key -> what it stands for
        self.follower: FileFollower | None = None
        self._following = False
        self._reading = self._listing = False
        self._ticks = 0
        self._timer = None
        self._where_shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="files-where")
        # each focusable alone in its box: when the tab is left, Textual moves the focus
        # to a focusable sibling, which would bring this tab back
        with Container(id="file-list"):
            yield DataTable(id="file-table", cursor_type="row")
        with Container(id="file-pane"):
            yield Pager(name="file", max_lines=20_000, id="file-view")

    def on_mount(self) -> None:
        table = self.query_one("#file-table", DataTable)
        table.add_columns("", "name", "size", "type", "time")
        pager = self.query_one("#file-view", Pager)
        pager.what = "file (enter on a row shows it)"
        pager.show_place()
        self._timer = self.set_interval(FOLLOW_EVERY, self._tick, pause=True)

    # -- shown or not ---------------------------------------------------------------
    def on_show(self) -> None:
        if not displayed(self):  # passed through on the way to another tab
            return
        self.list_now()
        self._timer.resume()

    def on_hide(self) -> None:
        self._timer.pause()

    def files_read(self, found) -> None:
        self.show_saved(found.files)

    def tab_shown(self) -> None:
        self.query_one("#file-table", DataTable).focus()  # enter, j/k: on its rows

    def show_saved(self, records: list[dict]) -> None:
        """The saved files as the detail screen last read them (relisted if shown)."""
        if records != self.saved:
            self.saved = list(records)
            if self.rows and displayed(self):
                self.list_now()

    def _tick(self) -> None:
        self._ticks += 1
        if self.follower is not None and self._following and not self._reading:
            self._reading = True
            self.read_file(self.follower)
        if self._ticks % LIST_EVERY == 0:
            self.list_now()

    # -- listing ----------------------------------------------------------------------
    def list_now(self) -> None:
        if not self._listing:
            self._listing = True
            self.list_files(self.where, list(self.saved))

    @work(thread=True, exit_on_error=False, group="files-list")
    def list_files(self, where: tuple, saved: list[dict]) -> None:
        rows = {} if where else saved_rows(saved)
        if where:
            rows["up"] = (Row("up"), ("", "..", "", "up a folder", ""))
        place = "/".join((self.run_dir.name, *where))  # the whole path: the Info tab
        note = Text("run folder: " + one_line(place, limit=300) + "/")
        try:
            entries, more = list_folder(self.run_dir, where, follow_base=False)
        except FileNotFoundError:
            entries, more = [], 0
            note.append("  (none yet)")
        except OSError as exc:
            entries, more = [], 0
            why = exc.why if isinstance(exc, NotReadable) else exc.strerror
            note.append(f"  cannot be listed: {one_line(why, limit=200)}")
        for entry in entries:
            key = "run\0" + entry.name
            rows[key] = entry_row(where, entry)
        if more:
            note.append(f"  ({more}+ more entries not listed)")
        self.post_message(self.Listed(where, rows, note))

    def on_files_tab_listed(self, message: Listed) -> None:
        if message.folder != self.where:  # the user moved on: its own listing follows
            return
        self._listing = False
        where = self.query_one("#files-where", Static)
        if message.where != self._where_shown:  # one line, fixed: no relayout
            self._where_shown = message.where
            where.update(message.where, layout=False)
        table = self.query_one("#file-table", DataTable)
        self.rows = {key: row for key, (row, _cells) in message.rows.items()}
        if list(table.rows) != [key for key in message.rows]:
            chosen = self._chosen_key(table)
            table.clear()
            for key, (_row, cells) in message.rows.items():
                table.add_row(*(Text(cell) for cell in cells), key=key)
            if chosen in table.rows:
                table.move_cursor(row=table.get_row_index(chosen))
            return
        for key, (_row, cells) in message.rows.items():
            for column, cell in zip(table.columns, cells, strict=True):
                if table.get_cell(key, column).plain != cell:
                    table.update_cell(key, column, Text(cell))

    @staticmethod
    def _chosen_key(table: DataTable) -> str | None:
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    # -- keys -------------------------------------------------------------------------
    def action_open(self) -> None:
        """Enter with the pager focused: the row under the table's cursor again."""
        table = self.query_one("#file-table", DataTable)
        key = self._chosen_key(table)
        if key is not None:
            self._select(key)

    def action_up_folder(self) -> None:
        if self.where:
            self._select("up")

    def action_row(self, delta: int) -> None:
        table = self.query_one("#file-table", DataTable)
        table.move_cursor(row=table.cursor_row + delta)

    # -- opening ----------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "file-table":
            return
        event.stop()
        self._select(event.row_key.value)

    def _select(self, key: str) -> None:
        row = self.rows.get(key)
        if row is None:
            return
        if row.where == "up" or (row.entry is not None and row.entry.kind == "folder"):
            self.where = self.where[:-1] if row.where == "up" else row.parts
            self._listing = True
            self.list_files(self.where, list(self.saved))
            return
        self.open_row(row)

    def open_row(self, row: Row) -> None:
        pager = self.query_one("#file-view", Pager)
        pager.what = row.label
        self.follower, self._following = None, False
        if row.entry is not None and row.entry.kind == "link":
            where = "out of the run" if row.entry.outside else "in the run"
            self._show(Shown([f"{row.label}: refused: a link {where}, never followed"],
                             fresh=True))
            return
        if not row.parts:
            self._show(Shown([f"{row.label}: refused: its recorded name is not a path "
                              "inside the run"], fresh=True))
            return
        base = self.meta_dir if row.where == "saved" else self.run_dir
        saved = row.where == "saved"
        self.follower = FileFollower(base, list(row.parts), row.label, live=not saved,
                                     follow_base=saved)
        self._reading = True
        pager.clear()
        self.read_file(self.follower)

    @work(thread=True, exit_on_error=False, group="files-read")
    def read_file(self, follower: FileFollower) -> None:
        self.post_message(self.Read(follower, follower.read()))

    def on_files_tab_read(self, message: Read) -> None:
        if message.follower is not self.follower:  # another file was opened since
            return
        self._reading = False
        self._show(message.shown)

    def _show(self, shown: Shown) -> None:
        pager = self.query_one("#file-view", Pager)
        self._following = shown.follow
        if shown.fresh:
            pager.clear()
            pager.note = shown.note
        if shown.lines:
            pager.write_lines(shown.lines)
        if shown.fresh and shown.at_end:
            pager.scroll_end(animate=False)
        elif shown.fresh:
            pager.scroll_home(animate=False)
        pager.show_place()
