"""Every mutation appends exactly one log entry, in the same transaction as the change."""

from __future__ import annotations

import pytest

from smvault.domain.errors import ConflictError, IntegrityError
from smvault.services import accounts, grants, logs, people, secrets
from smvault.services.session import unlock

PASSPHRASE = b"correct horse battery staple"


@pytest.mark.parametrize(
    "action, call",
    [
        ("person.add", lambda s: people.add_person(s, "Zed", "zed@example.com")),
        ("person.update", lambda s: people.update_person(s, "bob@example.com", team="brand")),
        ("person.leave", lambda s: people.mark_leaving(s, "bob@example.com", s.now().date())),
        ("account.add", lambda s: accounts.add_account(s, "linkedin", "acme-co")),
        ("account.update", lambda s: accounts.update_account(s, "x:acme", tier=0)),
        ("grant.add", lambda s: grants.add_grant(s, "bob@example.com", "x:acme", "reveal")),
        ("grant.revoke", lambda s: grants.revoke_grants(s, "alice@example.com", "x:acme")),
        ("secret.password.set", lambda s: secrets.set_password(s, "x:acme", "pw-abcdefg")),
        ("secret.totp.set", lambda s: secrets.set_totp(s, "x:acme", "JBSWY3DPEHPK3PXP")),
        ("secret.recovery-codes.add", lambda s: secrets.add_recovery_codes(s, "x:acme", ["a1", "b2"])),
        ("secret.reveal", lambda s: secrets.reveal(s, "x:acme")),
    ],
)
def test_each_mutation_adds_exactly_one_entry(session, action, call):
    people.add_person(session, "Bob", "bob@example.com")
    accounts.add_account(session, "x", "acme")
    grants.add_grant(session, "alice@example.com", "x:acme", "manage")
    secrets.set_password(session, "x:acme", "pw-0000000")
    before = session.vault.log.count()
    call(session)
    entries = session.vault.log.entries(limit=2)
    assert session.vault.log.count() == before + 1
    assert entries[0]["action"] == action
    assert session.vault.log.verify().ok


def test_failed_action_changes_nothing(session):
    people.add_person(session, "Bob", "bob@example.com")
    before = session.vault.log.count()
    with pytest.raises(ConflictError):
        people.add_person(session, "Bob again", "BOB@example.com")
    assert session.vault.log.count() == before
    assert len(people.list_people(session)) == 2


def test_log_rejects_update_and_delete(session):
    conn = session.vault.conn
    for sql in ("UPDATE log SET body = 'x' WHERE seq = 1", "DELETE FROM log WHERE seq = 1"):
        with pytest.raises(Exception, match="append-only"):
            conn.execute(sql)


def test_unlock_verifies_only_since_anchor_and_logs_unlock(session, vault_dir, clock):
    session.close()
    s = unlock(vault_dir, "alice", PASSPHRASE, clock=clock)
    assert s.vault.log.entries(limit=1)[0]["action"] == "vault.unlock"
    anchor = s.anchor.read()
    assert anchor == s.vault.log.head()
    s.close()


def test_anchor_mismatch_is_an_integrity_error(session, vault_dir, clock):
    from smvault.domain.logchain import ChainLink

    head = session.vault.log.head()
    session.close()
    # Pretend this machine saw more of the log than the vault now holds: an older copy.
    session.anchor.reset(ChainLink(head.seq + 5, b"\x01" * 32))
    with pytest.raises(IntegrityError, match="older copy"):
        unlock(vault_dir, "alice", PASSPHRASE, clock=clock)


def test_checkpoint_and_export_are_logged_and_verifiable(session):
    cp = logs.checkpoint(session)
    assert cp["seq"] == session.vault.log.head().seq
    lines = list(logs.export_jsonl(session))
    assert len(lines) == session.vault.log.count()
    assert session.vault.log.entries(limit=1)[0]["action"] == "log.export"


def test_operator_person_names_are_checked_like_any_name(session):
    """An operator's person record is user text too: no escape sequences into the vault."""
    import pytest

    from smvault.domain.errors import InvalidInputError
    from smvault.services.operators import add_operator

    with pytest.raises(InvalidInputError, match="name contains control characters"):
        add_operator(session, "eve", b"eve's passphrase", email="eve@example.com",
                     person_name="Eve\x1b]52;c;aGk=\x07")
    assert session.vault.people.by_email("eve@example.com") is None
