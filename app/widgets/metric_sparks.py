"""One sparkline per metric with its last, min and max; one of them is selected."""

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ..safe_text import one_line
from .glyphs import finite, short_number, sparkline


class MetricSparks(Widget, can_focus=True):
    DEFAULT_CSS = """
    MetricSparks { height: auto; max-height: 12; }
    """
    selected = reactive(0)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.metrics: dict = {}

    def update_metrics(self, metrics: dict) -> None:
        grown = len(metrics) != len(self.metrics)
        self.metrics = dict(metrics)
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
            text.append(f"last {short_number(stats.last):>9} "
                        f"min {short_number(stats.min):>8} max {short_number(stats.max):>8}")
            if stats.nonfinite:
                text.append(f" +{stats.nonfinite} NaN/inf", style="yellow")
            text.append("\n")
        text.rstrip()
        return text

    def get_content_height(self, container, viewport, width) -> int:
        return max(1, len(self.metrics))
