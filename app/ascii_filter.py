"""Plain ASCII for the whole screen, where the terminal cannot show Unicode.

runyard's own glyphs have ASCII twins (widgets/glyphs.py), but Textual draws
borders, tabs, scrollbars and footer keys with box-drawing characters, blocks
and arrows, and a run's name may be in any script. Under ``LANG=C`` or
``TERM=dumb`` those arrive as UTF-8 bytes the terminal shows as garbage. This
line filter rewrites every character of every line Textual paints: lines and
corners become ``- | +``, blocks ``#``, arrows ``^ v < >``, and anything else
outside ASCII a ``?`` per cell it takes, so columns stay aligned.
"""

from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

_NAMED = {
    "…": "~", "•": "*", "·": ".", "⚠": "!", "✔": "+", "✖": "x", "■": "#", "○": "o",
    "▶": ">", "‖": "=", "↑": "^", "↓": "v", "←": "<", "→": ">", "⏎": "<", "⇥": ">",
    "↵": "<", "▲": "^", "▼": "v", "◀": "<", "►": ">", "─": "-", "━": "-", "═": "=",
    "│": "|", "┃": "|", "║": "|", "▔": "-", "▁": "_", "▕": "|", "▏": "|", "▎": "|",
    "▍": "|", "▌": "|", "▐": "|", "▋": "|", "▊": "|", "▉": "#", "\u00a0": " ",
    "“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "×": "x",
}


@lru_cache(maxsize=4096)
def ascii_char(char: str) -> str:
    """One character as ASCII of the same width on screen."""
    if char.isascii():
        return char
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0x2500 <= code <= 0x257F:  # box drawing: corners and junctions
        return "+"
    if 0x2580 <= code <= 0x259F:  # block elements
        return "#"
    if 0x2800 <= code <= 0x28FF:  # braille: a dot or none
        return "." if code != 0x2800 else " "
    return "?" * cell_len(char)  # wide characters take two cells; combining ones none


def ascii_text(text: str) -> str:
    if text.isascii():
        return text
    return "".join(ascii_char(c) for c in text)


class AsciiFilter(LineFilter):
    """Every painted segment in ASCII, styles kept."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [segment if segment.control or segment.text.isascii() else
                Segment(ascii_text(segment.text), segment.style, segment.control)
                for segment in segments]
