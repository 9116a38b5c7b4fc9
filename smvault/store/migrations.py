"""Schema migrations, each applied and recorded in one transaction.

Never `executescript`: it commits whatever transaction is open first, so a failure half way
would leave a changed schema with no record of it. Statements run one by one inside the
caller's BEGIN IMMEDIATE, and the version row is written in that same transaction.
"""

from __future__ import annotations

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

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _statements(_SCHEMA_V1)),
    Migration(2, "workflows and backup owners", _statements(_SCHEMA_V2)),
    Migration(3, "covering index of disclosures by recipient", _statements(_SCHEMA_V3)),
    Migration(4, "who added each operator, and who set their own passphrase", _v4_operator_provenance),
    Migration(5, "disclosures by the operator who handed them over", _statements(_SCHEMA_V5)),
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
        with tx.atomic():
            migration.apply(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, now),
            )
        applied.append(migration.version)
    return applied
