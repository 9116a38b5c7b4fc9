"""Planning an import: which account each entry is, and what applying it would change.

Pure: services.importer reads the vault (accounts, people, the stored secrets to compare
with, who may change what) into a `VaultView` and applies the plan; nothing here touches a
file or a vault. Every entry ends up in exactly one place: a create, an update, unchanged,
unmatched (an OTP entry with no account), or a problem (then it is not applied).

Rules worth knowing:
- Entries match accounts by platform and handle (handles compare ignoring ASCII case, as the
  store's NOCASE column does). An entry that names no handle (an authenticator entry, a
  password-manager item) on a known platform also matches the one account there whose login
  is the entry's login or OTP label; two such accounts is a problem (never "other": the same
  login is common across unrelated services, and a seed must not land on the wrong one).
- The same account twice in one file: identical items are imported once (a note); items
  that differ are all problems, since which one is right cannot be told.
- Account fields (brand, tier, owner email...) are checked here as `account add` checks
  them; an empty cell or an absent column leaves the vault's value alone. The URL and login
  a password manager gives only fill an empty field: an inventory is the better source.
- An entry with secrets or field changes for an account the operator may not manage is a
  problem BEFORE its secrets are compared with the stored ones: a dry run must not tell
  someone without the right whether a guessed password is the stored one.
- Secrets only fill what the vault lacks: a password, a TOTP seed, recovery codes where it
  holds no unused ones. A stored secret that differs is kept (a note): an old export must not
  put back a rotated password or retire valid codes. `replace_secrets` replaces them (then
  the change says which secrets replace a stored one). An HOTP counter only ever rises: a
  file's higher counter for the same seed raises the vault's. A recovery code the vault has
  seen used is never stored again. The vault's values never leave this module's inputs.
- A stored secret the operator may not reveal (an account nobody manages lets any operator
  manage it, not reveal it) is never compared: it is kept, or replaced with
  `replace_secrets`, whatever the file holds, so a dry run is no oracle for it either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from smvault.domain.imports.fields import check_fields, shown
from smvault.domain.imports.identity import Identity, identify
from smvault.domain.imports.model import Entry, EntryKind, Parsed, Problem
from smvault.domain.inputs import ACCOUNT_INPUT_FIELDS, PERSON_FIELDS, secret_problem
from smvault.domain.models import Account, fold_handle
from smvault.domain.otp import OtpParams

# The field a kept secret's note names, as the inventory's columns do.
_SECRET_FIELDS = {"password": "password", "totp": "totp", "recovery-codes": "recovery_codes"}
_KEPT = {
    "password": "kept: password differs from the vault's; --replace-secrets replaces it",
    "totp": "kept: TOTP seed or parameters differ from the vault's; --replace-secrets replaces them",
    "recovery-codes": "kept: recovery codes differ from the vault's unused ones; --replace-secrets retires those",
}
_UNSEEN = {
    "password": "kept, not compared: you may not reveal the vault's password; --replace-secrets replaces it",
    "totp": "kept, not compared: you may not reveal the vault's TOTP seed; --replace-secrets replaces it",
    "recovery-codes": "kept, not compared: you may not reveal the vault's recovery codes; "
                      "--replace-secrets retires those",
}


# --- the vault as the planner sees it ----------------------------------------------------


@dataclass(frozen=True, repr=False)
class StoredSecrets:
    """What an account holds, to compare with; never shown, logged or returned."""

    password: str | None = None
    otp: OtpParams | None = None
    codes: frozenset[str] = frozenset()  # every code stored, used ones too
    used_codes: frozenset[str] = frozenset()
    # Secrets held that the operator may not reveal: their values above are left empty.
    unseen: frozenset[str] = frozenset()  # of "password", "totp", "recovery-codes"

    def __repr__(self) -> str:
        return "StoredSecrets(<hidden>)"


@dataclass(frozen=True)
class VaultView:
    accounts: Sequence[Account]
    people: Mapping[str, int]  # email -> person id
    secrets: Callable[[Account], StoredSecrets]  # read only for the accounts an entry matches
    refusal: Callable[[Account], str | None]  # why the operator may not change it, or None


# --- the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedChange:
    where: str
    title: str | None
    account_key: str  # PLATFORM:HANDLE
    action: str  # create | update | unchanged
    fields: tuple[str, ...]  # account fields that are set or change
    secrets: tuple[str, ...]  # of "password", "totp", "recovery-codes": set on apply
    account_id: int | None = None  # None: the account is created on apply
    values: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))  # field -> `account add` input
    entry: Entry | None = field(default=None, repr=False, compare=False)  # holds the password and seed
    recovery_codes: tuple[str, ...] = field(default=(), repr=False)  # to store: the file's, less the used ones
    replaces: tuple[str, ...] = ()  # of `secrets`: those replacing a stored one that differs (replace_secrets)
    kept: tuple[str, ...] = ()  # secrets that differ from the stored ones and are left alone
    unseen: tuple[str, ...] = ()  # of `kept` and `replaces`: stored ones not compared (StoredSecrets.unseen)
    counter_raised: bool = False  # "totp" only raises the stored HOTP counter (same seed)
    otp: OtpParams | None = field(default=None, repr=False, compare=False)  # to store when "totp" is set


@dataclass(frozen=True)
class Unmatched:
    where: str
    title: str | None
    label: str | None  # the OTP entry's account name


@dataclass(frozen=True)
class ImportPlan:
    source: str
    format: str
    creates: tuple[PlannedChange, ...]
    updates: tuple[PlannedChange, ...]
    unchanged: tuple[PlannedChange, ...]
    unmatched: tuple[Unmatched, ...]  # OTP entries with no account (empty with create_missing)
    problems: tuple[Problem, ...]  # parse and planning problems: applying refuses, or skips them
    notes: tuple[Problem, ...]  # what is left out on purpose, or worth knowing

    @property
    def blocked(self) -> bool:
        return bool(self.problems)

    @property
    def empty(self) -> bool:
        return not (self.creates or self.updates)

    @property
    def skipped(self) -> int:
        """Items left out for their problems (one item may have several)."""
        return len({p.where for p in self.problems})


@dataclass
class _Item:
    """One entry on its way through the planner."""

    entry: Entry
    identity: Identity
    account: Account | None
    values: dict[str, object]  # checked field values (person fields as emails)
    hints: dict[str, object]  # url and login from a password manager: they only fill empty fields
    problems: list[Problem]

    @property
    def target(self) -> tuple:
        if self.account is not None:
            return ("id", self.account.id)
        return ("new", self.identity.platform, fold_handle(self.identity.handle))

    def payload(self) -> tuple:
        """What the item would write: two items with equal payloads are the same item twice."""
        otp = self.entry.otp
        return (self.identity.platform, fold_handle(self.identity.handle), sorted(self.values.items()),
                sorted(self.hints.items()), self.entry.kind, self.entry.password,
                otp and (otp.secret, otp.kind, otp.algorithm, otp.digits, otp.period, otp.counter),
                self.entry.recovery_codes)


class _Matcher:
    def __init__(self, accounts: Sequence[Account]) -> None:
        self._by_key = {(a.platform, fold_handle(a.handle)): a for a in accounts}
        self._by_login: dict[tuple[str, str], list[Account]] = {}
        for a in accounts:
            if a.login_id and a.platform != "other":
                self._by_login.setdefault((a.platform, a.login_id.lower()), []).append(a)

    def match(self, entry: Entry, identity: Identity) -> Account | Problem | None:
        """The account with the entry's key; else, for an entry that names no handle, the one
        account on its platform that logs in as the entry's login (or OTP label)."""
        account = self._by_key.get((identity.platform, fold_handle(identity.handle)))
        if account is not None or entry.handle or identity.platform == "other":
            return account
        login = _login(entry)
        found = self._by_login.get((identity.platform, login.lower()), []) if login else []
        if len(found) > 1:
            keys = ", ".join(a.key for a in found)
            what = "seed" if entry.kind is EntryKind.OTP else "item"
            return Problem(entry.where, "account", f"{len(found)} {identity.platform} accounts log in as "
                           f"{shown(login)} ({keys}): cannot tell which one this {what} is for")
        return found[0] if found else None


def _login(entry: Entry) -> str | None:
    login = entry.login_id or (entry.otp.label if entry.otp else None)
    return login.strip() if login and login.strip() else None


def _entry_values(entry: Entry, problems: list[Problem]) -> dict[str, object]:
    raw = {k: v for k, v in entry.fields.items() if k in ACCOUNT_INPUT_FIELDS}
    for name in sorted(set(entry.fields) - set(ACCOUNT_INPUT_FIELDS)):
        problems.append(Problem(entry.where, name, "not an account field"))
    values, bad = check_fields(raw)
    problems.extend(Problem(entry.where, name, message) for name, message in bad)
    return values


def _hints(entry: Entry, problems: list[Problem]) -> dict[str, object]:
    """The URL and login a password manager or an authenticator gives (fill-only fields)."""
    login = entry.login_id or (entry.otp.label if entry.kind is EntryKind.OTP and entry.otp else None)
    values, bad = check_fields({"url": entry.url or "", "login_id": login or ""})
    problems.extend(Problem(entry.where, name, message) for name, message in bad)
    return values


def _secret_problems(entry: Entry) -> list[Problem]:
    found = []
    if entry.password and (why := secret_problem(entry.password, "password")):  # "" is no password
        found.append(Problem(entry.where, "password", why))
    for code in filter(None, (c.strip() for c in entry.recovery_codes)):  # blanks are skipped, as typed ones are
        if why := secret_problem(code, "recovery code"):
            found.append(Problem(entry.where, "recovery_codes", why))
            break
    return found


def _person_problems(entry: Entry, values: Mapping[str, object], people: Mapping[str, int]) -> list[Problem]:
    return [Problem(entry.where, name, f"no person with email {values[name]} in the vault "
                    "(add them first: smvault person add)")
            for name in PERSON_FIELDS if name in values and values[name] not in people]


def _same_otp(a: OtpParams, b: OtpParams) -> bool:
    """The same seed and parameters, whatever the HOTP counter."""
    return (a.secret, a.kind, a.algorithm, a.digits, a.period) == (b.secret, b.kind, b.algorithm, b.digits, b.period)


@dataclass(frozen=True, repr=False)
class _Secrets:
    """What applying an entry does to its account's secrets."""

    set: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    unseen: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # the recovery codes to store
    otp: OtpParams | None = None  # the TOTP parameters to store
    counter_raised: bool = False


def _secret_changes(entry: Entry, stored: StoredSecrets, replace_secrets: bool) -> _Secrets:
    """Fill what the vault lacks; a stored secret that differs is replaced only with
    `replace_secrets`, else kept. One the operator may not reveal is held, never compared."""
    sets: list[str] = []
    replaces: list[str] = []
    kept: list[str] = []

    def change(name: str, held: bool) -> bool:
        """Whether the file's value is set, the vault holding another one (`held`) or none."""
        if held and not replace_secrets:
            kept.append(name)
            return False
        sets.append(name)
        if held:
            replaces.append(name)
        return True

    unseen = stored.unseen
    if entry.password and ("password" in unseen or stored.password != entry.password):  # "" is no password
        change("password", "password" in unseen or stored.password is not None)
    otp, raised = (entry.otp, False) if "totp" in unseen else _otp_change(entry.otp, stored.otp)
    if raised:
        sets.append("totp")
    elif otp is not None and not change("totp", "totp" in unseen or stored.otp is not None):
        otp = None
    codes = tuple(dict.fromkeys(c.strip() for c in entry.recovery_codes if c.strip()))
    # A set the vault has not held in full is new; it retires the unused stored codes, so
    # those make it a replacement. A code the vault has seen used stays used.
    if "recovery-codes" in unseen:
        codes = codes if codes and change("recovery-codes", True) else ()
    elif not codes or set(codes) <= stored.codes or not change("recovery-codes",
                                                               bool(stored.codes - stored.used_codes)):
        codes = ()
    codes = tuple(c for c in codes if c not in stored.used_codes)
    touched = tuple(name for name in (*replaces, *kept) if name in unseen)
    return _Secrets(tuple(sets), tuple(replaces), tuple(kept), touched, codes, otp, raised)


def _otp_change(new: OtpParams | None, stored: OtpParams | None) -> tuple[OtpParams | None, bool]:
    """(the parameters to store if they change, whether only the HOTP counter rises). The
    counter never goes down for the same seed: the vault's may be the newer one."""
    if new is None:
        return None, False
    if stored is None:
        return new, False
    if _same_otp(new, stored):
        raised = new.kind == "hotp" and new.counter > stored.counter
        return (new, True) if raised else (None, False)
    if new.kind == stored.kind == "hotp" and new.secret == stored.secret:
        new = replace(new, counter=max(new.counter, stored.counter))
    return new, False


def _field_changes(account: Account, values: Mapping[str, object], hints: Mapping[str, object],
                   people: Mapping[str, int]) -> dict[str, object]:
    changes = {}
    for name, value in values.items():
        current = getattr(account, PERSON_FIELDS.get(name, name))
        stored = people[value] if name in PERSON_FIELDS else value
        if current != stored:
            changes[name] = value
    for name, value in hints.items():
        if name not in values and getattr(account, name) is None:
            changes[name] = value
    return changes


def _owner_problem(item: _Item, changes: Mapping[str, object]) -> Problem | None:
    account = item.account
    if "owner" in changes and account.owner_id is not None:
        return Problem(item.entry.where, "owner", f"{account.key} already has another owner: ownership "
                       f"moves through `smvault transfer start {account.key} --to EMAIL`")
    return None


def plan_entries(parsed: Parsed, vault: VaultView, *, create_missing: bool = False,
                 replace_secrets: bool = False) -> ImportPlan:
    """What applying `parsed` to the vault would do. Stored secrets that differ from the
    file's are kept (a note each) unless `replace_secrets`."""
    matcher = _Matcher(vault.accounts)
    problems: list[Problem] = list(parsed.problems)
    notes: list[Problem] = list(parsed.notes)
    items: list[_Item] = []
    for entry in parsed.entries:
        identity = identify(entry)
        if isinstance(identity, Problem):
            problems.append(identity)
            continue
        found: list[Problem] = []
        values = _entry_values(entry, found)
        hints = _hints(entry, found)
        found += _secret_problems(entry) + _person_problems(entry, values, vault.people)
        account = matcher.match(entry, identity)
        if isinstance(account, Problem):
            found.append(account)
            account = None
        if entry.notes and entry.notes.strip():
            notes.append(Problem(entry.where, "notes", "not imported: notes can hold secrets, and an "
                                 "account's notes are not one; copy what is needed by hand"))
        items.append(_Item(entry, identity, account, values, hints, found))
    items = _without_copies(items, notes)
    creates, updates, unchanged, unmatched = [], [], [], []
    for item in items:
        if item.problems:
            problems.extend(item.problems)
            continue
        change = _change(item, vault, create_missing, replace_secrets)
        if isinstance(change, Problem):
            problems.append(change)
        elif isinstance(change, Unmatched):
            unmatched.append(change)
        else:
            {"create": creates, "update": updates, "unchanged": unchanged}[change.action].append(change)
            notes += [Problem(change.where, _SECRET_FIELDS[name], (_UNSEEN if name in change.unseen else _KEPT)[name])
                      for name in change.kept]
    order = {entry.where: i for i, entry in enumerate(parsed.entries)}
    problems.sort(key=lambda p: order.get(p.where, -1))  # parse problems first, then file order
    return ImportPlan(parsed.source, parsed.format, tuple(creates), tuple(updates), tuple(unchanged),
                      tuple(unmatched), tuple(problems), tuple(notes))


def _without_copies(items: list[_Item], notes: list[Problem]) -> list[_Item]:
    """Items aiming at one account: identical copies are dropped with a note; when they
    differ, every one of them is a problem."""
    groups: dict[tuple, list[_Item]] = {}
    for item in items:
        groups.setdefault(item.target, []).append(item)
    copies: set[int] = set()
    for group in groups.values():
        first = group[0]
        if all(item.payload() == first.payload() for item in group[1:]):
            for item in group[1:]:
                notes.append(Problem(item.entry.where, "account", f"the same as {first.entry.where}: imported once"))
                copies.add(id(item))
            continue
        places = ", ".join(item.entry.where for item in group)
        for item in group:
            key = item.account.key if item.account else item.identity.key
            item.problems.append(Problem(item.entry.where, "account", f"{key} is in the file "
                                         f"{len(group)} times with different values ({places})"))
    return [item for item in items if id(item) not in copies]


def _change(item: _Item, vault: VaultView, create_missing: bool,
            replace_secrets: bool) -> PlannedChange | Unmatched | Problem:
    entry, account = item.entry, item.account
    if account is None:
        if entry.kind is EntryKind.OTP and not create_missing:
            return Unmatched(entry.where, entry.title, entry.otp.label if entry.otp else None)
        values = {**item.values, **{k: v for k, v in item.hints.items() if k not in item.values}}
        secrets = _secret_changes(entry, StoredSecrets(), replace_secrets)
        return PlannedChange(entry.where, entry.title, item.identity.key, "create", tuple(values), secrets.set,
                             None, MappingProxyType(values), entry, secrets.codes, otp=secrets.otp)
    changes = _field_changes(account, item.values, item.hints, vault.people)
    carries_secrets = bool(entry.password or entry.otp is not None or any(c.strip() for c in entry.recovery_codes))
    # Who may change the account is asked before any comparison: otherwise a dry run would
    # say "unchanged" exactly when a guessed secret is the stored one.
    if (changes or carries_secrets) and (refusal := vault.refusal(account)):
        return Problem(entry.where, "account", refusal)
    secrets = _secret_changes(entry, vault.secrets(account) if carries_secrets else StoredSecrets(),
                              replace_secrets)
    if not changes and not secrets.set:
        return PlannedChange(entry.where, entry.title, account.key, "unchanged", (), (), account.id, entry=entry,
                             kept=secrets.kept, unseen=secrets.unseen)
    if problem := _owner_problem(item, changes):
        return problem
    return PlannedChange(entry.where, entry.title, account.key, "update", tuple(changes), secrets.set,
                         account.id, MappingProxyType(changes), entry, secrets.codes, secrets.replaces,
                         secrets.kept, secrets.unseen, secrets.counter_raised, secrets.otp)
