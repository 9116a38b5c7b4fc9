"""Placeholder: being written."""

from __future__ import annotations

from textual.widgets import Static

from smvault.ui.views.base import View


class AccountsView(View):
    scope = "accounts"

    def compose(self):
        yield Static("accounts")

    async def load(self) -> None:
        pass
