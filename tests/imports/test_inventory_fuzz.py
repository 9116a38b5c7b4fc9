"""Fuzzing the csv inventory format and the importer.

- For ANY bytes (random, or a valid inventory mutated), parsing returns a Parsed or raises
  ImportFileError, never another exception.
- Problems about generated rows never quote a password.
- `apply_import` on a real vault, with random rows (valid, invalid, updates of accounts made
  by earlier examples, unknown owners) and sometimes a fault injected half way, either applies
  everything or leaves the accounts, the secrets and the log's head exactly as they were.
"""

from __future__ import annotations

import csv
import io
import itertools
from datetime import datetime, timezone
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smvault.domain.imports import ImportFileError, Parsed, parse_file
from smvault.services import importer, people
from smvault.services.session import create_vault

SEED = "JBSWY3DPEHPK3PXP"
HEADER = ["platform", "handle", "tier", "owner", "password", "totp", "recovery_codes", "notes"]
VALID = (",".join(HEADER) + "\n"
         f"instagram,acme,1,bob@example.com,pw-one-secret,{SEED},rc-1 rc-2,Main\n"
         "x,acme,,,pw-two-secret,,,\n").encode()
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_safely(data: bytes) -> Parsed | None:
    try:
        parsed = parse_file("csv", data, "inv.csv")
    except ImportFileError as exc:
        assert exc.message.startswith("inv.csv"), exc.message
        return None
    assert isinstance(parsed, Parsed)
    assert all(p.where.startswith("inv.csv:") for p in parsed.problems)
    return parsed


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_parse_or_fail_cleanly(data):
    parses_safely(data)


@FUZZ
@given(st.data())
def test_mutated_inventories_parse_or_fail_cleanly(data):
    buffer = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(buffer)))
        op = data.draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        chunk = data.draw(st.binary(min_size=1, max_size=12) | st.sampled_from([b",", b"\"", b"\n", b"\r", b"\x00"]))
        if op == "insert":
            buffer[at:at] = chunk
        elif op == "delete":
            del buffer[at:at + len(chunk)]
        elif op == "replace":
            buffer[at:at + len(chunk)] = chunk
        else:
            buffer[at:at] = buffer[at:at + 40]
    parses_safely(bytes(buffer))


# --- generated rows ------------------------------------------------------------------------

_counter = itertools.count()


# Per column: good values, then bad ones. A row is all good, or has one bad cell.
_CELLS = [
    (["instagram", "x", "Twitter"], ["myspace", ""]),
    (["acme", "Acme", "@news", "shop", "eu", "us", "jp", "br", "in", "uk"], ["b c", ""]),
    (["", "1", "3"], ["5", "x"]),
    (["", "bob@example.com"], ["dora@example.com", "not-an-email"]),
    (["", "pw-{}-Xq9zUnique"], ["pw\x07{}-Xq9zUnique"]),
    (["", SEED, f"otpauth://hotp/X:y?secret={SEED}&counter=3"], ["otpauth://totp/X:y?secret=NOT!!"]),
    (["", "a b c", "x;y"], ["rc\x01"]),
    (["", "note"], ["two\nlines"]),
]


@st.composite
def rows(draw) -> list[list[str]]:
    """Rows with a unique password each, mixing good and bad cells and repeated accounts."""
    made = []
    for _ in range(draw(st.integers(0, 6))):
        bad_column = draw(st.integers(0, 4 * len(_CELLS)))  # a bad cell in one row out of five
        row = [draw(st.sampled_from(bad if i == bad_column else good)) for i, (good, bad) in enumerate(_CELLS)]
        row[4] = row[4].format(next(_counter))
        made.append(row)
    return made


def to_csv(table: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *table])
    return out.getvalue().encode()


@FUZZ
@given(rows())
def test_problems_about_generated_rows_never_quote_a_password(table):
    parsed = parses_safely(to_csv(table))
    assert parsed is not None  # the writer quotes what needs quoting: every row is a record
    text = " ".join(str(p) for p in parsed.problems)
    for row in table:
        if row[4]:
            assert row[4] not in text and row[4].split("-", 1)[1] not in text


def state(session) -> tuple:
    vault = session.vault
    accounts = vault.accounts.all()
    return accounts, vault.secrets.counts(), vault.log.head(), [vault.secrets.password(a.id) for a in accounts]


def test_apply_is_all_or_nothing(tmp_path_factory):
    """Refused exactly when the dry run says --apply would refuse; otherwise applied whole,
    or, when a fault is injected into any service or log write, not at all."""
    directory = tmp_path_factory.mktemp("fuzz")
    session = create_vault(directory / "vault", "alice", b"correct horse battery staple",
                           email="alice@example.com", clock=lambda: datetime(2026, 11, 2, tzinfo=timezone.utc),
                           anchor_dir=directory / "anchors")
    people.add_person(session, "Bob Builder", "bob@example.com")
    path = directory / "inv.csv"

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows(), st.sampled_from([True, True, False]), st.booleans(), st.booleans(), st.none() | st.integers(1, 8))
    def check(table, skip_bad, create_missing, replace_secrets, fail_at):
        path.write_bytes(to_csv(table))
        imported = importer.read_import(path, "csv")
        flags = {"create_missing": create_missing, "replace_secrets": replace_secrets}
        dry = importer.plan_import(session, imported, **flags)
        refuses = dry.blocked and not skip_bad
        before = state(session)
        calls = itertools.count(1)
        fired = []

        def faulty(real):
            def call(*args, **kwargs):
                if next(calls) == fail_at:
                    fired.append(real.__name__)
                    raise RuntimeError("injected failure")
                return real(*args, **kwargs)
            return call

        with mock.patch.multiple(importer, add_account=faulty(importer.add_account),
                                 update_account=faulty(importer.update_account),
                                 set_password=faulty(importer.set_password)), \
                mock.patch.object(session, "record", faulty(session.record)):
            try:
                result = importer.apply_import(session, imported, skip_bad=skip_bad, **flags)
            except importer.ImportRefused as exc:
                assert refuses and not fired
                assert exc.plan == dry
                assert state(session) == before
                return
            except RuntimeError:
                assert fired and not refuses
                assert state(session) == before
                return
        assert not fired and not refuses
        assert result.plan == dry  # what was applied is what the dry run showed
        accounts, _, head, _ = state(session)
        assert len(accounts) == len(before[0]) + result.created
        assert head.seq > before[2].seq
        assert session.vault.log.entries(limit=1)[0]["action"] == "import.apply"
        for change in (*result.plan.creates, *result.plan.updates):
            platform, handle = change.account_key.split(":", 1)
            account = session.vault.accounts.by_key(platform, handle)
            if "password" in change.secrets:
                assert session.vault.secrets.password(account.id)[0] == change.entry.password

    try:
        check()
    finally:
        session.close()
