"""Placeholder: being written."""

from __future__ import annotations

from textual.widgets import Static

from smvault.ui.views.base import View


class LogView(View):
    scope = "log"

    def compose(self):
        yield Static("log")

    async def load(self) -> None:
        pass
