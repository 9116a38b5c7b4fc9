"""The account pane: root of control, secrets (masked until revealed), grants, recent log.

Every piece of user text goes through `literal()` (rich `Text`, never markup). Revealed
values live only in the `SecretLine`/`LiveCode` widgets here and hide themselves from
`on_clock(now)` (the app's clock); `AccountDetailPane.hide_all()` drops them at once.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from smvault.domain.clock import parse_timestamp
from smvault.domain.models import PersonStatus
from smvault.services.abilities import AccountView
from smvault.ui.literal import clean, literal
from smvault.ui.widgets.live_code import LiveCode

MASK = "••••••••"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "—"


class SecretLine(Static):
    """A label and a masked value; `reveal()` shows the value until `hides_at`."""

    def __init__(self, label: str, *, id: str | None = None, note_when_revealed: bool = False) -> None:
        super().__init__(id=id, classes="ticks secret-line", markup=False)
        self.label = label
        self.note_when_revealed = note_when_revealed  # keep the masked text as a note
        self.masked: Text = Text("—", style="dim")
        self.value: str | None = None
        self.hides_at: datetime | None = None
        self._now: datetime | None = None  # the last time seen, for the countdown

    @property
    def revealed(self) -> bool:
        return self.value is not None

    def set_masked(self, masked: Text) -> None:
        self.masked = masked
        self._draw(self._now)

    def reveal(self, value: str, hides_at: datetime, now: datetime) -> None:
        self.value, self.hides_at = value, hides_at
        self.add_class("-revealed")
        self._draw(now)

    def hide(self) -> None:
        self.value = self.hides_at = None
        self.remove_class("-revealed")
        self._draw(None)

    def on_clock(self, now: datetime) -> None:
        if self.value is None:
            return
        if self.hides_at is not None and now >= self.hides_at:
            self.hide()
        else:
            self._draw(now)

    def _draw(self, now: datetime | None) -> None:
        self._now = now
        text = Text()
        text.append(f"{self.label:<15}", style="bold")
        if self.value is None:
            text.append_text(self.masked)
        else:
            text.append_text(literal(self.value, style="bold reverse"))
            text.append("\n" + " " * 15)
            if self.hides_at is not None and now is not None:
                left = max(0, math.ceil((self.hides_at - now).total_seconds()))
                text.append(f"hides in {left} s · ", style="dim")
            text.append("h hides now", style="dim")
            if self.note_when_revealed:
                text.append("\n" + " " * 15)
                text.append_text(self.masked)
        self.update(text)


def _grid() -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")
    return table


class AccountDetailPane(VerticalScroll):
    """What the accounts view shows about the highlighted account."""

    DEFAULT_CSS = """
    AccountDetailPane { height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
    AccountDetailPane > .detail-heading { text-style: bold; color: $accent; margin-top: 1; }
    AccountDetailPane > SecretLine.-revealed { color: $warning; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, can_focus=False)
        self.view_data: AccountView | None = None

    def compose(self) -> ComposeResult:
        yield Static("Select an account.", id="detail-title", markup=False)
        yield Static(id="detail-access", markup=False)
        yield Static("Root of control", classes="detail-heading", markup=False)
        yield Static(id="detail-control", markup=False)
        yield Static("Secrets", classes="detail-heading", markup=False)
        yield SecretLine("Password", id="detail-password")
        yield Static("TOTP code", id="detail-code-label", classes="secret-label", markup=False)
        yield LiveCode(id="detail-code")
        yield SecretLine("Recovery codes", id="detail-recovery", note_when_revealed=True)
        yield Static("Grants", classes="detail-heading", markup=False)
        yield Static(id="detail-grants", markup=False)
        yield Static("Recent activity", classes="detail-heading", markup=False)
        yield Static(id="detail-history", markup=False)

    # -- parts ----------------------------------------------------------------------------

    @property
    def password(self) -> SecretLine:
        return self.query_one("#detail-password", SecretLine)

    @property
    def recovery(self) -> SecretLine:
        return self.query_one("#detail-recovery", SecretLine)

    @property
    def live_code(self) -> LiveCode:
        return self.query_one("#detail-code", LiveCode)

    def hide_all(self) -> None:
        """Take every revealed value off the screen and stop the live code."""
        self.password.hide()
        self.recovery.hide()
        self.live_code.clear()

    def clear(self, message: str = "Select an account.") -> None:
        self.hide_all()
        self.view_data = None
        self.query_one("#detail-title", Static).update(Text(message, style="dim"))
        for part in ("#detail-access", "#detail-control", "#detail-grants", "#detail-history"):
            self.query_one(part, Static).update("")
        self.password.set_masked(Text("—", style="dim"))
        self.recovery.set_masked(Text("—", style="dim"))

    # -- filling in -----------------------------------------------------------------------

    def show_loading(self, key: str) -> None:
        """The cursor moved to `key`: say so at once; the rest follows when it is read."""
        title = literal(key, style="bold")
        title.append("  (loading…)", style="dim")
        self.query_one("#detail-title", Static).update(title)

    def show(self, view: AccountView, today: date) -> None:
        """Show `view` (the non-secret parts; revealed values are left as they are)."""
        self.view_data = view
        a = view.account
        title = Text()
        title.append_text(literal(a.key, style="bold"))
        title.append(f"  ·  {a.status.value}  ·  tier {a.tier}", style="dim")
        self.query_one("#detail-title", Static).update(title)
        levels = ", ".join(level.value for level in view.levels) or "no grant in force"
        self.query_one("#detail-access", Static).update(
            Text(f"Your access: {levels}" + ("  ·  you may manage it" if view.abilities.manage else ""),
                 style="dim"))
        self.query_one("#detail-control", Static).update(self._control(view, today))
        self.password.set_masked(self._password_state(view))
        self.query_one("#detail-code-label", Static).update(self._code_state(view))
        self.live_code.display = view.detail.credentials.has_totp_seed and view.abilities.code
        self.recovery.set_masked(self._recovery_state(view))
        self.query_one("#detail-grants", Static).update(self._grants(view, today))
        self.query_one("#detail-history", Static).update(self._history(view))

    def _person(self, view: AccountView, person_id: int | None, today: date) -> Text:
        if person_id is None:
            return Text("nobody recorded", style="dim")
        person = view.people.get(person_id)
        if person is None:
            return Text(f"person #{person_id}", style="dim")
        text = literal(person.name)
        status = person.status(today)
        if status is PersonStatus.LEFT:
            text.append(" (has left)", style="bold red")
        elif status is PersonStatus.LEAVING:
            text.append(f" (leaving {person.leave_on})", style="yellow")
        return text

    def _control(self, view: AccountView, today: date) -> RenderableType:
        a = view.account
        grid = _grid()
        brand = " / ".join(clean(v) for v in (a.brand, a.region) if v) or "—"
        grid.add_row("Brand / region", literal(brand))
        if a.business_unit:
            grid.add_row("Business unit", literal(a.business_unit))
        if a.url:
            grid.add_row("URL", literal(a.url))
        grid.add_row("Login id", literal(a.login_id, placeholder="none recorded"))
        email = literal(a.recovery_email, placeholder="none recorded")
        if a.recovery_email:
            email.append(" — controlled by ")
            email.append_text(self._person(view, a.recovery_email_controller_id, today))
        grid.add_row("Recovery email", email)
        phone = literal(a.recovery_phone, placeholder="none recorded")
        if a.recovery_phone:
            phone.append(" — controlled by ")
            phone.append_text(self._person(view, a.recovery_phone_controller_id, today))
        grid.add_row("Recovery phone", phone)
        mfa = Text(a.mfa.value)
        creds = view.detail.credentials
        if creds.has_totp_seed:
            mfa.append(f" · {creds.totp_kind or 'totp'} seed in the vault", style="dim")
        grid.add_row("MFA", mfa)
        grid.add_row("TOTP holder", self._person(view, a.totp_holder_id, today)
                     if a.totp_holder_id is not None else Text("—", style="dim"))
        grid.add_row("Owner", self._person(view, a.owner_id, today))
        grid.add_row("Company-owned", Text("yes") if a.company_owned else Text("no", style="bold yellow"))
        report = view.who.report
        names = sorted((view.people[pid].name for pid in report.controller_ids if pid in view.people),
                       key=str.casefold)
        count = report.controller_count
        regain = Text(str(count), style="bold green" if count >= 2 else "bold red")
        if names:
            regain.append(" — ")
            regain.append_text(literal(", ".join(names)))
        if count < 2:
            regain.append("  (fewer than two)", style="red")
        grid.add_row("Can regain", regain)
        for path in report.paths:
            line = Text(f"{path.kind}: ", style="dim")
            if not path.usable:
                line.append("not usable — missing " + ", ".join(path.missing), style="yellow")
            elif path.person_ids:
                line.append_text(literal(", ".join(
                    view.people[pid].name for pid in path.person_ids if pid in view.people)))
            else:
                line.append("nobody", style="yellow")
            grid.add_row("", line)
        if report.excluded_left_ids:
            left = ", ".join(view.people[pid].name for pid in report.excluded_left_ids if pid in view.people)
            grid.add_row("Left (not counted)", literal(left, style="red"))
        if a.notes:
            grid.add_row("Notes", literal(a.notes))
        return grid

    def _password_state(self, view: AccountView) -> Text:
        creds = view.detail.credentials
        if not creds.has_password:
            return Text("no password in the vault", style="dim")
        text = Text(MASK)
        rotated = creds.password_rotated_at
        text.append(f"  rotated {rotated:%Y-%m-%d}" if rotated else "  rotation date unknown", style="dim")
        if not view.abilities.password:
            text.append("  (your grant does not allow it)", style="dim")
        return text

    def _code_state(self, view: AccountView) -> Text:
        creds = view.detail.credentials
        text = Text(f"{'TOTP code':<15}", style="bold")
        if not creds.has_totp_seed:
            text.append("no TOTP seed in the vault", style="dim")
        elif not view.abilities.code:
            text.append(f"{creds.totp_kind} seed stored; your grant does not allow codes", style="dim")
        else:
            kind = creds.totp_kind or "totp"
            period = f", every {view.totp_period} s" if view.totp_period else ""
            text.append(f"{kind}{period}", style="dim")
            if not view.abilities.seed:
                text.append("\n" + " " * 15 + "codes only, never the seed", style="dim")
        return text

    def _recovery_state(self, view: AccountView) -> Text:
        creds = view.detail.credentials
        if not creds.recovery_codes_total:
            return Text("none in the vault", style="dim")
        style = "" if creds.recovery_codes_unused > 2 else "yellow"
        return Text(f"{creds.recovery_codes_unused} of {creds.recovery_codes_total} unused", style=style)

    def _grants(self, view: AccountView, today: date) -> RenderableType:
        grants = view.detail.grants
        if not grants:
            return Text("No open grants on this account.", style="dim")
        lines = []
        order = sorted(grants, key=lambda g: (g.id not in view.in_force, g.level.value, g.id))
        for g in order:
            person = view.people.get(g.person_id)
            if g.id in view.in_force:
                state = Text("in force", style="green")
            elif person is not None and person.status(today) is PersonStatus.LEFT:
                state = Text("not in force: holder left", style="red")
            elif g.revoked_at is not None:
                state = Text("revoked", style="dim")
            else:
                state = Text("not in force: expired", style="yellow")
            line = literal(person.name if person else f"person #{g.person_id}", style="bold")
            line.append(f"  {g.level.value}  ")
            line.append_text(state)
            if g.expires_at:
                line.append(f"  · expires {_when(g.expires_at)}", style="dim")
            line.append("\n  ")
            line.append_text(literal(person.email if person else "", style="dim"))
            lines.append(line)
        return Text("\n").join(lines)

    def _history(self, view: AccountView) -> RenderableType:
        if not view.history:
            return Text("Nothing logged for this account yet.", style="dim")
        lines = []
        for entry in view.history:
            try:
                when = f"{parse_timestamp(str(entry.get('ts'))):%Y-%m-%d %H:%M}"
            except ValueError:
                when = clean(entry.get("ts"))
            line = Text(when, style="dim")
            line.append("  ")
            line.append_text(literal(entry.get("op")))
            line.append("  ")
            line.append_text(literal(entry.get("action"), style="bold"))
            about = _about(entry)
            if about:
                line.append("  ")
                line.append_text(literal(about))
            lines.append(line)
        return Text("\n").join(lines)


def _about(entry: dict) -> str:
    """What the entry disclosed or changed, and for whom: field and recipient, or the grant."""
    detail = entry.get("detail") if isinstance(entry.get("detail"), dict) else {}
    parts = []
    if entry.get("field"):
        parts.append(str(entry["field"]))
    if entry.get("to_email"):
        parts.append(("for " if entry.get("for") else "to ") + str(entry["to_email"]))
    elif detail.get("email"):
        parts.append(str(detail["email"]))
    if detail.get("level"):
        parts.append(str(detail["level"]))
    elif detail.get("levels"):
        parts.append(", ".join(str(v) for v in detail["levels"]))
    if detail.get("via"):
        parts.append(f"via {detail['via']}")
    return " · ".join(parts)
