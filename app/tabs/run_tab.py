"""What the detail screen tells each of its tabs (app/tabs/registry.py lists them).

A tab's widget mixes this in and overrides what it needs; the screen only routes:
every read of the run's series goes to ``series_read``, every full read of its
files to ``files_read``, and ``tab_shown`` comes when the tab becomes the one
shown. A tab that is hidden keeps what it was given and builds its content when
it is first shown (``displayed`` says whether it is).
"""


class RunTab:
    """The detail screen's side of a tab; each method does nothing unless overridden."""

    def series_read(self, update) -> None:
        """The run's series were read (engine.tail.TailUpdate: the new events,
        alerts, whether metrics came): on every read, light or full."""

    def files_read(self, found) -> None:
        """A full read of the run's files (run_reading.RunFiles)."""

    def tab_shown(self) -> None:
        """The tab became the one shown: draw what waited, take the keys."""
