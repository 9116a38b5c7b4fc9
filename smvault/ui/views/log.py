"""The access log: newest entries first, three filters, a live tail and a chain verification.

* One query (`services.logs.search`, at most `LIMIT` entries) fills the table when the view is
  loaded and when a filter changes (on enter, or `FILTER_DELAY` after the last keystroke); an
  account filter that names no account shows an inline error instead of a toast. The operator
  and action filters have no index: on a log of a million entries a rare value means reading
  it all (seconds), so a query that is no longer wanted when its turn on the vault thread
  comes is skipped, and the status line says "searching…" meanwhile.
* While following (the default), `on_clock` asks for the log's head every `POLL_SECONDS` and,
  when it moved, fetches only the entries after the last one seen (`services.logs.since`) and
  puts those matching the filters on top: the table is never re-queried for the tail.
* `v` verifies the whole chain, this machine's anchor and every database page in an exclusive
  worker, and shows the outcome in a panel (green when verified, red with the damage when not).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, Static

from smvault.domain.errors import SmvaultError
from smvault.services import logs
from smvault.services.logs import VerifyReport
from smvault.services.lookup import account_by_ref
from smvault.services.session import Session
from smvault.ui.commands import bindings
from smvault.ui.literal import clean
from smvault.ui.views.base import View
from smvault.ui.widgets.virtual_table import Column, VirtualTable

LIMIT = 500  # entries shown (the newest matching ones)
POLL_SECONDS = 2.0  # how often the live tail asks for the log's head
FILTER_DELAY = 0.25  # seconds of no typing before a filter is applied (enter applies at once)
MAX_PAGE_PROBLEMS = 8  # listed in the failure panel; the rest are counted

COLUMNS = (
    Column("seq", "#", numeric=True, max_width=8),
    Column("time", "Time (UTC)", width=19),
    Column("operator", "Operator", max_width=12),
    Column("action", "Action", max_width=24),
    Column("account", "Account", max_width=26),
    Column("recipient", "For", max_width=30),
    Column("field", "Field", max_width=13),
    Column("detail", "Detail", max_width=80),
)


# -- what runs on the vault thread ------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    operator: str = ""
    account: str = ""
    action: str = ""


@dataclass(frozen=True)
class Found:
    entries: list[dict]  # newest first
    head: int  # the log's head when the query ran
    account_id: int | None  # the account filter, resolved
    error: str | None = None  # why the account filter names no account


def find_entries(session: Session, filters: Filters, limit: int = LIMIT,
                 wanted: Callable[[], bool] | None = None) -> Found | None:
    """The newest entries matching `filters`; an account filter that names no account is
    reported in `error`, not raised (the view shows it next to the filter). None, without
    reading anything, when `wanted()` says a newer query has replaced this one meanwhile."""
    if wanted is not None and not wanted():
        return None
    account_id = None
    if filters.account:
        try:
            account_id = account_by_ref(session, filters.account).id
        except SmvaultError as exc:
            return Found([], logs.head_seq(session), None, str(exc))
    # The head first: an entry written between the two reads is then fetched again by the
    # tail, and dropped there because the table already shows it.
    head = logs.head_seq(session)
    entries = logs.search(session, actor=filters.operator or None, account_ref=filters.account or None,
                          action=filters.action or None, limit=limit)
    return Found(entries, head, account_id)


@dataclass(frozen=True)
class Tail:
    head: int
    entries: list[dict]  # after the seq asked for, oldest first
    complete: bool  # False: more than `limit` entries arrived (reload instead)


def new_entries(session: Session, after: int, limit: int = LIMIT) -> Tail:
    head = logs.head_seq(session)
    if head <= after:
        return Tail(head, [], True)
    entries = logs.since(session, after, limit=limit)
    return Tail(head, entries, len(entries) < limit or entries[-1]["seq"] >= head)


def verify_log(session: Session) -> VerifyReport:
    # The TUI's session is already unlocked (and its unlock logged): record only "log.verify".
    return logs.verify(session, pages=True, record_unlock=False)


# -- presentation -----------------------------------------------------------------------------


def short_time(ts: object) -> str:
    """'2026-10-31T11:03:45Z' -> '2026-10-31 11:03:45'."""
    text = clean(ts)
    return text.replace("T", " ", 1).removesuffix("Z")


def short_detail(entry: dict) -> str:
    """The entry's detail as 'key=value, …' on one line."""
    parts = []
    if entry.get("person") is not None and not entry.get("to_email"):
        detail = entry.get("detail")
        if not (isinstance(detail, dict) and "email" in detail):
            parts.append(f"person #{entry['person']}")
    detail = entry.get("detail")
    if isinstance(detail, dict):
        for key, value in detail.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            parts.append(f"{key}={shown}")
    elif detail is not None:
        parts.append(detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False))
    return clean(", ".join(parts))[:400]


def cells(entry: dict) -> tuple:
    return (
        entry.get("seq"),
        short_time(entry.get("ts")),
        clean(entry.get("op")),
        clean(entry.get("action")),
        clean(entry.get("acct")),
        clean(entry.get("to_email")),
        clean(entry.get("field")),
        short_detail(entry),
    )


def matches(entry: dict, filters: Filters, account_id: int | None) -> bool:
    """The same rules as `services.logs.search`, for entries the live tail brings."""
    if filters.operator and str(entry.get("op") or "").lower() != filters.operator.lower():
        return False
    if filters.action and not str(entry.get("action") or "").startswith(filters.action):
        return False
    if filters.account and entry.get("account") != account_id:
        return False
    return True


def describe_report(report: VerifyReport | None) -> tuple[Text, bool]:
    """The verify panel's text, and whether the log verified."""
    if report is None:
        return Text("✘ The verification could not run (the message says why). Nothing was checked.",
                    style="bold"), False
    if report.ok:
        text = Text("✔ Chain verified: ", style="bold")
        text.append(f"{report.checked:,} entries", "bold")
        if report.head is not None:
            text.append(f", head #{report.head.seq} hash {bytes(report.head.entry_hash).hex()[:12]}…")
        if report.anchor is not None:
            text.append(f", anchor at #{report.anchor.seq}")
        else:
            text.append(", no anchor on this machine yet")
        text.append(", every page's HMAC ok.")
        return text, True
    text = Text("✘ Verification FAILED", style="bold")
    text.append(f" after checking {report.checked:,} entries" if report.checked else "")
    text.append(".")
    if report.damage is not None:
        damage = report.damage
        text.append(f"\n  {damage.kind} at entry #{damage.seq}: {clean(damage.detail)}")
    problems = list(report.page_problems)
    for problem in problems[:MAX_PAGE_PROBLEMS]:
        text.append(f"\n  database page: {clean(problem)}")
    if len(problems) > MAX_PAGE_PROBLEMS:
        text.append(f"\n  … and {len(problems) - MAX_PAGE_PROBLEMS} more page problems")
    return text, False


# -- the view ---------------------------------------------------------------------------------


class LogView(View):
    """Newest entries first, filtered by operator, account and action prefix; live tail."""

    scope = "log"
    BINDINGS = bindings("log")
    DEFAULT_CLASSES = "ticks"

    following: reactive[bool] = reactive(True, init=False)
    verifying: reactive[bool] = reactive(False, init=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entries: list[dict] = []  # newest first, at most LIMIT
        self.head = 0  # the log's head as last seen: the tail asks for entries after it
        self.filters = Filters()  # as applied to `entries`
        self.account_id: int | None = None
        self.filter_error: str | None = None
        self.report: VerifyReport | None = None
        self._generation = 0  # bumped by every query: older query and tail results are dropped
        self._requested = Filters()  # the filters of the latest query started
        self._filter_timer: Timer | None = None
        self.searching = False
        self._next_poll: datetime | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="log-filters"):
            yield Input(placeholder="operator (exact name)", id="log-operator", compact=True)
            yield Input(placeholder="account (platform:handle)", id="log-account", compact=True)
            yield Input(placeholder="action prefix (grant.)", id="log-action", compact=True)
        yield Static("", id="log-error", classes="error", markup=False)
        yield Static("", id="log-status", markup=False)
        table = VirtualTable(COLUMNS, id="log-table")
        table.empty_text = "Reading the log…"
        yield table
        yield Static("", id="log-entry", markup=False)
        yield Static("", id="log-verify", markup=False)

    def on_mount(self) -> None:
        self.query_one("#log-error").display = False
        self.query_one("#log-verify").display = False

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#log-table", VirtualTable)

    # -- querying ---------------------------------------------------------------------------

    def current_filters(self) -> Filters:
        return Filters(
            operator=self.query_one("#log-operator", Input).value.strip(),
            account=self.query_one("#log-account", Input).value.strip(),
            action=self.query_one("#log-action", Input).value.strip(),
        )

    async def load(self) -> None:
        await self.query_log()

    async def query_log(self) -> None:
        """Read the newest entries matching the filters (all of them: replaces the table)."""
        self._generation += 1
        generation = self._generation
        filters = self._requested = self.current_filters()
        self.searching = True
        self._status()
        found = await self.app.service(  # type: ignore[attr-defined]
            find_entries, filters, wanted=lambda: generation == self._generation)
        if generation != self._generation:
            return  # a newer query (another keystroke) has started: its result wins
        self.searching = False
        self.filters = filters
        table = self.table
        if found is None:
            self.entries, self.account_id = [], None
            table.empty_text = "The log could not be read."
            table.set_rows([])
            self._status()
            return
        self.head = max(self.head, found.head)
        self.account_id = found.account_id
        self._set_error(found.error)
        self.entries = found.entries
        if found.error:
            table.empty_text = "No entries: the account filter names no account."
        elif filters != Filters():
            table.empty_text = "No entry matches these filters."
        else:
            table.empty_text = "The log is empty."
        self._show_entries()
        self._next_poll = self.app.clock() + timedelta(seconds=POLL_SECONDS)  # type: ignore[attr-defined]

    @work(exclusive=True, group="log-query", exit_on_error=False)
    async def requery(self) -> None:
        await self.query_log()

    @on(Input.Changed, "#log-filters Input")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if not self.loaded:
            return
        if self._filter_timer is not None:
            self._filter_timer.stop()
        # Input latency only (nothing is revealed or expires): a plain timer, not the app clock.
        self._filter_timer = self.set_timer(FILTER_DELAY, self._apply_filters)

    @on(Input.Submitted, "#log-filters Input")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply_filters()
        if not self.filter_error:
            self.table.focus()

    def _apply_filters(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if self.loaded and self.current_filters() != self._requested:
            self.requery()  # exclusive: the query of the previous keystroke is dropped

    def _set_error(self, error: str | None) -> None:
        self.filter_error = error
        box = self.query_one("#log-error", Static)
        box.update(Text(f"Account filter: {clean(error)}") if error else "")
        box.display = bool(error)

    def _show_entries(self) -> None:
        self.table.set_rows([(entry.get("seq"), cells(entry)) for entry in self.entries])
        self._describe(self.table.cursor_row_key)
        self._status()

    # -- the live tail ----------------------------------------------------------------------

    def on_clock(self, now: datetime) -> None:
        """Called by the app twice a second: poll the head every POLL_SECONDS while following."""
        if not (self.loaded and self.following) or self.filter_error or self.searching:
            return
        if self._next_poll is not None and now < self._next_poll:
            return
        if not self.is_on_screen:
            return  # another tab is showing: catch up when this one is shown again
        self._next_poll = now + timedelta(seconds=POLL_SECONDS)
        self.poll()

    @work(exclusive=True, group="log-tail", exit_on_error=False)
    async def poll(self) -> None:
        generation = self._generation
        tail = await self.app.service(new_entries, self.head)  # type: ignore[attr-defined]
        if generation != self._generation:
            return  # the filters changed meanwhile: that query already shows the newest
        if tail is None:
            self.following = False  # the error was shown once; do not repeat it every 2 s
            return
        if not tail.complete:
            await self.query_log()
            return
        self.add_new(tail.entries, tail.head)

    def add_new(self, entries: list[dict], head: int) -> None:
        """Put the entries (oldest first) that match the filters on top of the table."""
        self.head = max(self.head, head)
        top = self.entries[0]["seq"] if self.entries else 0
        fresh = [e for e in entries if e.get("seq", 0) > top and matches(e, self.filters, self.account_id)]
        if fresh:
            at_top = self.table.cursor_index <= 0  # then the cursor stays on the newest entry
            self.entries = (fresh[::-1] + self.entries)[:LIMIT]
            self._show_entries()
            if at_top and self.table.row_count:
                self.table.move_cursor_to_key(self.table.visible_row_keys[0])
        else:
            self._status()

    def watch_following(self, following: bool) -> None:
        self._status()
        self.update_bindings()
        if following and self.loaded:
            self._next_poll = None  # catch up at the next tick

    # -- status and the highlighted entry ---------------------------------------------------

    def _status(self) -> None:
        shown = len(self.entries)
        parts = []
        if self.searching:
            parts.append(Text("searching… ", style="bold"))
        if self.following:
            parts.append(Text("● following (f pauses)", style="bold"))
        else:
            parts.append(Text("paused (f follows)", style="italic"))
        matching = " matching" if self.filters != Filters() else ""
        parts.append(Text(f" · {shown:,} newest{matching} entr{'y' if shown == 1 else 'ies'} · log head #{self.head}"))
        self.query_one("#log-status", Static).update(Text.assemble(*parts))

    @on(VirtualTable.RowHighlighted, "#log-table")
    def _highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        self._describe(event.row_key)

    def _describe(self, row_key: Hashable | None) -> None:
        """The highlighted entry in full under the table (the columns may be cut)."""
        entry = next((e for e in self.entries if e.get("seq") == row_key), None) if row_key is not None else None
        text = Text()
        if entry is not None:
            seq, when, operator, action, account, recipient, field, detail = cells(entry)
            text.append(f"#{seq} ", "bold")
            text.append(f"{when} UTC · {operator or '—'} · ")
            text.append(action, "bold")
            if account:
                text.append(f" · {account}")
            if field:
                text.append(f" · {field}")
            if recipient:
                text.append(f" · for {recipient}")
            if detail:
                text.append(f" · {detail}", "dim")
        self.query_one("#log-entry", Static).update(text)

    # -- verify -----------------------------------------------------------------------------

    @work(exclusive=True, group="log-verify", exit_on_error=False)
    async def run_verify(self) -> None:
        panel = self.query_one("#log-verify", Static)
        self.verifying = True
        panel.set_classes("-busy")
        panel.update(Text(f"Verifying {self.head:,} entries, this machine's anchor and every database "
                          "page…", style="bold"))
        panel.display = True
        try:
            report = await self.app.service(verify_log)  # type: ignore[attr-defined]
        finally:
            self.verifying = False
        self.report = report
        text, ok = describe_report(report)
        panel.set_classes("-ok" if ok else "-failed")
        panel.update(text)
        if report is not None and report.ok:
            self.changed()  # "log.verify" was logged: the dashboard's count moved
            if self.following:
                self._next_poll = None  # show that entry at the next tick

    def action_verify(self) -> None:
        if not self.verifying:
            self.run_verify()

    def action_follow(self) -> None:
        self.following = not self.following

    def watch_verifying(self, verifying: bool) -> None:
        self.update_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "verify":
            return None if self.verifying else True
        return True

    def focus_filter(self) -> None:
        self.query_one("#log-operator", Input).focus()

    def focus_default(self) -> None:
        self.table.focus()
