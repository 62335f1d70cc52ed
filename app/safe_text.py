"""Text read from a run, made safe to put on a terminal (no rich here: the CLI uses it).

Anything a run holds (names, tags, metadata, messages, errors, file names, log
lines) may have been written by someone else, and a terminal obeys control
characters: ``ESC ] 0 ; ... BEL`` retitles it, ``ESC ] 52`` writes the clipboard,
``ESC [ 2 J`` clears it. ``visible()`` turns every such character into text that
shows what it was (``\\x1b``, ``\\u202e``), so it is seen and never obeyed. The
same goes for bidirectional overrides and invisible format characters, which can
make text read differently from what it is, and for lone surrogates, which no
terminal encoding can carry. Rich markup is a separate matter: the dashboard
never parses run text as markup (it builds ``Text`` objects).

Long values are cut, saying how much was left out, so a megabyte of name never
reaches a table cell.
"""

import unicodedata

ONE_LINE = 1_000        # characters of a one-line value shown at most
MULTI_LINE = 20_000     # characters of a multi-line value (an event, a traceback)

# Categories shown escaped: controls (C0, DEL, C1), format characters (bidi
# overrides and isolates, zero-width characters, BOM), surrogates, and the line
# and paragraph separators, which some renderers treat as newlines.
_ESCAPED_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
_KEPT_IN_TEXT = frozenset(("\n", "\t"))  # in multi-line text only
_JOINERS = frozenset(("\u200c", "\u200d"))  # (non-)joiners: they shape emoji and scripts
_cache: dict[str, str] = {}


_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape_char(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _shown(char: str) -> str:
    shown = _cache.get(char)
    if shown is None:
        unsafe = unicodedata.category(char) in _ESCAPED_CATEGORIES and char not in _JOINERS
        shown = _escape_char(char) if unsafe else char
        if len(_cache) < 4096:
            _cache[char] = shown
    return shown


def visible(value, *, multiline: bool = False, limit: int | None = None) -> str:
    """``value`` as text a terminal shows and never obeys.

    ``multiline`` keeps newlines and tabs (an event message, a traceback); without
    it a newline is shown as ``\\n``. Text longer than ``limit`` characters is cut,
    with a note of how many more there were.
    """
    text = value if isinstance(value, str) else str(value)
    limit = (MULTI_LINE if multiline else ONE_LINE) if limit is None else limit
    cut = len(text) - limit if len(text) > limit else 0
    if cut:
        text = text[:limit]
    if not text.isprintable():
        keep = _KEPT_IN_TEXT if multiline else ()
        text = "".join(c if c in keep or c.isprintable() else _shown(c) for c in text)
    if cut:
        text += f"... ({cut} more characters)"
    return text


def one_line(value, limit: int | None = None) -> str:
    """``visible()`` of a value shown on one line (a table cell, a title)."""
    return visible(value, limit=limit)
