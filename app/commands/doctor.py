"""``runyard doctor``: what this terminal supports and how the root would be watched."""

import os
import shutil
import sys

from runyard.engine import resolve_root

from . import help_of


def add_parser(sub):
    return sub.add_parser("doctor", help=help_of("doctor"),
                          description="Print what the terminal supports (TERM, colours, "
                          "size, Unicode), which watch mode the root would get, and whether "
                          "Slurm answers here.")


def colour_depth() -> str:
    if os.environ.get("NO_COLOR"):
        return "none (NO_COLOR is set)"
    colorterm = os.environ.get("COLORTERM", "")
    term = os.environ.get("TERM", "")
    if colorterm in ("truecolor", "24bit"):
        return "truecolor (COLORTERM)"
    if "256" in term:
        return "256 colours"
    if term in ("", "dumb"):
        return "none (TERM is dumb or unset)"
    return "16 colours"


def glyphs_line() -> str:
    """What the dashboard will draw, and why (the locale and TERM decide, not stdout)."""
    from runyard.app.widgets.glyphs import glyph_mode

    unicode, why = glyph_mode()
    what = "Unicode (braille charts, box lines)" if unicode else \
        "ASCII everywhere (charts, borders, tabs, scrollbars and run names)"
    return f"{what}: {why}; RUNYARD_GLYPHS=ascii|unicode overrides"


def run(args) -> int:
    from runyard.app.safe_text import one_line
    from runyard.app.watch import choose_mode, filesystem_type
    from runyard.engine.slurm import reachable

    size = shutil.get_terminal_size(fallback=(0, 0))
    root = resolve_root(args.root)
    mode, interval, why = choose_mode(root)
    lines = [
        f"TERM:         {os.environ.get('TERM', '(unset)')}",
        f"colours:      {colour_depth()}",
        f"size:         {size.columns}x{size.lines}" +
        ("  (the dashboard needs 80x24)" if 0 < size.columns < 80 or 0 < size.lines < 24
         else ""),
        f"stdout:       {'a terminal' if sys.stdout.isatty() else 'not a terminal'}, "
        f"encoding {sys.stdout.encoding}",
        f"glyphs:       {glyphs_line()}",
        f"tmux:         {'yes' if os.environ.get('TMUX') else 'no'}",
        f"ssh:          {'yes' if os.environ.get('SSH_CONNECTION') else 'no'}",
        f"runs root:    {root}" + ("" if root.exists() else "  (does not exist yet)"),
        f"filesystem:   {filesystem_type(root)}",
        f"watch mode:   {mode}" + (f" every {interval:g} s" if interval else "") +
        f"  ({why}; --poll SECONDS / --no-poll override)",
        f"slurm:        {reachable()}",
    ]
    print("\n".join(one_line(line) for line in lines))
    return 0
