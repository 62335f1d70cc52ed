"""Whether a tab's widget is really shown (a Show message can arrive late)."""

from textual.widget import Widget


def displayed(widget: Widget) -> bool:
    """Whether ``widget`` and every widget around it is displayed (a tab passed
    through on the way to another is shown and hidden again before its Show
    message arrives)."""
    return all(node.display for node in widget.ancestors_with_self
               if isinstance(node, Widget))

