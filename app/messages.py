"""Messages between the dashboard's threads and its widgets."""

from textual.message import Message


class ModelRefreshed(Message):
    """A refresh worker finished: the runs whose listing changed, the paths it saw,
    and the runs whose metric or alert cells changed."""

    def __init__(self, changed: set[str], paths: set[str], redraw: set[str] = frozenset(),
                 rescan: bool = False):
        super().__init__()
        self.changed = changed
        self.paths = paths
        self.redraw = redraw
        self.rescan = rescan  # the heartbeat re-scan: the detail screen re-reads too


class ControlDone(Message):
    """A start, pause, resume or close finished (or failed) in a worker."""

    def __init__(self, text: str, error: bool = False):
        super().__init__()
        self.text = text
        self.error = error
