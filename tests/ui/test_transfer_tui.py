"""Walking an ownership transfer in the real app on the demo vault: Accounts (T) requests it,
the Workflows tab approves it under dual control (a second operator's passphrase in a modal),
works its steps (notes, a password rotation) and closes it; the account gets its new owner.

Priya unlocks and requests; the demo operator approves at the same terminal. (Not the other
way round: the demo operator added priya, so chose her first passphrase, and the transfer
rules refuse an approver added by the requester.)

Each flow checks the screen and the vault: the log gains exactly the expected entries.
"""

from __future__ import annotations

from textual.widgets import Input, Select, Static

from smvault.services import accounts, people, transfer
from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, SECOND_OPERATOR
from smvault.services.session import unlock as unlock_vault
from smvault.store import failures
from smvault.ui.app import SmvaultApp
from smvault.ui.dialogs.approve import ApproveDialog
from smvault.ui.dialogs.confirm import ConfirmDialog
from smvault.ui.dialogs.grant_add import Chooser
from smvault.ui.dialogs.start_transfer import StartTransferDialog
from smvault.ui.dialogs.step_note import StepNoteDialog
from smvault.ui.screens.main import MainScreen
from smvault.ui.views.accounts import AccountsView
from smvault.ui.settings import UiSettings
from smvault.ui.views.workflows import WorkflowsView

from .conftest import DEMO_NOW, head, new_entries, screen_text, unlock, until

# A LinkedIn page priya manages, whose MFA is not TOTP (so the re-enrol steps take notes);
# it goes to the AMER lead.
ACCOUNT = "linkedin:northwind-us"
NEW_OWNER = "camila.reyes@northwind.example"


def session(directory):
    return unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=lambda: DEMO_NOW, check=False)


def priya_app(directory, clock) -> SmvaultApp:
    """The app with priya picked on the unlock screen (the demo's passphrase opens both)."""
    return SmvaultApp(directory, operator=SECOND_OPERATOR, clock=clock, settings=UiSettings())


def record_toasts(app) -> list[str]:
    """Every toast's text, kept (the app drops a toast after its timeout, in real time)."""
    shown: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        shown.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return shown


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def request_transfer(app, pilot) -> WorkflowsView:
    """Accounts -> the account -> T -> the new owner -> the Workflows tab shows the request."""
    await unlock(app, pilot)
    await pilot.press("2")
    view = app.screen.query_one(AccountsView)
    await until(pilot, lambda: view.table.row_count > 0)
    await pilot.press("slash", *"northwind-us", "escape")
    await until(pilot, lambda: view.key == ACCOUNT and view.check_action("transfer", ()) is True)
    await pilot.press("T")
    await until(pilot, lambda: isinstance(app.screen, StartTransferDialog))
    dialog = app.screen
    chooser = dialog.query_one(Chooser)
    await until(pilot, lambda: chooser.loaded)
    await pilot.press(*"camila.reyes")
    assert chooser.selected == NEW_OWNER
    assert dialog.query_one("#transfer-template", Select).value == "default"
    assert "linkedin (this platform's own)" in screen_text(app)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, MainScreen))
    workflows = app.screen.query_one(WorkflowsView)
    await until(pilot, lambda: app.screen.active_view is workflows and workflows.current is not None)
    return workflows


async def test_walk_a_transfer_from_request_to_close(demo_dir, ui_clock, worker_descriptions):
    with session(demo_dir) as s:
        old_owner = accounts.account_detail(s, ACCOUNT).account.owner_id
    before = head(demo_dir)
    app = priya_app(demo_dir, ui_clock)
    notified = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await request_transfer(app, pilot)
        shown = view.current
        assert shown.kind == "transfer" and shown.state == "requested"
        assert text_of(app, "#wf-facts").startswith(f"Transfer {shown.row.id}: {ACCOUNT} → Camila Reyes")
        assert "not approved yet" in text_of(app, "#wf-guard")
        assert view.check_action("approve", ()) is True
        assert view.check_action("note", ()) is None  # nothing is worked before the approval
        assert view.check_action("revoke_grants", ()) is None  # offboarding only
        after_request = head(demo_dir)

        # a: the approval modal never offers the operator unlocked now (the requester).
        assert app.vault.operator_name == SECOND_OPERATOR
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ApproveDialog))
        dialog = app.screen
        assert dialog.approvers == [DEMO_OPERATOR]
        assert SECOND_OPERATOR not in dialog.approvers
        box = dialog.query_one("#dialog").region
        assert box.contains_region(dialog.query_one("#approve-ok").region)  # fits 80x24
        # A wrong passphrase is refused inline, the field is emptied, and nothing is written.
        await pilot.press(*"not-the-passphrase", "enter")
        await until(pilot, lambda: "Wrong passphrase for demo" in text_of(app, "#approve-error"))
        assert app.screen is dialog and dialog.query_one("#approve-passphrase", Input).value == ""
        assert head(demo_dir) == after_request
        # The failed attempt is noted beside the vault, as a failed unlock is.
        assert [(f["operator"], f["reason"]) for f in failures.pending(demo_dir)] == [("demo", "approval")]
        # The demo operator's own passphrase approves it.
        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: view.current is not None and view.current.state == "approved")
        assert f"approved by {DEMO_OPERATOR} at the same terminal" in text_of(app, "#wf-facts")
        # Textual logs worker descriptions: the approval's names the work, not its arguments.
        assert "approve a transfer" in worker_descriptions
        assert not [d for d in worker_descriptions if "not-the-passphrase" in d or DEMO_PASSPHRASE in d]
        assert view.check_action("approve", ()) is None

        # The steps: notes for platform work, p for the password; the last one is the close.
        view.steps_table.focus()
        notes, seen = [], []
        for line in view.current.steps:
            if line.done or line.kind == "update-root-of-control":
                continue
            assert view.steps_table.move_cursor_to_key(line.position)
            await until(pilot, lambda: view.current_step is not None and view.current_step.position == line.position)
            if line.kind == "rotate-password":
                assert view.check_action("rotate", ()) is True and view.check_action("note", ()) is None
                await pilot.press("p")
                await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
                await pilot.press("enter")
            else:
                assert view.check_action("note", ()) is True
                await pilot.press("n")
                await until(pilot, lambda: isinstance(app.screen, StepNoteDialog))
                note = f"done on LinkedIn: step {line.position}"
                notes.append(note)
                await pilot.press(*note, "enter")
            await until(pilot, lambda: isinstance(app.screen, MainScreen))
            await until(pilot, lambda: next(s for s in view.current.steps if s.position == line.position).done)
            seen.append(screen_text(app))
        seen += notified
        assert any("Rotated the password of " + ACCOUNT in text for text in seen)
        assert "Nothing blocks closing" in text_of(app, "#wf-guard")

        # c: closes it at once (no blockers), and the account has its new owner.
        await pilot.press("c")
        await until(pilot, lambda: view.current is not None and view.current.state == "closed")
        assert all(s.done for s in view.current.steps)
        for action in ("note", "close", "approve", "rotate"):
            assert view.check_action(action, ()) is None

    entries = new_entries(demo_dir, before)
    actions = [e["action"] for e in entries]
    # The wrong passphrase is logged by the next unlock (the app's own, here none came after).
    assert actions[:3] == ["vault.unlock", "transfer.start", "transfer.approve"]
    assert actions[-1] == "transfer.close"
    assert sorted(actions[3:-1]) == sorted(["transfer.step"] * len(notes) + ["secret.password.set"])
    assert entries[2]["op"] == SECOND_OPERATOR
    assert entries[2]["detail"]["approver"] == DEMO_OPERATOR and entries[2]["detail"]["how"] == "same-terminal"
    assert [e["detail"]["note"] for e in entries if e["action"] == "transfer.step"] == notes
    with session(demo_dir) as s:
        account = accounts.account_detail(s, ACCOUNT).account
        camila = people.person_detail(s, NEW_OWNER).person
        status = transfer.transfer_status(s, ACCOUNT)
        assert status.state == "closed" and status.to_email == NEW_OWNER
        assert old_owner != camila.id and account.owner_id == camila.id
        new_password, _rotated = s.vault.secrets.password(account.id)
    assert new_password and not any(new_password in text for text in seen)  # stored, never shown


async def test_closing_a_requested_transfer_shows_its_blockers_and_changes_nothing(demo_dir, ui_clock):
    app = priya_app(demo_dir, ui_clock)
    notified = record_toasts(app)
    async with app.run_test(size=(80, 24)) as pilot:
        view = await request_transfer(app, pilot)
        after_request = head(demo_dir)
        assert view.check_action("close", ()) is True
        await pilot.press("c")
        await until(pilot, lambda: any("cannot close" in text for text in notified))
        assert view.current.state == "requested"
        assert head(demo_dir) == after_request
