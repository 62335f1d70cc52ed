"""A larger chart of one metric, drawn with braille (ASCII where that cannot show)."""

from rich.text import Text
from textual.widget import Widget

from ..safe_text import one_line
from .glyphs import braille_chart, finite, short_number


class MetricChart(Widget):
    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 5; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.name_: str | None = None
        self.points: list = []
        self.by_time = False
        self.skipped = 0  # the metric's NaN and infinite values, never drawn
        self.note = ""  # what is still on its way ("loading history (40%)")

    def show(self, name: str | None, spans: list, by_time: bool, skipped: int = 0,
             note: str = "") -> None:
        """``spans``: (x, lowest, highest) of the metric's points, x a step or a time."""
        self.name_, self.points, self.by_time = name, spans, by_time
        self.skipped, self.note = skipped, note
        self.refresh()

    def render(self) -> Text:
        if not self.name_ or not (self.points or self.skipped):
            return Text("select a metric (up/down in the list)", style="dim")
        width, height = max(10, self.size.width - 10), max(2, self.size.height - 2)
        drawn = [p for p in self.points if len(finite(p)) == 3]
        skipped = self.skipped
        text = Text()
        axis = "time (s)" if self.by_time else "step"
        text.append(one_line(self.name_, limit=60), style="bold")
        text.append(f" by {axis} (x switches)", style="bold")
        if self.note:
            text.append(f"  {self.note}", style="dim italic")
        if skipped:
            text.append(f"  {skipped} non-finite value{'s' * (skipped != 1)} not drawn",
                        style="yellow")
        text.append("\n")
        if not drawn:
            text.append("no finite values to draw", style="dim")
            return text
        rows = braille_chart(drawn, width, height)
        ys = [p[1] for p in drawn] + [p[2] for p in drawn]
        for index, row in enumerate(rows):
            label = short_number(max(ys)) if index == 0 else \
                short_number(min(ys)) if index == len(rows) - 1 else ""
            text.append(f"{label:>9} ", style="dim")
            text.append(row + "\n", style="cyan")
        xs = [p[0] for p in drawn]
        text.append(f"{'':>9} {short_number(min(xs))}".ljust(width // 2 + 10) +
                    f"{short_number(max(xs)):>{width // 2}}", style="dim")
        return text
