"""Messages between the dashboard's threads and its widgets."""

from textual.message import Message


class FilesChanged(Message):
    """Watchdog saw changes; the paths wait in the watcher. A burst is one message."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FilesChanged)


class ModelRefreshed(Message):
    """A refresh worker finished: the runs whose listing changed, the paths it saw."""

    def __init__(self, changed: set[str], paths: set[str]):
        super().__init__()
        self.changed = changed
        self.paths = paths


class ControlDone(Message):
    """A start, pause, resume or close finished (or failed) in a worker."""

    def __init__(self, text: str, error: bool = False):
        super().__init__()
        self.text = text
        self.error = error
