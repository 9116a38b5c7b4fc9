"""Placeholder: being written."""

from __future__ import annotations

from textual.widgets import Static

from smvault.ui.views.base import View


class DashboardView(View):
    scope = "dashboard"

    def compose(self):
        yield Static("dashboard")

    async def load(self) -> None:
        pass
