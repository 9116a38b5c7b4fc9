"""A live one-time code: big digits, a countdown bar, and rollover driven by the app's clock.

The widget never fetches a code itself (every code shown is a logged service call, made by
its view): at each period boundary it posts `LiveCode.NeedsCode` and waits for `next_code`.
Timing only ever comes from `on_clock(now)` (the app's injected clock), so tests advance a
fake clock and tick. After `run_for` seconds it stops ("codes paused — press t").
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Digits, Static

IDLE_TEXT = "press t for live codes (each one is logged)"
PAUSED_TEXT = "codes paused — press t"
BAR_WIDTH = 20


def format_code(code: str) -> str:
    """Codes are read aloud and typed in groups: 482913 -> "482 913"."""
    if code.isdigit() and len(code) in (6, 8):
        half = len(code) // 2
        return f"{code[:half]} {code[half:]}"
    return code


def countdown_bar(left: float, period: float, width: int = BAR_WIDTH) -> str:
    filled = 0 if period <= 0 else max(0, min(width, round(width * left / period)))
    return "█" * filled + "░" * (width - filled)


class LiveCode(Vertical):
    """Shows one code at a time; `.code` is the code on screen (None when none)."""

    DEFAULT_CSS = """
    LiveCode { height: auto; }
    LiveCode > Digits { display: none; width: auto; color: $accent; text-style: bold; }
    LiveCode.-big > Digits { display: block; }
    LiveCode > #code-line { height: auto; }
    """

    class NeedsCode(Message):
        """The shown code has expired: the view should fetch (and log) the next one."""

        def __init__(self, live: LiveCode) -> None:
            super().__init__()
            self.live = live

        @property
        def control(self) -> LiveCode:
            return self.live

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=f"ticks {classes or ''}".strip())
        self.code: str | None = None
        self.kind: str | None = None
        self.period: int | None = None
        self.expires_at: datetime | None = None  # the period boundary (None: HOTP)
        self.stops_at: datetime | None = None
        self.waiting = False  # NeedsCode posted, next_code not yet received
        self.message = IDLE_TEXT

    def compose(self) -> ComposeResult:
        yield Digits("", id="code-digits")
        yield Static(IDLE_TEXT, id="code-line", markup=False)

    def on_mount(self) -> None:
        self._render_state(None)

    @property
    def running(self) -> bool:
        return self.code is not None or self.waiting

    # -- driven by the view ---------------------------------------------------------------

    def start(self, code: str, kind: str, seconds_left: int | None, period: int | None,
              now: datetime, run_for: float) -> None:
        self.kind = kind
        self.period = period
        self.stops_at = now + timedelta(seconds=run_for)
        self.next_code(code, seconds_left, now)

    def next_code(self, code: str, seconds_left: int | None, now: datetime) -> None:
        self.code = code
        self.waiting = False
        self.expires_at = None if seconds_left is None else now + timedelta(seconds=seconds_left)
        if self.period is None and seconds_left is not None and self.kind != "hotp":
            self.period = 30
        self._render_state(now)

    def stop(self, message: str = PAUSED_TEXT) -> None:
        """Drop the code from the screen and say why."""
        self.code = None
        self.waiting = False
        self.expires_at = self.stops_at = None
        self.message = message
        self._render_state(None)

    def clear(self) -> None:
        self.kind = self.period = None
        self.stop(IDLE_TEXT)

    # -- the clock ------------------------------------------------------------------------

    def _on_screen(self) -> bool:
        """False when a hidden tab (or container) holds this widget: nobody sees the code."""
        node = self
        while node is not None and node is not self.screen:
            if not node.display:
                return False
            node = node.parent
        return True

    def on_clock(self, now: datetime) -> None:
        if not self.running:
            return
        if not self._on_screen():
            self.stop()  # never fetch (and log) codes nobody is looking at
            return
        if self.stops_at is not None and now >= self.stops_at:
            self.stop(PAUSED_TEXT if self.kind != "hotp" else "code hidden — press t for the next one")
            return
        if self.code is not None and self.expires_at is not None and now >= self.expires_at:
            # The code on screen is no longer valid: take it off and ask for the next one.
            self.code = None
            self.waiting = True
            self._render_state(now)
            self.post_message(self.NeedsCode(self))
            return
        self._render_state(now)

    # -- drawing --------------------------------------------------------------------------

    def _render_state(self, now: datetime | None) -> None:
        if not self.is_mounted:
            return
        digits = self.query_one("#code-digits", Digits)
        line = self.query_one("#code-line", Static)
        code = self.code
        if code is None:
            digits.update("")
            self.remove_class("-big")
            line.update(Text("next code…" if self.waiting else self.message,
                             style="" if self.waiting else "dim"))
            return
        shown = format_code(code)
        # The 3x3 font only has digits; a Steam code (letters) stays in bold text.
        self.set_class(code.isdigit(), "-big")
        digits.update(shown if code.isdigit() else "")
        text = Text()
        text.append(shown, style="bold")
        if self.expires_at is not None and now is not None:
            left = max(0, math.ceil((self.expires_at - now).total_seconds()))
            text.append("  ")
            text.append(countdown_bar(left, self.period or 30), style="green" if left > 5 else "red")
            text.append(f"  changes in {left} s")
        elif self.kind == "hotp":
            text.append("  HOTP: one code per press (the counter has moved on)")
        if self.stops_at is not None and now is not None and self.kind != "hotp":
            until = max(0, math.ceil((self.stops_at - now).total_seconds()))
            text.append(f" · pauses in {until} s", style="dim")
        line.update(text)
