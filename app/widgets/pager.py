"""A log read like a pager: the Events and Output tabs of the detail screen.

Keys (while it has focus): j/k or the arrows a line, PgUp/PgDn (b/space) a page,
g/Home the first line, G/End the last (and follow), h/l or left/right sideways for
long lines, / a search (plain text, any case), n/N the next/previous match, e/E
the next/previous error (a traceback, an error event, a line saying error). It
follows the tail while its last line is on screen (new lines scroll it), and
stays put once the user scrolls up, until G. Its title says where it is.

Every line is a run's text: it arrives already made safe (safe_text), and is
drawn as plain text, never as markup.
"""

import re

from rich.highlighter import Highlighter
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Log

# what makes a line an error's: a traceback's first line, an error event, "error" words
ERROR = re.compile(r"traceback \(most recent call last\)|\berror\b|\bexception\b|"
                   r"\bfailed\b|\bfatal\b|\[error\]|\[critical\]", re.IGNORECASE)


class Matches(Highlighter):
    """Marks every occurrence of the search text (any case) in a drawn line."""

    def __init__(self):
        self.text = ""

    def highlight(self, text: Text) -> None:
        if not self.text:
            return
        plain, wanted, start = text.plain.casefold(), self.text.casefold(), 0
        while (found := plain.find(wanted, start)) >= 0:
            text.stylize("reverse", found, found + len(wanted))
            start = found + max(1, len(wanted))


class Pager(Log):
    """A Log with a pager's keys, search and error jumps."""

    DEFAULT_CSS = """
    Pager {
        border-top: solid $panel;
        border-title-align: left;
    }
    Pager:focus {
        border-top: solid $accent;
    }
    """

    BINDINGS = [
        Binding("j,down", "scroll_down", "Down", show=False),
        Binding("k,up", "scroll_up", "Up", show=False),
        Binding("l,right", "scroll_right", "Right", show=False),
        Binding("h,left", "scroll_left", "Left", show=False),
        Binding("space,pagedown", "page_down", "Page down", show=False),
        Binding("b,pageup", "page_up", "Page up", show=False),
        Binding("g,home", "first", "First line", show=False),
        Binding("G,end", "follow", "Follow", key_display="G"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("n", "match(1)", "Next match", show=False),
        Binding("N", "match(-1)", "Previous match", show=False),
        Binding("e", "error(1)", "Next error", key_display="e"),
        Binding("E", "error(-1)", "Previous error", show=False),
    ]

    class SearchWanted(Message):
        """The user asked to search: the screen shows its search input."""

        def __init__(self, pager: "Pager"):
            super().__init__()
            self.pager = pager

    def __init__(self, *, name: str, **kwargs):
        super().__init__(highlight=True, **kwargs)
        self.what = name  # "events", "output": said in the title
        self.matches = Matches()
        self.highlighter = self.matches
        self.note = ""  # the last search's or jump's outcome, in the title

    # -- moving ------------------------------------------------------------------
    def action_first(self) -> None:
        self.scroll_home(animate=False)
        self.show_place()

    def action_follow(self) -> None:
        self.scroll_end(animate=False)
        self.note = ""
        self.show_place()

    def action_search(self) -> None:
        self.post_message(self.SearchWanted(self))

    def action_match(self, direction: int) -> None:
        if not self.matches.text:
            self.note = "no search yet: /"
        else:
            wanted = self.matches.text.casefold()
            self.jump(lambda line: wanted in line.casefold(), direction,
                      f"'{self.matches.text}'")
        self.show_place()

    def action_error(self, direction: int) -> None:
        self.jump(ERROR.search, direction, "error")
        self.show_place()

    def search(self, text: str) -> None:
        """Mark ``text`` in every line and go to its next occurrence from the top of
        the screen."""
        self.matches.text = text
        self.refresh_lines(0, len(self.lines))
        self.refresh()
        if text:
            wanted = text.casefold()
            self.jump(lambda line: wanted in line.casefold(), 1, f"'{text}'", here=True)
        else:
            self.note = ""
        self.show_place()

    def jump(self, found, direction: int, what: str, here: bool = False) -> None:
        """Put the next line (``direction`` 1) or the previous one (-1) for which
        ``found(line)`` is true at the top of the screen, searching from the one at
        the top (``here``: that one counts too); say so if there is none."""
        lines, top = self.lines, round(self.scroll_offset.y)
        order = range(top if here else top + 1, len(lines)) if direction > 0 \
            else range(top - 1, -1, -1)
        for index in order:
            if found(lines[index]):
                self.scroll_to(y=index, animate=False)
                count = sum(1 for line in lines if found(line))
                self.note = f"{what}: line {index + 1}, {count} in all"
                return
        self.note = f"no {'later' if direction > 0 else 'earlier'} {what}"

    # -- telling where it is -------------------------------------------------------
    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.show_place()

    def write_lines(self, lines, scroll_end: bool | None = None):
        result = super().write_lines(lines, scroll_end)
        self.show_place()
        return result

    def show_place(self) -> None:
        total = len(self.lines)
        top = round(self.scroll_offset.y)
        shown = max(0, min(total, top + self.scrollable_content_region.height) - top)
        where = "following" if self.is_vertical_scroll_end else \
            f"lines {top + 1}-{top + shown} of {total} (G follows)"
        title = f"{self.what}: {where}" if total else f"{self.what}: nothing yet"
        self.border_title = Text(title + (f" - {self.note}" if self.note else ""))
