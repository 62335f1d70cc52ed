"""One sparkline per metric with its last, min and max; one of them is selected."""

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ..safe_text import one_line
from .glyphs import YELLOW, finite, short_number, sparkline


class MetricSparks(Widget, can_focus=True):
    DEFAULT_CSS = """
    MetricSparks { height: auto; max-height: 12; }
    """
    selected = reactive(0)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metrics: dict = {}
        self.earlier: dict = {}  # name -> history.Summary of the points before the tail

    def update_metrics(self, metrics: dict, earlier: dict | None = None) -> None:
        """The tail's statistics (``tail.MetricStats``) of each metric, and those of
        the history read behind it, if read."""
        grown = len(metrics) != len(self.metrics)
        self.metrics = dict(metrics)
        self.earlier = earlier or {}
        self.selected = min(self.selected, max(0, len(self.metrics) - 1))
        self.refresh(layout=grown)  # one line a metric: only a new one changes the height

    def selected_name(self) -> str | None:
        names = list(self.metrics)
        return names[self.selected] if 0 <= self.selected < len(names) else None

    def move(self, delta: int) -> None:
        if self.metrics:
            self.selected = (self.selected + delta) % len(self.metrics)

    def render(self) -> Text:
        if not self.metrics:
            return Text("no metrics yet", style="dim")
        width = self.size.width or 80
        names = {name: one_line(name, limit=24) for name in self.metrics}
        name_width = min(24, max(len(n) for n in names.values()))
        spark_width = max(4, width - name_width - 45)
        text = Text()
        for index, (name, stats) in enumerate(self.metrics.items()):
            values = finite(p[2] for p in list(stats.points)[-spark_width:])
            marker = ">" if index == self.selected else " "
            style = "bold reverse" if index == self.selected else ""
            text.append(f"{marker}{names[name][:name_width]:<{name_width}} ", style=style)
            text.append(f"{sparkline(values, spark_width):<{spark_width}} ", style="green")
            low, high, nonfinite = stats.min, stats.max, stats.nonfinite
            before = self.earlier.get(name)
            if before is not None:
                low, high = _either(min, low, before.min), _either(max, high, before.max)
                nonfinite += before.nonfinite
            text.append(f"last {short_number(stats.last):>9} "
                        f"min {short_number(low):>8} max {short_number(high):>8}")
            if nonfinite:
                text.append(f" +{nonfinite} NaN/inf", style=YELLOW)
            text.append("\n")
        text.rstrip()
        return text

    def get_content_height(self, container, viewport, width) -> int:
        return max(1, len(self.metrics))


def _either(pick, a, b):
    """``pick`` of the two that are known (None where neither is)."""
    known = [v for v in (a, b) if v is not None]
    return pick(known) if known else None
