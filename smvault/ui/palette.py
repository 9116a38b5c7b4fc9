"""The command palette lists every command that can run right now, from the one command table."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from textual.actions import parse
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.screen import Screen

from smvault.ui.commands import COMMANDS, Command


def _scope_nodes(screen: Screen) -> dict[str, DOMNode]:
    nodes: dict[str, DOMNode] = {"app": screen.app}
    scope_of = getattr(screen, "command_scopes", None)
    if scope_of is not None:
        nodes.update(scope_of())
    return nodes


def available(screen: Screen) -> Iterator[tuple[Command, DOMNode]]:
    """Commands whose scope is live on `screen` and whose action is allowed now."""
    nodes = _scope_nodes(screen)
    for command in COMMANDS:
        node = nodes.get(command.scope)
        if node is None:
            continue
        _, name, params = parse(command.action)
        if node.check_action(name, params) is True:
            yield command, node


class SmvaultCommands(Provider):
    def _label(self, command: Command) -> str:
        key = command.key_display or command.key.split(",")[0]
        return f"{command.title} ({key})"

    async def discover(self) -> Hits:
        for command, node in available(self.screen):
            yield DiscoveryHit(self._label(command), partial(node.run_action, command.action), help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command, node in available(self.screen):
            label = self._label(command)
            score = max(matcher.match(label), matcher.match(command.help) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(node.run_action, command.action),
                          text=label, help=command.help)
