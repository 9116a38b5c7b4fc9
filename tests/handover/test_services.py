"""Handover packets and TOTP exports through the services, on real vaults: what the packet
holds, who may make one, what is logged, and that a failure leaves neither file nor entry."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from smvault.domain import otp
from smvault.domain.errors import InvalidInputError, NotFoundError, PolicyError, UsageError
from smvault.domain.handover import read_header
from smvault.domain.imports import ImportFileError, parse_file
from smvault.services import grants, offboarding, operators, secrets
from smvault.services.handover import (
    check_handover,
    check_totp_export,
    create_handover,
    export_totp,
    packet_info,
)
from smvault.services.session import unlock
from tests.conftest import PASSPHRASE
from tests.kit.test_sheets import qr_from_html

from .conftest import ACME, CODES, NEWS, PASSWORD, SEED, STEAM_SEED, X_PASSWORD, leaked, log_text

BOB_PASS = b"bob keeps his own passphrase"


def entries(session, action):
    return session.vault.log.entries(actions=(action,), newest_first=False)


def nothing_written(directory):
    return list(directory.iterdir()) == []


@pytest.fixture
def out(tmp_path):
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


# --- the packet ----------------------------------------------------------------------------------


def test_a_packet_round_trips_every_field_secret_and_person(stocked, out, clock):
    result = create_handover(stocked, [ACME, NEWS], "Dest@Partner.Example", out / "acme.smh")
    assert result.accounts == (ACME, NEWS) and result.path == out / "acme.smh"
    data = result.path.read_bytes()
    header = read_header(data, "acme.smh")
    assert (header.packet_id, header.to, header.created_by, header.accounts) == (
        result.packet_id, "dest@partner.example", "alice", (ACME, NEWS))
    assert header.from_vault == stocked.vault.vault_id and header.created_at == "2026-11-02T09:31:00Z"

    parsed = parse_file("handover", data, "acme.smh", password=result.passphrase.encode())
    assert not parsed.problems
    acme, news = parsed.entries
    assert (acme.platform, acme.handle, acme.password, acme.login_id) == (
        "instagram", "acme", PASSWORD, "social@acme.example")
    assert acme.recovery_codes == tuple(CODES[1:])  # the used one stays behind
    assert dict(acme.fields) == {
        "url": "https://instagram.com/acme", "brand": "Acme", "region": "EMEA", "business_unit": "Retail",
        "login_id": "social@acme.example", "recovery_email": "recovery@acme.example",
        "recovery_phone": "+15550100", "status": "active", "mfa": "totp", "notes": "Main brand account",
        "tier": "1", "company_owned": "yes",
    }
    (note,) = parsed.notes
    assert note.message == (
        "not imported (people of the source vault): owner: Bob Builder <bob@example.com>; "
        "backup owner: Cara [b]Controller[/b] <cara@example.com>; "
        "recovery email controller: Cara [b]Controller[/b] <cara@example.com>; "
        "recovery phone controller: Dev Ops <dev@example.com>; TOTP holder: Bob Builder <bob@example.com>; "
        "platform admins: Bob Builder <bob@example.com>")  # len has left: no longer an admin
    # The seeds give the same codes as the vault's own.
    for entry, seed in ((acme, SEED), (news, STEAM_SEED)):
        for moment in (clock().timestamp(), 1_800_000_000):
            assert otp.current_code(entry.otp, moment) == otp.current_code(
                stocked.vault.secrets.totp(stocked.vault.accounts.by_key(entry.platform, entry.handle).id), moment)
        assert otp.encode_base32_secret(entry.otp.secret) == seed
    assert (acme.otp.issuer, acme.otp.label) == ("instagram", "acme")
    assert news.otp.kind == "steam" and news.password == X_PASSWORD and news.recovery_codes == ()
    assert dict(news.fields) == {"status": "active", "mfa": "totp", "tier": "2", "company_owned": "yes"}


def test_the_packet_file_is_private_and_holds_no_secret_in_clear(stocked, out):
    result = create_handover(stocked, [ACME], "dest@example.com", out / "p.smh")
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert leaked(result.path.read_text(), result.passphrase) == []
    assert [p.name for p in out.iterdir()] == ["p.smh"]  # no temporary file left


def test_the_result_repr_and_the_log_hold_no_secret_or_passphrase(stocked, out):
    result = create_handover(stocked, [ACME, NEWS], "dest@example.com", out / "p.smh")
    assert "<hidden>" in repr(result) and result.passphrase not in repr(result)
    assert leaked(log_text(stocked), result.passphrase) == []


def test_one_entry_per_account_and_secret_names_the_operator_as_learning_it(stocked, out):
    result = create_handover(stocked, [ACME, NEWS], "dest@example.com", out / "p.smh")
    logged = entries(stocked, "handover.create")
    assert [(e["acct"], e["field"]) for e in logged] == [
        (ACME, "password"), (ACME, "totp-seed"), (ACME, "recovery-codes"),
        (NEWS, "password"), (NEWS, "totp-seed")]
    alice = stocked.person
    for entry in logged:
        assert (entry["to"], entry["to_email"], entry["op"]) == (alice.id, "alice@example.com", "alice")
        assert entry["detail"]["packet"] == result.packet_id and entry["detail"]["to"] == "dest@example.com"
        assert entry["detail"]["file"] == "p.smh" and "by" not in entry
    assert logged[0]["detail"]["fields"] == ["password", "totp-seed", "recovery-codes"]
    assert logged[-1]["detail"]["fields"] == ["password", "totp-seed"]


def test_a_packet_for_a_person_of_the_vault_names_them_as_recipient_and_the_operator_as_giver(stocked, out):
    create_handover(stocked, [ACME], "Cara@Example.com", out / "p.smh")
    logged = entries(stocked, "handover.create")
    cara = stocked.vault.people.by_email("cara@example.com")
    assert [e["field"] for e in logged] == ["password", "totp-seed", "recovery-codes"]
    for entry in logged:
        assert (entry["to"], entry["to_email"], entry["by"], entry["op"], entry["for"]) == (
            cara.id, "cara@example.com", stocked.person.id, "alice", True)
        assert entry["detail"]["to"] == "cara@example.com" and entry["detail"]["file"] == "p.smh"


def test_an_account_with_no_secret_travels_with_one_entry(stocked, out):
    from smvault.services import accounts

    accounts.add_account(stocked, "tiktok", "bare")
    grants.add_grant(stocked, "alice@example.com", "tiktok:bare", "reveal")
    result = create_handover(stocked, ["tiktok:bare"], "dest@example.com", out / "p.smh")
    (entry,) = entries(stocked, "handover.create")
    assert "field" not in entry and "to" not in entry and entry["detail"]["fields"] == []
    (parsed,) = parse_file("handover", result.path.read_bytes(), "p", password=result.passphrase.encode()).entries
    assert parsed.password is None and parsed.otp is None and parsed.recovery_codes == ()


@pytest.mark.parametrize(("refs", "to", "error", "message"), [
    ([], "dest@example.com", UsageError, "give at least one account"),
    ([ACME, "instagram:ACME"], "dest@example.com", InvalidInputError, "account instagram:acme is given twice"),
    ([ACME, "x:nobody"], "dest@example.com", NotFoundError, "no account 'x:nobody'"),
    ([ACME], "not an email", InvalidInputError, "invalid email address"),
])
def test_bad_requests_write_and_log_nothing(stocked, out, refs, to, error, message):
    before = stocked.vault.log.head()
    with pytest.raises(error, match=message):
        create_handover(stocked, refs, to, out / "p.smh")
    assert stocked.vault.log.head() == before and nothing_written(out)


# --- who may make one ------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [None, "code-only"])  # bob is a platform admin of ACME already
def test_an_operator_who_may_not_reveal_every_secret_of_every_account_is_refused(stocked, out, vault_dir, clock,
                                                                                    level):
    operators.add_operator(stocked, "bob", BOB_PASS, email="bob@example.com")
    grants.add_grant(stocked, "bob@example.com", NEWS, "reveal")  # allowed on one account only
    if level:
        grants.add_grant(stocked, "bob@example.com", ACME, level)
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        before = bob.vault.log.head()
        for attempt in (lambda: check_handover(bob, [NEWS, ACME], "dest@example.com", out / "p.smh"),
                        lambda: create_handover(bob, [NEWS, ACME], "dest@example.com", out / "p.smh"),
                        lambda: export_totp(bob, [NEWS, ACME], out / "t.txt", "uri")):
            with pytest.raises(PolicyError, match=f"operator bob@example.com holds no grant on {ACME}"):
                attempt()
        assert bob.vault.log.head() == before and nothing_written(out)
        create_handover(bob, [NEWS], "dest@example.com", out / "p.smh")  # the one bob may reveal


def test_a_break_glass_session_may_not_make_a_packet(stocked, out, vault_dir, clock):
    from smvault.services import kit, people
    from smvault.services.session import BREAK_GLASS_REFUSAL, unlock_recovery

    people.add_person(stocked, "Cy", "cy@example.com")
    made = kit.create_kit(stocked, ["bob@example.com", "cy@example.com"], 2)
    shares = [sheet.mnemonic for sheet in made.sheets]
    with unlock_recovery(vault_dir, shares, reason="locked out", incident="INC-1", clock=clock) as rec:
        assert secrets.reveal(rec, ACME).value == PASSWORD  # it may reveal on screen...
        before = rec.vault.log.head()
        for attempt in (lambda: create_handover(rec, [ACME], "dest@example.com", out / "p.smh"),
                        lambda: export_totp(rec, [ACME], out / "t.txt", "uri")):
            with pytest.raises(PolicyError, match=BREAK_GLASS_REFUSAL):  # ...but not hand out files
                attempt()
        assert rec.vault.log.head() == before and nothing_written(out)


# --- the file is always a new one, and never in the vault's directory ---------------------------------------------


def _write(session, export, target):
    if export == "packet":
        check_handover(session, [ACME], "dest@example.com", target)
        return create_handover(session, [ACME], "dest@example.com", target)
    check_totp_export(session, [ACME], target, "uri")
    return export_totp(session, [ACME], target, "uri")


@pytest.mark.parametrize("export", ["packet", "totp"])
@pytest.mark.parametrize("existing", ["file", "symlink", "dangling symlink"])
def test_an_existing_file_is_refused_and_left_as_it_was(stocked, out, tmp_path, export, existing):
    target, elsewhere = out / "p.smh", tmp_path / "elsewhere.txt"
    if existing == "file":
        target.write_text("keep me\n")
    elif existing == "symlink":
        elsewhere.write_text("keep me\n")
        target.symlink_to(elsewhere)
    else:
        target.symlink_to(tmp_path / "nowhere")
    before = stocked.vault.log.head()
    with pytest.raises(UsageError, match=f"^{re.escape(str(target))} already exists: choose another name$"):
        _write(stocked, export, target)
    assert stocked.vault.log.head() == before and list(out.iterdir()) == [target]
    if existing != "dangling symlink":
        assert target.read_text() == "keep me\n"
    assert not (tmp_path / "nowhere").exists()


def test_a_file_that_appears_while_the_packet_is_made_is_refused_and_kept(stocked, out, monkeypatch):
    """The name is taken between the check and the write (another program): the finished
    packet is linked to the name only if it is free, and the failure removes nothing of theirs."""
    import smvault.services.handover as service

    target = out / "p.smh"
    real_seal = service.seal

    def seal_while_another_program_writes(*args, **kwargs):
        target.write_text("theirs\n")
        return real_seal(*args, **kwargs)

    monkeypatch.setattr(service, "seal", seal_while_another_program_writes)
    before = stocked.vault.log.head()
    with pytest.raises(UsageError, match="already exists: choose another name"):
        create_handover(stocked, [ACME], "dest@example.com", target)
    assert stocked.vault.log.head() == before
    assert [p.name for p in out.iterdir()] == ["p.smh"] and target.read_text() == "theirs\n"


@pytest.mark.parametrize("export", ["packet", "totp"])
@pytest.mark.parametrize("name", ["vault.db", "keyring.json", "new.smh"])
def test_nothing_is_written_into_the_vault_directory(stocked, vault_dir, tmp_path, monkeypatch, export, name):
    alias = tmp_path / "alias"
    alias.symlink_to(vault_dir)
    keyring = (vault_dir / "keyring.json").read_bytes()
    files = sorted(p.name for p in vault_dir.iterdir())
    before = stocked.vault.log.head()
    monkeypatch.chdir(vault_dir)
    for target in (vault_dir / name, alias / name, Path(name)):
        with pytest.raises(UsageError, match=f"^{re.escape(str(target))} is inside the vault directory"):
            _write(stocked, export, target)
    assert stocked.vault.log.head() == before and stocked.vault.log.verify().ok
    assert (vault_dir / "keyring.json").read_bytes() == keyring and sorted(p.name for p in vault_dir.iterdir()) == files


# --- failures leave nothing behind -------------------------------------------------------------------------


def test_a_failed_link_leaves_no_file_and_rolls_the_entries_back(stocked, out, monkeypatch):
    import os

    def failing_link(source, target):  # the finished file is linked to its name, never renamed over one
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", failing_link)
    before = stocked.vault.log.head()
    with pytest.raises(UsageError, match=r"cannot write the handover packet to .*p.smh: No space left on device"):
        create_handover(stocked, [ACME], "dest@example.com", out / "p.smh")
    with pytest.raises(UsageError, match="cannot write the TOTP export"):
        export_totp(stocked, [ACME], out / "t.txt", "uri")
    assert stocked.vault.log.head() == before and nothing_written(out)
    assert stocked.vault.log.verify().ok


class _CommitFails:
    """The vault's transaction connection, except that COMMIT fails as an I/O error makes it
    fail: SQLite rolls the transaction back, and the caller sees the error."""

    def __init__(self, conn, error):
        self._conn, self._error = conn, error

    def execute(self, sql, *args):
        if sql == "COMMIT":
            self._conn.execute("ROLLBACK")
            raise self._error
        return self._conn.execute(sql, *args)


@pytest.mark.parametrize("export", ["packet", "totp"])
def test_a_failed_commit_removes_the_file_it_had_placed(stocked, out, monkeypatch, export):
    import sqlite3

    target = out / "p.smh"
    tx = stocked.vault.tx
    real_conn = tx._conn

    class Watching(_CommitFails):
        def execute(self, sql, *args):
            if sql == "COMMIT":
                assert target.exists()  # placed before the commit...
            return super().execute(sql, *args)

    monkeypatch.setattr(tx, "_conn", Watching(real_conn, sqlite3.OperationalError("disk I/O error")))
    before = stocked.vault.log.head()
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        if export == "packet":
            create_handover(stocked, [ACME], "dest@example.com", target)
        else:
            export_totp(stocked, [ACME], target, "uri")
    monkeypatch.setattr(tx, "_conn", real_conn)
    assert stocked.vault.log.head() == before and nothing_written(out)  # ...and gone with the entries
    assert stocked.vault.log.verify().ok


def test_an_error_inside_the_transaction_removes_the_file_it_had_placed(stocked, out, monkeypatch):
    import contextlib

    real = stocked.atomic

    @contextlib.contextmanager
    def fails_after_the_write():
        with real():
            yield
            assert (out / "p.smh").exists()  # placed inside the transaction...
            raise RuntimeError("a later step of the same transaction failed")

    monkeypatch.setattr(stocked, "atomic", fails_after_the_write)
    before = stocked.vault.log.head()
    with pytest.raises(RuntimeError):
        create_handover(stocked, [ACME], "dest@example.com", out / "p.smh")
    assert stocked.vault.log.head() == before and nothing_written(out)  # ...rolled back, and gone


def test_a_missing_directory_fails_before_anything_is_logged(stocked, tmp_path):
    before = stocked.vault.log.head()
    with pytest.raises(UsageError, match="cannot write the handover packet"):
        create_handover(stocked, [ACME], "dest@example.com", tmp_path / "nowhere" / "p.smh")
    assert stocked.vault.log.head() == before


@pytest.mark.parametrize("parent", ["nowhere", "file.txt"])
def test_the_checks_before_the_confirmation_refuse_a_target_with_no_directory(stocked, tmp_path, parent):
    (tmp_path / "file.txt").write_text("a file, not a directory\n")
    target = tmp_path / parent / "p.smh"
    reason = "No such file or directory" if parent == "nowhere" else "Not a directory"
    with pytest.raises(UsageError, match=f"^cannot write the handover packet to {re.escape(str(target))}: {reason}$"):
        check_handover(stocked, [ACME], "dest@example.com", target)
    with pytest.raises(UsageError, match=f"^cannot write the TOTP export to {re.escape(str(target))}: {reason}$"):
        check_totp_export(stocked, [ACME], target, "uri")


# --- packet_info ---------------------------------------------------------------------------------------------


def test_packet_info_reads_the_header_without_the_passphrase(stocked, out):
    result = create_handover(stocked, [ACME], "dest@example.com", out / "p.smh")
    header = packet_info(result.path)
    assert (header.packet_id, header.to, header.accounts) == (result.packet_id, "dest@example.com", (ACME,))


def test_packet_info_refuses_a_fifo_or_a_folder_instead_of_waiting(tmp_path):
    import os
    import threading

    fifo = tmp_path / "p.smh"
    os.mkfifo(fifo)
    raised: list[BaseException] = []

    def read() -> None:
        try:
            packet_info(fifo)
        except BaseException as exc:  # noqa: BLE001 - checked below, on the test's thread
            raised.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # it waits for a writer: give it one, so the thread ends
        with open(fifo, "wb"):
            pass
        pytest.fail("packet_info blocked on a FIFO")
    (error,) = raised
    assert isinstance(error, InvalidInputError) and str(error) == (
        f"{fifo}: cannot read the handover packet: not a regular file")
    with pytest.raises(InvalidInputError, match=f"^{re.escape(str(tmp_path))}: cannot read the handover packet: Is a directory$"):
        packet_info(tmp_path)


def test_packet_info_names_a_file_that_is_no_packet(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(ImportFileError, match="notes.txt: not an smvault handover packet"):
        packet_info(tmp_path / "notes.txt")
    with pytest.raises(InvalidInputError, match="missing.smh: cannot read the handover packet: No such file"):
        packet_info(tmp_path / "missing.smh")


# --- TOTP export -------------------------------------------------------------------------------------------


def test_uri_export_gives_one_labelled_uri_per_account_in_order(stocked, out):
    result = export_totp(stocked, [NEWS, ACME], out / "seeds.txt", "uri")
    assert result.accounts == (NEWS, ACME) and result.format == "uri"
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    lines = result.path.read_text().splitlines()
    parsed = [otp.parse_otpauth_uri(line) for line in lines]
    assert [otp.encode_base32_secret(p.secret) for p in parsed] == [STEAM_SEED, SEED]
    assert parsed[0].kind == "steam" and (parsed[1].issuer, parsed[1].label) == ("instagram", "acme")
    imported = parse_file("otpauth", result.path.read_bytes(), "seeds.txt")  # the import reads it back
    assert [e.otp for e in imported.entries] == parsed and not imported.problems


def test_qr_export_is_one_scannable_code_per_account(stocked, out):
    import re

    result = export_totp(stocked, [ACME, NEWS], out / "seeds.html", "qr")
    page = result.path.read_text()
    figures = re.findall(r'<figure class="code">(.*?)</figure>', page, re.S)
    assert len(figures) == 2
    decoded = [otp.parse_otpauth_uri(qr_from_html(figure)) for figure in figures]
    assert [otp.encode_base32_secret(p.secret) for p in decoded] == [SEED, STEAM_SEED]
    assert [re.search(r"<figcaption>(.*?)</figcaption>", f).group(1) for f in figures] == [ACME, NEWS]
    assert "<script" not in page and "Content-Security-Policy" in page
    assert SEED not in page and STEAM_SEED not in page  # only inside the QR codes


def test_export_logs_one_entry_per_account_without_the_seed(stocked, out):
    export_totp(stocked, [ACME, NEWS], out / "seeds.html", "qr")
    logged = entries(stocked, "totp.export")
    assert [(e["acct"], e["field"], e["to"], e["detail"]) for e in logged] == [
        (ACME, "totp-seed", stocked.person.id, {"format": "qr", "file": "seeds.html"}),
        (NEWS, "totp-seed", stocked.person.id, {"format": "qr", "file": "seeds.html"})]
    assert leaked(log_text(stocked)) == []


def test_an_account_without_a_seed_is_named_and_nothing_is_written(stocked, out):
    from smvault.services import accounts

    accounts.add_account(stocked, "tiktok", "noseed")
    grants.add_grant(stocked, "alice@example.com", "tiktok:noseed", "reveal")
    before = stocked.vault.log.head()
    with pytest.raises(InvalidInputError, match="^tiktok:noseed has no TOTP seed in the vault"):
        export_totp(stocked, [ACME, "tiktok:noseed"], out / "seeds.txt", "uri")
    with pytest.raises(UsageError, match="format must be one of uri, qr"):
        export_totp(stocked, [ACME], out / "seeds.txt", "png")
    assert stocked.vault.log.head() == before and nothing_written(out)


# --- offboarding: whoever made a packet or an export must see those secrets rotated -----------------------------


def _rotation_steps(session, email):
    view = offboarding.plan_offboarding(session, email)
    return {(s.kind, s.account_key, s.learned) for s in view.steps
            if s.kind in ("rotate-password", "reenrol-totp", "regenerate-recovery-codes")}


def test_offboarding_a_packet_creator_asks_for_every_secret_in_it_to_be_rotated(stocked, out, vault_dir, clock):
    operators.add_operator(stocked, "bob", BOB_PASS, email="bob@example.com")
    grants.add_grant(stocked, "bob@example.com", ACME, "reveal")
    grants.add_grant(stocked, "bob@example.com", NEWS, "reveal")
    clock.advance(minutes=1)
    assert _rotation_steps(stocked, "bob@example.com") == {
        ("rotate-password", ACME, "could"), ("rotate-password", NEWS, "could"),
        ("reenrol-totp", ACME, None)}  # bob holds ACME's TOTP device; he has seen nothing yet
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        create_handover(bob, [ACME], "dest@example.com", out / "p.smh")
        export_totp(bob, [NEWS], out / "seeds.txt", "uri")
    assert _rotation_steps(stocked, "bob@example.com") == {
        ("rotate-password", ACME, "did"), ("reenrol-totp", ACME, None), ("regenerate-recovery-codes", ACME, None),
        ("rotate-password", NEWS, "could"), ("reenrol-totp", NEWS, None)}


def test_offboarding_a_packet_recipient_asks_for_every_secret_in_it_to_be_rotated(stocked, out):
    rotations = {("rotate-password", ACME, "did"), ("reenrol-totp", ACME, "did"),
                 ("regenerate-recovery-codes", ACME, "did")}
    assert not rotations & _rotation_steps(stocked, "cara@example.com")
    create_handover(stocked, [ACME], "cara@example.com", out / "p.smh")
    learned = {step for step in _rotation_steps(stocked, "cara@example.com") if step[2] == "did"}
    assert learned == {("rotate-password", ACME, "did")}  # the steps the plan marks as learned
    plan = offboarding.plan_offboarding(stocked, "cara@example.com")
    assert {s.kind for s in plan.steps if s.account_key == ACME} >= {
        "rotate-password", "reenrol-totp", "regenerate-recovery-codes"}


def test_what_a_person_learned_lists_packets_and_exports(stocked, out):
    from smvault.services.people import person_detail
    from smvault.ui.views.people import learned_what

    create_handover(stocked, [NEWS], "dest@example.com", out / "p.smh")
    export_totp(stocked, [ACME], out / "seeds.txt", "uri")
    learned = person_detail(stocked, "alice@example.com").learned
    assert [(e["action"], e["acct"], e.get("field")) for e in learned][:3] == [
        ("totp.export", ACME, "totp-seed"), ("handover.create", NEWS, "totp-seed"),
        ("handover.create", NEWS, "password")]
    assert [learned_what(e) for e in learned][:3] == [
        "TOTP seed (TOTP export)", "TOTP seed (handover packet)", "password (handover packet)"]


# --- emergency access hands out no files ---------------------------------------------------------------------


def _emergency(vault_dir, clock, requester, ref, approver_name, approver_pass):
    """`requester` requests emergency access to `ref`; the operator `approver_name` approves."""
    from smvault.services import emergency as em

    view = em.request_access(requester, ref, reason="the account is posting spam", incident="INC-9")
    with unlock(vault_dir, approver_name, approver_pass, clock=clock) as approver:
        em.approve_access(approver, view.id)
    return view


def test_no_packet_or_export_under_the_operators_emergency_access(stocked, out, vault_dir, clock):
    from smvault.services import accounts

    operators.add_operator(stocked, "ops", b"ops keeps her own passphrase", email="ops@example.com")
    with unlock(vault_dir, "ops", b"ops keeps her own passphrase", clock=clock) as ops:
        operators.add_operator(ops, "carol", b"carol keeps her own passphrase", email="carol@example.com")
    accounts.add_account(stocked, "tiktok", "acme")
    secrets.set_password(stocked, "tiktok:acme", "tiktok-password-1")
    secrets.set_totp(stocked, "tiktok:acme", SEED)
    grants.add_grant(stocked, "alice@example.com", "tiktok:acme", "code-only")
    _emergency(vault_dir, clock, stocked, "tiktok:acme", "carol", b"carol keeps her own passphrase")
    assert secrets.reveal(stocked, "tiktok:acme").value == "tiktok-password-1"  # she may use it now...
    before = stocked.vault.log.head()
    refusal = "^tiktok:acme: emergency access is for using the account now; a file export would outlive it$"
    for attempt in (lambda: check_handover(stocked, [ACME, "tiktok:acme"], "dest@example.com", out / "p.smh"),
                    lambda: create_handover(stocked, [ACME, "tiktok:acme"], "dest@example.com", out / "p.smh"),
                    lambda: check_totp_export(stocked, ["tiktok:acme"], out / "t.txt", "uri"),
                    lambda: export_totp(stocked, ["tiktok:acme"], out / "t.txt", "uri"),
                    lambda: export_totp(stocked, ["tiktok:acme"], out / "t.html", "qr")):
        with pytest.raises(PolicyError, match=refusal):  # ...but takes nothing away that outlives the window
            attempt()
    assert stocked.vault.log.head() == before and nothing_written(out)


def test_no_packet_for_a_recipient_who_holds_emergency_access(stocked, out, vault_dir, clock):
    operators.add_operator(stocked, "bob", BOB_PASS, email="bob@example.com")
    clock.advance(minutes=1)
    with unlock(vault_dir, "bob", BOB_PASS, clock=clock) as bob:
        _emergency(vault_dir, clock, bob, NEWS, "alice", PASSPHRASE)
    before = stocked.vault.log.head()
    with pytest.raises(PolicyError, match=f"^{NEWS}: emergency access is for using the account now"):
        create_handover(stocked, [NEWS], "Bob@Example.com", out / "p.smh")
    assert stocked.vault.log.head() == before and nothing_written(out)
    create_handover(stocked, [NEWS], "dest@example.com", out / "p.smh")  # for someone else: alice's own grant
