"""The red line across the main screen while break glass is in force.

Two cases, from two sources:
- a recovery session (the vault opened with emergency-kit shares): `Session.break_glass`,
  known on the spot, shown for as long as the session is open;
- emergency access the operator holds (`services.emergency.active_access`): shown with the
  account, the incident and the time left, counted down every tick from `expires_at` by the
  app's clock. The list is read again every REFRESH, and `emergency.sweep` runs every SWEEP
  (and as soon as a countdown reaches zero), so access lapses, and waiting requests activate,
  while the TUI stays open. No service call is made per tick.

A sweep that changed something is announced in a toast (a lapse opens the post-incident
workflow) and tells the other views to reload.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from smvault.domain.errors import UsageError
from smvault.services import emergency
from smvault.services.emergency import EmergencyView
from smvault.ui.literal import clean
from smvault.ui.messages import VaultChanged

if TYPE_CHECKING:
    from smvault.ui.app import SmvaultApp

REFRESH = timedelta(seconds=15)
SWEEP = timedelta(seconds=30)


def time_left_text(left: timedelta) -> str:
    """42:10 (minutes:seconds; minutes go past 60 for long grants)."""
    seconds = max(0, int(left.total_seconds()))
    return f"{seconds // 60}:{seconds % 60:02d}"


def fitting(width: int | None, *lines: str) -> Text:
    """The first of `lines` (longest first) that fits `width` cells, else the last one (the
    stylesheet cuts it with an ellipsis): at 80 columns the banner still says what matters."""
    for line in lines:
        if width is None or cell_len(line) <= width:  # cells, not characters: wide glyphs count twice
            return Text(line)
    return Text(lines[-1])


def recovery_line(incident: str, width: int | None = None) -> Text:
    incident = clean(incident)
    return fitting(width,
                   f"BREAK-GLASS SESSION · incident {incident} · every action is logged · "
                   "locking opens the post-incident workflow",
                   f"BREAK-GLASS · incident {incident} · all logged · locking opens the post-incident workflow",
                   f"BREAK-GLASS · incident {incident} · all logged · lock → post-incident workflow")


def emergency_line(view: EmergencyView, now: datetime, more: int = 0, width: int | None = None) -> Text:
    left = f"{time_left_text(view.time_left(now) or timedelta(0))} left"
    key, incident = clean(view.account.key), clean(view.incident)
    others = f" · +{more} more" if more else ""
    # The time left matters most: when the line is too long it moves to the front.
    return fitting(width,
                   f"EMERGENCY ACCESS · {key} · incident {incident} · {left}{others}",
                   f"EMERGENCY · {key} · incident {incident} · {left}{others}",
                   f"EMERGENCY · {left} · {key} · incident {incident}{others}")


def sweep_note(view: EmergencyView, me: str | None) -> tuple[str, str] | None:
    """What a sweep's change means for the person at the screen: (message, severity)."""
    whose = "" if view.requester == me else f" (requested by {clean(view.requester)})"
    subject = f"Emergency access to {clean(view.account.key)}{whose}, incident {clean(view.incident)}"
    if view.state == "lapsed":
        opened = (f"post-incident workflow {view.post_incident_id} opened"
                  if view.post_incident_id is not None else "post-incident workflow opened")
        return f"{subject}, lapsed: {opened} to rotate what was revealed (Workflows, 5).", "warning"
    if view.state == "active":
        until = f" until {view.expires_at:%H:%M} UTC" if view.expires_at else ""
        return f"{subject}: the wait passed unvetoed, it is active{until}.", "warning"
    return None


class BreakGlassBanner(Static):
    """Hidden unless a recovery session is open or the operator holds emergency access."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, classes="ticks", markup=False)
        self.active: list[EmergencyView] = []
        self.next_refresh: datetime | None = None  # None: read at the next tick
        self.next_sweep: datetime | None = None
        self.polling = False
        self.swept_at_end: set[int] = set()  # ids whose end already triggered a sweep

    @property
    def smvault(self) -> SmvaultApp:
        return cast("SmvaultApp", self.app)

    def on_mount(self) -> None:
        self.display = False
        self.on_clock(self.smvault.clock())

    # -- every tick ------------------------------------------------------------------------

    def on_clock(self, now: datetime) -> None:
        vault = self.smvault.vault
        if not vault.unlocked:
            return
        recovery = vault.break_glass
        if recovery is not None:
            # A recovery session may only read and disclose: it neither sweeps nor holds grants.
            self.show(recovery_line(recovery.incident, self.text_width))
            return
        if not self.polling:
            # A countdown that reached zero sweeps at once (once: if the sweep did not lapse
            # it, the next regular sweep tries again).
            ended = {v.id for v in self.active if (v.time_left(now) or timedelta(0)) <= timedelta(0)}
            lapsing = bool(ended - self.swept_at_end)
            self.swept_at_end |= ended
            sweep = self.next_sweep is None or now >= self.next_sweep or lapsing
            if sweep or self.next_refresh is None or now >= self.next_refresh:
                self.polling = True
                self.run_worker(self._poll(now, sweep), group="break-glass-poll", exit_on_error=False,
                                description="emergency access: sweep and read")
        live = [v for v in self.active if (v.time_left(now) or timedelta(0)) > timedelta(0)]
        if live:
            self.show(emergency_line(live[0], now, len(live) - 1, self.text_width))
        else:
            self.show(None)

    @property
    def text_width(self) -> int | None:
        """Cells for the text (the screen's width less the padding); None before layout."""
        width = self.app.size.width - 2
        return width if width > 0 else None

    def show(self, line: Text | None) -> None:
        if line is None:
            self.display = False
            return
        self.update(line)
        self.display = True

    async def _poll(self, now: datetime, sweep: bool) -> None:
        app = self.smvault
        try:
            if sweep:
                self.next_sweep = now + SWEEP
                changed = await app.vault.call(emergency.sweep)
                me = app.vault.operator_name
                for view in changed:
                    note = sweep_note(view, me)
                    if note is not None:
                        self.notify(note[0], title="Emergency access", severity=note[1],  # type: ignore[arg-type]
                                    markup=False, timeout=12)
                if changed:
                    self.post_message(VaultChanged(self))
            self.next_refresh = now + REFRESH
            active = await app.vault.call(emergency.active_access)
            self.active = sorted(active, key=lambda v: v.expires_at or now)
        except UsageError:
            pass  # locked meanwhile
        except Exception as exc:  # noqa: BLE001 - shown, never raised into the UI
            app.show_error(exc)
        finally:
            self.polling = False
        self.on_clock(app.clock())

    def refresh_now(self) -> None:
        """Read again at the next tick (after this view requested, approved or ended access)."""
        self.next_refresh = None
