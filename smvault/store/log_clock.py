"""The access log's timestamps as a check on the local clock.

Each entry records the time of the machine that wrote it. The log's order (`seq`) cannot be
set back, but a clock can: a timestamp well earlier than the entry before it (by more than
the slack allowed for clocks that differ a little) means some machine's clock was behind (or,
before it, ahead). Both questions are answered in SQL, so no entry body is parsed in Python.
"""

from __future__ import annotations

from smvault.domain.emergency import CLOCK_SLACK
from smvault.store.connection import Connection

# How many of the newest entries say what time the log has seen: enough that this session's
# own entries (its unlock first) do not hide the ones written before it.
RECENT = 64


class LogClock:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def latest(self, recent: int = RECENT) -> str | None:
        """The latest timestamp among the newest `recent` entries (None: an empty log).
        Canonical timestamps sort lexically. Reads those rows by primary key only."""
        row = self._conn.execute(
            "SELECT max(json_extract(body, '$.ts')) FROM"
            " (SELECT body FROM log ORDER BY seq DESC LIMIT ?)", (recent,)).fetchone()
        return row[0] if row else None

    def steps_back(self, limit: int) -> tuple[int, list[tuple[int, str, str]]]:
        """Entries dated more than CLOCK_SLACK before the entry just before them: (how many, the
        first `limit` as (seq, its timestamp, the previous entry's timestamp)), in log order:
        one scan of the log. Smaller steps are honest machines' clocks differing a little."""
        # A join on the primary key: a window function (lag) is three times slower here. The
        # lexical test first: the date arithmetic runs only on the rare steps back.
        rows = self._conn.execute(
            "SELECT a.seq, json_extract(a.body, '$.ts'), json_extract(b.body, '$.ts')"
            " FROM log a JOIN log b ON b.seq = a.seq - 1"
            " WHERE json_extract(a.body, '$.ts') < json_extract(b.body, '$.ts')"
            " AND unixepoch(json_extract(b.body, '$.ts')) - unixepoch(json_extract(a.body, '$.ts')) > ?"
            " ORDER BY a.seq", (int(CLOCK_SLACK.total_seconds()),))
        count, first = 0, []
        for seq, ts, previous in rows:
            count += 1
            if len(first) < limit:
                first.append((seq, ts, previous))
        return count, first
