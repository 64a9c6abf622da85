"""The history's WAL copied into its database file on a thread of its own.

Why: SQLite checkpoints a WAL database inside the commit that takes the log past
``wal_autocheckpoint`` pages (1,000 by default), so an ingest batch waited for it. Each
batch inserts its events into an index keyed by random memory ids (``history_target``),
touching a page per event: past a few hundred thousand memories, a batch's commit wrote
~2,000 pages to the log and then copied them into the database and synced it before
returning (~200 ms of a 1,000-memory batch at 300k memories, measured here, and growing
with the history). Copying them on another connection, while the next batch is
extracted and embedded, takes that off the writer's path; Python's ``sqlite3`` lets go of
the GIL while SQLite works.

What stays the same: a checkpoint never changes what a commit made durable (WAL with
``synchronous=NORMAL``: a commit is in the log; a kill at any point of a checkpoint is
recovered by SQLite at the next open). The writer keeps a large ``wal_autocheckpoint``
(``BACKSTOP_PAGES``) so the log stays bounded should this thread fall behind or fail.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger(__name__)

# The writer's own checkpoint threshold once this thread checkpoints: ~64 MB of log.
BACKSTOP_PAGES = 16_384
# Commits of one batch (the journal entry, its events, the entry's removal) come within a
# fraction of a second: waiting this long after a nudge copies them in one checkpoint.
SETTLE_S = 0.05


class WalCheckpointer:
    """``nudge()`` after a commit; a PASSIVE checkpoint follows on this object's thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0  # completed calls, read by tests
        self.failure: str | None = None  # the last error, when a checkpoint failed
        self._thread = threading.Thread(target=self._run, name="graphmem-history-checkpoint",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def close(self) -> None:
        """Stop the thread; a checkpoint under way is finished first."""
        self._stopping = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, timeout=5.0)
        except sqlite3.Error as exc:  # the writer's own checkpoints still bound the log
            self.failure = str(exc)
            log.warning("history checkpoints stay in the writer: %s", exc)
            return
        try:
            while True:
                self._wake.wait()
                if self._stopping:
                    return
                # A batch commits several times in quick succession: copy them together.
                time.sleep(SETTLE_S)
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # busy or I/O: the next nudge tries again
                    self.failure = str(exc)
                    log.warning("history checkpoint failed: %s", exc)
        finally:
            conn.close()
