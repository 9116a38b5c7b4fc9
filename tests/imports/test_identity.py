"""Which account an imported entry is, from the hints its source gives."""

from __future__ import annotations

import pytest

from smvault.domain.imports import Entry, EntryKind, Problem
from smvault.domain.imports.identity import Identity, identify, platform_from_name, platform_from_url
from smvault.domain.otp import parse_otpauth_uri

SEED = "JBSWY3DPEHPK3PXP"


def account(**hints) -> Entry:
    return Entry("export.json: item 1", EntryKind.ACCOUNT, **hints)


def otp_entry(uri: str, title: str | None = None) -> Entry:
    params = parse_otpauth_uri(uri)
    return Entry("codes.txt:1", EntryKind.OTP, title=title or params.issuer or params.label, otp=params)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.instagram.com/acme/", ("instagram", "acme")),
    ("instagram.com/acme", ("instagram", "acme")),
    ("https://x.com/acme", ("x", "acme")),
    ("https://mobile.twitter.com/acme?lang=en", ("x", "acme")),
    ("https://www.youtube.com/@acme", ("youtube", "acme")),
    ("https://www.youtube.com/channel/UC123abc", ("youtube", "UC123abc")),
    ("https://www.linkedin.com/company/acme-corp/", ("linkedin", "acme-corp")),
    ("https://business.facebook.com/acmepage", ("facebook", "acmepage")),
    ("https://fb.com/acmepage", ("facebook", "acmepage")),
    ("https://www.facebook.com/profile.php?id=100012345", ("facebook", "100012345")),
    ("https://www.tiktok.com/@acme", ("tiktok", "acme")),
    ("https://www.threads.net/@acme", ("threads", "acme")),
    ("https://www.threads.com/@acme", ("threads", "acme")),
    ("https://www.pinterest.co.uk/acme/", ("pinterest", "acme")),
    ("https://www.snapchat.com/add/acme", ("snapchat", "acme")),
    ("https://www.reddit.com/user/acme", ("reddit", "acme")),
    ("https://www.reddit.com/r/acme/", ("reddit", "r/acme")),
    ("https://bsky.app/profile/acme.bsky.social", ("bluesky", "acme.bsky.social")),
    ("https://mastodon.social/@acme", ("mastodon", "acme@mastodon.social")),
    ("https://mastodon.social/users/acme", ("mastodon", "acme@mastodon.social")),
    ("https://www.facebook.com/pg/acmepage/about", ("facebook", "acmepage")),
    # '.' is allowed in Facebook, Instagram and TikTok names
    ("https://www.facebook.com/acme.page", ("facebook", "acme.page")),
    ("https://www.instagram.com/acme.social/", ("instagram", "acme.social")),
])
def test_a_profile_url_names_platform_and_handle(url, expected):
    assert identify(account(url=url, title="Whatever")) == Identity(*expected)


@pytest.mark.parametrize("url", [
    "https://www.facebook.com/login.php", "https://www.facebook.com/login/", "https://m.facebook.com/checkpoint/",
    "https://www.facebook.com/groups/123456", "https://business.facebook.com/latest/home",
    "https://www.facebook.com/watch.html", "https://www.linkedin.com/uas/login", "https://www.instagram.com/p/Cxyz12/",
    "https://www.instagram.com/reel/Cxyz12/", "https://www.instagram.com/stories/acme/1", "https://x.com/home",
    "https://x.com/some.page", "https://mastodon.social/about", "https://mastodon.social/auth/sign_in",
])
def test_a_page_of_the_site_is_no_handle_and_the_login_is_used(url):
    assert identify(account(url=url, login_id="acme-social", title="Acme")).handle == "acme-social"


def test_a_web_address_on_another_host_beats_a_brand_word_in_the_title():
    hootsuite = account(title="Hootsuite (Instagram scheduling)", url="https://hootsuite.com/login", login_id="me")
    assert identify(hootsuite).platform == "other"
    assert identify(account(title="Instagram", url="https://hootsuite.com", login_id="me")).platform == "other"
    # no URL, or an app's URI: a title that is a platform's name decides
    assert identify(account(title="Instagram", login_id="acme")) == Identity("instagram", "acme")
    assert identify(account(title="Instagram (Acme)", url="androidapp://com.instagram.android", login_id="acme")) \
        == Identity("instagram", "acme")
    assert identify(account(title="Acme on Instagram", login_id="acme")).platform == "other"


def test_a_url_naming_no_account_falls_back_to_the_login_then_the_title():
    login_page = "https://www.instagram.com/accounts/login/"
    assert identify(account(url=login_page, login_id="acme.social", title="Acme IG")) == Identity("instagram", "acme.social")
    assert identify(account(url=login_page, title="Acme IG")) == Identity("instagram", "Acme-IG")
    assert identify(account(url="https://youtu.be/dQw4w9WgXcQ", login_id="@acme")) == Identity("youtube", "acme")


@pytest.mark.parametrize(("name", "platform"), [
    ("Twitter", "x"), ("X", "x"), ("x", "x"), ("Meta Business Suite", "facebook"), ("Facebook", "facebook"),
    ("FB", "facebook"), ("YouTube Studio", "youtube"), ("Instagram (Acme)", "instagram"), ("LinkedIn", "linkedin"),
    ("Threads", "threads"), ("Bluesky", "bluesky"), ("Acme on Instagram", None),
    ("Hootsuite (Instagram scheduling)", None),
    ("Google", None), ("X-Ray Tool", None), ("Email threads", None), ("Metabase", None), ("", None), (None, None),
])
def test_names_match_platforms_tolerantly_but_not_loosely(name, platform):
    assert platform_from_name(name) == platform


def test_hosts_other_than_the_platforms_are_not_guessed():
    assert platform_from_url("https://mail.google.com") is None
    assert platform_from_url("https://notinstagram.com/acme") is None
    assert platform_from_url("http://[broken") is None
    assert platform_from_url("https://example.com:notaport/") is None


def test_an_otp_issuer_that_is_a_platform_uses_the_label_as_handle():
    assert identify(otp_entry(f"otpauth://totp/Twitter:acme?secret={SEED}&issuer=Twitter")) == Identity("x", "acme")
    assert identify(otp_entry(f"otpauth://totp/Instagram:@acme?secret={SEED}")) == Identity("instagram", "acme")


def test_other_services_are_service_slash_user_so_same_user_names_do_not_collide():
    deno = identify(otp_entry(f"otpauth://totp/Deno:Mason?secret={SEED}&issuer=Deno"))
    wwe = identify(otp_entry(f"otpauth://hotp/WWE:Mason?secret={SEED}&issuer=WWE&counter=1"))
    assert (deno, wwe) == (Identity("other", "Deno/Mason"), Identity("other", "WWE/Mason"))
    assert identify(otp_entry(f"otpauth://hotp/Air%20Canada:Benjamin?secret={SEED}&issuer=Air+Canada&counter=1")) \
        == Identity("other", "Air-Canada/Benjamin")
    # no issuer: the title (here the label itself) alone
    assert identify(otp_entry(f"otpauth://totp/pi@raspberrypi?secret={SEED}")) == Identity("other", "pi@raspberrypi")
    # a password-manager item: the issuer, else its title, else the URL's host
    assert identify(account(title="Login Name", login_id="me@gmail.com", url="https://mail.google.com")) \
        == Identity("other", "Login-Name/me@gmail.com")
    assert identify(account(login_id="me", url="https://www.example.org/login")) == Identity("other", "example.org/me")
    assert identify(account(title="Work: VPN")) == Identity("other", "Work-VPN")


def test_the_platform_and_handle_an_entry_names_win():
    entry = account(platform="Twitter", handle="@acme", url="https://www.instagram.com/other")
    assert identify(entry) == Identity("x", "acme")
    # the path of another site's URL is not read as the handle
    assert identify(account(platform="instagram", url="https://acme.example/team", login_id="acme")) \
        == Identity("instagram", "acme")


def test_an_entry_that_names_no_account_is_a_problem_that_says_what_to_do():
    problem = identify(account())
    assert isinstance(problem, Problem)
    assert (problem.where, problem.field) == ("export.json: item 1", "handle")
    assert problem.message.startswith("cannot tell which account this is")
    assert "platform and handle columns" in problem.message
    assert isinstance(identify(account(title="\x1b[31m")), Problem)
    bad = identify(account(platform="instagram", handle="two words"))
    assert bad == Problem("export.json: item 1", "handle",
                          "'two words' is not a handle: no spaces, control characters or ':'")
    assert identify(account(platform="myspace", handle="acme")).field == "platform"
