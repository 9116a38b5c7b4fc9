"""Migrations apply and record themselves in one transaction."""

from __future__ import annotations

import os

import pytest

from smvault.store import migrations
from smvault.store.connection import Transactions, connect


def test_fresh_database_reaches_latest(tmp_path):
    conn = connect(tmp_path / "db", os.urandom(32), create=True)
    assert migrations.migrate(conn, Transactions(conn), "2026-01-01T00:00:00Z") == list(range(1, migrations.LATEST + 1))
    assert migrations.current_version(conn) == migrations.LATEST
    assert migrations.migrate(conn, Transactions(conn), "2026-01-01T00:00:00Z") == []


def test_a_failing_migration_leaves_no_trace(tmp_path, monkeypatch):
    conn = connect(tmp_path / "db", os.urandom(32), create=True)
    tx = Transactions(conn)
    migrations.migrate(conn, tx, "2026-01-01T00:00:00Z")

    def broken(c):
        c.execute("CREATE TABLE half_done (x)")
        c.execute("THIS IS NOT SQL")

    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, migrations.Migration(99, "broken", broken)))
    with pytest.raises(Exception):
        migrations.migrate(conn, tx, "2026-01-02T00:00:00Z")
    assert migrations.current_version(conn) == migrations.LATEST
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables


def test_newer_schema_is_refused(tmp_path):
    from smvault.domain.errors import IntegrityError

    conn = connect(tmp_path / "db", os.urandom(32), create=True)
    tx = Transactions(conn)
    migrations.migrate(conn, tx, "t")
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 't')")
    with pytest.raises(IntegrityError, match="newer"):
        migrations.migrate(conn, tx, "t")


def test_a_version_1_vault_is_upgraded_on_unlock_and_keeps_its_data(tmp_path, monkeypatch, clock):
    """A vault created before workflows existed opens with the new schema; nothing is lost."""
    from smvault.services import people
    from smvault.services.session import create_vault, unlock
    from tests.conftest import PASSPHRASE

    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:1])
    with create_vault(tmp_path / "v", "alice", PASSPHRASE, clock=clock) as s:
        people.add_person(s, "Bo", "bo@example.com")
        bo = s.vault.people.by_email("bo@example.com").id
        with s.atomic():  # this code's Accounts repository already expects the v2 column
            s.vault.conn.execute("INSERT INTO accounts (platform, handle, owner_id, created_at) "
                                 "VALUES ('x', 'acme', ?, 'now')", (bo,))
            for field in ("password", "totp-seed"):  # what a reveal `--for` Bo logs
                s.record("secret.reveal", account=1, acct="x:acme", to=bo, to_email="bo@example.com",
                         field=field, detail={"for": True})
        assert migrations.current_version(s.vault.conn) == 1
        assert _log_indexes(s.vault.conn) >= {"log_account", "log_recipient"}
    monkeypatch.undo()
    with unlock(tmp_path / "v", "alice", PASSPHRASE, clock=clock) as s:
        assert migrations.current_version(s.vault.conn) == migrations.LATEST
        account = s.vault.accounts.by_key("x", "acme")
        assert account.owner_id == s.vault.people.by_email("bo@example.com").id
        assert account.backup_owner_id is None
        assert s.vault.workflows.count_open() == {}
        indexes = _log_indexes(s.vault.conn)
        assert "log_recipient" not in indexes and "log_disclosed" in indexes  # v3 replaced it
        shown = s.vault.log.entries(recipient_id=bo, actions=("secret.reveal",), newest_first=False)
        assert [(e["acct"], e["field"]) for e in shown] == [("x:acme", "password"), ("x:acme", "totp-seed")]
        assert s.vault.operators.added_by(s.vault.operators.by_name("alice").id) is None
        assert s.vault.log.verify().ok


def _log_indexes(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log'")}


def test_version_4_fills_in_who_added_each_operator_from_the_log(tmp_path, monkeypatch, clock):
    """Operators of an older vault get `added_by` from their `operator.add` entries; the first
    operator (who logged adding themself) keeps none."""
    from smvault.services.session import create_vault, unlock
    from tests.conftest import PASSPHRASE

    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:3])
    with create_vault(tmp_path / "v", "alice", PASSPHRASE, clock=clock) as s:
        with s.atomic():  # what `operator add` wrote before v4 (its slot does not matter here)
            s.vault.conn.execute("INSERT INTO operators (name, person_id, created_at) VALUES ('dev', 1, ?)",
                                 (s.ts(),))
            s.record("operator.add", person=1, detail={"operator": "dev"})
        assert "added_by" not in {r[1] for r in s.vault.conn.execute("PRAGMA table_info(operators)")}
    monkeypatch.undo()
    with unlock(tmp_path / "v", "alice", PASSPHRASE, clock=clock) as s:
        assert migrations.current_version(s.vault.conn) == migrations.LATEST
        operators = s.vault.operators
        alice, dev = operators.by_name("alice").id, operators.by_name("dev").id
        assert (operators.added_by(alice), operators.added_by(dev)) == (None, alice)
