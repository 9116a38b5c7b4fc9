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


def _indexes(conn, table: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,))}


def test_version_6_rebuilds_workflows_keeping_rows_steps_and_foreign_keys(tmp_path, monkeypatch, clock):
    """A v5 vault with workflows and steps upgrades: every row is kept, the new kinds and a
    NULL `opened_by` are allowed, indexes are back and workflow_steps still references it."""
    import sqlcipher3

    from smvault.domain.workflow import StepSpec, WorkflowKind
    from smvault.services import people
    from smvault.services.session import create_vault, unlock
    from tests.conftest import PASSPHRASE

    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
    with create_vault(tmp_path / "v", "alice", PASSPHRASE, clock=clock) as s:
        people.add_person(s, "Bo", "bo@example.com")
        bo = s.vault.people.by_email("bo@example.com").id
        with s.atomic():
            s.vault.workflows.add(
                WorkflowKind.OFFBOARDING, "open", person_id=bo, account_id=None,
                opened_by=s.operator.id, opened_at=s.ts(), opened_seq=s.vault.log.head().seq,
                data={"leave_on": "2026-12-01"},
                steps=[StepSpec("rotate-password", data={"n": 1}), StepSpec("remove-admin")])
            s.vault.workflows.complete_step(1, s.operator.id, s.ts(), "rotated")
        before_rows = s.vault.conn.execute("SELECT * FROM workflows").fetchall()
        before_steps = s.vault.conn.execute("SELECT * FROM workflow_steps").fetchall()
        with pytest.raises(sqlcipher3.IntegrityError):  # v5 still refuses the new kinds
            s.vault.conn.execute("INSERT INTO workflows (kind, state, opened_by, opened_at, opened_seq)"
                                 " VALUES ('emergency', 'requested', 1, 't', 1)")
        old_indexes = _indexes(s.vault.conn, "workflows")
    monkeypatch.undo()
    with unlock(tmp_path / "v", "alice", PASSPHRASE, clock=clock) as s:
        conn = s.vault.conn
        assert migrations.current_version(conn) == migrations.LATEST
        assert conn.execute("SELECT * FROM workflows").fetchall() == before_rows
        assert conn.execute("SELECT * FROM workflow_steps").fetchall() == before_steps
        assert _indexes(conn, "workflows") == old_indexes | {"workflows_one_post_incident"}
        assert "log_break_glass" in _indexes(conn, "log")
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert {r[2] for r in conn.execute("PRAGMA foreign_key_list(workflow_steps)")} >= {"workflows"}
        assert "workflows_v6" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        with s.atomic():
            w = s.vault.workflows.add(WorkflowKind.POST_INCIDENT, "open", person_id=None, account_id=None,
                                      opened_by=None, opened_at=s.ts(), opened_seq=1,
                                      data={"incident": "INC-1"}, steps=[StepSpec("review-log")])
        assert s.vault.workflows.get(w.id).opened_by is None
        with pytest.raises(sqlcipher3.IntegrityError):  # the foreign key still binds steps to workflows
            with s.atomic():
                conn.execute("INSERT INTO workflow_steps (workflow_id, position, kind) VALUES (999, 1, 'x')")
        with pytest.raises(sqlcipher3.IntegrityError):  # one open post-incident per incident
            with s.atomic():
                s.vault.workflows.add(WorkflowKind.POST_INCIDENT, "open", person_id=None, account_id=None,
                                      opened_by=None, opened_at=s.ts(), opened_seq=1,
                                      data={"incident": "INC-1"}, steps=[])
        assert s.vault.log.verify().ok


def test_a_rebuild_that_breaks_a_foreign_key_rolls_back_and_turns_them_on_again(tmp_path, monkeypatch):
    conn = connect(tmp_path / "db", os.urandom(32), create=True)
    tx = Transactions(conn)
    migrations.migrate(conn, tx, "t")
    with tx.atomic():
        conn.execute("INSERT INTO people (name, email, type, created_at) VALUES ('a', 'a@x', 'employee', 't')")
        conn.execute("INSERT INTO operators (name, person_id, created_at) VALUES ('a', 1, 't')")

    def drops_people(c):  # a rebuild that forgot to copy rows: foreign keys are off, so it runs
        c.execute("DELETE FROM people")

    broken = migrations.Migration(99, "broken rebuild", drops_people, rebuilds_tables=("people", "operators"))
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    from smvault.domain.errors import IntegrityError

    with pytest.raises(IntegrityError, match="dangling reference .*operators"):
        migrations.migrate(conn, tx, "t2")
    assert migrations.current_version(conn) == migrations.LATEST
    assert conn.execute("SELECT count(*) FROM people").fetchone()[0] == 1
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def _v5_database(tmp_path):
    conn = connect(tmp_path / "db", os.urandom(32), create=True)
    tx = Transactions(conn)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
        migrations.migrate(conn, tx, "t")
    return conn, tx


def test_version_6_checks_only_the_rebuilt_tables_foreign_keys(tmp_path):
    """An old dangling row in a table the rebuild does not touch (a grant of a person deleted
    while foreign keys were off) must not block the upgrade."""
    conn, tx = _v5_database(tmp_path)
    conn.execute("PRAGMA foreign_keys = OFF")
    with tx.atomic():
        conn.execute("INSERT INTO grants (person_id, account_id, level, created_at) VALUES (41, 42, 'reveal', 't')")
    conn.execute("PRAGMA foreign_keys = ON")
    assert migrations.migrate(conn, tx, "t2") == [6]
    assert conn.execute("PRAGMA foreign_key_check(grants)").fetchall()  # still there, untouched
    columns = {r[1] for r in conn.execute("PRAGMA table_info(operators)")}
    assert "added_in_break_glass" in columns
    assert {"log_break_glass", "log_kit_create"} <= {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log'")}


class _ForeignKeysStayOff:
    """The real connection, except that turning foreign keys back on fails."""

    def __init__(self, conn):
        self._conn = conn

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def execute(self, sql, *args):
        if sql.replace(" ", "").upper() == "PRAGMAFOREIGN_KEYS=ON":
            raise RuntimeError("cannot turn foreign keys on")
        return self._conn.execute(sql, *args)


def test_a_failing_rebuild_reports_its_own_error_even_if_foreign_keys_cannot_be_turned_on(tmp_path, monkeypatch):
    from smvault.domain.errors import IntegrityError

    conn = connect(tmp_path / "db", os.urandom(32), create=True)
    tx = Transactions(conn)
    migrations.migrate(conn, tx, "t")
    with tx.atomic():
        conn.execute("INSERT INTO people (name, email, type, created_at) VALUES ('a', 'a@x', 'employee', 't')")
        conn.execute("INSERT INTO operators (name, person_id, created_at) VALUES ('a', 1, 't')")

    def drops_people(c):
        c.execute("DELETE FROM people")

    broken = migrations.Migration(99, "broken rebuild", drops_people, rebuilds_tables=("people", "operators"))
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken))
    with pytest.raises(IntegrityError, match="dangling reference"):
        migrations.migrate(_ForeignKeysStayOff(conn), tx, "t2")
    assert conn.execute("SELECT count(*) FROM people").fetchone()[0] == 1
