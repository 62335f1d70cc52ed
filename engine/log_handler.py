"""A ``logging.Handler`` that turns log records into events of a run."""

import logging

_LEVELS = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning",
           logging.ERROR: "error", logging.CRITICAL: "critical"}


class RunLogHandler(logging.Handler):
    """Send every record it handles to ``run.log_event`` with a matching level.

        logging.getLogger("sim").addHandler(RunLogHandler(run))
    """

    def __init__(self, run, level: int = logging.NOTSET):
        super().__init__(level)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        level = _LEVELS.get(record.levelno) or ("debug" if record.levelno < logging.INFO
                                                else "critical")
        try:
            self.run.log_event(self.format(record), timestamp=record.created,
                               log_level=level)
        except RuntimeError:  # the run is closed or misused: logging must not raise
            self.handleError(record)
