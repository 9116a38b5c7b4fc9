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
        assert migrations.current_version(s.vault.conn) == 1
    monkeypatch.undo()
    with unlock(tmp_path / "v", "alice", PASSPHRASE, clock=clock) as s:
        assert migrations.current_version(s.vault.conn) == migrations.LATEST
        account = s.vault.accounts.by_key("x", "acme")
        assert account.owner_id == s.vault.people.by_email("bo@example.com").id
        assert account.backup_owner_id is None
        assert s.vault.workflows.count_open() == {}
        assert s.vault.log.verify().ok
