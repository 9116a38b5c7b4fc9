"""Google Authenticator "Transfer accounts" exports: otpauth-migration://offline?data=BASE64.

The file holds one URI a line (what a QR reader prints for each transfer QR code); blank lines
and '#' comments are skipped. `data` is a base64 protobuf MigrationPayload holding one or more
accounts. The message classes are built here from a descriptor written in code, so no
generated _pb2 module or protoc is needed. Each account is named "FILE:LINE: entry N (TITLE)".
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

from smvault.domain.errors import InvalidInputError
from smvault.domain.imports.model import Entry, EntryKind, Parsed, Problem, short_seed_problem
from smvault.domain.imports.text import numbered_lines, titled
from smvault.domain.otp import OtpParams

FORMAT = "google-migration"
_SCHEME = "otpauth-migration://"
_ALGORITHMS = {0: "SHA1", 1: "SHA1", 2: "SHA256", 3: "SHA512"}  # 0: unspecified, SHA1 in practice
_MD5 = 4
_DIGITS = {0: 6, 1: 6, 2: 8}  # 0: unspecified, 6 in practice
_KINDS = {1: "hotp", 2: "totp"}


def _payload_class() -> type[message.Message]:
    """MigrationPayload (with its nested OtpParameters), as Google Authenticator defines it."""
    fields = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="smvault/google_auth_migration.proto", package="smvault.googleauth", syntax="proto3")
    payload = file.message_type.add(name="MigrationPayload")
    for name, values in (("Algorithm", ("UNSPECIFIED", "SHA1", "SHA256", "SHA512", "MD5")),
                         ("DigitCount", ("UNSPECIFIED", "SIX", "EIGHT")),
                         ("OtpType", ("UNSPECIFIED", "HOTP", "TOTP"))):
        enum = payload.enum_type.add(name=name)
        for number, value in enumerate(values):
            enum.value.add(name=f"{name.upper()}_{value}", number=number)
    prefix = ".smvault.googleauth.MigrationPayload"
    parameters = payload.nested_type.add(name="OtpParameters")
    for number, name, type_, enum_name in (
        (1, "secret", fields.TYPE_BYTES, None),
        (2, "name", fields.TYPE_STRING, None),
        (3, "issuer", fields.TYPE_STRING, None),
        (4, "algorithm", fields.TYPE_ENUM, "Algorithm"),
        (5, "digits", fields.TYPE_ENUM, "DigitCount"),
        (6, "type", fields.TYPE_ENUM, "OtpType"),
        (7, "counter", fields.TYPE_INT64, None),
    ):
        parameters.field.add(name=name, number=number, type=type_, label=fields.LABEL_OPTIONAL,
                             type_name=f"{prefix}.{enum_name}" if enum_name else None)
    payload.field.add(name="otp_parameters", number=1, type=fields.TYPE_MESSAGE,
                      label=fields.LABEL_REPEATED, type_name=f"{prefix}.OtpParameters")
    for number, name in ((2, "version"), (3, "batch_size"), (4, "batch_index"), (5, "batch_id")):
        payload.field.add(name=name, number=number, type=fields.TYPE_INT32, label=fields.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()  # a private pool: nothing else can clash with these names
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(prefix[1:]))


MigrationPayload = _payload_class()


class _BadLine(Exception):
    """Internal: a line that holds no readable payload; becomes a Problem naming the line."""


def parse(data: bytes, source: str, password: bytes | None = None) -> Parsed:
    """`password` is unused: transfer exports are never encrypted."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    for where, line in numbered_lines(data, source):
        try:
            payload = _payload(line)
        except _BadLine as exc:
            problems.append(Problem(where, "uri", str(exc)))
            continue
        for index, parameters in enumerate(payload.otp_parameters, start=1):
            read = _read_account(parameters, f"{where}: entry {index}")
            if isinstance(read, Entry):
                entries.append(read)
            else:
                problems.append(read)
    return Parsed(source=source, format=FORMAT, entries=tuple(entries), problems=tuple(problems))


def _payload(line: str) -> Any:
    if not line.lower().startswith(_SCHEME):
        raise _BadLine("not an otpauth-migration:// URI")
    query = line[len(_SCHEME):].partition("?")[2].partition("#")[0]
    values = [value for key, _, value in (pair.partition("=") for pair in query.split("&")) if key == "data"]
    if len(values) != 1:
        raise _BadLine("needs exactly one data parameter")
    # Percent escapes only: a raw '+' is base64, not a space (parse_qs would break it)
    text = unquote(values[0]).strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):  # ValueError: non-ASCII text
        raise _BadLine("data is not valid base64") from None
    payload = MigrationPayload()
    try:
        payload.ParseFromString(raw)
    except message.DecodeError:
        raise _BadLine("data is not a Google Authenticator transfer payload") from None
    if not payload.otp_parameters:
        raise _BadLine("data holds no accounts")
    return payload


def _read_account(parameters: Any, where: str) -> Entry | Problem:
    issuer = parameters.issuer.strip() or None
    label = _account_name(parameters.name, issuer)
    title = issuer or label
    where = titled(where, title)
    if parameters.algorithm == _MD5:
        return Problem(where, "algorithm", "MD5 is not supported")
    if parameters.algorithm not in _ALGORITHMS:
        return Problem(where, "algorithm", "unknown algorithm")
    if parameters.digits not in _DIGITS:
        return Problem(where, "digits", "unknown digit count")
    if parameters.type not in _KINDS:
        return Problem(where, "type", "neither HOTP nor TOTP")
    kind = _KINDS[parameters.type]
    try:
        params = OtpParams(secret=parameters.secret, kind=kind, algorithm=_ALGORITHMS[parameters.algorithm],
                           digits=_DIGITS[parameters.digits], counter=parameters.counter if kind == "hotp" else 0,
                           issuer=issuer, label=label)
    except InvalidInputError as exc:
        return Problem(where, "otp", exc.message)
    if why := short_seed_problem(params):
        return Problem(where, "secret", why)
    return Entry(where=where, kind=EntryKind.OTP, title=title, otp=params)


def _account_name(name: str, issuer: str | None) -> str | None:
    """Google stores "Issuer:account" as the name when the URI's label had the issuer in it."""
    name = name.strip()
    if issuer and name.startswith(f"{issuer}:"):
        name = name[len(issuer) + 1:].strip()
    return name or None
