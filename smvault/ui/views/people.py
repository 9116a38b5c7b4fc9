"""People: everyone holding access, their grants, and what the log says they actually learned.

A filterable table of people; beside it (wide) or below it (narrow) the highlighted person's
facts, their open grants (in force or not) and every disclosure made to them, newest first.
`g` gives the person a grant, `m` records their leaving date; both go through the dialogs
and then the services, which log them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.widgets import Input, Static

from smvault.domain.clock import parse_timestamp
from smvault.domain.models import PersonStatus
from smvault.services import grants as grants_service
from smvault.services import people as people_service
from smvault.services.lookup import account_by_ref
from smvault.services.offboarding import start_offboarding
from smvault.services.people import PersonDetail, PersonRow
from smvault.services.session import Session
from smvault.ui.commands import bindings
from smvault.ui.dialogs.grant_add import AddGrantDialog, GrantRequest
from smvault.ui.dialogs.mark_leaving import MarkLeavingDialog
from smvault.ui.dialogs.start_offboarding import StartOffboardingDialog
from smvault.ui.literal import clean
from smvault.ui.messages import ShowAccount
from smvault.ui.views.base import View
from smvault.ui.views.workflows import ShowWorkflow
from smvault.ui.widgets.virtual_table import Column, VirtualTable

PEOPLE_COLUMNS = (
    Column("name", "Name", max_width=20),
    Column("email", "Email", max_width=24),
    Column("status", "Status", max_width=8),
    Column("grants", "Grants", numeric=True, max_width=8),
    Column("leave_on", "Leaves", width=10),
    Column("team", "Team", max_width=24),
    Column("type", "Type", max_width=10),
)
GRANT_COLUMNS = (
    Column("account", "Account", max_width=26),
    Column("level", "Level", max_width=14),
    Column("expires", "Expires", max_width=16),
    Column("state", "State", max_width=20),
)
LEARNED_COLUMNS = (
    Column("when", "When (UTC)", width=16),
    Column("account", "Account", max_width=24),
    Column("what", "What", max_width=24),
    Column("by", "By", max_width=12),
)

_FIELD_NAMES = {"password": "password", "totp-seed": "TOTP seed", "recovery-codes": "recovery codes",
                "code": "TOTP code", "qr": "TOTP seed", "recovery-code": "recovery code"}
# Secrets that left the vault in a file (services.handover): one entry per secret.
_IN_A_FILE = {"handover.create": "handover packet", "totp.export": "TOTP export"}


def learned_what(entry: dict) -> str:
    """How a disclosure log entry reads in the 'what they learned' list."""
    action = entry.get("action", "")
    field = str(entry.get("field") or "")
    name = _FIELD_NAMES.get(field, field)
    if action == "secret.reveal":
        return f"revealed {name}"
    if action == "secret.copy":
        return f"copied {name}"
    if action == "totp.code":
        via = (entry.get("detail") or {}).get("via")
        return f"TOTP code via {via}" if via else "TOTP code"
    if action == "totp.qr":
        return "TOTP seed as QR"
    if action == "secret.recovery-code.use":
        return "used a recovery code"
    if action in _IN_A_FILE:
        return f"{name} ({_IN_A_FILE[action]})"
    return f"{name} ({action})"


def _when(ts: object) -> str:
    try:
        return f"{parse_timestamp(str(ts)):%Y-%m-%d %H:%M}"
    except ValueError:
        return str(ts)


def _expiry(moment: datetime | None) -> str:
    """When a grant stops working (UTC). A grant "good through" a day ends at the next
    midnight (domain.clock.end_of_day): show the day it was granted through, not the next."""
    if moment is None:
        return "never"
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return f"through {moment - timedelta(days=1):%Y-%m-%d}"
    return f"until {moment:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class PersonView:
    """What the detail pane shows about one person (read in one go on the vault thread)."""

    detail: PersonDetail
    in_force: set[int]  # ids of the grants that work now
    account_keys: dict[int, str]  # account id -> "platform:handle"


def load_person(session: Session, email: str) -> PersonView:
    detail = people_service.person_detail(session, email)
    in_force = grants_service.in_force_ids(session, detail.grants)
    keys = {aid: account_by_ref(session, str(aid)).key for aid in {g.account_id for g in detail.grants}}
    return PersonView(detail, in_force, keys)


class PeopleFilter(Input):
    """The filter box: escape, enter or down go back to the table."""

    BINDINGS = [
        Binding("escape", "back", "Back to the table", show=False),
        Binding("down", "back", "Back to the table", show=False),
    ]

    def action_back(self) -> None:
        self.screen.query_one("#people-table", VirtualTable).focus()


class PeopleView(View):
    scope = "people"
    BINDINGS = bindings("people")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: dict[str, PersonRow] = {}
        self.names: dict[int, str] = {}
        self.shown: PersonView | None = None  # what the detail pane shows
        self.grant_accounts: dict[Hashable, str] = {}  # grants table row key -> account key
        self.learned_accounts: dict[Hashable, str] = {}
        self._detail_wanted: str | None = None
        self._detail_generation = 0
        self._detail_loading = False

    def compose(self) -> ComposeResult:
        yield PeopleFilter(placeholder="Filter people: name, email, team, status…  (/ here, escape back)",
                           id="people-filter", compact=True)
        with Container(id="people-body"):
            table = VirtualTable(PEOPLE_COLUMNS, id="people-table")
            table.empty_text = "loading…"
            yield table
            with Vertical(id="person-detail"):
                yield Static(Text("No person selected.", style="dim"), id="person-facts")
                yield Static(Text(""), id="person-status")
                yield Static(Text("Grants"), id="person-grants-title", classes="section-title")
                grants = VirtualTable(GRANT_COLUMNS, id="person-grants")
                grants.empty_text = "no open grants"
                yield grants
                yield Static(Text("What they learned"), id="person-learned-title", classes="section-title")
                learned = VirtualTable(LEARNED_COLUMNS, id="person-learned")
                learned.empty_text = "nothing was disclosed to them"
                yield learned

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#people-table", VirtualTable)

    @property
    def selected(self) -> PersonRow | None:
        key = self.table.cursor_row_key
        return self.rows.get(key) if isinstance(key, str) else None

    # -- View ------------------------------------------------------------------------------

    async def load(self) -> None:
        rows = await self.app.service(people_service.people_rows)  # type: ignore[attr-defined]
        if rows is None:
            self.table.empty_text = "could not read the people"
            return
        self.rows = {r.email: r for r in rows}
        self.names = {r.id: r.name for r in rows}
        table = self.table
        table.empty_text = "no matching people" if rows else "no people yet"
        table.set_rows([
            (r.email, (r.name, r.email, r.status, r.grants_in_force,
                       r.leave_on.isoformat() if r.leave_on else "", r.team, r.type))
            for r in rows
        ])
        self.update_bindings()
        self.load_detail(table.cursor_row_key)

    def focus_filter(self) -> None:
        self.query_one("#people-filter", Input).focus()

    def focus_default(self) -> None:
        self.table.focus()

    async def show_person(self, email: str) -> None:
        await self.ensure_loaded()
        email = email.strip().lower()
        table = self.table
        if not table.move_cursor_to_key(email):
            self.query_one("#people-filter", Input).value = ""
            table.set_filter("")
            if not table.move_cursor_to_key(email):
                self.notify(f"No person {clean(email)} in the vault.", severity="warning", markup=False)
                return
        table.focus()
        self.update_bindings()
        self.load_detail(email)

    # -- the table -------------------------------------------------------------------------

    @on(Input.Changed, "#people-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)

    @on(Input.Submitted, "#people-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    @on(VirtualTable.RowHighlighted, "#people-table")
    def _highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        self.update_bindings()
        self.load_detail(event.row_key)

    @on(VirtualTable.RowSelected, "#people-table")
    def _selected(self, event: VirtualTable.RowSelected) -> None:
        """Enter on a person: into their grants (enter there opens the account)."""
        for target in ("#person-grants", "#person-learned"):
            table = self.query_one(target, VirtualTable)
            if table.row_count:
                table.focus()
                return

    @on(VirtualTable.RowSelected, "#person-grants")
    def _open_grant(self, event: VirtualTable.RowSelected) -> None:
        key = self.grant_accounts.get(event.row_key)
        if key:
            self.post_message(ShowAccount(key))

    @on(VirtualTable.RowSelected, "#person-learned")
    def _open_learned(self, event: VirtualTable.RowSelected) -> None:
        key = self.learned_accounts.get(event.row_key)
        if key:
            self.post_message(ShowAccount(key))

    # -- the detail pane -------------------------------------------------------------------

    def load_detail(self, email: Hashable | None) -> None:
        """Show `email`'s detail (again). One loader at a time, never cancelled: while it
        reads, newer requests only update what it reads next (fast cursor moves cost one
        read each, not one per row passed)."""
        self._detail_wanted = email if isinstance(email, str) else None
        self._detail_generation += 1
        if not self._detail_loading:
            self._detail_loading = True
            self._detail_loader()

    @work(group="person-detail", exit_on_error=False)
    async def _detail_loader(self) -> None:
        try:
            while True:
                generation, email = self._detail_generation, self._detail_wanted
                shown = None
                if email is not None:
                    shown = await self.app.service(load_person, email)  # type: ignore[attr-defined]
                if generation == self._detail_generation:
                    self.show_detail(shown)
                    return
        finally:
            self._detail_loading = False

    def show_detail(self, shown: PersonView | None) -> None:
        self.shown = shown
        facts = self.query_one("#person-facts", Static)
        status = self.query_one("#person-status", Static)
        grants_table = self.query_one("#person-grants", VirtualTable)
        learned_table = self.query_one("#person-learned", VirtualTable)
        if shown is None:
            facts.update(Text("No person selected.", style="dim"))
            status.update(Text(""))
            status.set_classes("")
            grants_table.set_rows([])
            learned_table.set_rows([])
            self.query_one("#person-grants-title", Static).update(Text("Grants"))
            self.query_one("#person-learned-title", Static).update(Text("What they learned"))
            self.grant_accounts, self.learned_accounts = {}, {}
            return
        person = shown.detail.person
        today = self.app.clock().date()  # type: ignore[attr-defined]
        facts.update(self._facts(person))
        line, style = self._status(person.leave_on, today)
        status.update(Text(line))
        status.set_classes(style)

        open_grants = shown.detail.grants
        rows, accounts = [], {}
        now = self.app.clock()  # type: ignore[attr-defined]
        for grant in open_grants:
            key = shown.account_keys.get(grant.account_id, f"#{grant.account_id}")
            if grant.id in shown.in_force:
                state = "in force"
            elif not grant.active(now):
                state = "expired" if grant.expires_at else "not in force"
            elif person.status(today) is PersonStatus.LEFT:
                state = "not in force (left)"
            else:
                state = "not in force"
            expires = _expiry(grant.expires_at)
            rows.append((grant.id, (key, grant.level.value, expires, state)))
            accounts[grant.id] = key
        grants_table.set_rows(rows)
        self.grant_accounts = accounts
        live = sum(1 for g in open_grants if g.id in shown.in_force)
        self.query_one("#person-grants-title", Static).update(Text(
            f"Grants: {live} in force of {len(open_grants)} open" if open_grants else "Grants: none open"))

        learned_rows, learned_accounts = [], {}
        for entry in shown.detail.learned:
            seq = entry.get("seq")
            account = str(entry.get("acct") or "")
            learned_rows.append((seq, (_when(entry.get("ts")), account, learned_what(entry), entry.get("op", ""))))
            learned_accounts[seq] = account
        learned_table.set_rows(learned_rows)
        self.learned_accounts = learned_accounts
        count = len(learned_rows)
        self.query_one("#person-learned-title", Static).update(Text(
            f"What they learned: {count} disclosure{'s' if count != 1 else ''}, newest first"
            if count else "What they learned: nothing disclosed to them"))

    def _facts(self, person) -> Text:
        text = Text()
        text.append(clean(person.name), style="bold")
        text.append("  <" + clean(person.email) + ">")
        details = [clean(person.team), clean(person.region), person.type.value]
        manager = self.names.get(person.manager_id) if person.manager_id else None
        if manager:
            details.append("manager " + clean(manager))
        text.append("\n" + " · ".join(d for d in details if d), style="dim")
        return text

    @staticmethod
    def _status(leave_on: date | None, today: date) -> tuple[str, str]:
        if leave_on is None:
            return "Active: no leaving date recorded.", "dim"
        days = (leave_on - today).days
        if days > 0:
            when = "tomorrow" if days == 1 else f"in {days} days"
            return (f"Leaving on {leave_on.isoformat()} ({when}): their grants stop counting that day.",
                    "notice")
        ago = "today" if days == 0 else f"{-days} day{'s' if days < -1 else ''} ago"
        return f"Left on {leave_on.isoformat()} ({ago}): none of their grants count.", "error"

    # -- commands --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_grant", "mark_leaving", "offboard") and self.app.vault.break_glass is not None:  # type: ignore[attr-defined]
            return None  # a break-glass session reads and discloses; it changes nothing here
        if action == "add_grant":
            row = self.selected
            return True if row is not None and row.status != "left" else None
        if action in ("mark_leaving", "offboard"):
            return True if self.selected is not None else None
        return True

    def action_sort(self) -> None:
        table = self.table
        keys = [c.key for c in PEOPLE_COLUMNS]
        current = table.sort_column
        following = keys[(keys.index(current) + 1) % len(keys)] if current in keys else keys[0]
        table.sort_by(following, reverse=False)

    def action_add_grant(self) -> None:
        row = self.selected
        if row is None or row.status == "left":
            return
        self.app.push_screen(AddGrantDialog(person_email=row.email), self._grant_requested)

    def _grant_requested(self, request: GrantRequest | None) -> None:
        if request is not None:
            self.save_grant(request)

    @work(group="people-write", exit_on_error=False)
    async def save_grant(self, request: GrantRequest) -> None:
        grant = await self.app.service(  # type: ignore[attr-defined]
            grants_service.add_grant, request.email, request.account_key, request.level,
            expires_at=request.expires_at, reason=request.reason,
        )
        if grant is None:
            return
        row = self.rows.get(request.email)
        who = f"{row.name} <{row.email}>" if row else request.email
        self.notify(f"Granted {request.level} on {request.account_key} to {clean(who)}.", title="Granted",
                    markup=False)
        self.changed()
        await self.load()

    def action_mark_leaving(self) -> None:
        row = self.selected
        if row is None:
            return
        dialog = MarkLeavingDialog(person_name=row.name, email=row.email, current=row.leave_on)
        self.app.push_screen(dialog, lambda day: self._leaving_chosen(row.email, day))

    def _leaving_chosen(self, email: str, day: date | None) -> None:
        if day is not None:
            self.save_leaving(email, day)

    @work(group="people-write", exit_on_error=False)
    async def save_leaving(self, email: str, day: date) -> None:
        person = await self.app.service(people_service.mark_leaving, email, day)  # type: ignore[attr-defined]
        if person is None:
            return
        self.notify(f"{clean(person.name)} leaves on {day.isoformat()}.", title="Leaving date saved",
                    markup=False)
        self.changed()
        await self.load()

    # -- offboarding (o) -------------------------------------------------------------------

    def action_offboard(self) -> None:
        row = self.selected
        if row is not None:
            self._offboard(row)

    @work(exclusive=True, group="people-offboard", exit_on_error=False)
    async def _offboard(self, row: PersonRow) -> None:
        request = await self.app.push_screen_wait(
            StartOffboardingDialog(person_name=row.name, email=row.email, leave_on=row.leave_on))
        if request is None:
            return
        started = await self.app.service(start_offboarding, row.email, request.on)  # type: ignore[attr-defined]
        if started is None:
            return
        self.notify(f"Offboarding of {clean(row.name)} started: {len(started.steps)} steps.",
                    title="Offboarding started", markup=False)
        self.changed()
        await self.load()
        if started.workflow_id is not None:
            self.post_message(ShowWorkflow(started.workflow_id))
