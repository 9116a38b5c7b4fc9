"""Break glass: open the vault with K shares of its emergency kit, a reason and an incident id.

Custodians type or paste their shares, one field each. Every field is checked as it changes
(`services.kit.check_share`, on the vault thread: finding a mistyped word can take a moment,
so the check waits for typing to pause) and says which member's share it is, or what is wrong
with it, by position only. The reason and the incident are checked as they change too (the
service's own `check_recovery_inputs`: an incident with a space is refused next to its field,
before Open, so a refusal never empties the share fields). Open is offered only with both, and
as many valid, distinct shares of the current kit as it needs; the unlock itself is logged,
and so is everything the session does afterwards.

Share words are as secret as a passphrase (K of them open the vault), so the fields are masked
like one. A custodian reading twenty words off a sheet makes typos a checksum can locate but
not show, so "Show the words" unmasks the fields for a moment: the choice is the custodians',
made knowing who can see the screen, and it is not remembered. Nor are the words left on a
screen nobody is at: after the app's idle time without input the fields are emptied (and
masked again), and leaving the screen empties them too.

The kit the form is built for is read on the vault thread before the screen is made (the
unlock screen's Break glass, or the app's start for `smvault --recovery`), and read again
after a failed open: a kit replaced meanwhile rebuilds the form for the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical, VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Footer, Input, Label, LoadingIndicator, Static

from smvault.domain.emergency import MAX_INCIDENT_LENGTH
from smvault.domain.errors import SmvaultError
from smvault.services.kit import KitInfo, ShareCheck, check_share, kit_info
from smvault.services.session import check_recovery_inputs
from smvault.ui.commands import bindings
from smvault.ui.literal import clean, literal
from smvault.ui.widgets.secret_input import SecretInput

if TYPE_CHECKING:
    from smvault.ui.app import SmvaultApp

CHECK_DELAY = 0.35  # seconds of quiet typing before a share is checked
NO_KIT = "This vault has no emergency kit: an operator creates one with smvault kit create."
IDLE_CHECK = 0.5  # seconds between looks at the app's idle time
# The kit's line has this many rows (the stylesheet's max-height): custodians that would not
# fit are counted ("and 9 more") rather than cut off, so a 16-custodian kit fits 80x24.
KIT_LINES = 4
BOX_WIDTH, BOX_FRAME = 84, 4  # #recovery-box: its width, and its border and padding across
# The reason and the incident are checked one at a time, the other given a value that passes.
PASSING_REASON, PASSING_INCIDENT = "reason", "INC-1"


class ShareInput(SecretInput):
    """A masked one-line field that takes a pasted share whole: a sheet's words may come in
    several lines (Input keeps only the first line of a paste). Never copied (SecretInput)."""

    def _on_paste(self, event: events.Paste) -> None:
        if event.text:
            words = " ".join(event.text.split())
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(words)
            else:
                self.replace(words, *selection)
        event.stop()
        event.prevent_default()  # Input's own handler would insert the first line again


@dataclass
class ShareField:
    """What is known about one share field. `version` moves at every edit, so a check that
    finishes after a newer edit is dropped."""

    number: int
    version: int = 0
    blank: bool = True
    checking: bool = False
    check: ShareCheck | None = None
    problem: str | None = None


class RecoveryScreen(Screen[None]):
    BINDINGS = bindings("recovery")

    def __init__(self, kit: KitInfo | None, *, kit_problem: str | None = None, reason: str | None = None,
                 incident: str | None = None, shares: list[str] | None = None) -> None:
        """`kit`: the vault's kit, read on the vault thread (None with `kit_problem`, or none)."""
        super().__init__()
        self.prefill_reason = reason or ""
        self.prefill_incident = incident or ""
        self.prefill_shares = list(shares or [])
        self.kit = kit
        self.kit_problem = kit_problem
        self.fields: list[ShareField] = []
        self._check_timers: dict[int, Timer] = {}
        self.busy = False

    @property
    def smvault(self) -> SmvaultApp:
        return cast("SmvaultApp", self.app)

    def command_scopes(self) -> dict[str, DOMNode]:
        """The palette's commands here: the recovery screen's own (Back)."""
        return {"recovery": self}

    def compose(self) -> ComposeResult:
        directory = self.smvault.vault.directory
        kit = self.kit
        self.fields = []
        with Center():
            with Vertical(id="recovery-box"):
                yield Label("Break glass: open the vault with its emergency kit", classes="dialog-title")
                yield Static(literal(f"Vault: {directory}"), classes="dim")
                if kit is None:
                    yield Static(Text(self.kit_problem or NO_KIT), id="recovery-kit", classes="error")
                else:
                    yield Static(self._kit_text(kit, self._text_width()), id="recovery-kit")
                    yield Static(Text("Logged with the incident; locking it opens the post-incident workflow.",
                                      style="dim"), id="recovery-about")
                    with Horizontal(classes="field-row"):
                        yield Label("Reason", classes="field-label")
                        yield Input(value=self.prefill_reason, placeholder="why the vault is opened this way (logged)",
                                    id="recovery-reason", compact=True)
                    yield field_status("recovery-reason-status")
                    with Horizontal(classes="field-row"):
                        yield Label("Incident", classes="field-label")
                        # No spaces and no more than the service takes: the keys refuse them.
                        yield Input(value=self.prefill_incident, placeholder="incident id, e.g. INC-2041 (logged)",
                                    id="recovery-incident", compact=True, restrict=r"\S*",
                                    max_length=MAX_INCIDENT_LENGTH)
                    yield field_status("recovery-incident-status")
                    with VerticalScroll(id="recovery-shares", can_focus=False):
                        for number in range(1, kit.threshold + 1):
                            self.fields.append(ShareField(number))
                            with Horizontal(classes="field-row"):
                                yield Label(f"Share {number}", classes="field-label")
                                yield ShareInput(placeholder="type or paste the share's words",
                                                 id=f"share-{number}", classes="share", compact=True)
                            status = Static("", id=f"share-{number}-status", classes="share-status")
                            status.display = False  # shown once the field holds something
                            yield status
                    yield Checkbox("Show the words (mind who can see this screen)", id="recovery-show",
                                   compact=True)
                    yield Static("", id="recovery-summary", classes="dim")
                yield Static("", id="recovery-error", classes="error")
                yield LoadingIndicator(id="recovery-busy")
                with Horizontal(classes="buttons", id="recovery-buttons"):
                    yield Button("Back", id="recovery-back", compact=True)
                    if kit is not None:
                        yield Button("Open (break glass)", id="recovery-open", variant="error", compact=True,
                                     disabled=True)
        yield Footer()

    def _text_width(self) -> int:
        return max(20, min(BOX_WIDTH, self.app.size.width) - BOX_FRAME)

    def _kit_text(self, kit: KitInfo, width: int) -> Text:
        """The kit in at most KIT_LINES rows of `width`: as many custodians as fit, the rest counted."""
        for shown in range(len(kit.custodians), 0, -1):
            text = Text(f"Kit of {clean(kit.created_at)[:10]}: ")
            text.append(f"{kit.threshold} of {len(kit.custodians)} shares open the vault", style="bold")
            text.append(" · custodians: ")
            text.append(custodians_text(kit.custodians, shown))
            if len(text.wrap(self.app.console, width)) <= KIT_LINES:
                break
        return text

    def on_resize(self) -> None:
        if self.kit is not None:
            for line in self.query("#recovery-kit").results(Static):  # none while rebuilt
                line.update(self._kit_text(self.kit, self._text_width()))

    def on_mount(self) -> None:
        self._prepare()
        self.set_interval(IDLE_CHECK, self._clear_when_idle)

    def _prepare(self) -> None:
        """The form's starting state (after mount, and after it is rebuilt for a new kit)."""
        self.query_one("#recovery-busy").display = False
        self.query_one("#recovery-error").display = False
        if self.kit is None:
            self.query_one("#recovery-back", Button).focus()
            return
        for number, text in enumerate(self.prefill_shares[: len(self.fields)], start=1):
            self.query_one(f"#share-{number}", Input).value = text
        self.prefill_shares = []
        # The cursor starts in the first field still empty (or refused: a bad incident given
        # on the command line).
        problems = self.input_problems()
        fields = [self.query_one("#recovery-reason", Input), self.query_one("#recovery-incident", Input),
                  *self.query(ShareInput)]
        next((f for f in fields if not f.value.strip() or f.id in problems), fields[-1]).focus()
        self._update_summary()

    # -- checking shares as they are typed ------------------------------------------------

    @on(Input.Changed, ".share")
    def _share_changed(self, event: Input.Changed) -> None:
        event.stop()
        number = int(str(event.input.id).removeprefix("share-"))
        field = self.fields[number - 1]
        field.version += 1
        field.check, field.problem = None, None
        field.blank = not event.value.strip()
        field.checking = not field.blank
        if not field.blank and self.query_one("#recovery-error").has_class("notice"):
            self._error("")  # the idle notice: typing again makes it moot
        timer = self._check_timers.pop(number, None)
        if timer is not None:
            timer.stop()
        if not field.blank:
            version = field.version
            self._check_timers[number] = self.set_timer(CHECK_DELAY, lambda: self._start_check(number, version))
        self._show_statuses()

    def _start_check(self, number: int, version: int) -> None:
        field = self.fields[number - 1]
        if field.version != version:
            return
        text = self.query_one(f"#share-{number}", Input).value
        # The default description is the repr of the arguments: the share's words.
        self.run_worker(self._check(number, version, text), group=f"share-{number}", exclusive=True,
                        exit_on_error=False, description=f"check share {number}")

    async def _check(self, number: int, version: int, text: str) -> None:
        directory = self.smvault.vault.directory
        check: ShareCheck | None = None
        problem: str | None = None
        try:
            check = await self.smvault.vault.run(check_share, directory, text, number)
        except SmvaultError as exc:
            problem = clean(str(exc))
        except Exception as exc:  # noqa: BLE001 - never the exception's text: it could quote words
            problem = f"share {number} could not be checked (internal error {type(exc).__name__})"
        finally:
            del text
        if number > len(self.fields) or self.fields[number - 1].version != version:
            return  # edited meanwhile (a newer check is coming), or the form was rebuilt
        field = self.fields[number - 1]
        field.checking, field.check, field.problem = False, check, problem
        self._show_statuses()

    def valid_fields(self) -> list[ShareField]:
        """Fields holding a share of the current kit, each member once (the first field wins)."""
        seen: set[int] = set()
        valid = []
        for field in self.fields:
            check = field.check
            if check is None or not check.current_kit or check.member_index in seen:
                continue
            seen.add(check.member_index)
            valid.append(field)
        return valid

    def _status(self, field: ShareField, first_of: dict[int, int]) -> Text:
        n = field.number
        if field.blank:
            return Text("")
        if field.checking:
            return Text(f"share {n}: checking…", style="dim")
        if field.problem is not None:
            return Text(field.problem, style="red")
        check = field.check
        if check is None:
            return Text("")
        if not check.current_kit:
            return Text(f"share {n} is not from this vault's current emergency kit "
                        "(a replaced kit's share, or another vault's)", style="red")
        first = first_of[check.member_index]
        if first != n:
            return Text(f"shares {first} and {n} are the same share (member {check.member_index})", style="red")
        count = len(self.kit.custodians) if self.kit is not None else check.threshold
        text = Text(f"share {n}: member {check.member_index} of {count} (", style="green")
        text.append(clean(check.custodian_email, "custodian unknown"))
        text.append(") ✓")
        return text

    def _show_statuses(self) -> None:
        first_of: dict[int, int] = {}
        for field in self.fields:
            if field.check is not None and field.check.current_kit:
                first_of.setdefault(field.check.member_index, field.number)
        for field in self.fields:
            status = self.query_one(f"#share-{field.number}-status", Static)
            status.update(self._status(field, first_of))
            status.display = not field.blank
        self._update_summary()

    # -- the Open button ------------------------------------------------------------------

    @on(Input.Changed, "#recovery-reason, #recovery-incident")
    def _text_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._update_summary()

    def input_problems(self) -> dict[str, str]:
        """What the service would refuse in the reason and the incident, by field id (a blank
        one is only missing): checked here, so a refusal never costs the custodians their shares.
        `check_recovery_inputs` is pure (no vault, no I/O): it runs on the event loop."""
        problems = {}
        for field_id, check in (("recovery-reason", lambda text: check_recovery_inputs(text, PASSING_INCIDENT)),
                                ("recovery-incident", lambda text: check_recovery_inputs(PASSING_REASON, text))):
            text = self.query_one(f"#{field_id}", Input).value
            if not text.strip():
                continue
            try:
                check(text)
            except SmvaultError as exc:
                problems[field_id] = clean(str(exc))
        return problems

    def _show_input_problems(self, problems: dict[str, str]) -> None:
        for field_id in ("recovery-reason", "recovery-incident"):
            status = self.query_one(f"#{field_id}-status", Static)
            status.update(Text(problems.get(field_id, ""), style="red"))
            status.display = field_id in problems

    def missing(self, problems: dict[str, str] | None = None) -> list[str]:
        """What still keeps Open disabled, in words (empty: it can open)."""
        if self.kit is None:
            return ["an emergency kit"]
        if problems is None:
            problems = self.input_problems()
        wanted = []
        if not self.query_one("#recovery-reason", Input).value.strip():
            wanted.append("a reason")
        elif "recovery-reason" in problems:
            wanted.append("a valid reason")
        if not self.query_one("#recovery-incident", Input).value.strip():
            wanted.append("an incident id")
        elif "recovery-incident" in problems:
            wanted.append("a valid incident id")
        valid = len(self.valid_fields())
        if valid < self.kit.threshold:
            wanted.append(f"{self.kit.threshold - valid} more valid share{'s' if self.kit.threshold - valid != 1 else ''}")
        return wanted

    def _update_summary(self) -> None:
        if self.kit is None or self.busy:
            return
        problems = self.input_problems()
        self._show_input_problems(problems)
        wanted = self.missing(problems)
        self.query_one("#recovery-open", Button).disabled = bool(wanted)
        valid = len(self.valid_fields())
        summary = f"{valid} of {self.kit.threshold} shares valid."
        summary += f" Needs {', '.join(wanted)}." if wanted else " Ready: Open breaks the glass."
        line = self.query_one("#recovery-summary", Static)
        line.update(Text(summary))
        line.set_classes("dim" if wanted else "notice")

    @on(Checkbox.Changed, "#recovery-show")
    def _show_words(self, event: Checkbox.Changed) -> None:
        event.stop()
        for field in self.query(ShareInput):
            field.password = not event.value

    # -- opening --------------------------------------------------------------------------

    @on(Button.Pressed, "#recovery-open")
    @on(Input.Submitted)
    def submit(self, event: Button.Pressed | Input.Submitted) -> None:
        event.stop()
        if self.busy or self.kit is None:
            return
        problems = self.input_problems()
        if problems:
            # Refused before anything is cleared: the shares stay, the cursor goes where the fix is.
            self._show_input_problems(problems)
            self.query_one(f"#{next(iter(problems))}", Input).focus()
            return
        if self.missing(problems):
            if isinstance(event, Input.Submitted):
                self.focus_next()  # enter moves on until everything is in
            return
        reason = self.query_one("#recovery-reason", Input).value.strip()
        incident = self.query_one("#recovery-incident", Input).value.strip()
        shares = [self.query_one(f"#share-{f.number}", Input).value for f in self.valid_fields()]
        self.clear_shares()
        self.open_vault(shares, reason, incident)

    def clear_shares(self) -> None:
        """The words stay on screen (masked or not) no longer than it takes to use them."""
        for field in self.query(ShareInput):
            field.value = ""
            field.password = True  # at once (the toggle's own message follows)
        for show in self.query("#recovery-show").results(Checkbox):
            show.value = False

    def _clear_when_idle(self) -> None:
        """Shares (and the show-words toggle) do not outlast the app's idle time without input:
        a custodian who walks away leaves no words on the screen, masked or not."""
        app = self.smvault
        if self.busy or self.kit is None:
            return
        idle = app.clock() - app.last_activity
        if idle < timedelta(seconds=app.settings.idle_seconds):
            return
        shown = self.query_one("#recovery-show", Checkbox).value
        if not shown and not any(field.value for field in self.query(ShareInput)):
            return
        self.clear_shares()
        self._error(f"Share fields cleared (and the words masked) after {int(app.settings.idle_seconds)} s "
                    "without input: enter the shares again.", style="notice")

    def _error(self, message: str, style: str = "error") -> None:
        line = self.query_one("#recovery-error", Static)
        line.update(Text(message))
        line.set_classes(style)
        line.display = bool(message)

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        self.query_one("#recovery-busy").display = busy
        for widget in self.query("#recovery-box Input, #recovery-box Button, #recovery-box Checkbox"):
            widget.disabled = busy
        self._error(message)

    # A worker's default description is the repr of its arguments (the shares): name the work.
    @work(exclusive=True, group="recovery", exit_on_error=False,
          description="open the vault with emergency-kit shares")
    async def open_vault(self, shares: list[str], reason: str, incident: str) -> None:
        app = self.smvault
        self._set_busy(True, "Combining the shares and opening the vault…")
        try:
            await app.vault.unlock_recovery(shares, reason=reason, incident=incident)
        except SmvaultError as exc:
            await self._failed(f"Not opened: {clean(str(exc))}")
            return
        except Exception as exc:  # noqa: BLE001 - shown inline, never a traceback
            app.show_error(exc)
            await self._failed("Not opened.")
            return
        finally:
            shares.clear()
        app.show_main()

    async def _failed(self, message: str) -> None:
        """Said under the form; and the kit is read again: shares of a kit replaced while the
        screen was up fail, and the form must now ask for the new kit's."""
        try:
            kit, problem = await self.smvault.vault.run(kit_info, self.smvault.vault.directory), None
        except SmvaultError as exc:
            kit, problem = None, clean(str(exc))
        if kit != self.kit or problem != self.kit_problem:
            self.prefill_reason = self.query_one("#recovery-reason", Input).value
            self.prefill_incident = self.query_one("#recovery-incident", Input).value
            self.kit, self.kit_problem = kit, problem
            for timer in self._check_timers.values():
                timer.stop()
            self._check_timers.clear()
            self.busy = False
            await self.recompose()
            self._prepare()
            if kit is not None:
                message = message.rstrip(".") + ". The kit was replaced meanwhile: enter the new kit's shares."
            self._error(message)
            return
        self._set_busy(False)
        self._update_summary()
        self._error(message)
        self.query_one("#share-1", Input).focus()

    # -- back -------------------------------------------------------------------------------

    @on(Button.Pressed, "#recovery-back")
    def action_back(self) -> None:
        if self.busy:
            return
        from smvault.ui.screens.unlock import UnlockScreen

        self.clear_shares()  # the screen object outlives the switch: so would its fields' words
        self.app.switch_screen(UnlockScreen())


def field_status(status_id: str) -> Static:
    """The line under the reason or the incident saying what is wrong with it (hidden when nothing is)."""
    status = Static("", id=status_id, classes="field-status")
    status.display = False
    return status


def custodians_text(custodians: tuple[str, ...] | list[str], shown: int) -> str:
    """The first `shown` custodians, comma separated, and how many more there are."""
    names = [clean(c) for c in custodians]
    text = ", ".join(names[:shown])
    rest = len(names) - shown
    return f"{text}, and {rest} more" if rest > 0 else text
