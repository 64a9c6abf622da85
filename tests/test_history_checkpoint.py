"""The history's WAL is copied into its database file off the writer's path.

A batch's commit used to wait for SQLite's own checkpoint, the copy of every page the
batch changed into the database file and a sync of it; now a thread beside the writer
does it after the commit. These tests read the database file alone (without its log):
what is there was checkpointed, and with the writer's own threshold far away only the
checkpoint thread can have put it there.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import threading
import time

from graphmem.models import HistoryEvent, Scope
from graphmem.stores.sqlite_checkpoint import BACKSTOP_PAGES
from graphmem.stores.sqlite_history import SQLiteHistoryStore

ALICE = Scope.of(user_id="alice")
_COPIES = itertools.count()


def _batch(tag: str, n: int) -> list[HistoryEvent]:
    return [HistoryEvent(event="ADD", target_id=f"{tag}-{i:05d}-memory", scope=ALICE,
                         new_value="x" * 80) for i in range(n)]  # fmt: skip


def _in_file_alone(path, tmp_path) -> int:
    """Events the database file holds without its WAL (a copy of the file by itself)."""
    alone = tmp_path / f"alone-{next(_COPIES)}" / "history.db"  # a fresh folder: no old log
    alone.parent.mkdir()
    shutil.copyfile(path, alone)
    conn = sqlite3.connect(alone)
    try:
        return conn.execute("SELECT COUNT(*) FROM history").fetchone()[0]
    except sqlite3.DatabaseError:  # the copy caught a page mid-write: look again
        return -1
    finally:
        conn.close()


def _wait_for(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_committed_events_reach_the_database_file_without_the_writer_checkpointing(tmp_path):
    path = tmp_path / "history.db"
    with SQLiteHistoryStore(path) as store:
        (threshold,) = store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()
        assert threshold == BACKSTOP_PAGES  # the writer leaves the copy to the thread
        store.record(_batch("a", 3000))  # well under the writer's own threshold
        assert _wait_for(lambda: _in_file_alone(path, tmp_path) == 3000) is True
        store.record(_batch("b", 500))
        assert _wait_for(lambda: _in_file_alone(path, tmp_path) == 3500) is True
        assert store._checkpointer.failure is None


def test_close_stops_the_thread_and_everything_reopens(tmp_path):
    path = tmp_path / "history.db"
    store = SQLiteHistoryStore(path)
    recorded = store.record(_batch("c", 200))
    thread = store._checkpointer._thread
    assert thread.is_alive()
    store.close()
    assert not thread.is_alive()
    with SQLiteHistoryStore(path) as again:
        assert again.for_target("c-00007-memory") == [recorded[7]]
        assert again.count() == 200


def test_an_in_memory_history_starts_no_thread():
    before = {t.name for t in threading.enumerate()}
    with SQLiteHistoryStore(":memory:") as store:
        store.record(_batch("d", 10))
        assert store._checkpointer is None
        started = {t.name for t in threading.enumerate()} - before
        assert "graphmem-history-checkpoint" not in started


def test_writes_go_on_while_the_thread_checkpoints(tmp_path):
    # Many small commits, each nudging the thread: every id is handed out once, in order,
    # and the file alone ends up holding them all.
    path = tmp_path / "history.db"
    with SQLiteHistoryStore(path) as store:
        ids = []
        for i in range(60):
            ids += [e.id for e in store.record(_batch(f"e{i}", 25))]
        assert ids == list(range(ids[0], ids[0] + 1500))
        assert _wait_for(lambda: _in_file_alone(path, tmp_path) == 1500) is True
        assert store._checkpointer.checkpoints >= 1
