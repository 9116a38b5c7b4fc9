"""Printable sheets for an emergency kit: one HTML page and one plain-text file per custodian.

Each page stands alone: no script, no external resource (a Content-Security-Policy says so to
the browser), the QR code inline as SVG (made by `qrcode`), styles that print on one page.
All user text is escaped and stripped of control characters.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
from pathlib import Path

from smvault.domain.errors import ConflictError, UsageError
from smvault.domain.text import printable
from smvault.services.kit import Kit, KitSheet

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
WORD_COLUMNS = 4
# qrcode's path factory: one <path> in a plain <svg> (the rect factories write "svg:rect",
# which an HTML parser does not draw); white background so it scans on any paper.
QR_BOX_SIZE = 10  # qrcode's SVG unit: 10 = 1 mm per module when printed

_CSS = """
@page { size: A4; margin: 14mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: #000; background: #fff;
       margin: 0 auto; max-width: 190mm; font-size: 10.5pt; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12pt; margin: 5mm 0 2mm; border-bottom: 1px solid #000; }
.warning { border: 2px solid #000; padding: 2mm 3mm; font-weight: bold; }
table.facts { border-collapse: collapse; }
table.facts th { text-align: left; padding: 0.5mm 4mm 0.5mm 0; font-weight: normal; color: #333; }
table.facts td { padding: 0.5mm 0; font-weight: bold; }
.share { display: flex; gap: 6mm; align-items: flex-start; break-inside: avoid; }
ol.words { list-style: none; margin: 0; padding: 0; flex: 1; min-width: 0; display: grid;
           grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 1.5mm 2mm; }
ol.words li { border: 1px solid #000; padding: 1.5mm 1.5mm; white-space: nowrap; overflow: hidden;
              font-family: "DejaVu Sans Mono", "Courier New", monospace; font-size: 11pt; }
ol.words .n { display: inline-block; min-width: 5mm; color: #555; font-size: 8pt; }
.qr { flex: none; }
.qr svg { display: block; }
.qr p { font-size: 8pt; margin: 1mm 0 0; text-align: center; }
ol.custodians { margin: 0; padding-left: 6mm; }
ol.steps li { margin-bottom: 1mm; }
code { font-family: "DejaVu Sans Mono", "Courier New", monospace; font-size: 9.5pt; }
footer { margin-top: 5mm; font-size: 8.5pt; color: #333; }
@media print { body { max-width: none; } }
"""


def _when(timestamp: str) -> str:
    return timestamp.replace("T", " ").replace("Z", " UTC")


def _who(person) -> str:
    return f"{printable(person.name)} <{printable(person.email)}>"


def _custodians(kit: Kit) -> list[tuple[int, str]]:
    return [(sheet.member_index, _who(sheet.custodian)) for sheet in kit.sheets]


def _facts(kit: Kit, sheet: KitSheet) -> list[tuple[str, str]]:
    return [
        ("Vault", kit.vault_id),
        ("Kit", kit.kit_id),
        ("Created", _when(kit.created_at)),
        ("Custodian", _who(sheet.custodian)),
        ("Share", f"share {sheet.member_index} of {sheet.count}"),
        ("Needed", f"any {kit.threshold} of {sheet.count} custodians together"),
    ]


def _steps(kit: Kit, sheet: KitSheet, *, qr: bool) -> list[str]:
    return [
        f"This share alone opens nothing. Any {kit.threshold} of the {sheet.count} custodians"
        " together can unlock the vault when no operator can (lost passphrases, nobody reachable"
        " during an incident).",
        "Meet the other custodians (listed above) at the machine that holds the vault, and agree"
        " on the reason and the incident id.",
        'Run  smvault --recovery --reason "WHAT HAPPENED" --incident INCIDENT-ID  or press'
        " Break glass on the smvault unlock screen.",
        f"Each custodian enters their {len(sheet.words)} words, in order, only into smvault."
        + (" The QR code holds the same words, for a scanner that types them." if qr else ""),
        "Everything done in that session is logged, marked as break-glass with the incident id.",
        "Afterwards the operators rotate every secret revealed in the session and must issue a"
        " new emergency kit. From then on this sheet is void: destroy it.",
    ]


KEEP_SAFE = (
    "Keep this sheet sealed in an envelope, in a safe place. Do not photograph, scan, copy or"
    " type these words anywhere but into smvault during a recovery."
)


def qr_svg(text: str) -> str:
    """The share as an inline SVG QR code (qrcode's SVG path factory, white background)."""
    import qrcode
    import qrcode.image.svg

    qr = qrcode.QRCode(
        box_size=QR_BOX_SIZE,
        border=4,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        image_factory=qrcode.image.svg.SvgPathFillImage,
    )
    qr.add_data(text)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode")


def html_page(title: str, css: str, body: str) -> str:
    """A self-contained page: no script and no external resource (the CSP), no referrer.
    `title` is plain text; `css` and `body` are trusted markup, user text already escaped."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{css}</style>
</head>
<body>
{body}
</body>
</html>
"""


def render_html(kit: Kit, sheet: KitSheet) -> str:
    """One custodian's sheet as a self-contained HTML page."""
    esc = html.escape
    title = f"smvault emergency kit - share {sheet.member_index} of {sheet.count}"
    facts = "\n".join(
        f"<tr><th>{esc(label)}</th><td>{esc(printable(value))}</td></tr>"
        for label, value in _facts(kit, sheet)
    )
    words = "\n".join(
        f'<li><span class="n">{n}</span> <span class="w">{esc(word)}</span></li>'
        for n, word in enumerate(sheet.words, 1)
    )
    custodians = "\n".join(
        f"<li>{esc(who)}{' <strong>(you)</strong>' if index == sheet.member_index else ''}"
        f" &mdash; share {index}</li>"
        for index, who in _custodians(kit)
    )
    steps = "\n".join(f"<li>{esc(step)}</li>" for step in _steps(kit, sheet, qr=True))
    return html_page(title, _CSS, f"""<h1>smvault emergency kit</h1>
<p class="warning">CONFIDENTIAL: one share of the key to the vault. {esc(KEEP_SAFE)}</p>
<table class="facts">
{facts}
</table>
<h2>Your share: {len(sheet.words)} words</h2>
<div class="share">
<ol class="words">
{words}
</ol>
<div class="qr">{qr_svg(sheet.mnemonic)}<p>the same {len(sheet.words)} words</p></div>
</div>
<h2>The custodians</h2>
<ol class="custodians">
{custodians}
</ol>
<h2>In an emergency</h2>
<ol class="steps">
{steps}
</ol>
<footer>Vault {esc(printable(kit.vault_id))} &middot; kit {esc(printable(kit.kit_id))} &middot;
created {esc(_when(kit.created_at))}. A newer kit makes this sheet void.</footer>""")


def render_text(kit: Kit, sheet: KitSheet) -> str:
    """The same sheet as plain text. Its word grid can be pasted into smvault as it is (the
    item numbers are skipped), and the whole file given as `--share-file` (share_from_sheet)."""
    width = max(len(label) for label, _ in _facts(kit, sheet))
    lines = ["SMVAULT EMERGENCY KIT", "", f"CONFIDENTIAL: one share of the key to the vault. {KEEP_SAFE}", ""]
    lines += [f"{label.ljust(width)}  {printable(value)}" for label, value in _facts(kit, sheet)]
    lines += ["", f"YOUR SHARE: {len(sheet.words)} WORDS", ""]
    words = [f"{n:>2}. {word:<10}" for n, word in enumerate(sheet.words, 1)]
    for row in range(0, len(words), WORD_COLUMNS):
        lines.append("   ".join(words[row : row + WORD_COLUMNS]).rstrip())
    lines += ["", "THE CUSTODIANS", ""]
    lines += [
        f"{index:>2}. {who}{'  (you)' if index == sheet.member_index else ''}"
        for index, who in _custodians(kit)
    ]
    lines += ["", "IN AN EMERGENCY", ""]
    lines += [f"{n}. {step}" for n, step in enumerate(_steps(kit, sheet, qr=False), 1)]
    lines += ["", f"A newer kit than {kit.kit_id} makes this sheet void.", ""]
    return "\n".join(lines)


# -- files -------------------------------------------------------------------------------------


def _stem(sheet: KitSheet) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", sheet.custodian.email.lower()).strip("-")[:60] or "custodian"
    return f"share-{sheet.member_index:02d}-of-{sheet.count:02d}-{slug}"


_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _prepare(out_dir: Path) -> tuple[int, bool]:
    """Make `out_dir` (mode 0700) or accept it empty. Returns a descriptor of it, opened
    without following a symlink, that every write goes through (a directory swapped for a
    symlink after this check gets nothing), and True if this call created it."""
    try:
        out_dir.mkdir(mode=0o700)
        created = True
    except FileExistsError:
        created = False
    except FileNotFoundError:
        raise UsageError(f"cannot create {out_dir}: its parent directory does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    try:
        fd = os.open(out_dir, _DIR_FLAGS)
    except OSError:
        if created:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise UsageError(f"{out_dir} exists and is not a directory: give a new directory for the kit") from None
    try:
        if not created and os.listdir(fd):
            raise ConflictError(
                f"{out_dir} is not empty: a kit goes into a new or empty directory, and nothing is overwritten"
            )
        try:
            os.fchmod(fd, 0o700)  # whatever the umask: the sheets hold shares
        except OSError as exc:
            raise UsageError(f"cannot make {out_dir} private: {exc.strerror or exc}") from None
    except BaseException:
        os.close(fd)
        if created:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        raise
    return fd, created


def _write_new(dir_fd: int, name: str, text: str, written: list[str]) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
    written.append(name)  # ours from here on: a failure below removes it
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def discard_kit_files(files, directory: Path | None = None) -> None:
    """Remove sheets that must not be handed out, then `directory` if that left it empty."""
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    if directory is not None:
        with contextlib.suppress(OSError):
            directory.rmdir()  # only succeeds when empty, as it was before the kit


def write_kit(kit: Kit, out_dir: Path) -> list[Path]:
    """Write every custodian's sheet (.html and .txt) into `out_dir`; all of them or none.

    `out_dir` is created (0700) or must be empty; files are created 0600, exclusively, never
    through a symlink and relative to the directory as it was checked, so nothing is ever
    overwritten and nothing lands elsewhere.
    """
    out_dir = Path(out_dir)
    dir_fd, created = _prepare(out_dir)
    written: list[str] = []
    try:
        try:
            for sheet in kit.sheets:
                stem = _stem(sheet)
                _write_new(dir_fd, f"{stem}.html", render_html(kit, sheet), written)
                _write_new(dir_fd, f"{stem}.txt", render_text(kit, sheet), written)
            os.fsync(dir_fd)
        except BaseException as exc:
            for name in written:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=dir_fd)
            if created:
                with contextlib.suppress(OSError):
                    out_dir.rmdir()  # only succeeds when empty (and if it is still ours)
            if isinstance(exc, OSError):
                raise UsageError(f"cannot write the kit to {out_dir}: {exc.strerror or exc}") from None
            raise
    finally:
        os.close(dir_fd)
    return [out_dir / name for name in written]


# -- reading a sheet back ------------------------------------------------------------------------

_TEXT_TITLE = "SMVAULT EMERGENCY KIT"
_TEXT_SHARE = re.compile(r"^YOUR SHARE: \d+ WORDS[ \t]*$(.*?)^THE CUSTODIANS[ \t]*$", re.M | re.S)
_HTML_WORDS = re.compile(r'<ol class="words">(.*?)</ol>', re.S)
_HTML_WORD = re.compile(r'<span class="w">([^<]*)</span>')


def share_from_sheet(text: str) -> str | None:
    """The share words of a kit sheet as written (the .txt or the .html file), or None when
    `text` is not a sheet (it is then taken as the share itself). A sheet whose word block
    cannot be found gives "" (the caller says so, never quoting the file)."""
    if _TEXT_TITLE in text:
        found = _TEXT_SHARE.search(text)
        return found.group(1) if found else ""  # the item numbers are the share parser's to skip
    if "<html" in text.lower() and "emergency kit" in text:
        block = _HTML_WORDS.search(text)
        if block is None:
            return ""
        return " ".join(html.unescape(word) for word in _HTML_WORD.findall(block.group(1)))
    return None
