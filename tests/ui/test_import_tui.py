"""The import screen on the demo vault: preview, problems, skip-bad, confirm, an encrypted
2FAS backup's password, literal user text, and the layout at 80x24."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from textual.widgets import Button, Checkbox, Input, Select

from smvault.services.lookup import account_by_ref
from smvault.ui.dialogs.confirm import ConfirmDialog
from smvault.ui.screens.import_screen import ImportScreen
from smvault.ui.screens.main import MainScreen
from smvault.ui.widgets.secret_input import SecretInput
from smvault.ui.widgets.virtual_table import VirtualTable

from .conftest import head, log_actions, screen_text, unlock, until, vault_session

SECRET = "JBSWY3DPEHPK3PXP"
NEW_KEY = "instagram:fresh.brand"
SHOUTY = "[@click=app.quit]x[/]"
FILE_PASSWORD = "correct horse battery"


def otpauth_file(directory: Path) -> Path:
    """One usable entry (a new Instagram login) and one broken line."""
    path = directory / "codes.txt"
    path.write_text(f"otpauth://totp/Instagram:fresh.brand?secret={SECRET}&issuer=Instagram\n"
                    "otpauth://totp/Broken:x?secret=not-base32!\n")
    return path


def twofas_file(directory: Path, services: list[dict], password: str | None = None) -> Path:
    """A 2FAS backup, encrypted as 2FAS does it when `password` is given (PBKDF2-SHA256,
    10,000 iterations, AES-256-GCM; "ciphertext+tag:salt:iv" in base64)."""
    document: dict = {"schemaVersion": 4, "appVersionCode": 5000000, "services": services}
    if password is not None:
        salt, iv = os.urandom(32), os.urandom(12)
        kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=10_000)
        sealed = AESGCM(kdf.derive(password.encode())).encrypt(iv, json.dumps(services).encode(), None)
        document["services"] = []
        document["servicesEncrypted"] = ":".join(base64.b64encode(p).decode() for p in (sealed, salt, iv))
    path = directory / "backup.2fas"
    path.write_text(json.dumps(document))
    return path


def service(name: str, account: str) -> dict:
    return {"name": name, "secret": SECRET, "otp": {"issuer": name, "account": account, "digits": 6,
                                                    "period": 30, "algorithm": "SHA1", "tokenType": "TOTP"}}


async def open_import(app, pilot) -> ImportScreen:
    await unlock(app, pilot)
    await pilot.press("i")
    await until(pilot, lambda: isinstance(app.screen, ImportScreen))
    await pilot.pause()
    return app.screen


async def preview(app, pilot, screen: ImportScreen, fmt: str, path: Path | str) -> None:
    screen.query_one("#import-format", Select).value = fmt
    field = screen.query_one("#import-path", Input)
    field.value = str(path)
    field.focus()
    await pilot.press("enter")
    await settle(app, pilot)


async def settle(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


def rows(screen: ImportScreen, table_id: str) -> list[tuple]:
    table = screen.query_one(table_id, VirtualTable)
    return [table.row_cells(key) for key in table.visible_row_keys]


def error_line(screen: ImportScreen) -> str:
    return str(screen.query_one("#import-error").render())


def apply_button(screen: ImportScreen) -> Button:
    return screen.query_one("#import-apply", Button)


def account_exists(directory: Path, key: str) -> bool:
    from smvault.domain.errors import NotFoundError

    with vault_session(directory) as s:
        try:
            account_by_ref(s, key)
        except NotFoundError:
            return False
    return True


async def test_preview_problems_skip_bad_confirm_and_the_account_exists(demo_dir, make_app, tmp_path):
    path = otpauth_file(tmp_path)
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_import(app, pilot)
        # The format by keyboard: the select has the focus, enter opens it, typing finds it.
        assert screen.focused is screen.query_one("#import-format", Select)
        await pilot.press("enter", *"otpauth", "enter")
        assert screen.query_one("#import-format", Select).value == "otpauth"
        await pilot.press("tab", *str(path), "enter")
        await settle(app, pilot)
        since = head(demo_dir)

        # Unmatched until "create missing" is ticked; the broken line is a problem with its field.
        assert rows(screen, "#import-changes") == [("unmatched", f"{path}:1", "fresh.brand", "", "totp")]
        [problem] = rows(screen, "#import-problems")
        assert problem[:3] == ("problem", f"{path}:2", "uri")
        assert problem[3].startswith("OTP secret is not valid base32")
        assert "0 to create" in screen_text(app) and "1 problem" in screen_text(app)
        assert apply_button(screen).disabled
        screen.query_one("#import-create-missing", Checkbox).focus()
        await pilot.press("space")
        await settle(app, pilot)
        assert rows(screen, "#import-changes") == [("create", f"{path}:1", NEW_KEY, "login_id", "totp (new)")]
        assert "1 to create" in screen_text(app)
        assert apply_button(screen).disabled  # blocked by the problem
        assert error_line(screen).startswith("Import not offered: 1 problem in the file")
        await pilot.press("ctrl+o")  # refused while blocked
        await pilot.pause()
        assert isinstance(app.screen, ImportScreen)

        screen.query_one("#import-skip-bad", Checkbox).focus()
        await pilot.press("space")
        await pilot.pause()
        assert not apply_button(screen).disabled
        assert log_actions(demo_dir, since) == []  # previews write nothing, log nothing

        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        body = str(app.screen.query_one("#confirm-body").render())
        assert "Create 1 account" in body and "1 bad item left out" in body
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(app, pilot)
        assert screen.preview is None  # the file's contents are dropped
    assert account_exists(demo_dir, NEW_KEY)
    actions = log_actions(demo_dir, since)
    assert actions[-1] == "import.apply" and "account.add" in actions


async def test_the_accounts_view_shows_the_import_after_it(demo_dir, make_app, tmp_path):
    path = otpauth_file(tmp_path)
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        await unlock(app, pilot)
        await pilot.press("2")
        await settle(app, pilot)
        accounts = app.screen.query_one("#accounts")
        before = accounts.table.total_count
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, ImportScreen))
        screen = app.screen
        await preview(app, pilot, screen, "otpauth", path)
        screen.query_one("#import-create-missing", Checkbox).value = True
        screen.query_one("#import-skip-bad", Checkbox).value = True
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await until(pilot, lambda: accounts.table.total_count == before + 1)


async def test_cancelling_the_confirmation_imports_nothing(demo_dir, make_app, tmp_path):
    path = otpauth_file(tmp_path)
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_import(app, pilot)
        screen.query_one("#import-create-missing", Checkbox).value = True
        screen.query_one("#import-skip-bad", Checkbox).value = True
        await preview(app, pilot, screen, "otpauth", path)
        since = head(demo_dir)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        assert screen.preview is not None and not apply_button(screen).disabled
        await pilot.press("escape")  # back to the main screen, without importing
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
    assert log_actions(demo_dir, since) == [] and not account_exists(demo_dir, NEW_KEY)


async def test_an_encrypted_backup_asks_for_its_password_and_a_wrong_one_imports_nothing(
        demo_dir, make_app, tmp_path, worker_descriptions):
    path = twofas_file(tmp_path, [service("Instagram", "fresh.brand")], password=FILE_PASSWORD)
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_import(app, pilot)
        since = head(demo_dir)
        row = screen.query_one("#import-password-row")
        assert not row.display
        await preview(app, pilot, screen, "2fas", path)
        field = screen.query_one("#import-password", SecretInput)
        assert row.display and screen.focused is field and field.password
        assert "encrypted" in error_line(screen) and screen.preview is None

        await pilot.press(*"wrong password", "enter")
        await settle(app, pilot)
        assert error_line(screen) == f"Not read: {path}: wrong password, or the file was altered"
        assert field.value == "" and screen.focused is field  # emptied after use, asked again
        assert screen.preview is None and apply_button(screen).disabled

        await pilot.press(*FILE_PASSWORD, "enter")
        await settle(app, pilot)
        assert field.value == "" and not row.display
        assert rows(screen, "#import-changes") == [("unmatched", f"{path}: item 1 (Instagram)", "fresh.brand", "",
                                                    "totp")]
        # A new file forgets the preview.
        screen.query_one("#import-path", Input).value = str(path) + ".other"
        await pilot.pause()
        assert screen.preview is None and rows(screen, "#import-changes") == []
    assert log_actions(demo_dir, since) == [] and not account_exists(demo_dir, NEW_KEY)
    assert not any(FILE_PASSWORD in d or "wrong password" in d for d in worker_descriptions)


async def test_leaving_the_screen_empties_the_password_field(demo_dir, make_app, tmp_path):
    path = twofas_file(tmp_path, [service("Instagram", "fresh.brand")], password=FILE_PASSWORD)
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_import(app, pilot)
        await preview(app, pilot, screen, "2fas", path)
        field = screen.query_one("#import-password", SecretInput)
        await pilot.press(*FILE_PASSWORD)
        assert field.value == FILE_PASSWORD
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        assert field.value == ""


async def test_locking_drops_the_screen_its_password_and_the_file_read(demo_dir, make_app, tmp_path):
    from smvault.ui.screens.unlock import UnlockScreen

    encrypted = twofas_file(tmp_path, [service("Instagram", "fresh.brand")], password=FILE_PASSWORD)
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_import(app, pilot)
        await preview(app, pilot, screen, "otpauth", otpauth_file(tmp_path))
        assert screen.preview is not None
        await preview(app, pilot, screen, "2fas", encrypted)
        field = screen.query_one("#import-password", SecretInput)
        await pilot.press(*FILE_PASSWORD)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen))
        assert field.value == "" and screen.preview is None and screen not in app.screen_stack


async def test_user_text_in_the_preview_is_shown_literally(demo_dir, make_app, tmp_path):
    path = twofas_file(tmp_path, [service(SHOUTY, "pass[/]word"), {"name": SHOUTY, "secret": "!!", "otp": {"tokenType": "TOTP"}}])
    app = make_app(demo_dir)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = await open_import(app, pilot)
        await preview(app, pilot, screen, "2fas", path)
        (change,) = rows(screen, "#import-changes")
        assert change[1] == f"{path}: item 1 ({SHOUTY})"
        (problem,) = rows(screen, "#import-problems")
        assert problem[:3] == ("problem", f"{path}: item 2 ({SHOUTY})", "secret")
        screen.query_one("#import-problems", VirtualTable).focus()
        await pilot.pause()
        detail = str(screen.query_one("#import-detail").render())
        assert detail.startswith(f"problem: {path}: item 2 ({SHOUTY}): secret: ")
        assert SHOUTY in screen_text(app)
        assert app.is_running and isinstance(app.screen, ImportScreen)


async def test_a_differing_stored_password_is_kept_unless_replace_is_ticked(demo_dir, make_app, tmp_path):
    from smvault.services.secrets import set_password

    with vault_session(demo_dir) as s:  # an account with a known stored password
        account = s.vault.accounts.all()[0]
        key, account_id = account.key, account.id
        set_password(s, str(account_id), "the-stored-one-1!")
    with vault_session(demo_dir) as s:
        assert s.vault.secrets.password(account_id)[0] == "the-stored-one-1!"
    new_password = "A-new-password-from-the-file-9"
    platform, handle = key.split(":", 1)
    path = tmp_path / "inventory.csv"
    path.write_text(f"platform,handle,password\n{platform},{handle},{new_password}\n")
    app = make_app(demo_dir)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_import(app, pilot)
        await preview(app, pilot, screen, "csv", path)
        # Kept by default: a note says so, the row is unchanged, nothing to import.
        assert rows(screen, "#import-changes") == [("unchanged", f"{path}:2", key, "", "password (kept)")]
        (note,) = rows(screen, "#import-problems")
        assert note[:3] == ("note", f"{path}:2", "password") and note[3].startswith("kept: password differs")
        assert "0 to update" in screen_text(app) and apply_button(screen).disabled
        assert "tick Replace stored secrets" in error_line(screen)

        screen.query_one("#import-replace-secrets", Checkbox).focus()
        await pilot.press("space")
        await settle(app, pilot)
        assert screen.preview is not None and screen.preview.replace_secrets
        assert rows(screen, "#import-changes") == [("update", f"{path}:2", key, "", "password (replaces)")]
        assert rows(screen, "#import-problems") == [] and not apply_button(screen).disabled

        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        body = str(app.screen.query_one("#confirm-body").render())
        assert "update 1" in body and "replaces 1 stored secret" in body
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
        await settle(app, pilot)
    with vault_session(demo_dir) as s:
        assert s.vault.secrets.password(account_id)[0] == new_password


async def test_a_missing_file_says_so_and_an_empty_path_is_asked_for(demo_dir, make_app, tmp_path):
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(app, pilot)
        await pilot.press("ctrl+r")
        await settle(app, pilot)
        assert error_line(screen) == "File: give the path of the export file."
        await preview(app, pilot, screen, "otpauth", tmp_path / "nowhere.txt")
        assert error_line(screen).startswith(f"Not read: {tmp_path / 'nowhere.txt'}: cannot read the file")
        assert screen.preview is None and apply_button(screen).disabled


async def test_the_screen_fits_80x24_with_a_preview(demo_dir, make_app, tmp_path):
    path = otpauth_file(tmp_path)
    app = make_app(demo_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_import(app, pilot)
        await preview(app, pilot, screen, "otpauth", path)
        region = screen.region
        for selector in ("#import-format", "#import-path", "#import-create-missing", "#import-skip-bad",
                         "#import-replace-secrets",
                         "#import-summary", "#import-detail", "#import-error", "#import-back",
                         "#import-preview", "#import-apply"):
            widget = screen.query_one(selector)
            assert widget.region.height >= 1 and region.contains_region(widget.region), selector
        changes = screen.query_one("#import-changes", VirtualTable)
        problems = screen.query_one("#import-problems", VirtualTable)
        assert changes.region.height >= 4 and problems.region.height >= 3
        footer = screen.query_one("Footer")
        assert not footer.region.overlaps(apply_button(screen).region)
        text = screen_text(app)
        assert "Preview" in text and "Import" in text and "1 problem" in text


def test_snapshot_of_a_preview(snap_compare, demo_dir, make_app, tmp_path, monkeypatch):
    """A blocked preview at 80x24: the create, the problem, the detail line, why Import waits."""
    otpauth_file(tmp_path)
    monkeypatch.chdir(tmp_path)  # relative paths keep the temporary directory out of the picture
    app = make_app(Path(demo_dir.name))

    async def run_before(pilot) -> None:
        screen = await open_import(app, pilot)
        screen.query_one("#import-create-missing", Checkbox).value = True
        await preview(app, pilot, screen, "otpauth", "codes.txt")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
