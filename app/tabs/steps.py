"""The Steps tab of a flow run: each step's status, run, progress and time; enter
opens a step's run. The rows are read on the screen's worker (``step_rows``)."""

import itertools

from rich.text import Text
from textual.widgets import DataTable

from runyard.engine import load_run

from ..formatting import duration
from ..messages import OpenRun
from ..model import progress_text
from .run_tab import RunTab
from .run_text import step_row

STEPS_SHOWN = 500  # steps listed at most (each is read from its own run)
MORE = "\0more"    # the key of the row saying how many are not listed


def step_rows(root, info) -> list[tuple[str, tuple]]:
    """A flow run's steps as table rows, each read from its own run (in a thread)."""
    rows = []
    steps = (info.attrs.get("flow") or {}).get("steps") or {}
    for alias, record in itertools.islice(steps.items(), STEPS_SHOWN):
        status, name, progress, took = record.get("status", "pending"), "-", "", "-"
        if record.get("run"):
            step = load_run(root, record["run"])
            status, name = step.status, step.name or step.id
            progress, took = progress_text(step), duration(step.duration())
        rows.append((alias, step_row(alias, status, name, progress, took,
                                     record.get("error"))))
    if len(steps) > STEPS_SHOWN:
        rows.append((MORE, (Text(f"... {len(steps) - STEPS_SHOWN} more steps not listed",
                                 style="dim"), "", "", "", "", "")))
    return rows


class StepsTab(DataTable, RunTab):
    def __init__(self, info, **kwargs):
        super().__init__(cursor_type="row", **kwargs)
        self.info = info  # the flow run, as last read: its steps' runs

    def on_mount(self) -> None:
        self.add_columns("step", "status", "run", "progress", "duration", "error")

    def files_read(self, found) -> None:
        self.info = found.info
        for alias, row in found.steps:
            if alias in self.rows:
                for column, value in zip(self.columns, row, strict=True):
                    self.update_cell(alias, column, value)
            else:
                self.add_row(*row, key=alias)

    def tab_shown(self) -> None:
        self.focus()  # enter, up/down: on its rows

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        alias = event.row_key.value
        if alias == MORE:
            return
        record = (self.info.attrs.get("flow") or {}).get("steps", {}).get(alias)
        if record and record.get("run"):
            self.post_message(OpenRun(record["run"]))
        else:
            self.notify(f"step {alias} has not started yet")
