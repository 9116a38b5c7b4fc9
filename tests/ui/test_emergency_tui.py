"""Emergency access in the real app on the demo vault: Accounts (E) requests it, a second
operator approves it in the same-terminal modal, the red banner counts down the time left by
the app's (injected) clock, and when the window is over the app's own sweep lapses it and the
post-incident workflow lists what was revealed. Veto and end from the Workflows tab.

Priya requests (she holds no grant that shows the password of the account below); the demo
operator approves at the same terminal (the demo operator added priya, so priya may not approve
the demo operator's requests: see test_transfer_tui).
"""

from __future__ import annotations

from textual.widgets import Input, Static

from smvault.services import emergency, post_incident, secrets
from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, SECOND_OPERATOR
from smvault.services.session import unlock as unlock_vault
from smvault.store import failures
from smvault.ui.app import SmvaultApp
from smvault.ui.dialogs.approve import ApproveDialog
from smvault.ui.dialogs.confirm import ConfirmDialog
from smvault.ui.dialogs.emergency_request import EmergencyRequestDialog
from smvault.ui.dialogs.step_note import StepNoteDialog
from smvault.ui.screens.main import MainScreen
from smvault.ui.settings import UiSettings
from smvault.ui.views.accounts import AccountsView
from smvault.ui.views.workflows import WorkflowsView
from smvault.ui.widgets.break_glass_banner import BreakGlassBanner
from smvault.ui.widgets.secret_input import SecretInput

from .conftest import DEMO_NOW, head, new_entries, screen_text, unlock, until

ACCOUNT = "instagram:tidewater.us"  # a password and a TOTP seed; priya's grants show neither
REASON = "[b]ads[/b] account hijacked"
INCIDENT = "INC-[red]7"  # markup-looking: must be shown as typed


def session(directory, operator: str = DEMO_OPERATOR):
    return unlock_vault(directory, operator, DEMO_PASSPHRASE.encode(), clock=lambda: DEMO_NOW, check=False)


def priya_app(directory, clock) -> SmvaultApp:
    # No idle lock while the test moves the clock an hour forward.
    return SmvaultApp(directory, operator=SECOND_OPERATOR, clock=clock,
                      settings=UiSettings(idle_seconds=86400))


def record_toasts(app) -> list[str]:
    shown: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        shown.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return shown


def banner_text(app) -> str:
    banner = app.screen.query_one(BreakGlassBanner)
    return str(banner.render()) if banner.display else ""


async def open_account(app, pilot) -> AccountsView:
    await unlock(app, pilot)
    await pilot.press("2")
    view = app.screen.query_one(AccountsView)
    await until(pilot, lambda: view.table.row_count > 0)
    await view.show_account(ACCOUNT)
    await until(pilot, lambda: view.data is not None and view.data.account.key == ACCOUNT)
    return view


async def request(app, pilot, view: AccountsView, minutes: str | None = None) -> EmergencyRequestDialog:
    await until(pilot, lambda: view.check_action("emergency", ()) is True)
    assert view.check_action("reveal", ()) is None  # no grant shows the password
    await pilot.press("E")
    await until(pilot, lambda: isinstance(app.screen, EmergencyRequestDialog))
    dialog = app.screen
    await pilot.press(*REASON, "enter", *INCIDENT)  # enter moved on from the reason
    if minutes is not None:
        dialog.query_one("#emergency-minutes", Input).value = minutes
    return dialog


async def test_request_approve_in_the_modal_banner_counts_down_then_lapses(demo_dir, ui_clock, worker_descriptions):
    before = head(demo_dir)
    app = priya_app(demo_dir, ui_clock)
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_account(app, pilot)
        dialog = await request(app, pilot, view)
        assert dialog.query_one("#emergency-minutes", Input).value == "60"
        await pilot.press("enter")  # with a reason and an incident, enter requests it
        # No waiting period for this tier: the approval modal follows at once.
        await until(pilot, lambda: isinstance(app.screen, ApproveDialog))
        approve = app.screen
        assert approve.approvers == [DEMO_OPERATOR]  # never the requester (unlocked now)
        passphrase = approve.query_one("#approve-passphrase", Input)
        assert isinstance(passphrase, SecretInput) and passphrase.password  # never copied
        assert REASON in screen_text(app) and INCIDENT in screen_text(app)
        assert approve.query_one("#dialog").region.contains_region(approve.query_one("#approve-ok").region)
        after_request = head(demo_dir)
        assert after_request == before + 2  # the unlock and the request

        # A wrong passphrase: said in the modal, field emptied, nothing written.
        await pilot.press(*"not-the-passphrase", "enter")
        await until(pilot, lambda: "Wrong passphrase for demo" in str(approve.query_one("#approve-error").render()))
        assert app.screen is approve and approve.query_one("#approve-passphrase", Input).value == ""
        assert head(demo_dir) == after_request
        assert [(f["operator"], f["reason"]) for f in failures.pending(demo_dir)] == [("demo", "approval")]

        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert any("is active until 10:30 UTC (approved by demo)" in t for t in toasts)
        await until(pilot, lambda: banner_text(app) != "")
        assert banner_text(app) == f"EMERGENCY ACCESS · {ACCOUNT} · incident {INCIDENT} · 60:00 left"
        assert app.screen.query_one(BreakGlassBanner).region.width == 80

        # The grant is real: the password can be revealed now.
        await until(pilot, lambda: view.check_action("reveal", ()) is True)
        await pilot.press("r")
        await until(pilot, lambda: view.pane.password.value is not None)
        revealed = view.pane.password.value

        # The countdown follows the app's clock, tick by tick (no service call per tick).
        ui_clock.advance(minutes=17, seconds=50)
        await until(pilot, lambda: "42:10 left" in banner_text(app))
        assert "42:10 left" in screen_text(app)

        # The end of the window: the app's own sweep lapses it, says so, and the banner goes.
        ui_clock.advance(minutes=42, seconds=11)
        await until(pilot, lambda: any("lapsed" in t for t in toasts), attempts=400)
        await until(pilot, lambda: banner_text(app) == "")
        lapse = next(t for t in toasts if "lapsed" in t)
        assert "post-incident workflow" in lapse and INCIDENT in lapse
        await until(pilot, lambda: view.data is not None and view.check_action("reveal", ()) is None)
        assert view.pane.password.value is None  # nothing stays revealed once the grant is gone

    assert "approve emergency access" in worker_descriptions
    assert not [d for d in worker_descriptions if "not-the-passphrase" in d or DEMO_PASSPHRASE in d]
    assert not [d for d in worker_descriptions if revealed in d]
    actions = [e["action"] for e in new_entries(demo_dir, before)]
    assert actions[:3] == ["vault.unlock", "breakglass.request", "breakglass.approve"]
    assert "secret.reveal" in actions and "breakglass.lapse" in actions
    with session(demo_dir) as s:
        (lapsed,) = [v for v in emergency.emergency_status(s, include_closed=True) if v.account.key == ACCOUNT]
        assert lapsed.state == "lapsed" and lapsed.incident == INCIDENT and lapsed.reason == REASON
        assert lapsed.post_incident_id is not None
        status = post_incident.post_incident_status(s, lapsed.post_incident_id)
        assert [(step.account_key, step.kind) for step in status.steps if step.account_key] == [(ACCOUNT, "rotate-password")]


async def test_veto_and_end_from_the_workflows_tab(demo_dir, ui_clock):
    """Priya requests two accesses; the demo operator (unlocked) vetoes one with a reason;
    priya ends the other (withdraws it before it starts)."""
    other = "tiktok:tidewater.us"
    with session(demo_dir, SECOND_OPERATOR) as s:
        vetoed = emergency.request_access(s, ACCOUNT, reason=REASON, incident=INCIDENT).id
        ended = emergency.request_access(s, other, reason="phone lost", incident="INC-8").id
    before = head(demo_dir)
    app = SmvaultApp(demo_dir, operator=DEMO_OPERATOR, clock=ui_clock, settings=UiSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        await pilot.press("5")
        view = app.screen.query_one(WorkflowsView)
        await until(pilot, lambda: view.table.row_count > 0)
        assert view.table.move_cursor_to_key(vetoed)
        await until(pilot, lambda: view.current is not None and view.current.row.id == vetoed)
        facts = str(app.screen.query_one("#wf-facts", Static).render())
        assert f"Emergency access {vetoed}: {ACCOUNT} for priya · incident {INCIDENT}" in facts
        assert view.check_action("veto", ()) is True and view.check_action("approve", ()) is True
        assert view.check_action("end", ()) is None  # only the requester ends it
        await pilot.press("v")
        await until(pilot, lambda: isinstance(app.screen, StepNoteDialog))
        await pilot.press(*"not during [i]the[/i] incident", "enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: view.current is not None and view.current.state == "vetoed")
        assert "vetoed by demo: not during [i]the[/i] incident" in str(app.screen.query_one("#wf-facts", Static).render())
        for action in ("veto", "end", "approve"):
            assert view.check_action(action, ()) is None
    assert [e["action"] for e in new_entries(demo_dir, before)] == ["vault.unlock", "breakglass.veto"]

    app = SmvaultApp(demo_dir, operator=SECOND_OPERATOR, clock=ui_clock, settings=UiSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        await pilot.press("5")
        view = app.screen.query_one(WorkflowsView)
        await until(pilot, lambda: view.table.row_count > 0)
        assert view.table.move_cursor_to_key(ended)
        await until(pilot, lambda: view.current is not None and view.current.row.id == ended)
        assert view.check_action("end", ()) is True and view.check_action("veto", ()) is None
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")
        await until(pilot, lambda: view.current is not None and view.current.state == "ended")
    with session(demo_dir) as s:
        assert emergency.emergency_status(s, ended)[0].state == "ended"
        assert emergency.emergency_status(s, vetoed)[0].veto_reason == "not during [i]the[/i] incident"


async def test_a_tier_with_a_wait_activates_by_itself_in_the_open_app(demo_dir, ui_clock):
    """A waiting period instead of an approval: no modal, a toast says when it starts and that
    others can veto; the app's sweep activates it when the wait is over and the banner shows."""
    with session(demo_dir) as s:  # the demo operator sets it: a standing approval by them
        emergency.set_wait_policy(s, 2, 15)
    app = priya_app(demo_dir, ui_clock)
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_account(app, pilot)
        await request(app, pilot, view, minutes="30")
        assert "waits 15 min" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: any("starts by itself at 09:45 UTC" in t for t in toasts))
        assert not isinstance(app.screen, ApproveDialog)
        assert banner_text(app) == ""
        ui_clock.advance(minutes=15, seconds=1)
        await until(pilot, lambda: any("the wait passed unvetoed, it is active until 10:15 UTC" in t for t in toasts))
        await until(pilot, lambda: banner_text(app).endswith("29:59 left"))
        await until(pilot, lambda: view.check_action("reveal", ()) is True)
    # What the dialog took (reason, incident, 30 minutes) is what the request holds; the wait
    # started it, nobody approved it.
    with session(demo_dir) as s:
        (started,) = [v for v in emergency.emergency_status(s) if v.account.key == ACCOUNT]
    assert (started.state, started.minutes, started.reason, started.incident) == ("active", 30, REASON, INCIDENT)
    assert started.approval == "wait" and started.approved_by is None and started.requester == SECOND_OPERATOR


async def test_the_demo_operator_approves_as_themself_in_the_workflows_tab(demo_dir, ui_clock):
    """Unlocked and not the requester: approving needs no second passphrase (the approver
    typed theirs to unlock); the requester's red banner is not the approver's."""
    with session(demo_dir, SECOND_OPERATOR) as s:
        wanted = emergency.request_access(s, ACCOUNT, reason=REASON, incident=INCIDENT, minutes=20).id
    app = SmvaultApp(demo_dir, operator=DEMO_OPERATOR, clock=ui_clock, settings=UiSettings())
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        await pilot.press("5")
        view = app.screen.query_one(WorkflowsView)
        await until(pilot, lambda: view.table.row_count > 0)
        assert view.table.move_cursor_to_key(wanted)
        await until(pilot, lambda: view.current is not None and view.current.row.id == wanted)
        assert "Waiting for approval: a approves it; v vetoes it." in str(app.screen.query_one("#wf-guard").render())
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Approve, as demo, emergency access to instagram:tidewater.us for priya" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: view.current is not None and view.current.state == "active")
        facts = str(app.screen.query_one("#wf-facts", Static).render())
        assert "approved by demo" in facts and "(20:00 left)" in facts
        # Narrow (80 columns) the facts wrap rather than lose the time left and the reason.
        shown = " ".join(screen_text(app).split())
        assert "(20:00 left)" in shown and f"reason: {REASON}" in shown
        await pilot.pause(0.6)
        assert banner_text(app) == ""  # it is priya's access, not the demo operator's
    with session(demo_dir) as s:
        approved = emergency.emergency_status(s, wanted)[0]
        assert approved.state == "active" and approved.approved_by == DEMO_OPERATOR and approved.approval == "cli"


async def test_post_incident_workflow_worked_in_the_workflows_tab(demo_dir, ui_clock):
    """After an emergency grant priya used and ended: the demo operator sees the post-incident
    workflow, cannot close it with steps open without a reason, resolves the review with a note
    and the rotation with a note (done on the platform), then closes it."""
    with session(demo_dir, SECOND_OPERATOR) as s:
        request_id = emergency.request_access(s, ACCOUNT, reason=REASON, incident=INCIDENT).id
    with session(demo_dir) as s:
        emergency.approve_access(s, request_id)
    with session(demo_dir, SECOND_OPERATOR) as s:
        secrets.reveal(s, ACCOUNT, "password")
        workflow_id = emergency.end_access(s, request_id).post_incident_id
    assert workflow_id is not None
    before = head(demo_dir)
    app = SmvaultApp(demo_dir, operator=DEMO_OPERATOR, clock=ui_clock, settings=UiSettings())
    toasts = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        await pilot.press("5")
        view = app.screen.query_one(WorkflowsView)
        await until(pilot, lambda: view.table.row_count > 0)
        assert view.table.move_cursor_to_key(workflow_id)
        await until(pilot, lambda: view.current is not None and view.current.row.id == workflow_id)
        assert f"Post-incident {workflow_id}: incident {INCIDENT}" in str(app.screen.query_one("#wf-facts").render())
        assert [(s.kind, s.account_key) for s in view.current.steps] == [
            ("rotate-password", ACCOUNT), ("review-log", None)]
        guard = str(app.screen.query_one("#wf-guard").render())
        assert "2 steps open: p rotates a password, n notes a step done" in guard

        # c with steps open: the override dialog; escape closes nothing.
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, StepNoteDialog))
        assert "2 steps still open" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))

        view.steps_table.focus()
        for position, note in ((1, "rotated on Instagram by [b]Priya[/b]"), (2, "log read: one reveal")):
            assert view.steps_table.move_cursor_to_key(position)
            await until(pilot, lambda: view.current_step is not None and view.current_step.position == position)
            assert view.check_action("note", ()) is True
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, StepNoteDialog))
            await pilot.press(*note, "enter")
            await until(pilot, lambda: isinstance(app.screen, MainScreen))
            await until(pilot, lambda: next(s for s in view.current.steps if s.position == position).done)
        assert view.steps_table.move_cursor_to_key(1)
        await until(pilot, lambda: "rotated on Instagram by [b]Priya[/b]" in str(app.screen.query_one("#wf-step").render()))
        assert "Every step is done: c closes it." in str(app.screen.query_one("#wf-guard").render())
        await pilot.press("c")
        await until(pilot, lambda: view.current is not None and view.current.state == "closed")
        assert any(f"Closed post-incident {workflow_id}" in t for t in toasts)
    assert [e["action"] for e in new_entries(demo_dir, before)] == [
        "vault.unlock", "post-incident.step", "post-incident.step", "post-incident.close"]
    with session(demo_dir) as s:
        assert post_incident.post_incident_status(s, workflow_id).state == "closed"


def test_banner_lines_fit_the_width_time_left_first_when_short():
    from smvault.ui.widgets.break_glass_banner import emergency_line, recovery_line

    assert recovery_line("INC-1", 200).plain == (
        "BREAK-GLASS SESSION · incident INC-1 · every action is logged · locking opens the post-incident workflow")
    assert len(recovery_line("INC-1", 78).plain) <= 78
    from datetime import timedelta

    from smvault.domain.models import Account

    account = Account(id=1, platform="instagram", handle="x" * 40)
    view = emergency.EmergencyView(
        id=1, account=account, requester="priya", state="active", reason="r", incident="INC-22", minutes=60,
        requested_at=DEMO_NOW, wait_until=None, approved_by="demo", starts_at=DEMO_NOW,
        expires_at=DEMO_NOW + timedelta(minutes=30), vetoed_by=None, post_incident_id=None)
    assert emergency_line(view, DEMO_NOW, width=200).plain.startswith("EMERGENCY ACCESS · instagram:")
    assert emergency_line(view, DEMO_NOW, width=78).plain.startswith("EMERGENCY · 30:00 left · instagram:")
    assert emergency_line(view, DEMO_NOW, 2, width=200).plain.endswith("30:00 left · +2 more")
    # Measured in cells: an incident id in wide characters takes two cells a character.
    from smvault.ui.widgets.break_glass_banner import fitting

    assert fitting(10, "事件事件事件", "short").plain == "short"
    assert fitting(12, "事件事件事件", "short").plain == "事件事件事件"


async def test_E_is_offered_only_where_emergency_access_could_be_asked_for(demo_dir, ui_clock):
    """Not where the operator can reveal the password already, not on a retired account, and
    not twice: with a request of theirs open for the account (the service allows one)."""
    revealable, retired, other = "instagram:northwind", "x:tidewaterlaunch22", "tiktok:tidewater.us"
    with session(demo_dir, SECOND_OPERATOR) as s:
        pending = emergency.request_access(s, ACCOUNT, reason=REASON, incident=INCIDENT).id
    app = priya_app(demo_dir, ui_clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        await pilot.press("2")
        view = app.screen.query_one(AccountsView)
        await until(pilot, lambda: view.table.row_count > 0)
        offered = {}
        for key in (ACCOUNT, revealable, retired, other):
            await view.show_account(key)
            await until(pilot, lambda: view.data is not None and view.data.account.key == key)
            offered[key] = (view.data.abilities.password, view.data.account.status.value,
                            view.check_action("emergency", ()))
        assert offered == {
            ACCOUNT: (False, "active", None),  # request `pending` is open: a, v, e in Workflows
            revealable: (True, "active", None),
            retired: (False, "retired", None),
            other: (False, "active", True),
        }
        assert view.open_request is None
        await view.show_account(ACCOUNT)
        await until(pilot, lambda: view.data is not None and view.data.account.key == ACCOUNT)
        assert view.open_request == pending
        await pilot.press("E")  # greyed out: nothing opens
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
