"""Schema migrations, each applied and recorded in one transaction.

Never `executescript`: it commits whatever transaction is open first, so a failure half way
would leave a changed schema with no record of it. Statements run one by one inside the
caller's BEGIN IMMEDIATE, and the version row is written in that same transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from smvault.domain.errors import IntegrityError
from smvault.store.connection import Connection, Transactions

_SCHEMA_V1 = [
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL COLLATE NOCASE UNIQUE,
        team TEXT,
        region TEXT,
        type TEXT NOT NULL CHECK (type IN ('employee', 'contractor', 'agency')),
        manager_id INTEGER REFERENCES people(id),
        leave_on TEXT,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE operators (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        person_id INTEGER NOT NULL REFERENCES people(id),
        created_at TEXT NOT NULL,
        removed_at TEXT)""",
    """CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        handle TEXT NOT NULL COLLATE NOCASE,
        url TEXT,
        brand TEXT,
        region TEXT,
        business_unit TEXT,
        tier INTEGER NOT NULL DEFAULT 2 CHECK (tier BETWEEN 0 AND 3),
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dormant', 'retired')),
        company_owned INTEGER NOT NULL DEFAULT 1,
        owner_id INTEGER REFERENCES people(id),
        login_id TEXT,
        recovery_email TEXT,
        recovery_email_controller_id INTEGER REFERENCES people(id),
        recovery_phone TEXT,
        recovery_phone_controller_id INTEGER REFERENCES people(id),
        mfa TEXT NOT NULL DEFAULT 'unknown'
            CHECK (mfa IN ('unknown', 'none', 'totp', 'sms', 'security-key')),
        totp_holder_id INTEGER REFERENCES people(id),
        notes TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (platform, handle))""",
    """CREATE TABLE passwords (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
        value TEXT NOT NULL,
        rotated_at TEXT NOT NULL)""",
    """CREATE TABLE totp_secrets (
        account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
        secret BLOB NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('totp', 'hotp', 'steam')),
        algorithm TEXT NOT NULL,
        digits INTEGER NOT NULL,
        period INTEGER NOT NULL,
        counter INTEGER NOT NULL DEFAULT 0,
        enrolled_at TEXT NOT NULL)""",
    """CREATE TABLE recovery_codes (
        id INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        code TEXT NOT NULL,
        created_at TEXT NOT NULL,
        used_at TEXT)""",
    """CREATE INDEX recovery_codes_account ON recovery_codes(account_id)""",
    """CREATE TABLE grants (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people(id),
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        level TEXT NOT NULL CHECK (level IN ('code-only', 'reveal', 'manage', 'platform-admin')),
        granted_by INTEGER REFERENCES operators(id),
        reason TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT,
        revoked_by INTEGER REFERENCES operators(id))""",
    """CREATE INDEX grants_person ON grants(person_id)""",
    """CREATE INDEX grants_account ON grants(account_id)""",
    """CREATE UNIQUE INDEX grants_one_open ON grants(person_id, account_id, level)
        WHERE revoked_at IS NULL""",
    """CREATE TABLE log_keys (
        epoch INTEGER PRIMARY KEY,
        key BLOB NOT NULL,
        created_at TEXT NOT NULL)""",
    # body is the canonical JSON of the entry and the only copy of its fields: nothing
    # outside the hashed bytes can be edited unnoticed. Queries go through expression indexes.
    """CREATE TABLE log (
        seq INTEGER PRIMARY KEY,
        prev_hash BLOB NOT NULL,
        body TEXT NOT NULL,
        entry_hash BLOB NOT NULL,
        mac BLOB NOT NULL,
        key_epoch INTEGER NOT NULL)""",
    """CREATE INDEX log_account ON log(json_extract(body, '$.account'))
        WHERE json_extract(body, '$.account') IS NOT NULL""",
    """CREATE INDEX log_recipient ON log(json_extract(body, '$.to'))
        WHERE json_extract(body, '$.to') IS NOT NULL""",
    # A guard against bugs, not attackers: anyone with the vault key can drop a trigger.
    """CREATE TRIGGER log_no_update BEFORE UPDATE ON log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END""",
    """CREATE TRIGGER log_no_delete BEFORE DELETE ON log
        BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END""",
]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]
    # SQLite changes a table's constraints only by rebuilding it (create the new table, copy,
    # drop the old, rename), and its documented procedure turns foreign keys off around the
    # transaction (the pragma is a no-op inside one) and checks them before committing. Name
    # the rebuilt tables and those whose foreign keys point at them: only their keys are
    # checked, so an old dangling row elsewhere cannot block an unrelated upgrade forever.
    rebuilds_tables: tuple[str, ...] = ()


def _statements(statements: list[str]) -> Callable[[Connection], None]:
    def apply(conn: Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return apply


# Workflows (offboarding, ownership transfer, access review) and an account's backup owner.
# A workflow's kind-specific facts live in `data` (JSON); its steps are rows so that each
# step's evidence, who resolved it and when stay queryable.
_SCHEMA_V2 = [
    """ALTER TABLE accounts ADD COLUMN backup_owner_id INTEGER REFERENCES people(id)""",
    """CREATE TABLE workflows (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('offboarding', 'transfer', 'review')),
        state TEXT NOT NULL,
        person_id INTEGER REFERENCES people(id),
        account_id INTEGER REFERENCES accounts(id),
        opened_by INTEGER NOT NULL REFERENCES operators(id),
        opened_at TEXT NOT NULL,
        opened_seq INTEGER NOT NULL,
        closed_by INTEGER REFERENCES operators(id),
        closed_at TEXT,
        data TEXT NOT NULL DEFAULT '{}')""",
    """CREATE INDEX workflows_open ON workflows(kind) WHERE closed_at IS NULL""",
    """CREATE UNIQUE INDEX workflows_one_offboarding ON workflows(person_id)
        WHERE kind = 'offboarding' AND closed_at IS NULL""",
    """CREATE UNIQUE INDEX workflows_one_transfer ON workflows(account_id)
        WHERE kind = 'transfer' AND closed_at IS NULL""",
    """CREATE TABLE workflow_steps (
        id INTEGER PRIMARY KEY,
        workflow_id INTEGER NOT NULL REFERENCES workflows(id),
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        account_id INTEGER REFERENCES accounts(id),
        grant_id INTEGER REFERENCES grants(id),
        data TEXT NOT NULL DEFAULT '{}',
        state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done')),
        outcome TEXT,
        done_by INTEGER REFERENCES operators(id),
        done_at TEXT,
        evidence TEXT,
        UNIQUE (workflow_id, position))""",
]

# What a person learned (offboarding's did-learn list) is read by recipient; with the action,
# account, field and time in the index the query never decrypts a log body. Replaces
# log_recipient, whose key it starts with.
_SCHEMA_V3 = [
    """DROP INDEX log_recipient""",
    """CREATE INDEX log_disclosed ON log(
        json_extract(body, '$.to'), json_extract(body, '$.action'), json_extract(body, '$.account'),
        json_extract(body, '$.field'), json_extract(body, '$.ts'))
        WHERE json_extract(body, '$.to') IS NOT NULL""",
]

# Who added each operator: whoever adds an operator chooses its first passphrase, so dual
# control refuses an approver added by the requester. The first operator stays NULL; rows of
# older vaults are filled from their `operator.add` log entries (`op` added `detail.operator`;
# names are unique, removed ones included). A rewritten log could misstate this, as it could
# anything else: `log verify` is what vouches for the log.
def _v4_operator_provenance(conn: Connection) -> None:
    """Who added each operator, and when each last changed their passphrase: two columns,
    filled for older vaults from their log in ONE pass (a correlated query would read the
    whole log once per operator: half a minute on a million entries).

    Whoever adds an operator chooses their first passphrase; once the operator changes it,
    it is theirs alone (transfer approvals depend on both facts)."""
    conn.execute("ALTER TABLE operators ADD COLUMN added_by INTEGER REFERENCES operators(id)")
    conn.execute("ALTER TABLE operators ADD COLUMN passphrase_changed_at TEXT")
    ids = dict(conn.execute("SELECT name, id FROM operators"))
    added_by: dict[str, int] = {}
    changed: dict[str, str] = {}
    for action, op, subject, ts in conn.execute(
        "SELECT json_extract(body, '$.action'), json_extract(body, '$.op'),"
        " json_extract(body, '$.detail.operator'), json_extract(body, '$.ts') FROM log"
        " WHERE json_extract(body, '$.action') IN ('operator.add', 'operator.passwd') ORDER BY seq"
    ).fetchall():
        if action == "operator.add" and subject not in added_by and op != subject and op in ids:
            added_by[subject] = ids[op]
        elif action == "operator.passwd":
            changed[op] = ts
    conn.executemany("UPDATE operators SET added_by = ? WHERE name = ?",
                     [(adder, name) for name, adder in added_by.items()])
    conn.executemany("UPDATE operators SET passphrase_changed_at = ? WHERE name = ?",
                     [(ts, name) for name, ts in changed.items()])


# An operator who hands a value to someone else (`--for`) sees it too: disclosure entries name
# them in `by` (when not the recipient). Offboarding reads what a person learned by `to` OR
# `by`; this covers the `by` leg as v3 covers `to`. Entries older than `by` name that operator
# only by `op`: the second index covers those (`for` set, `by` absent), and stays small.
_SCHEMA_V5 = [
    """CREATE INDEX log_disclosed_by ON log(
        json_extract(body, '$.by'), json_extract(body, '$.action'), json_extract(body, '$.account'),
        json_extract(body, '$.field'), json_extract(body, '$.ts'))
        WHERE json_extract(body, '$.by') IS NOT NULL""",
    """CREATE INDEX log_disclosed_for_op ON log(
        json_extract(body, '$.op'), json_extract(body, '$.action'), json_extract(body, '$.account'),
        json_extract(body, '$.field'), json_extract(body, '$.ts'), json_extract(body, '$.to'))
        WHERE json_extract(body, '$.for') IS NOT NULL AND json_extract(body, '$.by') IS NULL""",
    # When each account's secrets were last replaced, by log order (timestamps collide within
    # a second): the few entries that set a secret, so the plan never reads an account's log.
    """CREATE INDEX log_secret_set ON log(
        json_extract(body, '$.account'), json_extract(body, '$.action'),
        json_extract(body, '$.detail.retired'))
        WHERE json_extract(body, '$.action') IN
        ('secret.password.set', 'secret.totp.set', 'secret.recovery-codes.add')""",
]

# Break-glass: emergency access requests and post-incident rotation are workflows, and a
# post-incident workflow may be opened by a recovery session (no operator row) or by the system
# when a grant lapses: `opened_by` becomes nullable. Changing a CHECK and a NOT NULL means
# rebuilding the table (workflow_steps' foreign key names the table, so it follows the rename).
# Entries of one break-glass session are found by their `bg.id`.
_WORKFLOW_INDEXES_V6 = [
    """CREATE INDEX workflows_open ON workflows(kind) WHERE closed_at IS NULL""",
    """CREATE UNIQUE INDEX workflows_one_offboarding ON workflows(person_id)
        WHERE kind = 'offboarding' AND closed_at IS NULL""",
    """CREATE UNIQUE INDEX workflows_one_transfer ON workflows(account_id)
        WHERE kind = 'transfer' AND closed_at IS NULL""",
    # One open post-incident workflow per incident: a second session for the same incident
    # extends it (services.post_incident), and a race between two processes fails here.
    """CREATE UNIQUE INDEX workflows_one_post_incident ON workflows(json_extract(data, '$.incident'))
        WHERE kind = 'post-incident' AND closed_at IS NULL""",
]

_SCHEMA_V6 = [
    """CREATE TABLE workflows_v6 (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL
            CHECK (kind IN ('offboarding', 'transfer', 'review', 'emergency', 'post-incident')),
        state TEXT NOT NULL,
        person_id INTEGER REFERENCES people(id),
        account_id INTEGER REFERENCES accounts(id),
        opened_by INTEGER REFERENCES operators(id),
        opened_at TEXT NOT NULL,
        opened_seq INTEGER NOT NULL,
        closed_by INTEGER REFERENCES operators(id),
        closed_at TEXT,
        data TEXT NOT NULL DEFAULT '{}')""",
    """INSERT INTO workflows_v6 (id, kind, state, person_id, account_id, opened_by, opened_at,
        opened_seq, closed_by, closed_at, data)
        SELECT id, kind, state, person_id, account_id, opened_by, opened_at, opened_seq,
        closed_by, closed_at, data FROM workflows""",
    """DROP TABLE workflows""",
    """ALTER TABLE workflows_v6 RENAME TO workflows""",
    *_WORKFLOW_INDEXES_V6,
    """CREATE INDEX log_break_glass ON log(json_extract(body, '$.bg.id'))
        WHERE json_extract(body, '$.bg.id') IS NOT NULL""",
    # An operator added by a recovery session has a passphrase chosen by whoever held the
    # shares: dual control counts them as not having their own until they change it. NULL
    # for everyone else; the break-glass session's id otherwise.
    """ALTER TABLE operators ADD COLUMN added_in_break_glass TEXT""",
    # Every unlock checks that the kit in force has its `kit.create` entry (a crash between
    # a kit's rekey and its entry leaves none): a handful of rows, whatever the log's length.
    """CREATE INDEX log_kit_create ON log(json_extract(body, '$.detail.kit_id'))
        WHERE json_extract(body, '$.action') = 'kit.create'""",
]

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _statements(_SCHEMA_V1)),
    Migration(2, "workflows and backup owners", _statements(_SCHEMA_V2)),
    Migration(3, "covering index of disclosures by recipient", _statements(_SCHEMA_V3)),
    Migration(4, "who added each operator, and who set their own passphrase", _v4_operator_provenance),
    Migration(5, "disclosures by the operator who handed them over", _statements(_SCHEMA_V5)),
    Migration(6, "break-glass workflows and entries", _statements(_SCHEMA_V6),
              rebuilds_tables=("workflows", "workflow_steps")),
)

LATEST = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return row[0] or 0


def migrate(conn: Connection, tx: Transactions, now: str) -> list[int]:
    """Apply every pending migration; returns the versions applied."""
    applied = []
    with tx.atomic():
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    version = current_version(conn)
    if version > LATEST:
        raise IntegrityError(
            f"this vault has schema version {version}, newer than this smvault knows "
            f"({LATEST}): upgrade smvault"
        )
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        if migration.rebuilds_tables:
            _apply_rebuilding(conn, tx, migration, now)
        else:
            _apply(conn, tx, migration, now)
        applied.append(migration.version)
    return applied


def _apply(conn: Connection, tx: Transactions, migration: Migration, now: str) -> None:
    with tx.atomic():
        migration.apply(conn)
        conn.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (migration.version, migration.name, now),
        )


def _apply_rebuilding(conn: Connection, tx: Transactions, migration: Migration, now: str) -> None:
    """SQLite's procedure for changing a table (https://sqlite.org/lang_altertable.html#otheralter):
    foreign keys off outside the transaction (otherwise DROP TABLE would cascade or fail), the
    rebuild, a foreign key check inside the transaction (rows coming back roll it all back),
    and foreign keys on again whatever happened."""
    if tx.in_transaction:
        raise RuntimeError("a table-rebuilding migration cannot run inside a transaction")
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with tx.atomic():
            _apply_and_check(conn, migration, now)
    except BaseException:
        # Turn them on again, but a failure doing so must not replace the migration's error.
        with contextlib.suppress(Exception):
            conn.execute("PRAGMA foreign_keys = ON")
        raise
    conn.execute("PRAGMA foreign_keys = ON")


def _apply_and_check(conn: Connection, migration: Migration, now: str) -> None:
    migration.apply(conn)
    broken = [
        row
        for table in migration.rebuilds_tables
        for row in conn.execute(f"PRAGMA foreign_key_check({_quoted(table)})").fetchall()
    ]
    if broken:
        tables = sorted({row[0] for row in broken})
        raise IntegrityError(
            f"migration {migration.version} ({migration.name}) would leave {len(broken)} rows "
            f"with a dangling reference (in {', '.join(tables)}); nothing was changed"
        )
    conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        (migration.version, migration.name, now),
    )


def _quoted(name: str) -> str:
    """An SQL identifier (the names come from this module, never from input)."""
    return '"' + name.replace('"', '""') + '"'
