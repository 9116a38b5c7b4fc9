"""The printed sheets: self-contained HTML, plain text, a QR code that decodes to the share."""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from smvault.domain.errors import ConflictError, UsageError
from smvault.domain.shares import parse_share
from smvault.services.kit_sheet import CSP, render_html, render_text, write_kit

from .conftest import CUSTODIANS

SVG_NS = "{http://www.w3.org/2000/svg}"
MODULE = re.compile(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H[\d.]+z")


class _Words(HTMLParser):
    """The share words in page order (<span class="w">) and every tag used."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.tags: set[str] = set()
        self.attrs: set[str] = set()
        self._in_word = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        self._in_word = ("class", "w") in attrs

    def handle_data(self, data):
        if self._in_word:
            self.words.append(data)
            self._in_word = False


def qr_from_html(page: str, scale: int = 8) -> str:
    """Rasterise the inline SVG's modules into an image and decode it."""
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", page, re.S).group(0))
    size = float(svg.get("viewBox").split()[2])
    path = svg.find(f"{SVG_NS}path")
    image = Image.new("L", (int(size * scale), int(size * scale)), 255)
    draw = ImageDraw.Draw(image)
    modules = MODULE.findall(path.get("d"))
    assert modules
    for x0, y0, x1, y1 in modules:
        draw.rectangle([float(x0) * scale, float(y0) * scale, float(x1) * scale - 1, float(y1) * scale - 1], fill=0)
    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1, "the QR code did not decode"
    return results[0].text


@pytest.fixture
def kit(staffed, new_kit):
    return new_kit(staffed)


def test_html_sheet_content(kit):
    cara = kit.sheets[2]
    page = render_html(kit, cara)
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP.replace(chr(39), "&#x27;")}">' in page
    for text in (kit.vault_id, kit.kit_id, kit.created_at[:10], "share 3 of 3", "any 2 of 3 custodians",
                 *CUSTODIANS, "smvault --recovery", "Break glass", "new emergency kit", "void",
                 "Do not photograph", "logged"):
        assert text in page, text
    # user text is literal: no markup of theirs reaches the page
    assert "Cara &lt;b&gt;Custodian&lt;/b&gt; &amp; [bold]co[/]" in page
    assert "<b>Custodian" not in page
    parser = _Words()
    parser.feed(page)
    assert parser.words == cara.words
    # self-contained: no scripts, no links or sources, no external resources
    assert not parser.tags & {"script", "link", "img", "iframe", "object", "embed", "a", "form", "base"}
    assert not parser.attrs & {"src", "href", "srcset", "action"} and not any(
        a.startswith("on") for a in parser.attrs)
    assert "url(" not in page and "@import" not in page
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]  # the SVG namespace
    assert "@media print" in page and "@page" in page


def test_qr_code_decodes_to_the_share(kit):
    for sheet in kit.sheets:
        decoded = qr_from_html(render_html(kit, sheet))
        assert decoded == sheet.mnemonic
        assert parse_share(decoded, 1).member_index == sheet.member_index


def test_text_sheet_content_and_words_paste_back(kit):
    bob = kit.sheets[1]
    text = render_text(kit, bob)
    for item in (kit.vault_id, kit.kit_id, "share 2 of 3", "any 2 of 3 custodians", "Bob Builder <bob@example.com>  (you)",
                 "smvault --recovery", "Break glass", "void"):
        assert item in text, item
    block = text.split("YOUR SHARE: 20 WORDS\n\n")[1].split("\n\n")[0]
    assert parse_share(block, 1).mnemonic == bob.mnemonic
    assert "\x1b" not in text


def test_write_kit_files_modes_and_no_overwrite(kit, tmp_path):
    out = tmp_path / "sheets"
    files = write_kit(kit, out)
    assert len(files) == 6 and sorted(files) == sorted(out.iterdir())
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    assert {f.suffix for f in files} == {".html", ".txt"}
    assert files[0].name == "share-01-of-03-alice-example-com.html"
    before = {f: f.read_bytes() for f in files}
    with pytest.raises(ConflictError, match="not empty"):
        write_kit(kit, out)
    assert {f: f.read_bytes() for f in out.iterdir()} == before
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o755)
    assert len(write_kit(kit, empty)) == 6 and stat.S_IMODE(empty.stat().st_mode) == 0o700
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(UsageError, match="not a directory"):
        write_kit(kit, link)
    assert not any((tmp_path / "elsewhere").iterdir())


def test_a_directory_swapped_for_a_symlink_during_the_writes_gets_nothing_elsewhere(kit, tmp_path, monkeypatch):
    """The checked directory is the one written to: swapping it for a symlink between the
    check and the writes (or between two sheets) sends nothing to the symlink's target."""
    from smvault.services import kit_sheet

    out, moved, elsewhere = tmp_path / "kit", tmp_path / "moved", tmp_path / "elsewhere"
    elsewhere.mkdir()
    original = kit_sheet.render_text
    calls = []

    def swap_then_render(*args):
        if not calls:  # after the first .html is written
            out.rename(moved)
            out.symlink_to(elsewhere, target_is_directory=True)
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(kit_sheet, "render_text", swap_then_render)
    written = write_kit(kit, out)
    assert len(written) == 6 and len(list(moved.iterdir())) == 6
    assert not any(elsewhere.iterdir())


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _chromium(profile, *args, timeout=90):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium on this machine")
def test_sheet_renders_in_headless_chromium_and_its_qr_scans(kit, tmp_path):
    files = write_kit(kit, tmp_path / "sheets")
    cara = kit.sheets[2]
    page = next(f for f in files if f.name.startswith("share-03") and f.suffix == ".html")
    shot = tmp_path / "shot.png"
    started = time.perf_counter()
    result = _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,1400", page.as_uri())
    assert shot.exists(), result.stderr[-2000:]
    decoded = zxingcpp.read_barcodes(Image.open(shot))
    assert [d.text for d in decoded] == [cara.mnemonic]
    dom = _chromium(tmp_path / "profile", "--dump-dom", page.as_uri()).stdout
    assert "Cara &lt;b&gt;Custodian&lt;/b&gt; &amp; [bold]co[/]" in dom  # rendered as text
    assert "<b>Custodian" not in dom
    assert all(word in dom for word in cara.words)
    assert time.perf_counter() - started < 60  # about 3 s here: not marked slow
