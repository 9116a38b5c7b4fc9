"""What users may type or import: the account fields `account add` takes, and the limits
every stored text and secret is held to, wherever it comes from (a prompt, a flag, a file)."""

from __future__ import annotations

from smvault.domain.text import has_control_chars

MAX_TEXT = 500  # one line of free text: a brand, a URL, a note, a reason
MAX_SECRET = 4096  # a password or a recovery code

# Account fields given as a person's email and stored as that person's id.
PERSON_FIELDS = {
    "owner": "owner_id",
    "backup_owner": "backup_owner_id",
    "recovery_email_controller": "recovery_email_controller_id",
    "recovery_phone_controller": "recovery_phone_controller_id",
    "totp_holder": "totp_holder_id",
}
TEXT_FIELDS = ("url", "brand", "region", "business_unit", "login_id", "recovery_phone", "notes")
ACCOUNT_INPUT_FIELDS = (*TEXT_FIELDS, "tier", "status", "company_owned", "mfa", "recovery_email", *PERSON_FIELDS)


def text_problem(value: str) -> str | None:
    """Why one line of text cannot be stored ("contains control characters"), or None."""
    if has_control_chars(value):
        return "contains control characters"
    if len(value) > MAX_TEXT:
        return f"is longer than {MAX_TEXT} characters"
    return None


def secret_problem(value: str, what: str) -> str | None:
    """Why a non-empty password or recovery code (`what`) cannot be stored, or None. The
    message never quotes the value."""
    if len(value) > MAX_SECRET:
        return f"the {what} is longer than {MAX_SECRET} characters"
    if has_control_chars(value):
        return f"the {what} contains control characters (newline, tab, escape...)"
    return None
