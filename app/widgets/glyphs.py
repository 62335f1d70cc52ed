"""Status symbols and sparks, with plain-ASCII fallbacks.

Unicode is used where the terminal can show it (a UTF-8 locale and a TERM that
is not ``dumb``); otherwise every glyph has an ASCII twin, so the dashboard is
readable on anything.
"""

import math
import os

# Colours as RGB, each the nearest of its hue in a 16-colour terminal's palette: the
# names ("yellow") went through the theme and came out orange, then red in 16 colours
# (paused read as an error), and "red" came out magenta, like terminated.
RED, YELLOW, GREEN = "#ff0000", "#ffff00", "#00ff00"
STATUS_STYLE = {
    "running": ("▶", ">", f"bold {GREEN}"),
    "paused": ("‖", "=", f"bold {YELLOW}"),
    "completed": ("✔", "+", "#00ffff"),
    "failed": ("✖", "x", f"bold {RED}"),
    "terminated": ("■", "#", "#ff00ff"),
    "lost": ("?", "?", f"bold {RED}"),
    "created": ("○", "o", "dim"),
    "queued": ("◷", "~", YELLOW),
    "unreadable": ("!", "!", f"bold {RED} reverse"),
}
SPARKS = "▁▂▃▄▅▆▇█"
ASCII_SPARKS = "_.-~=*#@"


def glyph_mode(environ=None) -> tuple[bool, str]:
    """(whether to draw Unicode, why), decided from ``RUNYARD_GLYPHS``, ``TERM`` and the
    locale. Not from stdout's encoding: Python's UTF-8 mode makes that ``utf-8`` under
    ``LANG=C``, where the terminal may show UTF-8 bytes as garbage."""
    environ = os.environ if environ is None else environ
    forced = environ.get("RUNYARD_GLYPHS", "").lower()
    if forced in ("ascii", "unicode"):
        return forced == "unicode", f"RUNYARD_GLYPHS={forced}"
    term = environ.get("TERM", "")
    if term in ("", "dumb"):
        return False, f"TERM is {term or 'unset'}"
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):  # the first one set decides, as in C
        value = environ.get(name)
        if value:
            utf8 = "utf8" in value.lower().replace("-", "")
            return utf8, f"{name}={value}" + ("" if utf8 else " is not a UTF-8 locale")
    return False, "no locale is set (LC_ALL, LC_CTYPE and LANG are empty)"


def unicode_ok() -> bool:
    return glyph_mode()[0]


UNICODE = unicode_ok()


def status_symbol(status: str) -> tuple[str, str]:
    fancy, plain, style = STATUS_STYLE.get(status, ("·", ".", ""))
    return (fancy if UNICODE else plain), style


def finite(values) -> list[float]:
    """The finite numbers among ``values``, as floats: NaN, the infinities and integers
    beyond a float's range (the API takes 10**400) cannot be drawn."""
    found = []
    for value in values:
        if isinstance(value, int | float):
            try:
                value = float(value)
            except OverflowError:
                continue
            if math.isfinite(value):
                found.append(value)
    return found


def unit(value: float, low: float, high: float) -> float:
    """Where ``value`` lies from ``low`` (0) to ``high`` (1). Halving first keeps the
    arithmetic finite over any finite range: 1e308 - (-1e308) would overflow."""
    span = high / 2 - low / 2
    if not span > 0:
        return 0.5
    return min(1.0, max(0.0, (value / 2 - low / 2) / span))


def sparkline(values: list[float], width: int) -> str:
    values = finite(values)[-width:]
    if not values:
        return ""
    low, high = min(values), max(values)
    chars = SPARKS if UNICODE else ASCII_SPARKS
    if high == low:
        return chars[len(chars) // 2] * len(values)
    top = len(chars) - 1
    return "".join(chars[int(unit(v, low, high) * top)] for v in values)


def _huge(value: int) -> str:
    """An integer too large for a float, as ``1.00e+400``."""
    sign = "-" if value < 0 else ""
    try:
        digits = str(abs(value))
    except ValueError:  # more digits than Python will print
        return f"{sign}huge"
    return f"{sign}{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"


def fit_number(value, width: int) -> str:
    """``value`` in at most ``width`` cells where it can be, with as many significant
    digits as fit: ``-6.11e-5`` in 8, not ``-6.11e-0`` cut short (an exponent is
    written without its plus sign and leading zeros)."""
    text = short_number(value)
    if (len(text) <= width and "e" not in text) or isinstance(value, bool) or \
            not isinstance(value, int | float):
        return text
    try:
        number = float(value)
    except OverflowError:  # an int beyond a float: its size from its digits
        mantissa, _e, exponent = _compact(text).partition("e")
        for kept in range(len(mantissa), 0, -1):
            form = f"{mantissa[:kept].rstrip('.')}e{exponent}"
            if len(form) <= width:
                return form
        return _compact(text)
    if number != number or number in (float("inf"), float("-inf")):
        return text
    for digits in range(6, 0, -1):
        for form in (f"{number:.{digits}g}", _compact(f"{number:.{digits - 1}e}")):
            if len(form) <= width:
                return _compact(form)
    return _compact(f"{number:.0e}")


def _compact(text: str) -> str:
    """``1.5e-05`` as ``1.5e-5``, ``2e+08`` as ``2e8``."""
    mantissa, sep, exponent = text.partition("e")
    if not sep:
        return text
    sign = "-" if exponent.startswith("-") else ""
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def short_number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        if abs(value) < 10**7:
            return str(value)
        try:
            return f"{value:.2e}"
        except OverflowError:  # beyond a float: say its size from its digits
            return _huge(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.2e}"
