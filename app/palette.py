"""The command palette lists every action bound on the screen, from the bindings."""

from functools import partial

from textual.command import Hit, Hits, Provider


class BindingCommands(Provider):
    """One command per active binding: its description, run as if the key was pressed."""

    def _commands(self) -> list[tuple[str, str, object, str]]:
        seen = set()
        found = []
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action in seen or not active.enabled:
                continue
            seen.add(binding.action)
            found.append((binding.description, binding.action, active.node, key))
        return found

    async def discover(self) -> Hits:
        for description, action, node, key in self._commands():
            yield Hit(1.0, f"{description}  ({key})",
                      partial(self.app.run_action, action, node), help=f"key: {key}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, action, node, key in self._commands():
            score = matcher.match(f"{description} {key}")
            if score > 0:
                yield Hit(score, matcher.highlight(f"{description}  ({key})"),
                          partial(self.app.run_action, action, node), help=f"key: {key}")
