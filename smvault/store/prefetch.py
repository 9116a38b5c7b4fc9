"""Read log rows on a second connection in a helper thread while the caller hashes them.

SQLite releases the GIL inside sqlite3_step, where SQLCipher decrypts and authenticates
pages; hashing in the caller holds it. Running the two on separate threads overlaps them,
which is what brings a full log verify close to the cost of a bare scan on two cores.
The helper thread owns its own connection (a connection belongs to its thread).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from smvault.store.connection import Connection

_BATCH = 2048
_DEPTH = 8  # batches in flight: bounds memory to a few MB whatever the log's size
_DONE = object()


def prefetched_rows(open_reader: Callable[[], Connection], sql: str, params: tuple) -> Iterator[tuple]:
    """Rows of `sql`, fetched in batches by a helper thread; stops it when the caller stops."""
    batches: queue.Queue = queue.Queue(maxsize=_DEPTH)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            conn = open_reader()
            try:
                conn.text_factory = bytes
                cursor = conn.execute(sql, params)
                while batch := cursor.fetchmany(_BATCH):
                    if not put(batch):
                        return
            finally:
                conn.close()
            put(_DONE)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)

    worker = threading.Thread(target=produce, name="smvault-log-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = batches.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        worker.join()
