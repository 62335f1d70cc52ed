"""What the detail screen reads of one run, on its worker thread (no Textual here).

``RunReading`` is what has been read so far (kept by the app a while after the
screen closes: opening the run again reads only what was appended since);
``RunFiles`` is what one full read found, handed to the tabs (app/tabs/).
A part that cannot be read (a folder another user closed, a file that is no
file) is named in ``problems`` and the rest read.
"""

import os
from collections import deque
from dataclasses import dataclass, field

from runyard.engine import load_run
from runyard.engine.history import History
from runyard.engine.jsonl import SeriesReader
from runyard.engine.layout import ALERT_DEFS, FILES, RunPaths
from runyard.engine.tail import RunTail, TextTail
from runyard.engine.work import InstanceBook

from .eta_text import records_with_progress
from .tabs.run_text import output_line

FIRST_BACKLOG = 64 * 1024  # of a metrics file, drawn at once (~600 lines); the rest behind


@dataclass
class RunFiles:
    """What one read of the run's files found."""

    update: object                      # the RunTail's news
    info: object                        # the run, read again
    output: list = field(default_factory=list)
    records: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    files: list = field(default_factory=list)
    produced: list = field(default_factory=list)
    alert_defs: list = field(default_factory=list)
    reason: str | None = None           # why storage stopped the run, if it did
    problems: list = field(default_factory=list)  # parts that could not be read


@dataclass
class RunReading:
    """What the detail screen has read of a run, kept by the app for a while after the
    screen closes: opening the run again reads only what was appended since."""

    tail: RunTail
    files_reader: SeriesReader
    logs: dict = field(default_factory=dict)               # log name -> TextTail
    saved_files: deque = field(default_factory=lambda: deque(maxlen=50))
    output: deque = field(default_factory=lambda: deque(maxlen=5000))  # lines shown
    history: History | None = None  # the points the tail skipped, once read
    history_read: int = 0           # bytes of it read so far, while reading
    book: InstanceBook | None = None  # its instances' records (journals read on)
    units: dict = field(default_factory=dict)  # metric -> units (set_metric_units)

    @classmethod
    def of(cls, meta_dir) -> "RunReading":
        return cls(RunTail(meta_dir, first_backlog=FIRST_BACKLOG),
                   SeriesReader(meta_dir / FILES))

    def history_size(self) -> int:
        return sum(end for _identity, end in self.tail.skipped.values())

    def history_note(self) -> str:
        """What a chart grid says while the history is being read."""
        size = self.history_size()
        if not size or self.history is not None:
            return ""
        return f"loading history ({100 * self.history_read // size}%)"

    # -- a full read, on the worker thread -------------------------------------------
    def read_files(self, root, run_id: str, update, steps=None) -> RunFiles:
        """Everything the tabs show but the series (``update``, read before);
        ``steps(root, info)``: a flow run's steps as rows."""
        from runyard.engine.summary import alert_definitions

        meta_dir = root / f"{run_id}.meta"
        found = RunFiles(update, load_run(root, run_id))
        from runyard.engine.units import metric_units

        self.units = metric_units(found.info.attrs)  # replaced whole: read by the tabs
        parts = (("output", "log/", self.read_logs),
                 ("records", "instances/",
                  lambda where: self.read_instances(where, RunPaths(root, run_id),
                                                    found.info.status == "running")),
                 ("files", FILES, self.read_saved_files),
                 ("alert_defs", ALERT_DEFS, alert_definitions))
        for field_name, what, read in parts:
            try:
                setattr(found, field_name, read(meta_dir))
            except OSError as exc:
                found.problems.append(f"{what}: {exc}")
        found.produced = run_folder_names(found.info.paths.run_dir)
        if steps is not None:
            found.steps = steps(root, found.info)
        found.reason = found.info.reason
        return found

    def read_logs(self, meta_dir) -> list[str]:
        lines = []
        try:
            with os.scandir(meta_dir / "log") as entries:
                names = sorted(e.name for e in entries)
        except FileNotFoundError:  # not yet
            return lines
        for name in names:
            if name == "runner" or name.endswith(".log"):
                tail = self.logs.setdefault(name, TextTail(meta_dir / "log" / name))
                lines += [output_line(name, line) for line in tail.read_new()]
        return lines

    def read_instances(self, meta_dir, paths: RunPaths, live: bool) -> dict:
        if not (meta_dir / "instances").is_dir():
            return {}
        if self.book is None:
            self.book = InstanceBook(paths)
        return records_with_progress(meta_dir, self.book.records(), live=live)

    def read_saved_files(self, meta_dir) -> list[dict]:
        """The last saved files, read incrementally (files.jsonl only grows)."""
        records, _bad = self.files_reader.read_new()
        self.saved_files.extend(records)
        return list(self.saved_files)


def run_folder_names(run_dir, most: int = 50, look: int = 10_000) -> list[str]:
    """The first names of the run's own folder (a folder of a million files is
    not listed whole on every refresh)."""
    names = []
    try:
        with os.scandir(run_dir) as entries:
            for entry in entries:
                names.append(entry.name)
                if len(names) >= look:
                    break
    except OSError:
        return []
    return sorted(names)[:most]
