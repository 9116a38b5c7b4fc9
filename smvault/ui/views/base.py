"""What every tab of the main screen provides to it."""

from __future__ import annotations

from textual.containers import Vertical

from smvault.ui.messages import VaultChanged


class View(Vertical):
    """One tab of the main screen. `load()` (re)reads from the vault; it runs when the view is
    first shown and again after another view changed the vault (`stale`)."""

    scope = ""  # the command scope whose bindings this view carries (see ui/commands.py)
    loaded = False
    stale = False

    async def load(self) -> None:
        raise NotImplementedError

    async def ensure_loaded(self) -> None:
        if not self.loaded or self.stale:
            self.loaded, self.stale = True, False
            await self.load()

    def focus_filter(self) -> None:
        """Put the cursor in this view's filter box, if it has one."""

    def focus_default(self) -> None:
        """Focus this view's main widget when the view is shown."""

    def update_bindings(self) -> None:
        """Refresh the footer only when an action of this view became allowed or disallowed:
        the footer rebuilds every key on a refresh, which costs more than a filter keystroke."""
        from textual.actions import parse

        from smvault.ui.commands import in_scope

        state = tuple(self.check_action(*parse(c.action)[1:]) for c in in_scope(self.scope))
        if state != getattr(self, "_bindings_state", None):
            self._bindings_state = state
            self.refresh_bindings()

    def changed(self) -> None:
        """Call after writing to the vault, so the other views reload."""
        self.post_message(VaultChanged(self))
