"""Give someone access to an account: who, on what, at which level, until when, and why.

The dialog only asks; the caller writes (`services.grants.add_grant`) with the returned
`GrantRequest`, so the Accounts and People views share it. Whichever of person and account
is not given is picked from a list the dialog loads itself, filtered as you type (only the
first `MAX_SHOWN` matches are listed, so 5,000 accounts stay quick).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from smvault.domain.clock import end_of_day
from smvault.domain.models import Level
from smvault.services import accounts as accounts_service
from smvault.services import people as people_service
from smvault.ui.literal import clean

MAX_SHOWN = 200  # options listed at once; typing narrows the rest

# One line each: what a grant at this level lets its holder do.
LEVEL_HELP: tuple[tuple[str, str], ...] = (
    (Level.CODE_ONLY.value, "live TOTP codes only; never the seed or password"),
    (Level.REVEAL.value, "may know the password, TOTP seed, recovery codes"),
    (Level.MANAGE.value, "as reveal, and may change secrets and grants"),
    (Level.PLATFORM_ADMIN.value, "admin role on the platform; no vault secret"),
)

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str) -> date | None:
    """A YYYY-MM-DD date, or None when `text` is not one (date.fromisoformat alone would
    also take 20261231 or 2026-W49-1)."""
    text = text.strip()
    if not _DAY.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class GrantRequest:
    email: str
    account_key: str
    level: str
    expires_at: datetime | None  # the first instant after the chosen day (end_of_day)
    reason: str | None


@dataclass(frozen=True)
class Choice:
    id: str  # the person's email or the account's key
    prompt: Text
    haystack: str  # case-folded text the filter searches


class ListFilter(Input):
    """The filter box above a choice list: up/down move the list's highlight."""

    BINDINGS = [
        Binding("down", "list_down", "Next", show=False),
        Binding("up", "list_up", "Previous", show=False),
        Binding("pagedown", "list_page_down", "Page down", show=False),
        Binding("pageup", "list_page_up", "Page up", show=False),
    ]

    def __init__(self, target: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target = target

    def _list(self) -> OptionList:
        return self.screen.query_one(f"#{self.target}", OptionList)

    def action_list_down(self) -> None:
        self._list().action_cursor_down()

    def action_list_up(self) -> None:
        self._list().action_cursor_up()

    def action_list_page_down(self) -> None:
        self._list().action_page_down()

    def action_list_page_up(self) -> None:
        self._list().action_page_up()


class Chooser(Vertical):
    """A label, a filter box and a list: the highlighted option is the choice."""

    def __init__(self, noun: str, plural: str, placeholder: str, *, id: str) -> None:
        super().__init__(id=id, classes="chooser")
        self.noun, self.plural, self.placeholder = noun, plural, placeholder
        self.choices: list[Choice] = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(Text(f"{self.noun}: loading…"), id=f"{self.id}-label", classes="field-title")
        yield ListFilter(f"{self.id}-list", placeholder=self.placeholder, id=f"{self.id}-filter", compact=True)
        yield OptionList(id=f"{self.id}-list", compact=True)

    @property
    def filter_input(self) -> Input:
        return self.query_one(f"#{self.id}-filter", Input)

    @property
    def option_list(self) -> OptionList:
        return self.query_one(f"#{self.id}-list", OptionList)

    def set_choices(self, choices: Sequence[Choice]) -> None:
        self.choices = list(choices)
        self.loaded = True
        self.apply_filter(self.filter_input.value)

    def failed(self) -> None:
        self.query_one(f"#{self.id}-label", Static).update(Text(f"{self.noun}: could not load the list"))

    def matches(self, text: str) -> list[Choice]:
        needle = clean(text).casefold().strip()
        if not needle:
            return self.choices
        return [c for c in self.choices if needle in c.haystack]

    def apply_filter(self, text: str) -> None:
        if not self.loaded:
            return
        found = self.matches(text)
        shown = found[:MAX_SHOWN]
        options = self.option_list
        options.set_options([Option(c.prompt, id=c.id) for c in shown])
        options.highlighted = 0 if shown else None
        total = len(self.choices)
        if not found:
            count = f"nothing matches (of {total:,})"
        elif len(found) > len(shown):
            count = f"first {len(shown):,} of {len(found):,} matches: type to narrow"
        elif len(found) == total:
            count = f"{total:,} {self.plural}"
        else:
            count = f"{len(found):,} of {total:,} {self.plural}"
        self.query_one(f"#{self.id}-label", Static).update(Text(f"{self.noun} ({count})"))

    @property
    def selected(self) -> str | None:
        option = self.option_list.highlighted_option
        return option.id if option is not None else None

    @on(Input.Changed)
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.apply_filter(event.value)


def person_choices(rows: Sequence[people_service.PersonRow]) -> list[Choice]:
    """Everyone who has not left, as list options."""
    choices = []
    for row in rows:
        if row.status == "left":
            continue
        prompt = Text.assemble(clean(row.name), " <", clean(row.email), ">")
        extra = " · ".join(clean(v) for v in (row.team, row.status if row.status != "active" else "") if v)
        if extra:
            prompt.append("  " + extra, style="dim")
        haystack = " ".join((row.name, row.email, row.team)).casefold()
        choices.append(Choice(row.email, prompt, clean(haystack)))
    return choices


def account_choices(rows: Sequence[accounts_service.AccountRow]) -> list[Choice]:
    choices = []
    for row in rows:
        prompt = Text(clean(row.key))
        extra = " · ".join(
            clean(v) for v in (row.brand, row.region, row.owner, row.status if row.status != "active" else "") if v
        )
        if extra:
            prompt.append("  " + extra, style="dim")
        haystack = " ".join((row.key, row.brand, row.region, row.owner, row.status)).casefold()
        choices.append(Choice(row.key, prompt, clean(haystack)))
    return choices


class AddGrantDialog(ModalScreen[GrantRequest | None]):
    """Dismisses with a GrantRequest, or None when cancelled (escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, *, account_key: str | None = None, person_email: str | None = None) -> None:
        super().__init__()
        self.account_key = account_key
        self.person_email = person_email

    def compose(self) -> ComposeResult:
        both = self.person_email is None and self.account_key is None
        with Vertical(id="dialog", classes="grant-dialog grant-add" + (" -both" if both else "")):
            yield Label("Give access", classes="dialog-title")
            if self.person_email is None:
                yield Chooser("Person", "people", "type to filter: name, email or team", id="grant-person")
            else:
                yield Static(Text.assemble(("Person: ", "bold"), clean(self.person_email)), id="grant-person-fixed")
            if self.account_key is None:
                yield Chooser("Account", "accounts", "type to filter: platform:handle, brand, region, owner",
                              id="grant-account")
            else:
                yield Static(Text.assemble(("Account: ", "bold"), clean(self.account_key)), id="grant-account-fixed")
            yield Static(Text("Level", style="bold"), classes="field-title")
            with RadioSet(id="grant-level", compact=True):
                for value, help_text in LEVEL_HELP:
                    yield RadioButton(Text(f"{value:<14} {help_text}"), id=f"level-{value}")
            with Horizontal(classes="field-row"):
                yield Label("Expires", classes="field-label")
                yield Input(placeholder="YYYY-MM-DD, optional: good through that day (UTC)",
                            id="grant-expires", compact=True)
            with Horizontal(classes="field-row"):
                yield Label("Reason", classes="field-label")
                yield Input(placeholder="why (goes into the access log)", id="grant-reason", compact=True)
            yield Static("", id="grant-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="grant-cancel", compact=True)
                yield Button("Grant", id="grant-ok", variant="primary", compact=True)

    def on_mount(self) -> None:
        choosers = list(self.query(Chooser))
        if choosers:
            choosers[0].filter_input.focus()
        else:
            self.query_one("#grant-level", RadioSet).focus()
        if choosers:
            self.load_choices()

    @work(group="grant-choices", exit_on_error=False)
    async def load_choices(self) -> None:
        app = self.app
        if self.person_email is None:
            chooser = self.query_one("#grant-person", Chooser)
            people = await app.service(people_service.people_rows)  # type: ignore[attr-defined]
            if people is None:
                chooser.failed()
            else:
                chooser.set_choices(person_choices(people))
        if self.account_key is None:
            chooser = self.query_one("#grant-account", Chooser)
            accounts = await app.service(accounts_service.account_rows)  # type: ignore[attr-defined]
            if accounts is None:
                chooser.failed()
            else:
                chooser.set_choices(account_choices(accounts))

    # -- choosing ----------------------------------------------------------------------

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        """Enter in a list takes the option and moves on to the next field."""
        event.stop()
        self.focus_next()

    @on(Input.Submitted)
    @on(Button.Pressed, "#grant-ok")
    def submit(self) -> None:
        request = self.validate()
        if request is not None:
            self.dismiss(request)

    @on(Button.Pressed, "#grant-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    # -- checking ----------------------------------------------------------------------

    def error(self, message: str, focus: str | None = None) -> None:
        self.query_one("#grant-error", Static).update(Text(message))
        if focus:
            self.query_one(focus).focus()

    def _chosen(self, chooser_id: str, noun: str) -> str | None:
        chooser = self.query_one(f"#{chooser_id}", Chooser)
        if not chooser.loaded:
            self.error(f"{noun}: the list is still loading; try again in a moment")
            return None
        selected = chooser.selected
        if selected is None:
            typed = clean(chooser.filter_input.value).strip()
            why = f"nothing matches “{typed}”" if typed else "the list is empty"
            self.error(f"{noun}: pick one from the list ({why})", f"#{chooser_id}-filter")
        return selected

    def validate(self) -> GrantRequest | None:
        email = self.person_email
        if email is None:
            email = self._chosen("grant-person", "Person")
            if email is None:
                return None
        account_key = self.account_key
        if account_key is None:
            account_key = self._chosen("grant-account", "Account")
            if account_key is None:
                return None
        pressed = self.query_one("#grant-level", RadioSet).pressed_button
        if pressed is None or not pressed.id:
            self.error("Level: choose one (arrows, then space or enter)", "#grant-level")
            return None
        level = pressed.id.removeprefix("level-")
        expires_at = None
        text = self.query_one("#grant-expires", Input).value.strip()
        if text:
            day = parse_day(text)
            if day is None:
                self.error("Expires: write the day as YYYY-MM-DD (e.g. 2026-12-31), or leave it empty",
                           "#grant-expires")
                return None
            now = self.app.clock()  # type: ignore[attr-defined]
            expires_at = end_of_day(day)
            if expires_at <= now:
                self.error(f"Expires: {day.isoformat()} has passed (today is {now.date().isoformat()} UTC)",
                           "#grant-expires")
                return None
        reason = self.query_one("#grant-reason", Input).value.strip() or None
        self.error("")
        return GrantRequest(email=email, account_key=account_key, level=level, expires_at=expires_at,
                            reason=reason)
