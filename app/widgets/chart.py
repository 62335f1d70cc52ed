"""A larger chart of one metric, drawn with braille (ASCII where that cannot show).

The chart is drawn line by line from segments (``render_line``), rebuilt only when
its data or its size changed (the detail screen feeds it at most four times a
second, throttle.py): going through a Rich Text for 25 lines on every new point
was most of what a live detail screen cost.
"""

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from ..safe_text import one_line
from . import glyphs
from .glyphs import YELLOW, braille_chart, short_number

DIM, BOLD, CYAN = Style(dim=True), Style(bold=True), Style(color="cyan")
NOTE, WARN = Style(dim=True, italic=True), Style(color=YELLOW)


def _cut(text: str, room: int) -> str:
    """``text`` in at most ``room`` cells (at least 8), marked where it was cut."""
    room = max(8, room)
    if cell_len(text) <= room:
        return text
    return set_cell_size(text, room - 1) + ("…" if glyphs.UNICODE else "~")


class MetricChart(Widget):
    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 5; }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.name_: str | None = None
        self.points: list = []  # (x, lowest y, highest y), finite, from history envelopes
        self.by_time = False
        self.skipped = 0  # the metric's NaN and infinite values, never drawn
        self.note = ""  # what is still on its way ("loading history (40%)")
        self._lines: list[list[tuple[str, Style]]] | None = None  # the picture, built
        self._strips: list[Strip] | None = None  # and as the lines drawn
        self._built_for: tuple = ()

    def show(self, name: str | None, spans: list, by_time: bool, skipped: int = 0,
             note: str = "") -> None:
        """``spans``: (x, lowest, highest) of the metric's finite points, x a step or a
        time."""
        self.name_, self.points, self.by_time = name, spans, by_time
        self.skipped, self.note = skipped, note
        self._lines = self._strips = None
        self.refresh()

    def on_resize(self) -> None:
        self._lines = self._strips = None

    # -- the picture -------------------------------------------------------------
    def picture(self) -> list[list[tuple[str, Style]]]:
        """The chart's lines, each a list of (text, style) pieces."""
        if self._lines is not None and self._built_for == (self.size.width, self.size.height):
            return self._lines
        self._built_for = (self.size.width, self.size.height)
        self._lines = self._draw()
        return self._lines

    def _draw(self) -> list[list[tuple[str, Style]]]:
        if not self.name_ or not (self.points or self.skipped):
            return [[("select a metric (up/down in the list)", DIM)]]
        width = max(10, self.content_size.width - 10)
        height = max(2, self.content_size.height - 2)
        axis = "time (s)" if self.by_time else "step"
        after = f" by {axis} (x switches)"
        title = [(_cut(one_line(self.name_, limit=200),
                       self.content_size.width - len(after) - 1), BOLD), (after, BOLD)]
        if self.note:
            title.append((f"  {self.note}", NOTE))
        if self.skipped:
            plural = "s" * (self.skipped != 1)
            title.append((f"  {self.skipped} non-finite value{plural} not drawn", WARN))
        drawn = self.points
        if not drawn:
            return [title, [("no finite values to draw", DIM)]]
        rows = braille_chart(drawn, width, height)
        high = max(p[2] for p in drawn)
        low = min(p[1] for p in drawn)
        lines = [title]
        for index, row in enumerate(rows):
            label = short_number(high) if index == 0 else \
                short_number(low) if index == len(rows) - 1 else ""
            lines.append([(f"{label:>9} ", DIM), (row, CYAN)])
        first, last = drawn[0][0], drawn[-1][0]
        first, last = min(first, min(p[0] for p in drawn)), max(last, max(p[0] for p in drawn))
        lines.append([(f"{'':>9} {short_number(first)}".ljust(width // 2 + 10) +
                       f"{short_number(last):>{width // 2}}", DIM)])
        return lines

    def render(self) -> Text:
        """The chart as one Text (what ``render_line`` draws, line by line)."""
        text = Text()
        for index, line in enumerate(self.picture()):
            if index:
                text.append("\n")
            for piece, style in line:
                text.append(piece, style=style)
        return text

    def render_line(self, y: int) -> Strip:
        if self._strips is None or self._built_for != (self.size.width, self.size.height):
            lines = self.picture()
            width, base = self.content_size.width, self.rich_style
            self._strips = [Strip([Segment(piece, base + style) for piece, style in line])
                            .crop(0, width).extend_cell_length(width, base) for line in lines]
            self._blank = Strip.blank(width, base)
        return self._strips[y] if y < len(self._strips) else self._blank
