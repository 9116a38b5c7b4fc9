"""Reading the files users name as input (imports, rosters, mapping files, handover packets)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from smvault.domain.errors import InvalidInputError


def read_capped(path: Path, limit: int, what: str,
                error: type[InvalidInputError] = InvalidInputError) -> bytes:
    """The bytes of the regular file `path` (a symlink to one is fine), at most `limit` of
    them. Opened without blocking: a FIFO or a device is refused instead of waiting for ever
    for a writer. Any failure raises `error` starting with the path and naming the file as
    `what` ("roster file", "handover packet"...)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            data = handle.read(limit + 1)  # one byte more tells a file that is too large
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{path}: the {what} is larger than {limit // (1024 * 1024)} MB")
    return data
