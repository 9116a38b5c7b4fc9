"""Handover packets (`smvault handover create`): accounts with their secrets, from another vault.

Each account becomes one ACCOUNT entry with its platform and handle, its secrets, and its
non-person fields as text (`fields`, checked by the importer like `account add` input; the
account's own notes among them). The people the packet names (owner, controllers, TOTP holder,
platform admins) belong to the source vault and may not exist in this one: they are never
fields (the importer would require them here) but one note per account, "owner: Name
<email>; ...", shown with the import plan for the operator to set by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from smvault.domain.errors import InvalidInputError
from smvault.domain.handover import open_packet, read_header
from smvault.domain.imports.model import (
    Entry,
    EntryKind,
    ImportFileError,
    ItemProblem,
    Parsed,
    PasswordNeeded,
    Problem,
    short_seed_problem,
)
from smvault.domain.imports.text import check_text, is_unicode, titled
from smvault.domain.models import normalize_handle, normalize_platform
from smvault.domain.otp import OtpParams, parse_otpauth_uri
from smvault.domain.text import printable

FORMAT = "handover"
# Account fields carried as text, in the order `account add` takes them.
_TEXT_FIELDS = ("url", "brand", "region", "business_unit", "login_id", "recovery_email", "recovery_phone",
                "status", "mfa", "notes")
# People of the source vault, as the note names them.
_PEOPLE = (("owner", "owner"), ("backup_owner", "backup owner"),
           ("recovery_email_controller", "recovery email controller"),
           ("recovery_phone_controller", "recovery phone controller"), ("totp_holder", "TOTP holder"))


def parse(data: bytes, source: str, password: bytes | None = None) -> Parsed:
    read_header(data, source)  # a file that is no packet says so before any password is asked
    if password is None:
        raise PasswordNeeded(f"{source}: a handover packet is encrypted: its passphrase is needed")
    header, payload = open_packet(data, source, password)
    entries, problems, notes = [], [], []
    for number, item in enumerate(payload["accounts"], 1):
        where = titled(f"{source}: account {number}", _title(item))
        try:
            entry, people = _entry(item, where), _people(item)
        except ItemProblem as problem:
            problems.append(problem.at(where))
            continue
        entries.append(entry)
        if people:
            notes.append(Problem(where, "people", f"not imported (people of the source vault): {people}"))
    keys = [f"{entry.platform}:{entry.handle}" for entry in entries]
    if not problems and keys != list(header.accounts):
        raise ImportFileError(f"{source}: the packet's header and its contents list different accounts")
    return Parsed(source, FORMAT, tuple(entries), tuple(problems), tuple(notes))


def _title(item: object) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("platform"), str) and isinstance(item.get("handle"), str):
        return f"{item['platform']}:{item['handle']}"
    return None


def _text(item: Mapping[str, Any], name: str) -> str | None:
    return check_text(item.get(name), name)


def _person(value: object, name: str) -> str | None:
    """{"name", "email"} -> "Name <email>"; None stays None."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("name", "email")):
        raise ItemProblem(name, "must be a person with a name and an email")
    if not (is_unicode(value["name"]) and is_unicode(value["email"])):
        raise ItemProblem(name, "is not valid Unicode text")
    return f"{printable(value['name'])} <{printable(value['email'])}>"


def _entry(item: object, where: str) -> Entry:
    if not isinstance(item, dict):
        raise ItemProblem("account", "must be an object")
    try:
        platform = normalize_platform(_text(item, "platform") or "")
    except InvalidInputError:
        raise ItemProblem("platform", "missing or not a known platform") from None
    try:
        handle = normalize_handle(_text(item, "handle") or "")
    except InvalidInputError:
        raise ItemProblem("handle", "missing or not a valid handle") from None
    return Entry(
        where=where, kind=EntryKind.ACCOUNT, title=f"{platform}:{handle}", platform=platform, handle=handle,
        login_id=_text(item, "login_id"), url=_text(item, "url"), password=_text(item, "password"),
        otp=_otp(item.get("totp")), recovery_codes=_codes(item.get("recovery_codes")),
        fields=MappingProxyType(_fields(item)),
    )


def _otp(value: object) -> OtpParams | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ItemProblem("totp", "must be an otpauth:// URI")
    try:
        otp = parse_otpauth_uri(value)
    except InvalidInputError as exc:  # its message never quotes the URI
        raise ItemProblem("totp", exc.message) from None
    if why := short_seed_problem(otp):
        raise ItemProblem("totp", why)
    return otp


def _codes(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(code, str) and code for code in value):
        raise ItemProblem("recovery_codes", "must be a list of codes")
    return tuple(check_text(code, "recovery_codes") for code in value)


def _fields(item: Mapping[str, Any]) -> dict[str, str]:
    fields = {name: value for name in _TEXT_FIELDS if (value := _text(item, name)) is not None}
    tier = item.get("tier")
    if tier is not None:
        if isinstance(tier, bool) or not isinstance(tier, int):
            raise ItemProblem("tier", "must be a whole number")
        fields["tier"] = str(tier)
    owned = item.get("company_owned")
    if owned is not None:
        if not isinstance(owned, bool):
            raise ItemProblem("company_owned", "must be true or false")
        fields["company_owned"] = "yes" if owned else "no"
    return fields


def _people(item: Mapping[str, Any]) -> str:
    """Who held what in the source vault, "owner: Name <email>; ..." ("" for nobody)."""
    held = [f"{label}: {person}" for name, label in _PEOPLE if (person := _person(item.get(name), name))]
    admins = item.get("platform_admins")
    if admins is not None:
        if not isinstance(admins, list) or None in admins:
            raise ItemProblem("platform_admins", "must be a list of people")
        if admins:
            held.append(f"platform admins: {', '.join(_person(admin, 'platform_admins') for admin in admins)}")
    return "; ".join(held)
