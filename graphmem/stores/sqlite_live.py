"""How many memories the history says are live, without counting the whole log each time.

Why: ``Memory.open`` checks that the three stores agree on how many memories there are
(``maintenance/agreement.py``), and the history's side of that was one query grouping
every lifecycle event by memory: 0.55 s at 100k memories, several seconds at 1M, on
every open (issue 16's cold start). The count is now kept in a one-row table,
``live_count``, as of an event id (``upto``), and moved forward in the same transaction
as each batch of events: only the memories a batch touches are looked up, through the
``(target_id, id)`` index.

It is trusted only while it provably describes the log. Deleting events (``delete_ids``,
an older graphmem, a hand edit) must make it recount: a trigger stored in the file,
``live_count_forget``, empties it on any delete from the log, whoever deletes. A file
that did not have the trigger yet (written before it existed, or a hand dropped it) is
checked once the old way instead: the count's ``total`` (rows up to ``upto``) must still
equal the rows there. That check counts the whole log, 0.47 s of a cold open at 1M
memories (53 MB read from disk), so it is made only then. A log that grew past ``upto``
without moving it (an older graphmem wrote) is caught up from ``upto`` by the same lookup.
Anything else recounts from scratch.
"""

from __future__ import annotations

import sqlite3

TRIGGER = "live_count_forget"
TRIGGER_DDL = f"""CREATE TRIGGER IF NOT EXISTS {TRIGGER} AFTER DELETE ON history
WHEN EXISTS (SELECT 1 FROM live_count)
BEGIN
    DELETE FROM live_count;
END"""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS live_count (
    upto  INTEGER NOT NULL,
    total INTEGER NOT NULL,
    live  INTEGER NOT NULL
);
{TRIGGER_DDL};
"""
_LIFE = "('ADD', 'PROMOTE', 'DELETE', 'EXPIRE', 'REPAIR')"
_GONE = "('DELETE', 'EXPIRE')"
# A memory is live when its last ADD, DELETE or REPAIR (a repair restores) is not a DELETE.
_ALL = (
    "SELECT COUNT(*) FROM history h JOIN (SELECT MAX(id) AS last FROM history "
    f"WHERE target_kind = 'memory' AND event IN {_LIFE} "
    f"GROUP BY target_id) m ON h.id = m.last WHERE h.event NOT IN {_GONE}"
)
# Live after, less live before, for the memories with a lifecycle event after ?1.
# NOT INDEXED: the events after ?1 are read by id (the rowid), the batch just written.
# Left to itself SQLite walked the whole (target_id, id) index for the DISTINCT instead,
# so each batch's count read the whole log: 55-95 ms at 100k memories, 10 ms this way.
_LAST = (
    "SELECT event FROM history WHERE target_id = t.target_id AND target_kind = 'memory' "
    f"AND event IN {_LIFE}"
)
_SINCE = (
    f"SELECT COALESCE(SUM(({_LAST} ORDER BY id DESC LIMIT 1) NOT IN {_GONE})"
    f" - SUM(COALESCE(({_LAST} AND id <= ?1 ORDER BY id DESC LIMIT 1) NOT IN {_GONE}, 0)), 0)"
    " FROM (SELECT DISTINCT target_id FROM history NOT INDEXED WHERE id > ?1"
    " AND target_kind = 'memory'"
    f" AND event IN {_LIFE}) t"
)


def _last_id(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'history'").fetchone()
    return int(row[0]) if row else 0


def _rows(conn: sqlite3.Connection, where: str = "", *args: int) -> int:
    (count,) = conn.execute(f"SELECT COUNT(*) FROM history {where}", args).fetchone()
    return int(count)


def _save(conn: sqlite3.Connection, upto: int, total: int, live: int) -> None:
    conn.execute("DELETE FROM live_count")
    conn.execute("INSERT INTO live_count (upto, total, live) VALUES (?, ?, ?)",
                 (upto, total, live))  # fmt: skip


def advance(conn: sqlite3.Connection, first: int, last: int) -> None:
    """After events ``first``..``last`` were inserted (inside their transaction): move a
    count that stood at ``first - 1`` to ``last``; any other count is left to recount."""
    row = conn.execute("SELECT upto, total, live FROM live_count").fetchone()
    if row is None or row[0] != first - 1:
        return
    (delta,) = conn.execute(_SINCE, (first - 1,)).fetchone()
    _save(conn, last, row[1] + (last - first + 1), row[2] + int(delta))


def guarded(conn: sqlite3.Connection) -> bool:
    """Whether the file has the trigger that forgets the count on a delete."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                         (TRIGGER,)).fetchone()  # fmt: skip
    return found is not None


def live(conn: sqlite3.Connection, check_rows: bool = True) -> int:
    """The live memories (inside a write transaction: it may save a fresh count).
    ``check_rows``: count the whole log to make sure no event was deleted, for a file the
    trigger has not guarded since its count was saved."""
    last = _last_id(conn)
    row = conn.execute("SELECT upto, total, live FROM live_count").fetchone()
    if row is not None and row[0] <= last:
        upto, total, count = (int(v) for v in row)
        after = _rows(conn, "WHERE id > ?", upto)
        if not check_rows or _rows(conn) == total + after:  # nothing up to upto deleted
            if after:
                (delta,) = conn.execute(_SINCE, (upto,)).fetchone()
                count += int(delta)
                _save(conn, last, total + after, count)
            return count
    (count,) = conn.execute(_ALL).fetchone()
    _save(conn, last, _rows(conn), int(count))  # every id is at most the last handed out
    return int(count)


def forget(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM live_count")
