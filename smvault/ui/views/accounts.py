"""The accounts view: every account in a fast table, and the highlighted one in detail.

The table is fed by one service call (`account_rows`); the detail pane by another
(`abilities.account_view`: detail, who can regain control, the operator's abilities, the
recent log), in an exclusive worker so moving the cursor quickly never queues loads.
Every disclosure (reveal, copy, code, QR, recovery code) is one logged service call; the
value lives only in the pane's widgets, which hide it after the configured time (driven by
the app's clock) and at once when the selection changes.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Container, Horizontal
from textual.widgets import Input, Static

from smvault.domain.models import AccountStatus
from smvault.services import emergency
from smvault.services.abilities import AccountView, account_view
from smvault.services.accounts import AccountRow, account_rows
from smvault.services.grants import add_grant, revoke_grants
from smvault.services.secrets import copy_secret, reveal, totp_code, totp_qr, use_recovery_code
from smvault.services.transfer import start_transfer
from smvault.ui.commands import bindings
from smvault.ui.dialogs.confirm import attempt
from smvault.ui.dialogs.emergency_request import EmergencyRequestDialog, announce_emergency, approve_emergency
from smvault.ui.dialogs.grant_add import AddGrantDialog
from smvault.ui.dialogs.grant_revoke import RevokeGrantDialog
from smvault.ui.dialogs.qr import QrDialog
from smvault.ui.dialogs.start_transfer import StartTransferDialog
from smvault.ui.views.base import View
from smvault.ui.views.workflows import ShowWorkflow
from smvault.ui.widgets.account_detail import AccountDetailPane, SecretLine
from smvault.ui.widgets.live_code import LiveCode
from smvault.ui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from smvault.ui.app import SmvaultApp

COLUMNS = (
    Column("platform", "Platform", max_width=9),
    Column("handle", "Handle", max_width=18),
    Column("brand", "Brand / region", max_width=16),
    Column("tier", "Tier", numeric=True),
    Column("owner", "Owner", max_width=14),
    Column("mfa", "MFA", max_width=12),
    Column("controllers", "Ctrl", numeric=True),
    Column("status", "Status", max_width=8),
)
SORT_KEYS = tuple(c.key for c in COLUMNS)
PANE_MIN_WIDTH = 52  # wide layout: the pane never gets less than this
TABLE_MIN_WIDTH = 40
TABLE_SCROLLBAR = 2

# Actions that need a loaded account, and what each needs (checked in check_action).
_ACCOUNT_ACTIONS = {"reveal", "copy_password", "code", "copy_code", "qr", "use_recovery_code",
                    "add_grant", "revoke_grant", "hide", "transfer", "emergency"}


def _cells(row: AccountRow) -> tuple:
    brand = " / ".join(v for v in (row.brand, row.region) if v)
    return (row.platform, row.handle, brand, row.tier, row.owner, row.mfa, row.controllers, row.status)


class AccountsView(View):
    scope = "accounts"
    BINDINGS = bindings("accounts")

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.key: str | None = None  # the account the pane is about
        self.data: AccountView | None = None  # its detail, once loaded
        self.open_request: int | None = None  # the operator's open emergency request for it

    def compose(self) -> ComposeResult:
        with Horizontal(id="accounts-filter-bar"):
            yield Input(placeholder="Filter accounts (/ to focus, esc back to the table)",
                        id="accounts-filter", compact=True)
            yield Static("", id="accounts-count", markup=False)
        with Container(id="accounts-body"):
            yield VirtualTable(COLUMNS, id="accounts-table")
            yield AccountDetailPane(id="account-detail")

    # -- parts ----------------------------------------------------------------------------

    @property
    def smvault(self) -> SmvaultApp:
        return cast("SmvaultApp", self.app)

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#accounts-table", VirtualTable)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#accounts-filter", Input)

    @property
    def pane(self) -> AccountDetailPane:
        return self.query_one("#account-detail", AccountDetailPane)

    # -- View -----------------------------------------------------------------------------

    async def load(self) -> None:
        rows = await self.smvault.service(account_rows)
        if rows is None:
            return
        table = self.table
        table.set_rows([(row.key, _cells(row)) for row in rows])
        self._fit_layout()
        self._show_count()
        self._select(table.cursor_row_key, reload=True)

    def focus_filter(self) -> None:
        self.filter_input.focus()

    def focus_default(self) -> None:
        self.table.focus()

    async def show_account(self, key: str) -> None:
        """Put the cursor on `key` (clearing the filter if it hides it) and show its detail."""
        if not self.loaded or self.stale:
            await self.ensure_loaded()
        table = self.table
        if table.row_cells(key) is None:
            self.notify(f"No account {key}.", severity="warning", markup=False)
            return
        if not table.move_cursor_to_key(key):
            self.filter_input.value = ""
            table.set_filter("")
            self._show_count()
            table.move_cursor_to_key(key)
        table.focus()
        self._select(key)

    def hide_all(self) -> None:
        """Take every revealed value (password, recovery code, live code) off the screen."""
        self.pane.hide_all()
        self.update_bindings()

    # -- layout -----------------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._fit_layout)  # once the body has its new size

    def _fit_layout(self) -> None:
        """Wide: the table takes the width its columns need, the pane keeps at least
        PANE_MIN_WIDTH; narrow: both take the full width (the stylesheet stacks them)."""
        table = self.table
        width = self.query_one("#accounts-body").size.width
        if self.screen.has_class("-wide") and width:
            natural = sum(table.column_widths) + 2 * len(COLUMNS) + TABLE_SCROLLBAR
            table.styles.width = max(TABLE_MIN_WIDTH, min(natural, width - PANE_MIN_WIDTH))
        else:
            table.styles.width = None

    # -- selection and detail --------------------------------------------------------------

    def _select(self, key: Hashable | None, reload: bool = False) -> None:
        if key is not None and not isinstance(key, str):
            key = str(key)
        if key == self.key and not reload:
            return
        if key != self.key:
            self.pane.hide_all()
            # check_action refuses every account action until the new detail is in; the
            # footer is refreshed once, when it arrives (each refresh rebuilds the footer).
            self.key, self.data = key, None
        if key is None:
            self.pane.clear("No account matches the filter." if self.table.total_count else "No accounts yet.")
            self.update_bindings()
            return
        if self.data is None:
            self.pane.show_loading(key)
        self._load_detail(key)

    @work(exclusive=True, group="account-detail", exit_on_error=False)
    async def _load_detail(self, key: str) -> None:
        data = await self.smvault.service(account_view, key)
        # The operator's open emergency request here (one per operator and account: E would
        # only be refused). A failure is shown like any other, and E stays offered.
        open_request = None if data is None else await self.smvault.service(emergency.open_request_id, key)
        if key != self.key:
            return
        if data is not None:
            self.data, self.open_request = data, open_request
            self.pane.show(data, self.smvault.clock().date())
        self.update_bindings()

    @on(VirtualTable.RowHighlighted, "#accounts-table")
    def _row_highlighted(self, message: VirtualTable.RowHighlighted) -> None:
        message.stop()
        self._select(message.row_key)

    async def reload(self) -> None:
        """After a write: the rows (controllers, owner...) and the pane, revealed values kept."""
        await self.load()

    # -- filter ---------------------------------------------------------------------------

    @on(Input.Changed, "#accounts-filter")
    def _filter_changed(self, message: Input.Changed) -> None:
        message.stop()
        table = self.table
        table.set_filter(message.value)
        self._cursor_to_best_match(message.value)
        self._show_count()

    def _cursor_to_best_match(self, text: str) -> None:
        """An exact handle (or PLATFORM:HANDLE) match wins the cursor over the first row."""
        needle = text.strip().casefold().lstrip("@")
        if not needle:
            return
        table = self.table

        def exact(key: Hashable | None) -> bool:
            if key is None:
                return False
            folded = str(key).casefold()
            return folded == needle or folded.split(":", 1)[-1] == needle

        if exact(table.cursor_row_key):
            return
        for key in table.visible_row_keys:
            if exact(key):
                table.move_cursor_to_key(key)
                return

    @on(Input.Submitted, "#accounts-filter")
    def _filter_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.table.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.filter_input.has_focus:
            event.stop()
            event.prevent_default()
            self.table.focus()

    def _show_count(self) -> None:
        table = self.table
        shown, total = table.row_count, table.total_count
        text = f"{total} accounts" if shown == total else f"{shown} of {total} accounts"
        self.query_one("#accounts-count", Static).update(text)

    # -- sorting --------------------------------------------------------------------------

    def action_sort(self) -> None:
        current = self.table.sort_column
        following = SORT_KEYS[0] if current is None else SORT_KEYS[(SORT_KEYS.index(current) + 1) % len(SORT_KEYS)]
        self.table.sort_by(following, reverse=False)

    def action_reverse(self) -> None:
        current = self.table.sort_column
        if current is None:
            self.table.sort_by(SORT_KEYS[0], reverse=True)
        else:
            self.table.sort_by(current, reverse=not self.table.sort_reverse)

    # -- what is allowed now ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in _ACCOUNT_ACTIONS:
            return True
        data = self.data
        if self.key is None or data is None or data.account.key != self.key:
            return None
        if action == "hide":
            return True
        creds, able = data.detail.credentials, data.abilities
        if action in ("reveal", "copy_password"):
            allowed = able.password and creds.has_password
        elif action in ("code", "copy_code"):
            allowed = able.code and creds.has_totp_seed
        elif action == "qr":
            allowed = able.qr and creds.has_totp_seed
        elif action == "use_recovery_code":
            allowed = able.recovery and creds.recovery_codes_unused > 0
        elif action in ("add_grant", "transfer"):
            allowed = able.manage
        elif action == "emergency":
            # As services.emergency: for an account whose password this operator cannot get
            # otherwise, never retired, one open request at a time (a, v, e in Workflows act on
            # it); a break-glass session opens everything already.
            allowed = (not able.password and data.account.status is not AccountStatus.RETIRED
                       and self.open_request is None and self.smvault.vault.break_glass is None)
        else:  # revoke_grant
            allowed = able.manage and bool(data.detail.grants)
        return True if allowed else None

    def _current(self) -> str | None:
        return self.key if self.data is not None and self.data.account.key == self.key else None

    def _still(self, key: str) -> bool:
        """The pane still shows `key` (the cursor did not move while a call was running)."""
        return self.key == key

    def _after_disclosure(self, key: str) -> None:
        """The log (and maybe the recovery-code count) changed: refresh the pane's read."""
        if self._still(key):
            self._select(key, reload=True)

    def _disclose(self, job) -> None:
        """Disclosures await the vault thread in a worker, so keys (ctrl+l above all) are
        still handled while the call runs; a failure is shown by app.service, never raised."""
        self.run_worker(job, group="disclosure", exit_on_error=False)

    def _show_revealed(self, line: SecretLine, value: str) -> None:
        """Show `value` until reveal_seconds from now (app clock), scrolled into view."""
        now = self.smvault.clock()
        line.reveal(value, now + timedelta(seconds=self.smvault.settings.reveal_seconds), now)
        self.call_after_refresh(line.scroll_visible, animate=False)

    # -- password ---------------------------------------------------------------------------

    def action_reveal(self) -> None:
        self._disclose(self._reveal())

    async def _reveal(self) -> None:
        key = self._current()
        if key is None:
            return
        shown = await self.smvault.service(reveal, key, "password")
        if shown is None or not self._still(key):
            return
        self._show_revealed(self.pane.password, str(shown.value))
        self._after_disclosure(key)

    def action_copy_password(self) -> None:
        self._disclose(self._copy_password())

    async def _copy_password(self) -> None:
        key = self._current()
        if key is None:
            return
        copied = await self.smvault.service(copy_secret, key, "password")
        if copied is None:
            return
        self.smvault.copy_secret(str(copied.value), f"the password of {key}")
        self._after_disclosure(key)

    def action_hide(self) -> None:
        self.hide_all()

    # -- codes ------------------------------------------------------------------------------

    def action_code(self) -> None:
        self._disclose(self._code())

    async def _code(self) -> None:
        key = self._current()
        if key is None or self.data is None:
            return
        live = self.pane.live_code
        now = self.smvault.clock()
        run_for = self.smvault.settings.code_seconds
        if live.running and live.kind != "hotp":
            # Already showing codes: keep them coming longer, without a new disclosure.
            live.stops_at = now + timedelta(seconds=run_for)
            live.on_clock(now)
            return
        code = await self.smvault.service(totp_code, key)
        if code is None or not self._still(key):
            return
        now = self.smvault.clock()
        live.start(code.code, code.kind, code.seconds_left, self.data.totp_period, now, run_for)
        self.call_after_refresh(live.scroll_visible, animate=False)
        self._after_disclosure(key)

    @on(LiveCode.NeedsCode)
    async def _next_code(self, message: LiveCode.NeedsCode) -> None:
        message.stop()
        key = self._current()
        live = message.live
        if key is None:
            live.clear()
            return
        code = await self.smvault.service(totp_code, key)
        if not self._still(key) or not live.waiting:
            return  # hidden or moved away meanwhile
        if code is None:
            live.stop("could not get the next code — press t")
            return
        live.next_code(code.code, code.seconds_left, self.smvault.clock())
        self._after_disclosure(key)

    def action_copy_code(self) -> None:
        self._disclose(self._copy_code())

    async def _copy_code(self) -> None:
        key = self._current()
        if key is None:
            return
        code = await self.smvault.service(totp_code, key, via="clipboard")
        if code is None:
            return
        self.smvault.copy_secret(code.code, f"a TOTP code of {key}")
        if code.kind == "hotp" and self._still(key) and self.data is not None:
            # Each HOTP code is used once: show the one just copied, not the previous one.
            now = self.smvault.clock()
            self.pane.live_code.start(code.code, code.kind, code.seconds_left, None, now,
                                      self.smvault.settings.code_seconds)
        self._after_disclosure(key)

    def action_qr(self) -> None:
        self._disclose(self._qr())

    async def _qr(self) -> None:
        key = self._current()
        if key is None:
            return
        shown = await self.smvault.service(totp_qr, key)
        if shown is None:
            return
        self._after_disclosure(key)
        await self.app.push_screen(QrDialog(key, str(shown.value)))

    def action_use_recovery_code(self) -> None:
        self._disclose(self._use_recovery_code())

    async def _use_recovery_code(self) -> None:
        key = self._current()
        if key is None:
            return
        used = await self.smvault.service(use_recovery_code, key)
        if used is None:
            return
        self.changed()  # the code is now used: counts elsewhere move
        if not self._still(key):
            return
        self._show_revealed(self.pane.recovery, str(used.value))
        self._after_disclosure(key)

    # -- grants -----------------------------------------------------------------------------

    def action_add_grant(self) -> None:
        key = self._current()
        if key is not None:
            self._add_grant(key)

    @work(exclusive=True, group="account-dialog", exit_on_error=False)
    async def _add_grant(self, key: str) -> None:
        request = await self.app.push_screen_wait(AddGrantDialog(account_key=key))
        if request is None:
            return
        grant = await self.smvault.service(
            add_grant, request.email, request.account_key, request.level,
            expires_at=request.expires_at, reason=request.reason,
        )
        if grant is None:
            return
        self.notify(f"Granted {grant.level.value} on {request.account_key} to {request.email}.",
                    title="Grant added", markup=False)
        self.changed()
        await self.reload()

    def action_revoke_grant(self) -> None:
        key = self._current()
        if key is None or self.data is None:
            return
        holders = []
        for grant in self.data.detail.grants:
            person = self.data.people.get(grant.person_id)
            if person is not None:
                holders.append((person.email, person.name, grant.level.value))
        if holders:
            self._revoke_grant(key, holders)

    @work(exclusive=True, group="account-dialog", exit_on_error=False)
    async def _revoke_grant(self, key: str, holders: list[tuple[str, str, str]]) -> None:
        choice = await self.app.push_screen_wait(RevokeGrantDialog(account_key=key, grants=holders))
        if choice is None:
            return
        email, level = choice
        revoked = await self.smvault.service(revoke_grants, email, key, level)
        if revoked is None:
            return
        levels = ", ".join(g.level.value for g in revoked)
        self.notify(f"Revoked {levels} on {key} from {email}.", title="Grant revoked", markup=False)
        self.changed()
        await self.reload()

    # -- ownership transfer (T) --------------------------------------------------------------

    def action_transfer(self) -> None:
        key = self._current()
        if key is not None and self.data is not None:
            self._transfer(key, self.data.name(self.data.account.owner_id))

    @work(exclusive=True, group="account-dialog", exit_on_error=False)
    async def _transfer(self, key: str, owner: str | None) -> None:
        request = await self.app.push_screen_wait(StartTransferDialog(account_key=key, owner=owner))
        if request is None:
            return
        started = await self.smvault.service(start_transfer, key, request.email, request.template)
        if started is None:
            return
        self.notify(f"Transfer of {key} to {started.to_email} requested: a second operator approves it.",
                    title="Transfer requested", markup=False)
        self.changed()
        await self.reload()
        self.post_message(ShowWorkflow(started.workflow_id))

    # -- emergency access (E) ------------------------------------------------------------------

    def action_emergency(self) -> None:
        key = self._current()
        if key is not None and self.data is not None and self.check_action("emergency", ()):
            self._emergency(key, self.data.account.tier)

    @work(exclusive=True, group="account-dialog", exit_on_error=False)
    async def _emergency(self, key: str, tier: int) -> None:
        app = self.smvault
        policy = await app.service(emergency.wait_policy)
        if policy is None:
            return

        async def save(reason: str, incident: str, minutes: int):
            return await attempt(app, emergency.request_access, key, reason=reason, incident=incident,
                                 minutes=minutes)

        request = await app.push_screen_wait(EmergencyRequestDialog(
            account_key=key, wait_minutes=policy.get(tier), save=save))
        if request is None:
            return
        self.changed()
        if request.state == "requested":
            # Dual control: a second operator approves at this terminal right away, or later
            # (a in Workflows, or smvault breakglass approve).
            approved = await approve_emergency(app, request)
            if approved is not None:
                request = approved
                self.changed()
        announce_emergency(self, request)
        await self.reload()

