"""The key bar at the bottom of a screen, rebuilt only when the keys it shows change.

Textual's ``Footer`` rebuilds all its keys (a widget each, styled one by one) after
every refresh that *asks* whether the bindings changed: a focus move, a screen
resumed, a widget mounted. Opening a run's detail screen asked 17 times, and the
rebuilds took 0.23 s of the UI thread before the first chart was drawn. Here the
asks that arrive before the next refresh are answered once, and the keys are
rebuilt only when what they show (key, label, enabled) is not what is shown already.
"""

from textual.screen import Screen
from textual.widgets import Footer


class KeyBar(Footer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._asked = False           # a rebuild is waiting for the next refresh
        self._shown: tuple | None = None  # the keys the bar shows now

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._asked:
            return
        if self.is_attached and screen is self.screen:
            self._asked = True
            self.call_after_refresh(self._rebuild_if_changed)

    def keys_shown(self) -> tuple:
        """What the bar would show, as plain values to compare."""
        palette = self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE
        return (palette, self.compact, tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip,
             self.app.get_key_display(binding))
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or (palette and binding.key == self.app.COMMAND_PALETTE_BINDING)))

    async def _rebuild_if_changed(self) -> None:
        self._asked = False
        if not self.is_attached:
            return
        shown = self.keys_shown()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()
