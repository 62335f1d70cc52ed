"""Redrawing a Static without relayouting the screen when its height cannot change.

``Static.update`` relayouts the whole screen by default, which is most of what a
live refresh costs; a text with as many lines as before, none of them wider than
the widget (so none wraps), keeps its height and needs only a repaint.
"""

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static


def _shape(text: Text) -> tuple[int, int]:
    lines = text.plain.split("\n")
    return len(lines), max(cell_len(line) for line in lines)


def redraw(static: Static, before: Text | None, text: Text) -> None:
    """Show ``text`` in ``static``, which showed ``before``."""
    width = static.content_region.width
    same = False
    if before is not None:
        (lines, widest), (lines_before, widest_before) = _shape(text), _shape(before)
        same = lines == lines_before and max(widest, widest_before) <= width
    static.update(text, layout=not same)
