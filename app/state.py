"""What the dashboard shows of a root, as values one thread hands to another.

The refresh thread owns the runs model (model.py) and is the only one to change
it; after each refresh it publishes a ``Snapshot``, which nobody changes after.
The UI thread draws from the latest snapshot and asks for another view by sending
``ViewSettings`` (a filter, a sort, a metric column) to the refresh thread, which
applies them and publishes the snapshot that results. So no table is ever drawn
from a model half-way through a refresh, and no refresh reads a filter half-set.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from .filter_query import FilterError, Query, metrics_of, parse

SORT_KEYS = ("created", "name", "status", "folder", "started", "duration", "progress")
NEWEST_FIRST = ("created", "started", "duration", "progress")  # sorted high to low


@dataclass(frozen=True)
class ViewSettings:
    """Which runs the table lists, in which order, with which metric column."""

    filter_text: str = ""  # as the user typed it (stripped); always a valid filter
    query: Query = field(default_factory=Query)  # filter_text, parsed
    sort_key: str = "created"
    reverse: bool = True  # newest first
    metric: str | None = None  # the METRIC column's; None: loss

    @property
    def column_metric(self) -> str:
        return self.metric or "loss"

    def filtered(self, text: str) -> "ViewSettings":
        """These settings with the filter ``text``; a filter that compares a metric
        (``metric:acc>0.9``) switches the metric column to it. Raises FilterError for
        a filter that cannot be understood."""
        query = parse(text)
        metrics = metrics_of(query)
        if len(metrics) > 1:
            raise FilterError("metric: compares one metric at a time (the METRIC "
                              f"column's), not {', '.join(sorted(metrics))}")
        metric = self.metric if not metrics or metrics == {self.column_metric} \
            else metrics.pop()
        return replace(self, filter_text=text.strip(), query=query, metric=metric)

    def sorted_by_next(self) -> "ViewSettings":
        key = SORT_KEYS[(SORT_KEYS.index(self.sort_key) + 1) % len(SORT_KEYS)]
        return replace(self, sort_key=key, reverse=key in NEWEST_FIRST)

    def reversed(self) -> "ViewSettings":
        return replace(self, reverse=not self.reverse)

    def with_metric(self, metric: str) -> "ViewSettings":
        return replace(self, metric=metric)


EMPTY: Mapping = MappingProxyType({})


@dataclass(frozen=True, eq=False)  # the same snapshot or another: never compared whole
class Snapshot:
    """The runs as one refresh left them. ``runs`` and ``cells`` are read-only views
    of dicts the model never changes again (it copies before it changes)."""

    settings: ViewSettings = field(default_factory=ViewSettings)
    runs: Mapping = field(default_factory=lambda: EMPTY)  # id -> engine.store.RunInfo
    view: tuple = ()              # the ids listed, in order
    grouped: frozenset = frozenset()  # step runs shown under their flow run
    cells: Mapping = field(default_factory=lambda: EMPTY)  # id -> model.Cell (never changed)
    counts: Mapping = field(default_factory=lambda: EMPTY)  # status -> runs
    active: frozenset = frozenset()  # runs whose files may change
    loading: str = ""             # "loading 4,000 of 50,000 runs" while runs are read
    error: str | None = None      # why the root cannot be listed
    folder_info: dict | None = None  # the filtered folder's description, tags, metadata
    metric_names: tuple = ()      # metrics seen in the runs whose cells were read
    ready: bool = False           # False until the first runs were read

    # the names the runs table reads (it drew from the model before)
    @property
    def metric(self) -> str | None:
        return self.settings.metric

    @property
    def sort_key(self) -> str:
        return self.settings.sort_key

    @property
    def reverse(self) -> bool:
        return self.settings.reverse

    @property
    def filter_text(self) -> str:
        return self.settings.filter_text
