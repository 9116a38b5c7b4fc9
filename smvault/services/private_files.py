"""Writing files that hold people's access or secrets: private, whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from smvault.domain.errors import SmvaultError, UsageError

if TYPE_CHECKING:
    from smvault.services.session import Session


def _cannot_write(path: Path, what: str, exc: OSError) -> UsageError:
    return UsageError(f"cannot write the {what} to {path}: {exc.strerror or exc}")


def refuse_inside(path: Path, directory: Path) -> None:
    """Refuse a target in the vault's `directory` (or below it): a file written there could
    replace the database or the keyring. Both sides are resolved, so a symlinked or relative
    spelling of the same place is refused too."""
    parent = Path(path).expanduser().parent.resolve()
    if parent.is_relative_to(Path(directory).expanduser().resolve()):
        raise UsageError(f"{path} is inside the vault directory {directory}: write it somewhere else")


def refuse_existing(path: Path) -> None:
    """Refuse a target that exists (a symlink, even a dangling one, included)."""
    if os.path.lexists(path):
        raise _exists(path)


def check_target(path: Path, directory: Path, what: str = "report", *, replace: bool = True) -> None:
    """The checks a target gets before the vault is opened: outside the vault's `directory`,
    in a directory that exists, and (without `replace`) a free name. UsageError otherwise."""
    refuse_inside(path, directory)
    parent = Path(path).expanduser().parent
    if not parent.is_dir():  # worded as the OS words it when the file is written
        code = errno.ENOTDIR if os.path.lexists(parent) else errno.ENOENT
        raise UsageError(f"cannot write the {what} to {path}: {os.strerror(code)}")
    if not replace:
        refuse_existing(path)


def _exists(path: Path) -> UsageError:
    return UsageError(f"{path} already exists: choose another name")


def write_private(path: Path, make: Callable[[], str | bytes], what: str = "report", *,
                  replace: bool = True) -> None:
    """Write what `make()` returns (text as UTF-8) to `path`: mode 0600, whole or not at all.

    Making the content is often logged, so the order matters: a temporary file is created
    next to the target (exclusively, never through a symlink) BEFORE `make` runs, and an
    unwritable place fails with nothing logged. The content is written and synced there,
    then put in place. With `replace`, it is renamed over the target: an existing file is
    never truncated before the new one is complete, and a symlink at the target is replaced,
    not followed. Without it, anything already at the target (a symlink included) is left
    alone and refused (UsageError): the finished file is hard-linked to the name, which fails
    if the name is taken, so no check-then-write race can replace a file either. On any
    failure the temporary file is removed. `what` names the file in errors ("report",
    "handover packet")."""
    path = Path(path)
    if not replace:
        refuse_existing(path)  # early, before `make` does its (logged) work
    temporary = path.parent / f".{path.name[:200]}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise _cannot_write(path, what, exc) from None
    handle = os.fdopen(fd, "wb")
    finished = False
    try:
        content = make()  # outside the catch below: its own errors are its own
        data = content.encode("utf-8") if isinstance(content, str) else content
        try:  # every step that can meet a full disk, the close (which flushes again) included
            with handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise _cannot_write(path, what, exc) from None
        _put_in_place(temporary, path, what, replace)
        finished = True
    finally:
        if not finished:
            with contextlib.suppress(OSError):
                handle.close()  # when `make` failed; a no-op once closed
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    with contextlib.suppress(OSError):  # make the rename (or link) itself durable
        directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _put_in_place(temporary: Path, path: Path, what: str, replace: bool) -> None:
    try:
        if replace:
            os.replace(temporary, path)
            return
        try:
            os.link(temporary, path)  # EEXIST if anything is at `path`, a dangling symlink too
        except FileExistsError:
            raise _exists(path) from None
    except OSError as exc:
        raise _cannot_write(path, what, exc) from None
    with contextlib.suppress(OSError):  # the file is in place under its name; this is the spare one
        os.unlink(temporary)


def write_logged(session: Session, path: Path, make: Callable[[], str | bytes], what: str = "report", *,
                 replace: bool = True, check: Callable[[], None] | None = None) -> None:
    """`check()` (if given), then write what `make()` returns (it records the log entries) to
    `path` as write_private does, all in one transaction of `session`: the commit comes after
    the file is in place, so a file that cannot be written leaves no entry (a transaction
    `make` opens becomes a savepoint of this one).

    Entries that then cannot be committed leave no file either: the new file is removed (a
    file whose entries, a report's checkpoint, are not in the log must not be left) and the
    error goes on. With `replace`, a file that was at `path` before is gone by then: the
    error is then a SmvaultError that says so, never "nothing was changed"."""
    path = Path(path)
    replacing = replace and os.path.lexists(path)
    placed = False
    try:
        with session.atomic():
            if check is not None:
                check()
            write_private(path, make, what, replace=replace)
            placed = True
    except BaseException as exc:
        if not placed:
            raise
        with contextlib.suppress(OSError):
            os.unlink(path)
        if not (replacing and isinstance(exc, Exception)):
            raise
        raise SmvaultError(f"the {what} could not be logged ({type(exc).__name__}), so the new {path}"
                           " was removed; the file it had replaced is gone too") from exc
