"""Storing secrets and disclosing them, each disclosure logged with who learned it."""

from __future__ import annotations

import secrets as random
import string
from dataclasses import dataclass, field

from smvault.domain import otp
from smvault.domain.emergency import marker as emergency_marker
from smvault.domain.errors import InvalidInputError, NotFoundError
from smvault.domain.inputs import secret_problem
from smvault.domain.models import Account, Disclosure, MfaMethod, Person
from smvault.domain.offboarding import IMPORTED
from smvault.services.inputs import clean_text
from smvault.services.lookup import account_by_ref, person_by_email
from smvault.services.policy import require_disclosure, require_manage
from smvault.services.session import Session
from smvault.store.emergency import EmergencyAccess

PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~"
GENERATED_LENGTH = 24
FIELDS = ("password", "totp-seed", "recovery-codes")


def generate_password(length: int = GENERATED_LENGTH) -> str:
    while True:
        candidate = "".join(random.choice(PASSWORD_ALPHABET) for _ in range(length))
        # Platforms often demand every class; resample rather than bias the distribution.
        if (any(c.islower() for c in candidate) and any(c.isupper() for c in candidate)
                and any(c.isdigit() for c in candidate)
                and any(c in PASSWORD_ALPHABET[62:] for c in candidate)):
            return candidate


def _check_secret_text(value: str, what: str) -> str:
    if not value:
        raise InvalidInputError(f"the {what} is empty")
    if why := secret_problem(value, what):
        raise InvalidInputError(why)
    return value


def _origin(imported: str | None) -> dict[str, str]:
    """What a set entry says about where the value came from. An imported value may be one
    someone already knew (an old export): offboarding and post-incident rotation never count
    it as a rotation (domain.offboarding.replaced_secret)."""
    return {"via": IMPORTED, "import": imported} if imported else {}


def set_password(session: Session, ref: str, value: str | None = None, *, imported: str | None = None) -> str | None:
    """Store `value`, or a generated password when None; returns the generated one.
    `imported` names the import the value came from (services.importer)."""
    account = account_by_ref(session, ref)
    generated = value is None
    password = generate_password() if generated else _check_secret_text(value, "password")
    with session.atomic():
        require_manage(session, account)
        session.vault.secrets.set_password(account.id, password, session.ts())
        session.record("secret.password.set", account=account.id, acct=account.key,
                       detail={"generated": generated, **_origin(imported)})
    return password if generated else None


def set_totp(session: Session, ref: str, text: str, *, imported: str | None = None) -> otp.OtpParams:
    account = account_by_ref(session, ref)
    params = otp.parse_secret_or_uri(text.strip())
    with session.atomic():
        require_manage(session, account)
        session.vault.secrets.set_totp(account.id, params, session.ts())
        detail = {"kind": params.kind, "algorithm": params.algorithm, "digits": params.digits,
                  "period": params.period, **_origin(imported)}
        if account.mfa in (MfaMethod.UNKNOWN, MfaMethod.NONE):
            session.vault.accounts.update(account.id, {"mfa": MfaMethod.TOTP})
            detail["mfa"] = MfaMethod.TOTP.value
        session.record("secret.totp.set", account=account.id, acct=account.key, detail=detail)
    return params


def add_recovery_codes(session: Session, ref: str, codes: list[str], replace: bool = True, *,
                       imported: str | None = None) -> int:
    """Store a new set of codes; by default the unused old ones are retired (platforms do)."""
    account = account_by_ref(session, ref)
    clean = [_check_secret_text(c.strip(), "recovery code") for c in codes if c.strip()]
    if not clean:
        raise InvalidInputError("no recovery codes given (one per line)")
    with session.atomic():
        require_manage(session, account)
        retired = session.vault.secrets.retire_unused_recovery_codes(account.id, session.ts()) if replace else 0
        session.vault.secrets.add_recovery_codes(account.id, clean, session.ts())
        session.record("secret.recovery-codes.add", account=account.id, acct=account.key,
                       detail={"added": len(clean), "retired": retired, **_origin(imported)})
    return len(clean)


@dataclass(frozen=True, repr=False)
class Revealed:
    """A disclosed value. Its repr never shows the value."""

    account: Account
    field: str
    value: str | list[str] = field(repr=False)
    recipient: Person | None = None

    def __repr__(self) -> str:
        return f"Revealed(account={self.account.key!r}, field={self.field!r}, value=<hidden>)"


def _recipient(session: Session, for_email: str | None) -> Person | None:
    return person_by_email(session, for_email) if for_email else None


def disclosure_fields(session: Session, account: Account, recipient: Person | None, what: str) -> dict:
    to = recipient or session.person
    fields = {"account": account.id, "acct": account.key, "to": to.id, "to_email": to.email,
              "field": what, "for": recipient is not None or None}
    # Handing a value to someone else shows it on the operator's own screen: they learn it too.
    if to.id != session.person.id:
        fields["by"] = session.person.id
    # Under emergency access to this account held by the operator or by the recipient (the
    # value reaches an emergency requester either way), the entry carries its marker: the
    # post-incident rotation is made of these (one indexed query over open workflows). When
    # both hold one, the operator's (store.emergency.EmergencyAccess.in_force says why).
    emergency = EmergencyAccess(session.vault.conn).in_force(account.id, session.ts(), session.person.id,
                                                             recipient.id if recipient else None)
    if emergency is not None:
        # The window is timed with this machine's clock: refuse while it is behind the log.
        from smvault.services.emergency import require_clock

        require_clock(session)
        fields["bg"] = emergency_marker(*emergency)
    return fields


def use_recovery_code(session: Session, ref: str, for_email: str | None = None) -> Revealed:
    """Hand out the oldest unused recovery code and mark it used, in one logged step."""
    account = account_by_ref(session, ref)
    recipient = _recipient(session, for_email)
    with session.atomic():
        require_disclosure(session, account, Disclosure.RECOVERY_CODES, recipient)
        unused = session.vault.secrets.recovery_codes(account.id, unused_only=True)
        if not unused:
            raise NotFoundError(f"{account.key} has no unused recovery codes left")
        code = unused[0]
        session.vault.secrets.mark_recovery_code_used(code.id, session.ts())
        session.record("secret.recovery-code.use",
                       **disclosure_fields(session, account, recipient, "recovery-code"),
                       detail={"remaining": len(unused) - 1})
    return Revealed(account, "recovery-code", code.code, recipient)


def reveal(session: Session, ref: str, field: str = "password", for_email: str | None = None) -> Revealed:
    if field not in FIELDS:
        raise InvalidInputError(f"field must be one of {', '.join(FIELDS)}, got {field!r}")
    account = account_by_ref(session, ref)
    recipient = _recipient(session, for_email)
    with session.atomic():
        require_disclosure(session, account, Disclosure(field), recipient)
        value: str | list[str]
        if field == "password":
            value = _password(session, account)
        elif field == "totp-seed":
            value = otpauth_uri(session, account)
        else:
            codes = session.vault.secrets.recovery_codes(account.id, unused_only=True)
            if not codes:
                raise NotFoundError(f"{account.key} has no unused recovery codes")
            value = [c.code for c in codes]
        session.record("secret.reveal", **disclosure_fields(session, account, recipient, field))
    return Revealed(account, field, value, recipient)


COPY_FIELDS = ("password",)


def copy_secret(session: Session, ref: str, field: str = "password") -> Revealed:
    """The value the operator copies to the clipboard: the same policy as `reveal` for the
    field, logged as its own action ("secret.copy") with the same fields as a reveal."""
    if field not in COPY_FIELDS:
        raise InvalidInputError(f"only the password can be copied, not {field!r}")
    account = account_by_ref(session, ref)
    with session.atomic():
        require_disclosure(session, account, Disclosure.PASSWORD)
        value = _password(session, account)
        session.record("secret.copy", **disclosure_fields(session, account, None, field))
    return Revealed(account, field, value)


def totp_qr(session: Session, ref: str) -> Revealed:
    """The labelled otpauth:// URI, for the operator to show as a QR code and enrol a device.
    A QR code carries the seed: it needs a grant that allows the seed, and is logged."""
    account = account_by_ref(session, ref)
    with session.atomic():
        require_disclosure(session, account, Disclosure.QR)
        value = otpauth_uri(session, account)
        session.record("totp.qr", **disclosure_fields(session, account, None, "qr"))
    return Revealed(account, "qr", value)


def _password(session: Session, account: Account) -> str:
    stored = session.vault.secrets.password(account.id)
    if stored is None:
        raise NotFoundError(f"{account.key} has no password in the vault")
    return stored[0]


def otpauth_uri(session: Session, account: Account) -> str:
    params = session.vault.secrets.totp(account.id)
    if params is None:
        raise NotFoundError(f"{account.key} has no TOTP seed in the vault")
    return otp.to_otpauth_uri(_labelled(params, account))


def _labelled(params: otp.OtpParams, account: Account) -> otp.OtpParams:
    from dataclasses import replace

    return replace(params, issuer=params.issuer or account.platform, label=params.label or account.handle)


@dataclass(frozen=True)
class Code:
    account: Account
    code: str = field(repr=False)
    seconds_left: int | None
    kind: str
    recipient: Person | None = None


def totp_code(session: Session, ref: str, for_email: str | None = None, *, via: str | None = None) -> Code:
    """The current code (TOTP/Steam) or the next one (HOTP, which advances the counter).

    `via` says how it was handed over when that is not the screen ("clipboard" when the
    TUI copies it); it goes in the entry's detail, so a copied code is its own entry.
    """
    account = account_by_ref(session, ref)
    recipient = _recipient(session, for_email)
    via = clean_text(via, "via")
    if via is not None and len(via) > 40:
        raise InvalidInputError("via is longer than 40 characters")
    with session.atomic():
        require_disclosure(session, account, Disclosure.CODE, recipient)
        params = session.vault.secrets.totp(account.id)
        if params is None:
            raise NotFoundError(f"{account.key} has no TOTP seed in the vault")
        code, left = otp.current_code(params, session.now().timestamp())
        if params.kind == "hotp":
            session.vault.secrets.advance_hotp(account.id)
        session.record("totp.code", **disclosure_fields(session, account, recipient, "code"),
                       detail={"kind": params.kind, **({"via": via} if via else {})})
    return Code(account, code, left, params.kind, recipient)
