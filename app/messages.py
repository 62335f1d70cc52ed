"""Messages between the dashboard's threads and its widgets."""

from textual.message import Message


class ModelRefreshed(Message):
    """A refresh finished: the snapshot to draw from, the runs whose listing changed
    (None: the view may have changed altogether: draw it all), the paths it saw,
    and the runs whose metric or alert cells changed."""

    def __init__(self, snapshot, changed: set[str] | None, paths: set[str],
                 redraw: set[str] = frozenset(), rescan: bool = False):
        super().__init__()
        self.snapshot = snapshot
        self.changed = changed
        self.paths = paths
        self.redraw = redraw
        self.rescan = rescan  # the heartbeat re-scan: the detail screen re-reads too


class ControlDone(Message):
    """A start, pause, resume or close finished (or failed) in a worker."""

    def __init__(self, text: str, error: bool = False, warning: bool = False):
        super().__init__()
        self.text = text
        self.error = error
        self.warning = warning


# -- what screens ask of the app (they never call it) ---------------------------------
class OpenRun(Message):
    """Open the detail screen of a run."""

    def __init__(self, run_id: str):
        super().__init__()
        self.run_id = run_id


class ControlRuns(Message):
    """Pause, resume or close these runs (close asks first)."""

    def __init__(self, verb: str, run_ids: list[str]):
        super().__init__()
        self.verb = verb
        self.run_ids = list(run_ids)


class StartWanted(Message):
    """Open the start dialog (``again``: filled in from run ``run_id``'s spec)."""

    def __init__(self, again: bool = False, run_id: str | None = None):
        super().__init__()
        self.again = again
        self.run_id = run_id


class ViewWanted(Message):
    """List the runs with other settings (state.ViewSettings)."""

    def __init__(self, settings):
        super().__init__()
        self.settings = settings


class TagsWanted(Message):
    """These runs are the tagged ones now."""

    def __init__(self, tagged: frozenset):
        super().__init__()
        self.tagged = frozenset(tagged)


class RowsShown(Message):
    """These runs are on screen now: their cells are wanted."""

    def __init__(self, run_ids: list[str]):
        super().__init__()
        self.run_ids = list(run_ids)


class CompareWanted(Message):
    """Compare these runs side by side."""

    def __init__(self, run_ids: list[str]):
        super().__init__()
        self.run_ids = list(run_ids)


class MetricChooserWanted(Message):
    """Offer the metrics the runs have, for the METRIC column."""
