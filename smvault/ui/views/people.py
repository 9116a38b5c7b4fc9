"""Placeholder: being written."""

from __future__ import annotations

from textual.widgets import Static

from smvault.ui.views.base import View


class PeopleView(View):
    scope = "people"

    def compose(self):
        yield Static("people")

    async def load(self) -> None:
        pass
