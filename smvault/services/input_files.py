"""Reading the files users name as input (imports, rosters, mapping files)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file (a symlink to one is fine), at most `limit` + 1 of them
    when a limit is given, so the caller can tell it is too large. Opened without blocking:
    a FIFO or a device raises OSError ("not a regular file") instead of waiting for ever for a
    writer. Any failure is an OSError with a `strerror` to show."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return handle.read() if limit is None else handle.read(limit + 1)
