"""Break glass from the unlock screen, in the real app on the demo vault with a real 3-of-5 kit:
each share is checked as it is pasted or typed (a mistyped word is named, a share twice is
refused), Open needs a reason, an incident and three valid shares (two never do), the red
banner stays up while the session is open, and locking opens the post-incident workflow that
lists the password revealed. Share words never reach a worker's description, user text is
shown as typed, and the screen fits 80x24.
"""

from __future__ import annotations

from shamir_mnemonic.wordlist import WORDLIST
from textual import events
from textual.widgets import Button, Footer, Input, Static

from smvault.services import kit, people
from smvault.services.demo import DEMO_OPERATOR, DEMO_PASSPHRASE, TOUR
from smvault.services.post_incident import post_incident_status, post_incidents
from smvault.services.session import unlock as unlock_vault
from smvault.ui.screens.main import MainScreen
from smvault.ui.screens.recovery import RecoveryScreen
from smvault.ui.screens.unlock import UnlockScreen
from smvault.ui.views.accounts import AccountsView
from smvault.ui.widgets.break_glass_banner import BreakGlassBanner

from .conftest import DEMO_NOW, head, new_entries, screen_text, until

ACCOUNT = TOUR["totp"]  # instagram:northwind: a password in the vault
ODD_CUSTODIAN = "[red]kit[/red]@northwind.example"  # markup-looking, yet a valid address
CUSTODIANS = ["helen.achebe@northwind.example", "priya.raman@northwind.example", ODD_CUSTODIAN,
              "camila.reyes@northwind.example", "demo.operator@northwind.example"]
REASON = "[b]both[/b] operators locked out"
INCIDENT = "INC-[red]9"


def session(directory):
    return unlock_vault(directory, DEMO_OPERATOR, DEMO_PASSPHRASE.encode(), clock=lambda: DEMO_NOW, check=False)


def make_kit(directory) -> list[str]:
    """A 3-of-5 kit on the demo vault; its shares in custodian order."""
    with session(directory) as s:
        people.add_person(s, "[b]Kit[/b] Holder", ODD_CUSTODIAN)
        made = kit.create_kit(s, CUSTODIANS, 3)
        return [sheet.mnemonic for sheet in made.sheets]


def mistype(share: str, position: int) -> str:
    """The share with word `position` (1-based) replaced by another real SLIP-39 word."""
    words = share.split()
    index = WORDLIST.index(words[position - 1])
    words[position - 1] = WORDLIST[(index + 1) % len(WORDLIST)]
    return " ".join(words)


def as_sheet_lines(share: str) -> str:
    """How a share comes off a sheet: several lines (Input alone keeps only the first)."""
    words = share.split()
    return "\n".join(" ".join(words[i:i + 5]) for i in range(0, len(words), 5)) + "\n"


def status(app, number: int) -> str:
    return str(app.screen.query_one(f"#share-{number}-status", Static).render())


def open_button(app) -> Button:
    return app.screen.query_one("#recovery-open", Button)


async def paste(app, pilot, number: int, text: str) -> None:
    field = app.screen.query_one(f"#share-{number}", Input)
    field.value = ""
    field.focus()
    field.post_message(events.Paste(text))
    await pilot.pause()


async def to_recovery(app, pilot) -> RecoveryScreen:
    await pilot.pause()
    assert isinstance(app.screen, UnlockScreen)
    assert "Break glass" in screen_text(app) and "^g" in screen_text(app)  # button and footer
    await pilot.press("ctrl+g")  # the passphrase field has the focus: the key still works
    await until(pilot, lambda: isinstance(app.screen, RecoveryScreen))
    await pilot.pause()
    return app.screen


async def test_break_glass_from_the_unlock_screen_then_lock_opens_the_post_incident_workflow(
        demo_dir, make_app, worker_descriptions):
    shares = make_kit(demo_dir)
    before = head(demo_dir)
    app = make_app(demo_dir)
    toasts: list[str] = []
    notify = app.notify
    app.notify = lambda message, *a, **k: (toasts.append(str(message)), notify(message, *a, **k))[1]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_recovery(app, pilot)
        text = screen_text(app)
        assert "3 of 5 shares open the vault" in text and ODD_CUSTODIAN in text
        assert [field.password for field in screen.query(".share")] == [True, True, True]  # masked
        assert open_button(app).disabled

        await pilot.press(*REASON, "enter", *INCIDENT, "enter")
        assert app.screen.query_one("#share-1", Input).has_focus

        # A mistyped word, pasted as the sheet's lines: named by position; Open stays disabled.
        await paste(app, pilot, 1, as_sheet_lines(mistype(shares[0], 7)))
        await until(pilot, lambda: "word 7 looks mistyped" in status(app, 1))
        assert status(app, 1) == "share 1: the checksum fails: word 7 looks mistyped"
        assert open_button(app).disabled
        # A word that is no SLIP-39 word at all.
        await paste(app, pilot, 1, shares[0].replace(shares[0].split()[2], "qqqq", 1))
        await until(pilot, lambda: "not a SLIP-39 word" in status(app, 1))
        assert status(app, 1) == "share 1: word 3 is not a SLIP-39 word"

        # The right share 1 (custodian 3, the odd address, shown as typed), then share 2 twice.
        await paste(app, pilot, 1, as_sheet_lines(shares[2]))
        await until(pilot, lambda: status(app, 1).endswith("✓"))
        assert status(app, 1) == f"share 1: member 3 of 5 ({ODD_CUSTODIAN}) ✓"
        await paste(app, pilot, 2, shares[0])
        await paste(app, pilot, 3, shares[0])
        await until(pilot, lambda: "same share" in status(app, 3))
        assert status(app, 3) == "shares 2 and 3 are the same share (member 1)"
        # Two valid shares of three: Open stays disabled whatever is pressed.
        assert open_button(app).disabled
        assert "2 of 3 shares valid. Needs 1 more valid share." in screen_text(app)
        app.screen.query_one("#share-3", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RecoveryScreen) and not app.vault.unlocked

        # Share 3 typed word by word, shown while typing (the toggle), then masked again.
        await pilot.click("#recovery-show")
        assert [field.password for field in screen.query(".share")] == [False, False, False]
        field = app.screen.query_one("#share-3", Input)
        field.value = ""
        field.focus()
        await pilot.press(*shares[4])
        await until(pilot, lambda: status(app, 3).endswith("✓"))
        assert shares[4].split()[-1] in screen_text(app)  # shown (the field shows its end): chosen so
        await until(pilot, lambda: not open_button(app).disabled)
        assert "Open (break glass)" in screen_text(app)  # the buttons fit at 80x24

        await pilot.click("#recovery-open")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), attempts=500)
        assert app.vault.break_glass is not None and app.vault.break_glass.incident == INCIDENT
        banner = app.screen.query_one(BreakGlassBanner)
        await until(pilot, lambda: banner.display)
        # The long form does not fit 80 columns: the short one says all of it (78 cells).
        assert str(banner.render()) == f"BREAK-GLASS · incident {INCIDENT} · all logged · lock → post-incident workflow"
        assert f"incident {INCIDENT} · all logged · lock → post-incident workflow" in screen_text(app)

        # It reveals any password; it changes nothing (the account's write keys are off).
        await pilot.press("2")
        view = app.screen.query_one(AccountsView)
        await until(pilot, lambda: view.table.row_count > 0)
        await view.show_account(ACCOUNT)
        await until(pilot, lambda: view.data is not None and view.data.account.key == ACCOUNT)
        for action in ("add_grant", "transfer", "emergency"):
            assert view.check_action(action, ()) is None
        assert view.check_action("reveal", ()) is True
        await pilot.press("r")
        await until(pilot, lambda: view.pane.password.value is not None)
        revealed = view.pane.password.value
        assert banner.display and banner.region.y == 1  # under the status line, above the tabs

        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen) and any(
            "Post-incident workflow" in t for t in toasts))
        note = next(t for t in toasts if "Post-incident workflow" in t)
        assert f"for incident {INCIDENT}" in note
        await until(pilot, lambda: "Post-incident workflow" in screen_text(app))
        # The three-line note still leaves the unlock box whole at 80x24 (bottom border included).
        await pilot.pause()
        box = app.screen.query_one("#unlock-box")
        assert box.region.bottom <= app.screen.query_one(Footer).region.y
        assert box.region.contains_region(app.screen.query_one("#break-glass").region)

    # Nothing secret ever named a worker: no share, no word run, no password.
    assert "open the vault with emergency-kit shares" in worker_descriptions
    assert "check share 1" in worker_descriptions
    for description in worker_descriptions:
        for share in shares:
            assert " ".join(share.split()[:3]) not in description
        assert revealed not in description
    entries = new_entries(demo_dir, before)
    assert [e["action"] for e in entries][:1] == ["breakglass.unlock"]
    assert all(e.get("bg", {}).get("incident") == INCIDENT for e in entries)
    unlock_entry = entries[0]
    assert unlock_entry["detail"]["reason"] == REASON and sorted(unlock_entry["detail"]["members"]) == [1, 3, 5]
    # No run of three consecutive words of any share (single words are common English words).
    logged = str(entries)
    for share in shares:
        words = share.split()
        assert not any(" ".join(words[i:i + 3]) in logged for i in range(len(words) - 2))
    with session(demo_dir) as s:
        (row,) = post_incidents(s)
        assert row.incident == INCIDENT
        steps = post_incident_status(s, row.workflow_id).steps
        assert [(step.kind, step.account_key) for step in steps] == [
            ("rotate-password", ACCOUNT), ("new-kit", None), ("review-log", None)]


async def test_without_a_kit_break_glass_says_how_to_make_one(demo_dir, make_app):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.click("#break-glass")
        await until(pilot, lambda: "no emergency kit" in str(app.screen.query_one("#unlock-error").render()))
        assert "smvault kit create" in screen_text(app)
        assert isinstance(app.screen, UnlockScreen)


async def test_wrong_kit_shares_open_nothing_and_the_fields_are_cleared(demo_dir, make_app, tmp_path):
    """Shares of a replaced kit are named as such; and when opening fails anyway (the kit was
    replaced while the screen was up), the error is shown, the fields are emptied, nothing opens."""
    old = make_kit(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_recovery(app, pilot)
        await pilot.press(*"r", "enter", *"INC-1")
        for number, share in enumerate(old[:3], start=1):
            await paste(app, pilot, number, share)
        await until(pilot, lambda: not open_button(app).disabled)
        with session(demo_dir) as s:  # a new kit, made elsewhere meanwhile
            new = [sheet.mnemonic for sheet in kit.create_kit(s, CUSTODIANS[:3], 2).sheets]
        await pilot.click("#recovery-open")
        await until(pilot, lambda: "Not opened" in str(app.screen.query_one("#recovery-error").render()))
        assert isinstance(app.screen, RecoveryScreen) and not app.vault.unlocked
        # The kit was read again: the form now asks for the new kit's two shares, and says why.
        await until(pilot, lambda: len(app.screen.query(".share")) == 2)
        assert [f.value for f in app.screen.query(".share")] == ["", ""]
        assert "2 of 3 shares open the vault" in screen_text(app)
        assert "The kit was replaced meanwhile" in str(app.screen.query_one("#recovery-error").render())
        assert app.screen.query_one("#recovery-reason", Input).value == "r"  # what was typed stays
        await paste(app, pilot, 1, old[0])
        await until(pilot, lambda: "not from this vault's current emergency kit" in status(app, 1))
        assert new[0] not in screen_text(app)
        await paste(app, pilot, 1, new[0])
        await paste(app, pilot, 2, new[2])
        await until(pilot, lambda: not open_button(app).disabled)


async def test_smvault_recovery_starts_on_the_recovery_screen_with_what_the_command_line_gave(
        demo_dir, ui_clock, worker_descriptions):
    """`smvault --recovery --share-file ... --reason ... --incident ...` on a terminal: the app
    opens on the recovery screen with everything filled in and checked; Open still needs a
    person to press it."""
    from smvault.ui.app import SmvaultApp
    from smvault.ui.recovery_start import RecoveryStart
    from smvault.ui.settings import UiSettings

    shares = make_kit(demo_dir)
    start = RecoveryStart(REASON, INCIDENT, [as_sheet_lines(shares[1]), shares[3]])
    assert shares[1].split()[0] not in repr(start)
    app = SmvaultApp(demo_dir, clock=ui_clock, settings=UiSettings(), recovery=start)
    async with app.run_test(size=(80, 24)) as pilot:
        # Pushed once the kit is read (on the vault thread): wait for its form too.
        await until(pilot, lambda: isinstance(app.screen, RecoveryScreen) and bool(app.screen.query(".share-status")))
        await until(pilot, lambda: status(app, 1).endswith("✓") and status(app, 2).endswith("✓"))
        assert app.screen.query_one("#recovery-reason", Input).value == REASON
        assert app.screen.query_one("#share-3", Input).has_focus
        assert open_button(app).disabled and not app.vault.unlocked
        await paste(app, pilot, 3, shares[0])
        await until(pilot, lambda: not open_button(app).disabled)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), attempts=500)
        assert app.vault.break_glass.members == (2, 4, 1)
        # Escape-free exit: quitting closes the session and says what its close opened.
        exits: list = []
        real_exit = app.exit
        app.exit = lambda *a, **k: (exits.append(k.get("message")), real_exit(*a, **k))[1]
        await pilot.press("ctrl+q")
    assert app.recovery_start is None
    for description in worker_descriptions:
        assert " ".join(shares[1].split()[:3]) not in description
    with session(demo_dir) as s:
        (row,) = post_incidents(s)
    assert row.incident == INCIDENT
    (message,) = exits
    assert str(message) == (f"Post-incident workflow {row.workflow_id} opened for incident {INCIDENT}: rotate what "
                            "was revealed, issue a new kit, review the session's log (Workflows, or smvault "
                            "incident list).")


async def test_idle_on_the_recovery_screen_empties_the_share_fields_and_masks_them(demo_dir, make_app, ui_clock):
    shares = make_kit(demo_dir)
    app = make_app(demo_dir, idle_seconds=60)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_recovery(app, pilot)
        await pilot.press(*"r", "enter", *"INC-1")
        await paste(app, pilot, 1, shares[0])
        await paste(app, pilot, 2, shares[1])
        await pilot.click("#recovery-show")
        await until(pilot, lambda: status(app, 2).endswith("✓"))
        ui_clock.advance(seconds=59)  # not yet idle long enough
        await pilot.pause(0.6)
        assert [f.value for f in screen.query(".share")] == [shares[0], shares[1], ""]
        ui_clock.advance(seconds=2)
        await until(pilot, lambda: [f.value for f in screen.query(".share")] == ["", "", ""])
        assert [f.password for f in screen.query(".share")] == [True, True, True]
        assert not screen.query_one("#recovery-show").value
        notice = str(screen.query_one("#recovery-error").render())
        assert notice.startswith("Share fields cleared (and the words masked) after 60 s without input")
        assert "Share fields cleared" in screen_text(app)
        assert screen.query_one("#recovery-reason", Input).value == "r"  # not secret: kept
        await pilot.pause()
        assert "0 of 3 shares valid" in screen_text(app) and open_button(app).disabled
        # Typing again: the notice goes.
        await paste(app, pilot, 1, shares[0])
        await until(pilot, lambda: not screen.query_one("#recovery-error").display)


async def test_back_empties_the_share_fields(demo_dir, make_app):
    shares = make_kit(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_recovery(app, pilot)
        await paste(app, pilot, 1, shares[0])
        fields = list(screen.query(".share"))
        assert fields[0].value == shares[0]
        await pilot.click("#recovery-back")
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen))
        assert [f.value for f in fields] == ["", "", ""]  # the old screen's widgets hold no words


async def test_a_share_check_finishing_after_an_edit_is_dropped(demo_dir, make_app):
    """The check of a share that was edited meanwhile must not mark the new text valid."""
    shares = make_kit(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_recovery(app, pilot)
        await pilot.press(*"r", "enter", *"INC-1")
        await paste(app, pilot, 1, shares[0])
        await paste(app, pilot, 2, shares[1])
        await paste(app, pilot, 3, shares[2])
        await until(pilot, lambda: not open_button(app).disabled)
        stale = screen.fields[2].version
        await paste(app, pilot, 3, mistype(shares[2], 4))  # edited: its own check is coming
        await screen._check(3, stale, shares[2])  # the earlier text's check arrives late
        assert screen.fields[2].check is None and open_button(app).disabled
        assert not status(app, 3).endswith("✓")
        await until(pilot, lambda: "word 4 looks mistyped" in status(app, 3))
        assert open_button(app).disabled


async def test_break_glass_is_in_the_command_palette_of_the_unlock_screen(demo_dir, make_app):
    make_kit(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, UnlockScreen)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"break glass")
        await until(pilot, lambda: "Break glass (ctrl+g)" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RecoveryScreen), attempts=300)


async def test_the_kit_is_read_on_the_vault_thread_never_the_event_loop(demo_dir, make_app, monkeypatch):
    import threading

    from smvault.ui import app as app_module
    from smvault.ui.screens import recovery as recovery_module
    from smvault.ui.screens import unlock as unlock_module

    make_kit(demo_dir)
    threads: list[str] = []
    for module in (app_module, recovery_module, unlock_module):
        if hasattr(module, "kit_info"):
            real = module.kit_info
            monkeypatch.setattr(module, "kit_info", lambda directory, real=real: (
                threads.append(threading.current_thread().name), real(directory))[1])
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_recovery(app, pilot)
        assert "3 of 5 shares open the vault" in screen_text(app)
    assert threads and all(name.startswith("smvault-vault") for name in threads)


async def test_a_large_kit_and_a_failed_open_fit_80x24(demo_dir, make_app):
    """16 custodians: the kit line counts those that do not fit; a failed open's error never
    pushes Back and Open off the screen."""
    old = make_kit(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_recovery(app, pilot)
        await pilot.press(*"r", "enter", *"INC-1")
        for number, share in enumerate(old[:3], start=1):
            await paste(app, pilot, number, share)
        await until(pilot, lambda: not open_button(app).disabled)
        with session(demo_dir) as s:
            emails = list(CUSTODIANS)
            for i in range(11):
                people.add_person(s, f"Custodian {i}", f"custodian.number{i}@northwind.example")
                emails.append(f"custodian.number{i}@northwind.example")
            kit.create_kit(s, emails, 5)
        await pilot.click("#recovery-open")
        await until(pilot, lambda: len(app.screen.query(".share")) == 5)
        await pilot.pause()
        text = screen_text(app)
        assert "5 of 16 shares open the vault" in text and "and 11 more" in text
        kit_line = app.screen.query_one("#recovery-kit")
        assert kit_line.virtual_size.height <= kit_line.size.height  # nothing cut off
        assert "Not opened" in text
        # Every field with a (two-line) verdict under it: the form is taller than the screen.
        for number, share in enumerate(old, start=1):
            await paste(app, pilot, number, share)
        await until(pilot, lambda: all("not from this vault's current" in status(app, n) for n in range(1, 6)))
        box = app.screen.query_one("#recovery-box")
        box.scroll_home(animate=False)  # the top of the form in view
        await pilot.pause()
        assert box.virtual_size.height > box.size.height  # it scrolls...
        footer = app.screen.query_one(Footer).region
        for button in ("#recovery-back", "#recovery-open"):  # ...and Back and Open stay in view
            region = app.screen.query_one(button).region
            assert box.region.contains_region(region) and region.bottom <= footer.y
        assert "Open (break glass)" in screen_text(app)
        await pilot.click("#recovery-back")
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen))


async def test_notes_are_offered_only_on_post_incident_steps_a_note_can_resolve(demo_dir, make_app):
    """A recovery session that revealed a password and added an operator: its post-incident
    workflow has a rotation, the new kit, the added operator and the review. Only the rotation
    and the review take a note (domain.post_incident.note_refusal); the others say why not."""
    from smvault.services import operators, secrets
    from smvault.services.session import unlock_recovery
    from smvault.ui.views.workflows import WorkflowsView

    from .conftest import unlock

    shares = make_kit(demo_dir)
    with unlock_recovery(demo_dir, shares[:3], reason="locked out", incident="INC-5",
                         clock=lambda: DEMO_NOW) as rec:
        secrets.reveal(rec, ACCOUNT, "password")
        operators.add_operator(rec, "rescue", b"chosen by the custodians", email="rescue@northwind.example")
    with session(demo_dir) as s:
        (row,) = post_incidents(s)
        kinds = [(step.position, step.kind) for step in post_incident_status(s, row.workflow_id).steps]
    assert [kind for _, kind in kinds] == ["rotate-password", "new-kit", "added-operator", "review-log"]
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await unlock(app, pilot)
        await pilot.press("5")
        view = app.screen.query_one(WorkflowsView)
        await until(pilot, lambda: view.table.row_count > 0)
        assert view.table.move_cursor_to_key(row.workflow_id)
        await until(pilot, lambda: view.current is not None and view.current.row.id == row.workflow_id)
        view.steps_table.focus()
        offered = {}
        for position, kind in kinds:
            assert view.steps_table.move_cursor_to_key(position)
            await until(pilot, lambda: view.current_step is not None and view.current_step.position == position)
            await until(pilot, lambda: f"[ ] {position}. " in str(app.screen.query_one("#wf-step").render()))
            offered[kind] = view.check_action("note", ())
            step_text = str(app.screen.query_one("#wf-step").render())
            if kind == "new-kit":
                assert "smvault kit create · n is off: issuing a new emergency kit is vault work" in step_text
            elif kind == "added-operator":
                assert "n is off: a note cannot stand for an operator's own passphrase" in step_text
            else:
                assert "n is off" not in step_text
        assert offered == {"rotate-password": True, "new-kit": None, "added-operator": None, "review-log": True}
        # The guard is whole at 80x24 (narrow: it wraps, it is not cut).
        assert str(app.screen.query_one("#wf-guard").render()) == (
            "4 steps open: p rotates a password, n notes a step done; closing now needs an override reason. "
            "New kit: smvault kit create.")
        shown = " ".join(screen_text(app).split())
        assert "4 steps open: p rotates a password" in shown and "New kit: smvault kit create." in shown


async def test_a_bad_incident_is_refused_before_the_shares_are_cleared(demo_dir, ui_clock):
    """`smvault --recovery --incident "INC 1"` with K valid shares: the incident is refused next
    to its field, Open stays disabled, enter keeps every share and puts the cursor on the
    incident, and nothing is opened or logged. Fixed (a space cannot even be typed), it opens."""
    from smvault.ui.app import SmvaultApp
    from smvault.ui.recovery_start import RecoveryStart
    from smvault.ui.settings import UiSettings

    shares = make_kit(demo_dir)
    before = head(demo_dir)
    app = SmvaultApp(demo_dir, clock=ui_clock, settings=UiSettings(),
                     recovery=RecoveryStart("locked out", "INC 1", shares[:3]))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RecoveryScreen) and bool(app.screen.query(".share-status")))
        screen = app.screen
        await until(pilot, lambda: all(status(app, n).endswith("✓") for n in (1, 2, 3)))
        incident = screen.query_one("#recovery-incident", Input)
        problem = screen.query_one("#recovery-incident-status", Static)
        assert problem.display and str(problem.render()) == "incident must have no spaces or control characters"
        summary = screen.query_one("#recovery-summary", Static)  # may be scrolled out of view
        assert str(summary.render()) == "3 of 3 shares valid. Needs a valid incident id."
        assert open_button(app).disabled
        assert incident.has_focus  # the cursor starts where the fix is
        screen.query_one("#share-3", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert incident.has_focus and not app.vault.unlocked and isinstance(app.screen, RecoveryScreen)
        assert [f.value for f in screen.query(".share")] == shares[:3]  # nothing to retype
        assert not screen.query_one("#recovery-reason-status").display
        assert new_entries(demo_dir, before) == []

        incident.value = ""
        await pilot.press(*"INC 1")  # the space is refused as it is typed
        assert incident.value == "INC1"
        await until(pilot, lambda: not problem.display and not open_button(app).disabled)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), attempts=500)
        assert app.vault.break_glass.incident == "INC1"


async def test_back_is_in_the_palette_and_help_of_the_recovery_screen(demo_dir, make_app):
    from smvault.ui.screens.help import help_table

    make_kit(demo_dir)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_recovery(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"back to")
        await until(pilot, lambda: "Back to the passphrase (escape)" in screen_text(app))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen), attempts=300)
        rows = [str(cell) for column in help_table(app.settings).columns for cell in column._cells]
        assert "Break glass" in rows and any(row.startswith("Back to the passphrase: ") for row in rows)


async def test_a_break_glass_session_greys_out_import(demo_dir, ui_clock):
    """A recovery session changes nothing but what it discloses: `i` is disabled on the main
    screen (greyed out in the palette), and pressing it opens no import screen."""
    from smvault.ui.app import SmvaultApp
    from smvault.ui.recovery_start import RecoveryStart
    from smvault.ui.screens.import_screen import ImportScreen
    from smvault.ui.settings import UiSettings

    shares = make_kit(demo_dir)
    start = RecoveryStart(REASON, INCIDENT, shares[:3])
    app = SmvaultApp(demo_dir, clock=ui_clock, settings=UiSettings(), recovery=start)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RecoveryScreen) and bool(app.screen.query(".share-status")))
        await until(pilot, lambda: not open_button(app).disabled)
        open_button(app).press()
        await until(pilot, lambda: isinstance(app.screen, MainScreen), attempts=500)
        assert app.vault.break_glass is not None
        main = app.screen
        assert main.check_action("import_file", ()) is None
        assert main.check_action("reports", ()) is True  # reading is still allowed
        await pilot.press("i")
        await pilot.pause()
        assert app.screen is main and not any(isinstance(screen, ImportScreen) for screen in app.screen_stack)
