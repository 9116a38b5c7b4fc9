"""Which vault account an imported entry is: its platform and handle.

An inventory row or a handover packet says both. A password-manager item or an authenticator
entry only gives hints, read in this order:

- platform: the one the entry names; else the URL's host (instagram.com, youtu.be...), and
  a web address on any other host is "other" (a title naming a brand does not beat it:
  "Hootsuite (Instagram scheduling)" at hootsuite.com); else the OTP issuer or the item's
  title when the whole name or its first word is a platform's ("Twitter", "Meta Business
  Suite", "YouTube Studio"); else "other".
- handle on a known platform: the account in the URL's path (x.com/acme,
  linkedin.com/company/acme, youtube.com/@acme, mastodon.social/users/acme), never a page of
  the site (login.php, /p/ posts, groups); else the login or the OTP label; else the title.
- handle on "other": SERVICE/USER (issuer, title or host / login or label), so two services
  with the same user name ("Deno:Mason", "WWE:Mason") stay two accounts.

The same hints always give the same key, so importing a file twice updates what the first
import created.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from smvault.domain.errors import InvalidInputError
from smvault.domain.imports.fields import shown
from smvault.domain.imports.model import Entry, Problem
from smvault.domain.models import normalize_handle, normalize_platform


class Identity(NamedTuple):
    platform: str
    handle: str

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.handle}"


# host (or any subdomain of it) -> platform
_HOSTS = {
    "facebook.com": "facebook", "fb.com": "facebook", "instagram.com": "instagram",
    "x.com": "x", "twitter.com": "x", "linkedin.com": "linkedin", "youtube.com": "youtube",
    "youtu.be": "youtube", "tiktok.com": "tiktok", "threads.net": "threads",
    "threads.com": "threads", "snapchat.com": "snapchat", "reddit.com": "reddit",
    "bsky.app": "bluesky",
}
# Country domains and instances: pinterest.co.uk, mastodon.social, mastodon.example.org.
_HOST_LABELS = {"pinterest": "pinterest", "mastodon": "mastodon"}

# A name's first word that makes it a platform's ("YouTube Studio", "Meta Business Suite").
# Anywhere else a brand word says little: "Hootsuite (Instagram scheduling)" is Hootsuite.
# "x" and the like count only as the whole name, through normalize_platform.
_FIRST_WORDS = {
    "facebook": "facebook", "instagram": "instagram", "twitter": "x", "linkedin": "linkedin",
    "youtube": "youtube", "tiktok": "tiktok", "pinterest": "pinterest", "snapchat": "snapchat",
    "reddit": "reddit", "bluesky": "bluesky", "mastodon": "mastodon", "meta": "facebook",
    "threads": "threads", "bsky": "bluesky",
}

# First path segments that are pages of the site, not an account.
_NOT_ACCOUNTS = frozenset({
    "login", "login.php", "logout", "signup", "signin", "accounts", "account", "home", "settings",
    "i", "explore", "business", "feed", "watch", "share", "oauth", "auth", "help", "search",
    "hashtag", "intent", "messages", "notifications", "shorts", "results", "sharer", "dialog",
    "uas", "checkpoint", "p", "reel", "reels", "tv", "stories", "groups", "events", "latest",
    "marketplace", "gaming", "photos", "videos", "people", "direct", "privacy", "policies",
    "legal", "about", "recover", "challenge", "ads", "adsmanager", "creatorstudio", "compose",
})
# facebook.com/login.php, /watch.html: a page of the site, never an account's name
_PAGE_FILE = re.compile(r"\.(php|html?|aspx?|jsp|cgi)$", re.IGNORECASE)
# Path prefixes that come before the account's name: linkedin.com/company/acme.
_PREFIXES = {
    "linkedin": ("company", "in", "school", "showcase"),
    "youtube": ("channel", "c", "user"),
    "reddit": ("user", "u"),
    "snapchat": ("add",),
    "bluesky": ("profile",),
    "facebook": ("pages", "pg"),
}
_SPACES = re.compile(r"[\s:]+")


def platform_from_url(url: str | None) -> str | None:
    host = _host(url)
    if host is None:
        return None
    for domain, platform in _HOSTS.items():
        if host == domain or host.endswith("." + domain):
            return platform
    labels = host.split(".")[:-1]  # not the top-level domain
    return next((_HOST_LABELS[label] for label in labels if label in _HOST_LABELS), None)


def platform_from_name(name: str | None) -> str | None:
    """A platform named by an issuer or a title, as the whole name or its first word:
    "Twitter", "YouTube Studio", "Meta Business Suite", "X"; None when the name is not a
    platform's ("Acme on Instagram" is not sure enough to be one)."""
    if not name:
        return None
    try:
        platform = normalize_platform(name)
        return None if platform == "other" else platform
    except InvalidInputError:
        pass
    words = re.findall(r"[a-z0-9]+", name.lower())
    return _FIRST_WORDS.get(words[0]) if words else None


def handle_from_url(url: str | None, platform: str) -> str | None:
    """The account a profile URL points at (x.com/acme -> acme), None for a page that
    names no account (x.com/login, a youtu.be video)."""
    parts = _split(url)
    if parts is None or platform_from_url(url) != platform or _host(url) == "youtu.be":
        return None  # another site's path, or a video link
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if platform == "facebook" and segments[:1] == ["profile.php"]:
        ids = parse_qs(parts.query).get("id")
        return _valid(ids[0]) if ids else None
    if platform == "mastodon":
        return _mastodon_handle(segments, parts.hostname)
    if segments and segments[0].lower() in _PREFIXES.get(platform, ()):
        segments = segments[1:]
    if platform == "reddit" and len(segments) >= 2 and segments[0].lower() == "r":
        return _valid(f"r/{segments[1]}")  # a subreddit, not a user
    if not segments or segments[0].lower() in _NOT_ACCOUNTS:
        return None
    name = segments[0]
    if _PAGE_FILE.search(name) or (platform == "x" and "." in name):  # an X handle has no '.'
        return None
    return _valid(name)


def _mastodon_handle(segments: list[str], host: str | None) -> str | None:
    """/@name or /users/name; a handle is only unique with its instance."""
    if segments[:1] and segments[0].startswith("@"):
        name = segments[0][1:]
    elif len(segments) >= 2 and segments[0].lower() == "users":
        name = segments[1]
    else:
        return None  # /about, /explore, /auth/sign_in
    return _valid(f"{name}@{host}") if name and host else None


def identify(entry: Entry) -> Identity | Problem:
    """The entry's platform and handle, or a Problem saying why none can be told."""
    label = entry.otp.label if entry.otp else None
    issuer = entry.otp.issuer if entry.otp else None
    user = _first(entry.login_id, label)
    if entry.platform:
        try:
            platform = normalize_platform(entry.platform)
        except InvalidInputError as exc:
            return Problem(entry.where, "platform", exc.message)
    else:
        platform = _platform_from_hints(entry.url, issuer, entry.title)
    if entry.handle:
        candidates = [entry.handle]
    elif platform == "other":
        candidates = [_service_handle(_first(issuer, entry.title, _host(entry.url)), user)]
    else:
        candidates = [handle_from_url(entry.url, platform), user, _slug(entry.title)]
    for candidate in candidates:
        if handle := _valid(candidate):
            return Identity(platform, handle)
    if entry.handle:
        return Problem(entry.where, "handle", f"{shown(entry.handle)} is not a handle: "
                       "no spaces, control characters or ':'")
    return Problem(entry.where, "handle", "cannot tell which account this is: its URL, login, name "
                   "and OTP issuer give no usable handle; give the item a name, or import the account "
                   "from an inventory CSV with platform and handle columns")


def _platform_from_hints(url: str | None, issuer: str | None, title: str | None) -> str:
    """A web address decides, a platform's host or not; then a name that is a platform's."""
    if platform := platform_from_url(url):
        return platform
    parts = _split(url)
    host = _host(url)
    if parts is not None and parts.scheme.lower() in ("http", "https") and host and "." in host:
        return "other"  # hootsuite.com: whatever the title says (an app's androidapp:// URI does not count)
    return platform_from_name(issuer) or platform_from_name(title) or "other"


def _service_handle(service: str | None, user: str | None) -> str | None:
    service, user = _slug(service), _slug(user)
    if not service:
        return user
    if not user or user.lower() == service.lower():
        return service
    return f"{service}/{user}"


def _split(url: str | None):
    if not url or not url.strip():
        return None
    text = url.strip()
    if "://" not in text:
        text = "https://" + text  # "instagram.com/acme" as people type it
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    return parts


def _host(url: str | None) -> str | None:
    parts = _split(url)
    if parts is None or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    return host.removeprefix("www.") or None


def _slug(text: str | None) -> str | None:
    """Runs of spaces and ':' become '-' ("Air Canada" -> "Air-Canada"): a handle has none."""
    if not text:
        return None
    return _SPACES.sub("-", text.strip()).strip("-") or None


def _valid(candidate: str | None) -> str | None:
    if not candidate:
        return None
    try:
        return normalize_handle(candidate)
    except InvalidInputError:
        return None


def _first(*values: str | None) -> str | None:
    return next((v.strip() for v in values if v and v.strip()), None)
