"""The Output tab: what the run's processes printed (log/), read like a pager; the
lines are kept in the run's reading too, for the next time the run is opened."""

from .log_tab import LogTab


class OutputTab(LogTab):
    def __init__(self, reading, **kwargs):
        super().__init__(list(reading.output), name="output", max_lines=5000, **kwargs)
        self.reading = reading  # run_reading.RunReading

    def files_read(self, found) -> None:
        if found.output:
            self.reading.output.extend(found.output)
            self.add(found.output)
