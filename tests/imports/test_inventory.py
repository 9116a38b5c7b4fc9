"""The csv import format: a generic account inventory, read cell by cell."""

from __future__ import annotations

import pytest

from smvault.domain.errors import UsageError
from smvault.domain.imports import EntryKind, ImportFileError, parse_file
from smvault.domain.imports.inventory import FIELDS
from smvault.domain.otp import decode_base32_secret
from smvault.services.accounts import ACCOUNT_INPUT_FIELDS

SEED = "JBSWY3DPEHPK3PXP"
FULL_HEADER = ",".join(FIELDS)


def parse(text: str | bytes, mapping=None):
    data = text.encode() if isinstance(text, str) else text
    return parse_file("csv", data, "inv.csv", mapping=mapping)


def problems(text: str, mapping=None) -> list[str]:
    return [str(p) for p in parse(text, mapping).problems]


def test_the_columns_are_the_fields_account_add_takes_and_the_secrets():
    assert set(FIELDS) == {"platform", "handle", *ACCOUNT_INPUT_FIELDS, "password", "totp", "recovery_codes"}


def test_a_full_row_becomes_one_account_entry():
    row = ("instagram,@Acme,https://instagram.com/acme,Acme,EU,Retail,1,active,yes,bob@example.com,"
           "cara@example.com,social@acme.example,recovery@acme.example,bob@example.com,+1 555 0100,"
           f"cara@example.com,totp,bob@example.com,Main account,hunter2,{SEED},aaaa-1111 bbbb-2222;cccc-3333")
    parsed = parse(f"{FULL_HEADER}\n{row}\n")
    assert parsed.problems == () and parsed.format == "csv"
    (entry,) = parsed.entries
    assert (entry.where, entry.kind, entry.platform, entry.handle) == ("inv.csv:2", EntryKind.ACCOUNT, "instagram", "Acme")
    assert entry.password == "hunter2"
    assert entry.otp.secret == decode_base32_secret(SEED)
    assert entry.recovery_codes == ("aaaa-1111", "bbbb-2222", "cccc-3333")
    assert entry.login_id == "social@acme.example" and entry.url == "https://instagram.com/acme"
    assert dict(entry.fields) == {
        "url": "https://instagram.com/acme", "brand": "Acme", "region": "EU", "business_unit": "Retail",
        "tier": "1", "status": "active", "company_owned": "yes", "owner": "bob@example.com",
        "backup_owner": "cara@example.com", "login_id": "social@acme.example",
        "recovery_email": "recovery@acme.example", "recovery_email_controller": "bob@example.com",
        "recovery_phone": "+1 555 0100", "recovery_phone_controller": "cara@example.com", "mfa": "totp",
        "totp_holder": "bob@example.com", "notes": "Main account",
    }
    for secret in ("hunter2", SEED, "aaaa-1111"):
        assert secret not in repr(entry) and secret not in repr(parsed)


def test_headers_match_ignoring_case_spaces_underscores_and_dashes():
    parsed = parse("\ufeffPLATFORM,Handle,Business Unit,recovery-email,Company_Owned\r\n"
                   "X,acme,Retail,r@acme.example,no\r\n")
    assert parsed.problems == ()
    assert dict(parsed.entries[0].fields) == {"business_unit": "Retail", "recovery_email": "r@acme.example",
                                              "company_owned": "no"}
    assert parsed.entries[0].platform == "x"


def test_empty_cells_and_blank_rows_are_left_out():
    parsed = parse("platform,handle,brand,password,totp\n\n,,,,\nyoutube,acme,,,\n")
    (entry,) = parsed.entries
    assert entry.where == "inv.csv:4"
    assert dict(entry.fields) == {} and entry.password is None and entry.otp is None


def test_a_mapping_names_other_headers():
    text = "Network,Account,Secret\nlinkedin,acme-corp,s3cret\n"
    parsed = parse(text, {"platform": "Network", "handle": "Account", "password": "Secret"})
    assert [(e.platform, e.handle, e.password) for e in parsed.entries] == [("linkedin", "acme-corp", "s3cret")]
    with pytest.raises(UsageError, match="unknown csv field 'email'"):
        parse(text, {"email": "Network"})


def test_a_missing_required_or_mapped_column_makes_the_file_unreadable():
    with pytest.raises(ImportFileError, match=r"inv.csv:1: the header lacks handle \(no column 'handle'\); "
                                              r"it has: 'platform', 'brand'"):
        parse("platform,brand\nx,acme\n")
    with pytest.raises(ImportFileError, match="no column 'Owner Email'"):
        parse("platform,handle\nx,acme\n", {"owner": "Owner Email"})
    with pytest.raises(ImportFileError, match="inv.csv:1: expected a header line"):
        parse("")


def test_every_bad_cell_is_a_problem_named_by_line_and_field():
    found = problems(
        "platform,handle,tier,status,company_owned,mfa,owner,recovery_email,brand\n"
        "myspace,acme,1,,,,,,\n"
        "x,two words,4,gone,maybe,fax,not-an-email,nope,\"a\x1bb\"\n"
        ",,,,,,,,Acme\n"
    )
    assert found == [
        "inv.csv:2: platform: 'myspace' is not one of facebook, instagram, x, linkedin, youtube, tiktok, "
        "threads, pinterest, snapchat, reddit, bluesky, mastodon, other",
        "inv.csv:3: handle: 'two words' is not a handle: no spaces, control characters or ':'",
        "inv.csv:3: tier: '4' is not a tier (0-3)",
        "inv.csv:3: status: 'gone' is not one of active, dormant, retired",
        "inv.csv:3: company_owned: 'maybe' is not yes or no",
        "inv.csv:3: mfa: 'fax' is not one of unknown, none, totp, sms, security-key",
        "inv.csv:3: owner: 'not-an-email' is not an email address",
        "inv.csv:3: recovery_email: 'nope' is not an email address",
        "inv.csv:3: brand: contains control characters",
        "inv.csv:4: platform: missing",
        "inv.csv:4: handle: missing",
    ]
    assert parse("platform,handle\nx,a b\nx,ok\n").entries[0].where == "inv.csv:3"  # bad rows are left out


def test_secret_problems_never_quote_the_secret():
    parsed = parse("platform,handle,password,totp,recovery_codes\n"
                   "x,acme,\"pass\x07word\",otpauth://totp/X:acme?secret=NOT!BASE32,\"good code\x01x\"\n")
    assert [(p.where, p.field) for p in parsed.problems] == [
        ("inv.csv:2", "password"), ("inv.csv:2", "totp"), ("inv.csv:2", "recovery_codes")]
    text = " ".join(str(p) for p in parsed.problems)
    assert "pass" not in text.replace("password", "") and "NOT!BASE32" not in text and "good" not in text
    assert parsed.entries == ()


def test_problems_name_the_line_where_a_quoted_record_starts():
    parsed = parse('platform,handle,notes\nx,a,"two\nlines"\nx,b c,\nx,d,"one line"\n')
    assert [str(p) for p in parsed.problems] == [
        "inv.csv:2: notes: contains control characters",  # an account's notes are one line
        "inv.csv:4: handle: 'b c' is not a handle: no spaces, control characters or ':'"]
    assert [e.where for e in parsed.entries] == ["inv.csv:5"]


def test_columns_that_are_not_read_are_notes():
    parsed = parse("platform,Colour,handle,,Handle Name\nx,red,acme,,other\n", {"handle": "Handle Name"})
    assert [str(n) for n in parsed.notes] == [
        "inv.csv:1: column 'Colour' is not an import field; ignored",
        "inv.csv:1: column 'handle' is not read: handle comes from column 'Handle Name'",
    ]
    assert [e.handle for e in parsed.entries] == ["other"] and parsed.problems == ()
    assert parse("platform,handle\nx,acme\n").notes == ()


def test_two_columns_read_as_one_field_make_the_file_unreadable():
    with pytest.raises(ImportFileError, match=r"^inv.csv:1: password: more than one column is named 'password' "
                                              r"\(columns 3, 4\): keep one$"):
        parse("platform,handle,Password,PASSWORD\nx,acme,old,new\n")
    with pytest.raises(ImportFileError, match=r"handle: more than one column is named 'Account' \(columns 2, 3\)"):
        parse("platform,Account,account\nx,a,b\n", {"handle": "Account"})
    assert parse("platform,handle,x,X\nx,acme,1,2\n").entries  # two unread columns: notes only


def test_a_row_with_more_or_fewer_cells_than_the_header_is_a_problem():
    assert problems("platform,handle\nx,acme,surprise\nx,ok,,\nx,fine\n") == [
        "inv.csv:2: row: 3 cells, but the header has 2", "inv.csv:3: row: 4 cells, but the header has 2"]
    # a short row would put its password under tier: it is refused whole, quoting nothing
    parsed = parse("platform,handle,tier,password\nx,acme,hunter2-Secret!\n")
    assert [str(p) for p in parsed.problems] == ["inv.csv:2: row: 3 cells, but the header has 4"]
    assert parsed.entries == ()


def test_a_file_with_secret_columns_never_quotes_a_cell():
    # a password typed one column off, into tier or handle
    parsed = parse("platform,handle,tier,password,notes\nx,acme,hunter2-Secret!,,\nx,hunter2 Secret,1,,\n")
    assert [str(p) for p in parsed.problems] == [
        "inv.csv:2: tier: the value is not a tier (0-3)",
        "inv.csv:3: handle: the value is not a handle: no spaces, control characters or ':'",
    ]
    assert problems("platform,handle,tier\nx,acme,9\n") == ["inv.csv:2: tier: '9' is not a tier (0-3)"]


def test_a_password_keeps_its_spaces_and_a_blank_secret_cell_is_empty():
    parsed = parse('platform,handle,password,totp,recovery_codes,brand\nx,a, pass word ,  ,  , Acme \n')
    (entry,) = parsed.entries
    assert entry.password == " pass word " and entry.otp is None and entry.recovery_codes == ()
    assert entry.fields["brand"] == "Acme"


def test_a_totp_seed_shorter_than_64_bits_is_a_problem():
    parsed = parse("platform,handle,totp\nx,a,JBSWY3DP\nx,b,JBSWY3DPEHPK3\n")
    assert [str(p) for p in parsed.problems] == [
        "inv.csv:2: totp: the OTP secret is only 40 bits, too short to be a real key (64 at least): "
        "the seed looks damaged"]
    assert [e.handle for e in parsed.entries] == ["b"]


def test_unreadable_files_say_where():
    with pytest.raises(ImportFileError, match=r"inv.csv:3: not UTF-8 text"):
        parse(b"platform,handle\nx,a\nx,\xff\n")
    with pytest.raises(ImportFileError, match=r"inv.csv:3: not readable as CSV \(field larger than field limit"):
        parse(b"platform,handle\nx,a\nx," + b"a" * 200_000 + b"\n")


def test_totp_takes_uris_and_bare_seeds():
    parsed = parse("platform,handle,totp\n"
                   f"x,a,{SEED.lower()}\n"
                   "x,b,otpauth://hotp/X:b?secret=JBSWY3DPEHPK3PXP&counter=7&digits=8\n"
                   "x,c,steam://JBSWY3DPEHPK3PXP\n")
    assert [(e.otp.kind, e.otp.digits, e.otp.counter) for e in parsed.entries] == [
        ("totp", 6, 0), ("hotp", 8, 7), ("steam", 5, 0)]
