"""The Events tab: the run's events (a traceback's lines indented), read like a pager."""

from .log_tab import LogTab
from .run_text import event_lines


def lines_of(events) -> list[str]:
    return [line for event in events for line in event_lines(event)]


class EventsTab(LogTab):
    def __init__(self, reading, **kwargs):
        # the tail keeps the events it read: the run opened again shows them at once
        super().__init__(lines_of(reading.tail.events), name="events", max_lines=2000,
                         **kwargs)

    def series_read(self, update) -> None:
        if update.events:
            self.add(lines_of(update.events))
