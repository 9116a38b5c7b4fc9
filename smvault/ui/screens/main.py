"""The unlocked vault: dashboard, accounts, people, log and workflows as tabs, with a status line."""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from smvault.ui.commands import bindings
from smvault.ui.messages import ShowAccount, ShowPerson, VaultChanged
from smvault.ui.views.accounts import AccountsView
from smvault.ui.views.base import View
from smvault.ui.views.dashboard import DashboardView
from smvault.ui.views.log import LogView
from smvault.ui.views.people import PeopleView
from smvault.ui.views.workflows import ShowWorkflow, WorkflowsView
from smvault.ui.widgets.break_glass_banner import BreakGlassBanner

VIEWS = ("dashboard", "accounts", "people", "log", "workflows")


class StatusLine(Static):
    """Who is unlocked, and what the clipboard holds until when (never the value)."""

    def on_clock(self, now: datetime) -> None:
        app = self.app
        parts = [f"smvault · operator {app.vault.operator_name}"]  # type: ignore[attr-defined]
        if app.clipboard_what and app.clipboard_clears_at:  # type: ignore[attr-defined]
            left = max(0, int((app.clipboard_clears_at - now).total_seconds()))  # type: ignore[attr-defined]
            parts.append(f"clipboard: {app.clipboard_what} · clears in {left} s")  # type: ignore[attr-defined]
        parts.append(f"{now:%Y-%m-%d %H:%M:%S} UTC")
        self.update(" · ".join(parts))


class MainScreen(Screen[None]):
    BINDINGS = bindings("main")

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status", classes="ticks", markup=False)
        yield BreakGlassBanner(id="break-glass-banner")
        with TabbedContent(initial="tab-dashboard", id="tabs"):
            with TabPane("Dashboard", id="tab-dashboard"):
                yield DashboardView(id="dashboard")
            with TabPane("Accounts", id="tab-accounts"):
                yield AccountsView(id="accounts")
            with TabPane("People", id="tab-people"):
                yield PeopleView(id="people")
            with TabPane("Log", id="tab-log"):
                yield LogView(id="log")
            with TabPane("Workflows", id="tab-workflows"):
                yield WorkflowsView(id="workflows")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one(StatusLine).on_clock(self.app.clock())  # type: ignore[attr-defined]
        await self.show_view("dashboard")

    def view(self, name: str) -> View:
        return self.query_one(f"#{name}", View)

    @property
    def active_view(self) -> View:
        active = self.query_one(TabbedContent).active or "tab-dashboard"
        return self.view(active.removeprefix("tab-"))

    def command_scopes(self) -> dict[str, DOMNode]:
        view = self.active_view
        return {"main": self, view.scope: view}

    async def show_view(self, name: str) -> View:
        self.query_one(TabbedContent).active = f"tab-{name}"
        view = self.view(name)
        await view.ensure_loaded()
        view.focus_default()
        return view

    async def action_show_view(self, name: str) -> None:
        if name in VIEWS:
            await self.show_view(name)

    def action_filter(self) -> None:
        self.active_view.focus_filter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "import_file" and self.app.vault.break_glass is not None:  # type: ignore[attr-defined]
            return None  # a break-glass session reads and discloses; it imports nothing
        return True

    def action_import_file(self) -> None:
        from smvault.ui.screens.import_screen import ImportScreen

        self.app.push_screen(ImportScreen(), self._imported)

    def _imported(self, result: object | None) -> None:
        if result is not None:
            self.post_message(VaultChanged(self))
            self.call_later(self._reload_active_view)  # after the message: the view is stale by then

    async def _reload_active_view(self) -> None:
        await self.active_view.ensure_loaded()

    def action_reports(self) -> None:
        from smvault.ui.screens.reports import ReportsScreen

        self.app.push_screen(ReportsScreen())

    @on(TabbedContent.TabActivated)
    async def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        name = (event.pane.id or "").removeprefix("tab-")
        if name != "accounts":
            # Nothing stays revealed on a tab nobody is looking at.
            self.query_one(AccountsView).hide_all()
        if name in VIEWS:
            await self.view(name).ensure_loaded()

    @on(ShowAccount)
    async def show_account(self, message: ShowAccount) -> None:
        view = await self.show_view("accounts")
        await view.show_account(message.key)  # type: ignore[attr-defined]

    @on(ShowPerson)
    async def show_person(self, message: ShowPerson) -> None:
        view = await self.show_view("people")
        await view.show_person(message.email)  # type: ignore[attr-defined]

    @on(ShowWorkflow)
    async def show_workflow(self, message: ShowWorkflow) -> None:
        view = await self.show_view("workflows")
        await view.show_workflow(message.workflow_id)  # type: ignore[attr-defined]

    @on(VaultChanged)
    async def vault_changed(self, message: VaultChanged) -> None:
        for name in VIEWS:
            view = self.view(name)
            if view is not message.source and view.loaded:
                view.stale = True
        banner = self.query_one(BreakGlassBanner)
        if message.source is banner:
            # A sweep (no view's doing) lapsed or activated access: the view on screen shows it now.
            await self.active_view.ensure_loaded()
        else:
            banner.refresh_now()  # a view may have requested, approved or ended access
