"""Tabs switched by keys alone, never by where focus lands.

Textual's TabbedContent shows the pane of any widget that gets focus. The detail
screen focuses a tab's pager once the tab is shown; that focus reaches the
TabbedContent as a message, and when the next ``]`` was quicker than it, the
message came after the switch and took the screen back to the pager's tab (seen
in tmux under load: ``]`` from Events stayed on Events). Here a pane is shown only
when a key (or the code) says so.
"""

from textual.widgets import TabbedContent, TabPane


class KeyedTabs(TabbedContent):
    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.prevent_default()  # not TabbedContent's: focus does not switch panes
        event.stop()
