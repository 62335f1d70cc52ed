"""Giving a tab's table the focus when the tab is shown, and only then."""

from textual.widget import Widget


def displayed(widget: Widget) -> bool:
    """Whether ``widget`` and every widget around it is displayed (a tab passed
    through on the way to another is shown and hidden again before its Show
    message arrives)."""
    return all(node.display for node in widget.ancestors_with_self
               if isinstance(node, Widget))


def focus_within(tab: Widget, target: Widget) -> None:
    """Focus ``target`` unless the focus is in ``tab`` already."""
    focused = tab.screen.focused
    if focused is None or tab not in focused.ancestors:
        target.focus()
