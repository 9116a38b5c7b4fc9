"""`smvault --recovery ...` end to end (in-process CLI on a real vault): shares from files and
from stdin, usage errors before any share is read, a wrong share named, every mutating
command refused (exit 5, nothing changed), and `smvault incident ...`."""

from __future__ import annotations

import json
import re
import sys

import pytest

from smvault.domain.workflow import WorkflowKind
from smvault.services import accounts, emergency, grants, kit, offboarding, operators, people, review, secrets
from smvault.services import transfer as tr
from smvault.services.session import unlock, unlock_recovery

CUSTODIANS = ["bo@example.com", "cy@example.com", "di@example.com"]
BOB_PASS = b"bob keeps his own passphrase"
SETUP_INCIDENT = "INC-setup"
REFUSALS = "INC-refusals"



# Words the error messages themselves use that happen to be SLIP-39 words too.
MESSAGE_WORDS = {"again", "break", "glass", "member", "group", "index", "true", "false", "example"}  # "example": the custodians' emails


def leaked(text: str, share: str) -> set[str]:
    """The share's words that appear in `text` (beyond the messages' own vocabulary)."""
    return set(re.findall(r"[a-z]+", text.lower())) & set(share.split()) - MESSAGE_WORDS

class Setup:
    def __init__(self, session, clock, vault_dir, tmp_path, made, run_cli):
        self.session, self.clock, self.vault_dir, self.kit = session, clock, vault_dir, made
        self.shares = [sheet.mnemonic for sheet in made.sheets]
        self.files = []
        for number, share in enumerate(self.shares, 1):
            path = tmp_path / f"share{number}.txt"
            # As a custodian might save it: wrapped over lines, with blank lines around.
            words = share.split()
            path.write_text("\n\n" + " ".join(words[:10]) + "\n   " + " ".join(words[10:]) + "  \n\n")
            self.files.append(str(path))
        self.run_cli = run_cli

    def recovery(self, *args, incident: str = "INC-cli", files=(0, 1), stdin: str = "", env=None):
        options = ["--recovery", "--reason", "operators locked out", "--incident", incident]
        for index in files:
            options += ["--share-file", self.files[index]]
        return self.run_cli(*options, *args, stdin=stdin, env=env)


@pytest.fixture
def setup(session, clock, vault_dir, tmp_path, run_cli) -> Setup:
    for email in CUSTODIANS:
        people.add_person(session, email.split("@")[0].title(), email)
    made = kit.create_kit(session, CUSTODIANS, 2)
    for platform, handle in (("x", "acme"), ("instagram", "brand"), ("youtube", "chan")):
        accounts.add_account(session, platform, handle, mfa="sms" if platform == "instagram" else "totp")
        secrets.set_password(session, f"{platform}:{handle}", f"{handle}-password-1")
        if platform != "instagram":
            secrets.set_totp(session, f"{platform}:{handle}", "JBSWY3DPEHPK3PXP")
    secrets.add_recovery_codes(session, "x:acme", ["one", "two"])
    return Setup(session, clock, vault_dir, tmp_path, made, run_cli)


def _log_entry(session, action):
    return session.vault.log.entries(actions=(action,), limit=1)[0]


# --- opening a recovery session --------------------------------------------------------------------


def test_share_files_open_a_recovery_session_that_reveals_and_is_marked(setup):
    result = setup.recovery("secret", "reveal", "x:acme", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["value"] == "acme-password-1"
    reveal = _log_entry(setup.session, "secret.reveal")
    assert reveal["op"] == "break-glass" and reveal["bg"]["incident"] == "INC-cli"
    assert _log_entry(setup.session, "breakglass.lock")["bg"] == reveal["bg"]
    assert setup.run_cli("log", "verify", "--chain-only").code == 0
    checked = setup.recovery("log", "verify", "--chain-only")  # unlocked without checks, then verified
    assert checked.code == 0 and checked.out.startswith("OK:"), checked.err


def test_shares_on_stdin_one_per_line(setup):
    stdin = "\n" + setup.shares[2] + "\n\n  " + setup.shares[0] + "\n"
    result = setup.recovery("account", "list", files=(), stdin=stdin)
    assert result.code == 0, result.err
    assert _log_entry(setup.session, "breakglass.unlock")["detail"]["members"] == [3, 1]


@pytest.mark.parametrize("drop", ["--reason", "--incident"])
def test_recovery_without_reason_or_incident_is_a_usage_error_before_any_share_is_read(setup, drop):
    head = setup.session.vault.log.head()
    options = {"--reason": "locked out", "--incident": "INC-1"}
    del options[drop]
    argv = ["--recovery", *[x for pair in options.items() for x in pair], "account", "list"]
    result = setup.run_cli(*argv, stdin=setup.shares[0] + "\n" + setup.shares[1] + "\n")
    assert result.code == 2 and "--recovery needs --reason TEXT and --incident ID" in result.err
    assert sys.stdin.read().startswith(setup.shares[0])  # stdin was never read
    assert setup.session.vault.log.head() == head
    assert not (setup.vault_dir / "unlock-failures.jsonl").exists()


def test_share_options_without_recovery_are_a_usage_error(setup):
    result = setup.run_cli("--share-file", setup.files[0], "account", "list")
    assert result.code == 2 and "only go with --recovery" in result.err


def test_a_wrong_share_is_named_and_opens_nothing(setup, tmp_path):
    words = setup.shares[1].split()
    i = next(i for i in range(3, 19) if words[i] != words[i + 1])  # two words swapped: a typo checksums catch
    words[i], words[i + 1] = words[i + 1], words[i]
    bad = tmp_path / "bad.txt"
    bad.write_text(" ".join(words))
    head = setup.session.vault.log.head()
    result = setup.run_cli("--recovery", "--reason", "r", "--incident", "INC-1", "--share-file", setup.files[0],
                           "--share-file", str(bad), "account", "list")
    assert result.code != 0 and "share 2" in result.err
    assert not leaked(result.err, " ".join(words))
    assert setup.session.vault.log.head() == head
    one = setup.recovery("account", "list", files=(0,))
    assert one.code != 0 and "1 share entered; this kit needs 2" in one.err


# --- everything else is refused ----------------------------------------------------------------------


@pytest.fixture
def busy(setup, tmp_path):
    """Something for every mutating command to act on, each in a state where an operator's
    command would succeed: a leaver, transfers, reviews, an emergency request, a post-incident
    workflow."""
    s, clock, vault_dir = setup.session, setup.clock, setup.vault_dir
    operators.add_operator(s, "bob", b"chosen by alice", email="bob@example.com")
    with unlock(vault_dir, "bob", b"chosen by alice", clock=clock) as bob:
        operators.change_passphrase(bob, b"chosen by alice", BOB_PASS)
    accounts.add_account(s, "linkedin", "page")
    for name in ("eve", "fay"):
        people.add_person(s, name.title(), f"{name}@example.com")
    people.mark_leaving(s, "fay@example.com", clock().date().replace(year=2027))
    grants.add_grant(s, "eve@example.com", "x:acme", "reveal")
    grants.add_grant(s, "fay@example.com", "youtube:chan", "reveal")
    offboarding.start_offboarding(s, "eve@example.com", clock().date().replace(year=2027))
    ready = tr.start_transfer(s, "instagram:brand", "di@example.com")
    tr.start_transfer(s, "x:acme", "cy@example.com")
    tr.start_transfer(s, "youtube:chan", "bo@example.com")
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        tr.approve_transfer(bob, "instagram:brand")
        view = tr.approve_transfer(bob, "x:acme")
    for step in tr.transfer_status(s, "instagram:brand").steps:
        if step.manual or step.kind in ("reenrol-totp", "qr-enrol"):
            tr.resolve_transfer_step(s, "instagram:brand", step.position, "done")
    secrets.set_password(s, "instagram:brand")
    decided = review.start_review(s, platform="youtube")
    review.decide(s, decided.workflow_id, 1, "keep", "still needed")
    open_review = review.start_review(s, platform="x")
    request = emergency.request_access(s, "youtube:chan", reason="checkout down", incident="INC-em")
    with unlock_recovery(vault_dir, setup.shares[:2], reason="earlier", incident=SETUP_INCIDENT, clock=clock) as rec:
        secrets.reveal(rec, "x:acme")
    [post] = s.vault.workflows.find(WorkflowKind.POST_INCIDENT)
    roster = tmp_path / "roster.csv"
    roster.write_text("email,name,team,type,status,end_date\nzed@example.com,Zed New,Social,employee,active,\n")
    return {"transfer_ready": str(ready.workflow_id), "x_step": str(view.steps[0].position),
            "decided": str(decided.workflow_id), "open_review": str(open_review.workflow_id),
            "request": str(request.id), "post": str(post.id), "roster": str(roster)}


MUTATIONS = [
    (("person", "add", "Zed", "--email", "zed@example.com"), ""),
    (("person", "update", "bo@example.com", "--team", "Ops"), ""),
    (("person", "leave", "bo@example.com", "--on", "2027-03-01"), ""),
    (("person", "sync", "{roster}", "--apply"), ""),
    (("account", "add", "tiktok", "brand"), ""),
    (("account", "update", "x:acme", "--brand", "Acme"), ""),
    (("secret", "set-password", "x:acme"), "a-new-password\n"),
    (("secret", "set-password", "x:acme", "--generate"), ""),
    (("secret", "set-totp", "x:acme"), "KRSXG5CTMVRXEZLU\n"),
    (("secret", "add-recovery-codes", "x:acme"), "new-1\nnew-2\n"),
    (("grant", "add", "bo@example.com", "x:acme", "--level", "reveal"), ""),
    (("grant", "revoke", "fay@example.com", "youtube:chan"), ""),
    (("offboard", "start", "fay@example.com"), ""),
    (("offboard", "revoke-grants", "eve@example.com"), ""),
    (("offboard", "step", "eve@example.com", "2", "--note", "rotated"), ""),
    (("offboard", "close", "eve@example.com", "--successor", "bob@example.com", "--override", "test"), ""),
    (("transfer", "start", "linkedin:page", "--to", "bo@example.com"), ""),
    (("transfer", "approve", "youtube:chan"), ""),
    (("transfer", "step", "x:acme", "{x_step}", "--note", "done"), ""),
    (("transfer", "close", "{transfer_ready}"), ""),
    (("transfer", "cancel", "youtube:chan", "--reason", "no"), ""),
    (("review", "start"), ""),
    (("review", "decide", "{open_review}", "1", "keep", "--reason", "fine"), ""),
    (("review", "close", "{decided}"), ""),
    (("operator", "remove", "bob"), ""),
    (("operator", "passwd",), ""),
    (("log", "reanchor", "--reason", "restored"), ""),
    (("kit", "create", "--custodians", ",".join(CUSTODIANS), "--threshold", "2"), ""),
    (("breakglass", "request", "x:acme", "--reason", "r", "--incident", "INC-2"), ""),
    (("breakglass", "approve", "{request}"), ""),
    (("breakglass", "veto", "{request}", "--reason", "no"), ""),
    (("breakglass", "end", "{request}"), ""),
    (("breakglass", "policy", "--tier", "2", "--wait", "30"), ""),
    (("incident", "step", "{post}", "3", "--note", "reviewed"), ""),
    (("incident", "close", "{post}", "--override", "done"), ""),
]


def _snapshot(session) -> dict:
    """Every table's rows, except the bookkeeping of the refused sessions themselves (their
    unlock and lock entries, their post-incident workflow)."""
    conn = session.vault.conn
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    mine = {r[0] for r in conn.execute("SELECT id FROM workflows WHERE json_extract(data, '$.incident') = ?",
                                       (REFUSALS,))}
    rows = {t: conn.execute(f"SELECT * FROM {t}").fetchall() for t in tables if t not in ("log", "workflows",
                                                                                        "workflow_steps")}
    rows["workflows"] = [r for r in conn.execute("SELECT * FROM workflows") if r[0] not in mine]
    rows["workflow_steps"] = [r for r in conn.execute("SELECT * FROM workflow_steps") if r[1] not in mine]
    return rows


@pytest.mark.parametrize("argv, stdin", MUTATIONS, ids=[" ".join(a[:2]) for a, _ in MUTATIONS])
def test_every_other_mutating_command_is_refused_and_changes_nothing(setup, busy, argv, stdin, monkeypatch):
    args = [a.format(**busy) for a in argv]
    before, head = _snapshot(setup.session), setup.session.vault.log.head().seq
    result = setup.recovery(*args, incident=REFUSALS, stdin=stdin,
                            env={"SMVAULT_NEW_PASSPHRASE": "a brand new passphrase"})
    assert result.code == 5, (result.code, result.err)
    assert "break-glass session" in result.err and "Traceback" not in result.err
    assert _snapshot(setup.session) == before
    added = setup.session.vault.log.entries(after_seq=head, newest_first=False)
    assert {e["action"] for e in added} <= {"breakglass.unlock", "breakglass.lock", "post-incident.open",
                                             "post-incident.extend"}
    assert all(e["bg"]["incident"] == REFUSALS for e in added)


# --- smvault incident ----------------------------------------------------------------------------------


def test_incident_commands_list_show_step_and_close(setup):
    assert setup.recovery("secret", "reveal", "x:acme", incident="INC-77").code == 0
    listed = setup.run_cli("incident", "list", "--json")
    assert listed.code == 0
    [row] = json.loads(listed.out)
    assert (row["incident"], row["state"], row["steps"], row["steps_done"]) == ("INC-77", "open", 3, 0)
    wid = str(row["workflow_id"])
    shown = setup.run_cli("incident", "show", wid)
    assert shown.code == 0
    assert "Post-incident " + wid + " for incident INC-77: open." in shown.out
    assert "[ ] Rotate the password of x:acme" in shown.out and "(manual: resolve with a note)" in shown.out
    assert setup.run_cli("incident", "close", wid).code == 5
    assert setup.run_cli("secret", "set-password", "x:acme", "--generate").code == 0
    assert setup.run_cli("incident", "step", wid, "2", "--note", "on paper").code == 1  # the kit step
    stepped = setup.run_cli("incident", "step", wid, "3", "--note", "log reviewed with the custodians")
    assert stepped.code == 0 and "Step 3 resolved" in stepped.out
    closed = setup.run_cli("incident", "close", wid, "--override", "new kit printed tomorrow", "--json")
    assert closed.code == 0
    view = json.loads(closed.out)
    assert view["state"] == "closed" and view["open_steps"] == [2]
    assert [s["done"] for s in view["steps"]] == [True, False, True]
    assert setup.run_cli("incident", "show", "999").code == 1


# --- on a terminal -------------------------------------------------------------------------------------


def test_on_a_terminal_each_share_is_asked_for_and_a_bad_one_asked_again(setup, monkeypatch, capsys):
    """The hidden prompt itself is click's; what is checked is the loop around it: a mistyped
    share and a repeated share are named and asked for again until the kit's K are in."""
    import click

    from smvault.cli import context

    words = setup.shares[0].split()
    words[5] = "zzzz"
    typed = iter([" ".join(words), setup.shares[0], setup.shares[0], setup.shares[2]])
    asked = []
    monkeypatch.setattr(context, "stdin_is_tty", lambda: True)
    monkeypatch.setattr(click, "prompt", lambda text, **kw: asked.append((text, kw.get("hide_input"))) or next(typed))
    result = setup.run_cli("--recovery", "--reason", "locked out", "--incident", "INC-tty", "account", "list")
    assert result.code == 0, result.err
    assert asked == [("Share 1 of 2 (the words, in order)", True)] * 2 + [("Share 2 of 2 (the words, in order)", True)] * 2
    assert "share 1: word 6" in result.err and "enter share 1 again" in result.err
    assert "share 2 is the same share as share 1" in result.err
    assert "zzzz" not in result.err and not leaked(result.err, setup.shares[0])
    assert _log_entry(setup.session, "breakglass.unlock")["detail"]["members"] == [1, 3]


def test_recovery_without_a_command_on_a_terminal_opens_the_tui_on_its_break_glass_screen(setup, monkeypatch):
    from smvault.cli import ui_cmds
    from smvault.ui import launch

    opened = {}
    monkeypatch.setattr(ui_cmds, "on_terminal", lambda: True)
    monkeypatch.setattr(launch, "run_tui", lambda directory, **kw: opened.update(kw))
    result = setup.run_cli("--recovery", "--share-file", setup.files[1], "--incident", "INC-tui")
    assert result.code == 0, result.err
    start = opened["recovery"]
    assert start is not None and start.incident == "INC-tui" and start.reason is None
    assert [s.split() for s in start.shares] == [setup.shares[1].split()]


# --- after review ---------------------------------------------------------------------------------------


def test_a_backup_is_refused_exit_5_and_no_file_is_created(setup, tmp_path):
    target = tmp_path / "taken-with-the-shares.tar"
    head = setup.session.vault.log.head().seq
    result = setup.recovery("backup", str(target), incident=REFUSALS)
    assert result.code == 5, result.err
    assert "cannot take a backup" in result.err and "Traceback" not in result.err
    assert not target.exists() and not list(tmp_path.glob(".smvault-backup-*"))
    added = setup.session.vault.log.entries(after_seq=head, newest_first=False)
    assert "vault.backup" not in {e["action"] for e in added}


def test_a_custodians_sheet_text_or_html_is_a_share_file(setup, tmp_path):
    from smvault.services.kit_sheet import render_html, render_text

    made = kit.create_kit(setup.session, CUSTODIANS, 2, out_dir=tmp_path / "sheets")
    text_sheet = next(p for p in made.files if p.suffix == ".txt" and "share-01" in p.name)
    html_sheet = next(p for p in made.files if p.suffix == ".html" and "share-03" in p.name)
    assert text_sheet.read_text() == render_text(made, made.sheets[0])
    assert html_sheet.read_text() == render_html(made, made.sheets[2])
    setup.files[:2] = [str(text_sheet), str(html_sheet)]
    result = setup.recovery("secret", "reveal", "x:acme", "--json")
    assert result.code == 0, result.err
    unlocked = setup.session.vault.log.entries(actions=("breakglass.unlock",), limit=1)[0]
    assert unlocked["detail"]["members"] == [1, 3]


def test_a_sheet_whose_words_are_missing_is_named_without_quoting_it(setup, tmp_path):
    from smvault.services.kit_sheet import render_text

    made = kit.create_kit(setup.session, CUSTODIANS, 2, out_dir=tmp_path / "sheets")
    damaged = tmp_path / "damaged.txt"
    text = render_text(made, made.sheets[0])
    damaged.write_text(text.replace("THE CUSTODIANS", "THE KEEPERS"))
    setup.files[:2] = [str(damaged), setup.files[1]]
    result = setup.recovery("secret", "reveal", "x:acme")
    assert result.code == 2
    assert "looks like an emergency kit sheet" in result.err and str(damaged) in result.err
    assert not leaked(result.err + result.out, made.sheets[0].mnemonic)
