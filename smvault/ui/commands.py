"""Every user command, defined once: bindings, footer, command palette and help come from here.

A command belongs to a scope (the app, the main screen, or one view); `bindings(scope)` turns
that scope's commands into Textual bindings with stable ids, so keys can be remapped by id
and the footer, palette and help can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Command:
    id: str  # stable id, e.g. "account.reveal"
    key: str  # Textual key name(s), comma separated
    action: str  # action name on the scope's node, without "action_"
    title: str  # short name: footer and palette
    help: str  # one sentence: tooltip, palette help and help screen
    scope: str
    show: bool = True  # in the footer
    key_display: str | None = None
    priority: bool = False


COMMANDS: tuple[Command, ...] = (
    # The unlock screen.
    Command("unlock.break_glass", "ctrl+g", "break_glass", "Break glass", "Open the vault with custodians' emergency-kit shares (reason and incident required; all logged).", "unlock"),
    # The recovery (break-glass) screen.
    Command("recovery.back", "escape", "back", "Back to the passphrase", "Leave break glass for the unlock screen (the share fields are emptied).", "recovery"),
    # The whole app.
    Command("app.lock", "ctrl+l", "lock", "Lock", "Lock the vault now: every revealed value is dropped.", "app", priority=True),
    Command("app.help", "f1,question_mark", "help", "Help", "Show every key and command.", "app", key_display="?"),
    Command("app.quit", "ctrl+q", "quit", "Quit", "Clear the clipboard, lock the vault and quit.", "app", priority=True),
    # The main screen: moving between views.
    Command("main.dashboard", "1", "show_view('dashboard')", "Dashboard", "Counts and the risks that matter.", "main"),
    Command("main.accounts", "2", "show_view('accounts')", "Accounts", "Every account, its root of control and secrets.", "main"),
    Command("main.people", "3", "show_view('people')", "People", "Everyone holding access, and what they learned.", "main"),
    Command("main.log", "4", "show_view('log')", "Log", "The access log: live tail, filters, verify chain.", "main"),
    Command("main.workflows", "5", "show_view('workflows')", "Workflows", "Offboardings, transfers, access reviews, emergency access and post-incident rotations.", "main"),
    Command("main.filter", "slash", "filter", "Filter", "Filter the current table as you type.", "main", key_display="/"),
    # Kept out of the footer (it is full at 80 columns): help and the palette list them.
    Command("main.import", "i", "import_file", "Import", "Import accounts and secrets from another tool's export: preview first, then one transaction.", "main", show=False),
    Command("main.reports", "6", "reports", "Reports", "Governance reports (access matrix, leavers, two-factor, rotation…): read one, write it to a file.", "main", show=False),
    # Dashboard view.
    Command("dashboard.open", "enter", "open", "Open", "Open the account or person of this risk.", "dashboard"),
    # Accounts view.
    Command("account.reveal", "r", "reveal", "Reveal", "Reveal the password (logged; hides itself after a while).", "accounts"),
    Command("account.copy", "c", "copy_password", "Copy pw", "Copy the password to the clipboard (logged; cleared after a while).", "accounts"),
    Command("account.code", "t", "code", "Code", "Show the live TOTP code with its countdown (each code is logged).", "accounts"),
    Command("account.copy_code", "y", "copy_code", "Copy code", "Copy the current TOTP code to the clipboard (logged).", "accounts"),
    Command("account.qr", "e", "qr", "QR", "Show the TOTP seed as a QR code to enrol a new phone (logged).", "accounts"),
    Command("account.recovery", "u", "use_recovery_code", "Use code", "Hand out one recovery code and mark it used (logged).", "accounts"),
    Command("account.grant", "g", "add_grant", "Grant", "Give someone access to this account.", "accounts"),
    Command("account.revoke", "x", "revoke_grant", "Revoke", "Revoke someone's access to this account.", "accounts"),
    Command("account.hide", "h", "hide", "Hide", "Hide every revealed value now.", "accounts"),
    Command("account.sort", "s", "sort", "Sort", "Sort by the next column (press again to move on).", "accounts"),
    Command("account.reverse", "S", "reverse", "Reverse", "Reverse the sort order.", "accounts", show=False),
    Command("account.transfer", "T", "transfer", "Transfer", "Ask for a new owner of this account; another operator approves.", "accounts"),
    Command("account.emergency", "E", "emergency", "Emergency", "Request time-boxed emergency access to this account (reason, incident; a second operator approves, or a wait passes unvetoed).", "accounts"),
    # People view.
    Command("person.grant", "g", "add_grant", "Grant", "Give this person access to an account.", "people"),
    Command("person.leaving", "m", "mark_leaving", "Leaving", "Record this person's leaving date.", "people"),
    Command("person.sort", "s", "sort", "Sort", "Sort by the next column.", "people"),
    Command("person.offboard", "o", "offboard", "Offboard", "See this person's offboarding plan, then start it.", "people"),
    # Log view.
    Command("log.verify", "v", "verify", "Verify", "Verify the whole hash chain, every MAC and every page.", "log"),
    Command("log.follow", "f", "follow", "Follow", "Start or stop following new entries live.", "log"),
    # Workflows view.
    Command("workflow.open", "enter", "open", "Open", "Move between the workflow list and the highlighted workflow's steps.", "workflows"),
    Command("workflow.note", "n", "note", "Note", "Resolve the highlighted step with a note as its evidence (logged).", "workflows"),
    Command("workflow.revoke_grants", "R", "revoke_grants", "Revoke all", "Revoke every grant the leaver holds, in one logged action.", "workflows"),
    Command("workflow.close", "c", "close", "Close", "Close it when nothing blocks it (an offboarding may need a successor or an override reason).", "workflows"),
    Command("workflow.approve", "a", "approve", "Approve", "Approve a requested transfer or emergency access: another operator types their own passphrase.", "workflows"),
    Command("workflow.veto", "v", "veto", "Veto", "Emergency access: stop a request before it starts, or active access at once, with a reason (logged).", "workflows"),
    Command("workflow.end", "e", "end", "End", "Emergency access: end an active grant early (the post-incident workflow opens).", "workflows"),
    Command("workflow.qr", "q", "qr", "QR", "Show the account's TOTP seed as a QR code for the re-enrol step (logged).", "workflows"),
    Command("workflow.rotate", "p", "rotate", "Rotate pw", "Store a new generated password for the step's account, never shown (logged).", "workflows"),
    Command("workflow.keep", "k", "keep", "Keep", "Access review: keep the highlighted grant, with a reason (logged).", "workflows"),
    Command("workflow.revoke", "x", "revoke", "Revoke", "Access review: revoke the highlighted grant at once, with a reason (logged).", "workflows"),
    # The import screen (screens/import_screen.py): its fields take letters, so its keys are ctrl+.
    Command("import.preview", "ctrl+r", "preview", "Preview", "Read the file and show what would change (a dry run: nothing is written).", "import"),
    Command("import.apply", "ctrl+o", "apply", "Import", "Import what the preview shows, after a confirmation (one transaction, logged).", "import"),
    Command("import.back", "escape", "back", "Back", "Leave the import screen (the file's password and the preview are dropped).", "import"),
    # The reports screen (screens/reports.py).
    Command("reports.filter", "slash", "filter", "Filter", "Filter the shown table as you type (escape leaves the box).", "reports", key_display="/"),
    Command("reports.table", "t", "next_table", "Next table", "Show the report's next table.", "reports"),
    Command("reports.write", "w", "write", "Write", "Write the shown report to a private file (Markdown, CSV or JSON).", "reports"),
    Command("reports.back", "escape", "back", "Back", "Back to the main screen.", "reports"),
)

SCOPE_TITLES = {"app": "Everywhere", "unlock": "Unlock", "recovery": "Break glass", "main": "Main screen",
                "dashboard": "Dashboard", "accounts": "Accounts", "people": "People", "log": "Access log",
                "workflows": "Workflows", "import": "Import", "reports": "Reports"}


def in_scope(scope: str) -> tuple[Command, ...]:
    return tuple(c for c in COMMANDS if c.scope == scope)


def by_id(command_id: str) -> Command:
    for command in COMMANDS:
        if command.id == command_id:
            return command
    raise KeyError(command_id)


def bindings(scope: str) -> list[Binding]:
    return [
        Binding(c.key, c.action, c.title, show=c.show, key_display=c.key_display, priority=c.priority,
                tooltip=c.help, id=c.id)
        for c in in_scope(scope)
    ]
