"""The smvault terminal application: screens, the idle lock, the clipboard, the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from rich.text import Text
from textual import events
from textual.app import App

from smvault.domain.clock import Clock, system_clock
from smvault.domain.errors import SmvaultError
from smvault.services.errors import translate
from smvault.services.kit import KitInfo, kit_info
from smvault.services.vaults import vault_exists
from smvault.ui.backend import Closed, VaultThread
from smvault.ui.commands import bindings
from smvault.ui.literal import clean
from smvault.ui.palette import SmvaultCommands
from smvault.ui.recovery_start import RecoveryStart
from smvault.ui.settings import UiSettings
from smvault.ui.textual_logs import silence_textual_logs

T = TypeVar("T")

_ACTIVITY = (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp, events.Paste)


def error_text(exc: BaseException, internal: str = "") -> str:
    """A failure in words for the screen: a vault error's own text (or what `translate` makes
    of a library's), else only "internal error (Type)" and `internal` after it. Never an unknown
    exception's text: it could quote a value."""
    error = exc if isinstance(exc, SmvaultError) else translate(exc)
    if error is None:
        return f"internal error ({type(exc).__name__}){internal}"
    return clean(str(error))


class SmvaultApp(App[None]):
    CSS_PATH = "smvault.tcss"
    TITLE = "smvault"
    BINDINGS = [*bindings("app")]
    COMMANDS = App.COMMANDS | {SmvaultCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def __init__(
        self,
        directory: Path,
        *,
        operator: str | None = None,
        clock: Clock = system_clock,
        settings: UiSettings | None = None,
        anchor_dir: Path | None = None,
        hint: str | None = None,
        recovery: RecoveryStart | None = None,
    ) -> None:
        super().__init__()
        self.silenced_logs = silence_textual_logs(self)  # secrets never reach Textual's debug log
        self.clock = clock
        self.settings = settings or UiSettings()
        self.anchor_dir = anchor_dir
        self.vault = VaultThread(directory, clock=clock, anchor_dir=anchor_dir)
        self.operator_hint = operator
        self.unlock_hint = hint  # shown on the unlock screen (the demo's published passphrase)
        self.last_activity = clock()
        self.clipboard_what: str | None = None  # what the clipboard holds, never its value
        self.clipboard_clears_at: datetime | None = None
        self.lock_reason: str | None = None
        self.recovery_start = recovery  # `smvault --recovery`: open on the recovery screen, once

    # -- start-up --------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.show_entry_screen()
        self.set_interval(0.5, self.tick)

    def show_entry_screen(self) -> None:
        from smvault.ui.screens.first_run import FirstRunScreen
        from smvault.ui.screens.unlock import UnlockScreen

        if vault_exists(self.vault.directory) and self.recovery_start is not None:
            start, self.recovery_start = self.recovery_start, None
            self.run_worker(self._start_recovery(start), exit_on_error=False,
                            description="read the emergency kit")  # never the start's repr: shares
        elif vault_exists(self.vault.directory):
            self.push_screen(UnlockScreen())
        else:
            self.push_screen(FirstRunScreen())

    def open_vault(self, directory: Path, *, operator: str | None = None, hint: str | None = None) -> None:
        """Point the app at another vault (the first-run screen's demo) and show its unlock screen."""
        from smvault.ui.screens.unlock import UnlockScreen

        old = self.vault
        self.vault = VaultThread(directory, clock=self.clock, anchor_dir=self.anchor_dir)
        old.shutdown()
        self.operator_hint, self.unlock_hint = operator, hint
        self.switch_screen(UnlockScreen())

    async def _start_recovery(self, start: RecoveryStart) -> None:
        """`smvault --recovery` on a terminal: the recovery screen, for the kit read on the vault
        thread, with what the command line gave."""
        from smvault.ui.screens.recovery import RecoveryScreen

        problem = None
        try:
            kit = await self.vault.run(kit_info, self.vault.directory)
        except SmvaultError as exc:  # an unreadable keyring: the screen says so instead of the form
            kit, problem = None, clean(str(exc))
        # Pushed by the app, not from inside this worker (see show_main).
        self.call_later(self.push_screen, RecoveryScreen(kit, kit_problem=problem, reason=start.reason,
                                                         incident=start.incident, shares=start.shares))

    def show_recovery(self, kit: KitInfo) -> None:
        """The recovery (break-glass) screen in place of the unlock screen, for the kit its
        worker read (see show_main: the switch runs on the app)."""
        from smvault.ui.screens.recovery import RecoveryScreen

        self.call_later(self.switch_screen, RecoveryScreen(kit))

    def show_main(self) -> None:
        """Called from the unlock screen's worker: the switch must run on the app, not in a
        worker of the screen it removes (that would cancel itself half way)."""
        self.call_later(self._switch_to_main)

    async def _switch_to_main(self) -> None:
        from smvault.ui.screens.main import MainScreen

        self.last_activity = self.clock()
        self.lock_reason = None
        await self.switch_screen(MainScreen())

    # -- calling the vault -----------------------------------------------------------------

    async def service(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a use case on the vault thread; on failure show why and return None."""
        try:
            return await self.vault.call(fn, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure is shown, none crashes the UI
            self.show_error(exc)
            return None

    def show_error(self, exc: BaseException) -> None:
        self.notify(error_text(exc, "; nothing was changed"), title="Not done", severity="error",
                    markup=False, timeout=8)

    # -- time: reveals, clipboard, idle lock ----------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, _ACTIVITY):
            self.last_activity = self.clock()
        await super().on_event(event)

    async def tick(self) -> None:
        """Twice a second: expire the clipboard, lock when idle, let timed widgets catch up."""
        now = self.clock()
        if self.clipboard_clears_at is not None and now >= self.clipboard_clears_at:
            self.clear_clipboard(announce=True)
        if self.vault.unlocked and now - self.last_activity >= timedelta(seconds=self.settings.idle_seconds):
            await self.lock(f"locked after {int(self.settings.idle_seconds)} s without input")
            return
        for widget in self.screen.query(".ticks"):
            widget.on_clock(now)  # type: ignore[attr-defined]

    def copy_secret(self, text: str, what: str) -> None:
        """Put a secret on the clipboard (OSC 52) and schedule clearing it; say so, without it."""
        self.copy_to_clipboard(text)
        self.clipboard_what = what
        self.clipboard_clears_at = self.clock() + timedelta(seconds=self.settings.clipboard_seconds)
        self.notify(
            f"Copied {what} to the clipboard. It will be cleared at "
            f"{self.clipboard_clears_at:%H:%M:%S} UTC (in {int(self.settings.clipboard_seconds)} s), "
            "and when you lock or quit.",
            title="Copied", markup=False, timeout=6,
        )

    def clear_clipboard(self, announce: bool = False) -> None:
        if self.clipboard_what is None:
            return
        # An empty OSC 52 write replaces the secret; clipboard managers that keep a history
        # are outside our reach (SECURITY.md says so).
        self.copy_to_clipboard("")
        what, self.clipboard_what, self.clipboard_clears_at = self.clipboard_what, None, None
        if announce:
            self.notify(f"Clipboard cleared ({what}).", markup=False, timeout=4)

    # -- locking and quitting --------------------------------------------------------------

    async def lock(self, reason: str = "locked") -> None:
        """Drop every screen that could hold a revealed value and return to the unlock screen."""
        from smvault.ui.screens.unlock import UnlockScreen

        self.clear_clipboard()
        self.lock_reason = reason
        while len(self.screen_stack) > 2:
            self.pop_screen()
        await self.switch_screen(UnlockScreen())
        closed = await self.vault.lock()
        if closed is not None:
            note = self.closed_note(closed)
            self.lock_reason = f"{reason}. {note}"
            self.notify(note, title="Break-glass session closed",
                        severity="error" if closed.error else "warning", markup=False, timeout=20)
            if isinstance(self.screen, UnlockScreen):
                self.screen.show_lock_reason(self.lock_reason)

    def closed_note(self, closed: Closed) -> str:
        """What closing a break-glass session did, in a sentence or two."""
        incident = clean(closed.break_glass.incident)
        if closed.error is not None:
            why = error_text(closed.error)
            return (f"The post-incident workflow of incident {incident} could not be opened now ({why}); "
                    "the next unlock opens it.")
        which = f" {closed.post_incident_id}" if closed.post_incident_id is not None else ""
        return (f"Post-incident workflow{which} opened for incident {incident}: rotate what was revealed, "
                "issue a new kit, review the session's log (Workflows, or smvault incident list).")

    async def action_lock(self) -> None:
        if self.vault.unlocked:
            await self.lock("locked (ctrl+l)")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "lock":
            return self.vault.unlocked
        return True

    def action_help(self) -> None:
        from smvault.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        self.clear_clipboard()
        closed = await self.vault.lock()
        # The screen is gone once the app exits: a break-glass close is said on the terminal.
        self.exit(message=Text(self.closed_note(closed)) if closed is not None else None)

    def _fatal_error(self) -> None:
        """Textual prints a crash's traceback WITH each frame's local variables, which could
        hold a passphrase or a revealed secret: print it without them."""
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None)
        self._exit_renderables.append(Segments(self.console.render(traceback, self.console.options)))
        self._close_messages_no_wait()

    def on_unmount(self) -> None:
        self.clear_clipboard()
        self.vault.shutdown()

