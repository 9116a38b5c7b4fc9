"""A report written with --out is logged only once its file is in place: a file that cannot be
written (a full disk at close, a failed rename) leaves no entry, and entries that cannot be
committed leave no file."""

from __future__ import annotations

import errno
import io
import os
import sqlite3

import pytest

from smvault.domain.errors import SmvaultError, UsageError
from smvault.services.private_files import write_logged, write_private

REPORTS = {"report": "report.run", "reconcile": "reconcile.run"}


def test_a_full_disk_met_when_the_file_is_closed_is_a_clear_error(tmp_path, monkeypatch):
    class FullAtClose(io.BufferedWriter):  # the close flushes again: where a full disk shows last
        def close(self):
            super().close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: FullAtClose(io.FileIO(fd, mode)))
    target = tmp_path / "report.md"
    with pytest.raises(UsageError, match=f"^cannot write the report to {target}: No space left on device$"):
        write_private(target, lambda: "text\n")
    assert os.listdir(tmp_path) == []  # no temporary file left


@pytest.mark.parametrize("command", ["report", "reconcile"])
def test_a_failed_rename_leaves_no_log_entry_and_the_old_file(session, run_cli, tmp_path, monkeypatch, command):
    (tmp_path / "tool-export.csv").write_text("platform,handle\ninstagram,acme\n")
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "report.md"
    target.write_text("old report\n")
    real_replace = os.replace

    def failing_replace(source, destination):
        if os.fspath(destination) == os.fspath(target):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(source, destination)

    monkeypatch.setattr(os, "replace", failing_replace)
    args = ("report", "mfa") if command == "report" else ("reconcile", str(tmp_path / "tool-export.csv"))
    result = run_cli(*args, "--out", str(target))
    assert (result.code, result.out) == (2, "")
    assert result.err == f"smvault: cannot write the report to {target}: Input/output error\n"
    assert session.vault.log.entries(actions=(REPORTS[command],)) == []
    assert target.read_text() == "old report\n"
    assert os.listdir(tmp_path / "out") == ["report.md"]  # no temporary file left


def test_a_missing_directory_is_refused_before_the_vault_is_opened(session, run_cli, tmp_path):
    head = session.vault.log.head()
    result = run_cli("reconcile", str(tmp_path / "x.csv"), "--out", str(tmp_path / "x.csv" / "r.md"))
    assert result.code == 1  # the export is read first: a missing one says so
    (tmp_path / "x.csv").write_text("platform,handle\ninstagram,acme\n")
    result = run_cli("reconcile", str(tmp_path / "x.csv"), "--out", str(tmp_path / "x.csv" / "r.md"))
    assert result.err == f"smvault: cannot write the report to {tmp_path / 'x.csv' / 'r.md'}: Not a directory\n"
    assert session.vault.log.head() == head  # not even unlocked


class _CommitFails:
    """The vault's transaction connection, except that COMMIT fails (as a full disk makes it)."""

    def __init__(self, conn):
        self._conn = conn

    def execute(self, sql, *args):
        if sql == "COMMIT":
            self._conn.execute("ROLLBACK")
            raise sqlite3.OperationalError("disk I/O error")
        return self._conn.execute(sql, *args)


def test_a_failed_commit_removes_the_new_report_and_says_the_old_one_is_gone(session, tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "report.md"
    target.write_text("old report\n")

    def make() -> str:
        with session.atomic():  # a report's own transaction: a savepoint of write_logged's
            session.record("report.run", detail={"name": "test"})
        return "new report\n"

    monkeypatch.setattr(session.vault.tx, "_conn", _CommitFails(session.vault.tx._conn))
    before = session.vault.log.head()
    with pytest.raises(SmvaultError) as raised:
        write_logged(session, target, make)
    monkeypatch.undo()
    assert str(raised.value) == (f"the report could not be logged (OperationalError), so the new {target} was"
                                 " removed; the file it had replaced is gone too")
    assert os.listdir(tmp_path / "out") == [] and session.vault.log.head() == before
