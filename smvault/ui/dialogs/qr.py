"""Show a TOTP seed as a QR code, to enrol a new phone. The caller fetched (and so logged) it.

The code is drawn with half blocks, dark on an explicitly light background, with its quiet
zone. Beside it (or below, on a tall narrow terminal) go a warning, the issuer and the
account name read from the URI, and "escape closes" - never the seed as text. When neither
arrangement fits the terminal, a line says how large the terminal must be instead of
showing a cut-off code that would not scan.
"""

from __future__ import annotations

import math

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from smvault.domain.errors import SmvaultError
from smvault.domain.otp import parse_otpauth_uri
from smvault.ui.literal import clean
from smvault.ui.qr_text import qr_lines

WARNING = (
    "Anyone who sees this code can generate this account's codes forever. Make sure nobody is "
    "looking or recording; this display was logged."
)
QR_STYLE = Style(color="#000000", bgcolor="#ffffff")
SIDE_WIDTH = 28  # the text column beside the code
GAP = 2  # between the code and the text column
PADDING = 1  # the dialog's padding on the left and right
STACKED_MIN_WIDTH = 40


def _wrapped(text: str, width: int) -> int:
    """Lines `text` takes when wrapped at `width` (a close estimate: word wrapping)."""
    lines, column = 1, 0
    for word in text.split():
        size = len(word)
        if column and column + 1 + size > width:
            lines, column = lines + 1, size
        else:
            column = column + 1 + size if column else size
        lines += max(0, math.ceil(size / width) - 1)
    return lines


class QrDialog(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, account_key: str, uri: str) -> None:
        super().__init__()
        self.account_key = account_key  # the URI (the seed) is not kept: only its drawing
        self.lines = qr_lines(uri)
        self.code_width = len(self.lines[0]) if self.lines else 0
        self.code_height = len(self.lines)
        try:
            params = parse_otpauth_uri(uri)
            self.issuer, self.label = params.issuer, params.label
        except SmvaultError:
            self.issuer = self.label = None
        self.mode = ""

    # -- what it looks like ------------------------------------------------------------

    def _title(self) -> Text:
        return Text(f"Enrol a device: {clean(self.account_key)}")

    def _identity(self) -> Text:
        text = Text()
        text.append("Issuer: ", style="bold")
        text.append(clean(self.issuer, "(none)"))
        text.append("\n")
        text.append("Account: ", style="bold")
        text.append(clean(self.label, "(none)"))
        return text

    def code_text(self) -> Text:
        return Text("\n".join(self.lines), style=QR_STYLE, no_wrap=True, overflow="crop", end="")

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="qr-dialog"):
            with Horizontal(id="qr-body"):
                yield Static(self.code_text(), id="qr-code")
                with Vertical(id="qr-side"):
                    yield Static(self._title(), classes="dialog-title", id="qr-title")
                    yield Static(Text(WARNING), id="qr-warning")
                    yield Static(self._identity(), id="qr-identity")
                    yield Static(Text("escape closes"), classes="dim")
            yield Static(Text(""), id="qr-too-small")

    # -- fitting it in ---------------------------------------------------------------------

    def side_size(self) -> tuple[int, int]:
        """Terminal size needed with the text beside the code."""
        width = 2 * PADDING + self.code_width + GAP + SIDE_WIDTH
        return width, max(self.code_height, self._text_lines(SIDE_WIDTH))

    def stacked_size(self) -> tuple[int, int]:
        """Terminal size needed with the text below the code."""
        column = max(self.code_width, STACKED_MIN_WIDTH)
        return 2 * PADDING + column, self.code_height + 1 + self._text_lines(column)

    def _text_lines(self, width: int) -> int:
        """Lines the text column takes at `width`: title, warning, identity, 'escape closes',
        with a blank line after each of the first three."""
        identity = sum(_wrapped(line, width) for line in self._identity().plain.split("\n"))
        return _wrapped(self._title().plain, width) + 1 + _wrapped(WARNING, width) + 1 + identity + 1 + 1

    def choose_mode(self, width: int, height: int) -> str:
        for mode, (need_w, need_h) in (("side", self.side_size()), ("stacked", self.stacked_size())):
            if width >= need_w and height >= need_h:
                return mode
        return "too-small"

    def on_mount(self) -> None:
        self._fit(self.app.size.width, self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        mode = self.choose_mode(width, height)
        if mode == self.mode:
            return
        self.mode = mode
        dialog = self.query_one("#dialog")
        dialog.set_class(mode == "side", "-side")
        dialog.set_class(mode == "stacked", "-stacked")
        dialog.set_class(mode == "too-small", "-too-small")
        code = self.query_one("#qr-code", Static)
        side = self.query_one("#qr-side")
        code.styles.width, code.styles.height = self.code_width, self.code_height
        if mode == "side":
            side.styles.width = SIDE_WIDTH
            side.styles.margin = (0, 0, 0, GAP)
        elif mode == "stacked":
            side.styles.width = max(self.code_width, STACKED_MIN_WIDTH)
            side.styles.margin = (1, 0, 0, 0)
        else:
            need_w, need_h = self.side_size()
            self.query_one("#qr-too-small", Static).update(Text(
                f"The QR code for {clean(self.account_key)} does not fit this {width}x{height} terminal: "
                f"enlarge the terminal to at least {need_w}x{need_h} and it appears. escape closes."
            ))

    def action_close(self) -> None:
        self.dismiss(None)
