"""The history's count of live memories, kept as events are written (stores/sqlite_live.py).

``Memory.open`` compares it with the graph and vector stores, so a wrong count either
refuses a healthy data dir or waves a damaged one through: it must equal a count of the
whole log after any mix of batches, deletions, resets and writers that bypass it.
"""

from __future__ import annotations

import random
import sqlite3

from graphmem.models import HistoryEvent, Scope
from graphmem.stores.sqlite_history import SQLiteHistoryStore
from graphmem.stores.sqlite_live import _SINCE

ALICE = Scope.of(user_id="alice")
EVENTS = ["ADD", "ADD", "DELETE", "EXPIRE", "REPAIR", "PROMOTE", "UPDATE", "ACCESS"]


def recount(path) -> int:
    """Live memories, worked out in Python from every row: a memory's last ADD, PROMOTE,
    DELETE, EXPIRE or REPAIR is not a DELETE or an EXPIRE."""
    last: dict[str, str] = {}
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT target_kind, target_id, event FROM history ORDER BY id")
        for kind, target, event in rows:
            if kind == "memory" and event in ("ADD", "PROMOTE", "DELETE", "EXPIRE", "REPAIR"):
                last[target] = event
    return sum(event not in ("DELETE", "EXPIRE") for event in last.values())


def batch(rng: random.Random) -> list[HistoryEvent]:
    return [HistoryEvent(event=rng.choice(EVENTS), target_id=f"m{rng.randrange(25)}",
                         scope=ALICE, target_kind=rng.choice(["memory"] * 4 + ["entity"]))
            for _ in range(rng.randint(1, 12))]  # fmt: skip


def test_the_kept_count_equals_a_count_of_the_whole_log(tmp_path):
    for seed in range(6):
        path = tmp_path / f"h{seed}.db"
        rng = random.Random(seed)
        store = SQLiteHistoryStore(path)
        assert store.live_memories() == 0
        for number in range(40):
            store.record(batch(rng))
            if number % 3 == 0:
                assert store.live_memories() == recount(path)
        store.close()
        again = SQLiteHistoryStore(path)
        assert again.live_memories() == recount(path) > 0
        again.close()


def test_deleted_events_and_writers_that_bypass_the_count_are_caught(tmp_path):
    path = tmp_path / "h.db"
    rng = random.Random(7)
    store = SQLiteHistoryStore(path)
    store.record([HistoryEvent(event="ADD", target_id="solo", scope=ALICE)])
    for _ in range(15):
        store.record(batch(rng))
    assert store.live_memories() == recount(path)
    with sqlite3.connect(path) as conn:  # an older graphmem appends, moving no count
        conn.execute(
            "INSERT INTO history (event, target_kind, target_id, created_at) "
            "VALUES ('ADD', 'memory', 'from-an-older-writer', '2026-01-01T00:00:00Z')"
        )
    assert store.live_memories() == recount(path)
    before = store.live_memories()
    with sqlite3.connect(path) as conn:  # an old event removed by hand
        conn.execute("DELETE FROM history WHERE target_id = 'solo'")
    assert store.live_memories() == recount(path) == before - 1
    added = store.record([HistoryEvent(event="ADD", target_id="undone", scope=ALICE)])
    assert store.live_memories() == recount(path)
    store.delete_ids([added[0].id])  # a write undone midway
    assert store.live_memories() == recount(path)
    store.reset()
    assert store.live_memories() == 0
    store.record([HistoryEvent(event="ADD", target_id="fresh", scope=ALICE)])
    assert store.live_memories() == 1 == recount(path)
    store.close()


def test_reopening_after_writes_reads_the_kept_count(tmp_path):
    """What issue 16's cold start needs: no pass over the whole log on open."""
    path = tmp_path / "h.db"
    rng = random.Random(3)
    store = SQLiteHistoryStore(path)
    store.live_memories()  # what Memory.open does on a new data dir
    for _ in range(20):
        store.record(batch(rng))
    store.close()
    again = SQLiteHistoryStore(path)
    statements: list[str] = []
    again._conn.set_trace_callback(statements.append)
    assert again.live_memories() == recount(path)
    # Neither a count of the whole log nor a catch-up over the writes since: each batch
    # moved the kept count as it was recorded. Nor a count of the log's rows, which read
    # 53 MB from disk in a cold open at 1M memories: a trigger guards against deletes.
    assert not [s for s in statements if "GROUP BY target_id" in s or "DISTINCT" in s]
    assert not [s for s in statements if s.strip() == "SELECT COUNT(*) FROM history"]
    again.close()


def test_a_file_the_trigger_did_not_guard_is_counted_once_on_open(tmp_path):
    """A history written before the trigger existed (or whose trigger a hand dropped) may
    have lost events after its count was saved: the first open checks the rows."""
    path = tmp_path / "h.db"
    rng = random.Random(5)
    store = SQLiteHistoryStore(path)
    store.record([HistoryEvent(event="ADD", target_id="solo", scope=ALICE)])
    for _ in range(10):
        store.record(batch(rng))
    before = store.live_memories()
    store.close()
    with sqlite3.connect(path) as conn:  # an older graphmem's file, an event deleted
        conn.execute("DROP TRIGGER live_count_forget")
        conn.execute("DELETE FROM history WHERE target_id = 'solo'")
    again = SQLiteHistoryStore(path)
    assert again.live_memories() == recount(path) == before - 1
    again.record([HistoryEvent(event="ADD", target_id="later", scope=ALICE)])
    with sqlite3.connect(path) as conn:  # guarded from now on
        conn.execute("DELETE FROM history WHERE target_id = 'later'")
    assert again.live_memories() == recount(path) == before - 1
    again.reset()
    again.record([HistoryEvent(event="ADD", target_id=f"m{i}", scope=ALICE) for i in range(3)])
    with sqlite3.connect(path) as conn:  # a reset keeps the guard
        conn.execute("DELETE FROM history WHERE target_id = 'm1'")
    assert again.live_memories() == recount(path) == 2
    again.close()


def test_the_count_after_a_batch_reads_that_batch_by_id(tmp_path):
    """Moving the count forward reads the events a batch just wrote, by id: SQLite once
    walked the whole (target_id, id) index for them instead, so every batch read the whole
    log (55-95 ms per 1,000-memory batch at 100k memories)."""
    SQLiteHistoryStore(tmp_path / "h.sqlite").close()
    conn = sqlite3.connect(tmp_path / "h.sqlite")
    plan = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + _SINCE, (5,))]
    conn.close()
    assert any("INTEGER PRIMARY KEY" in step for step in plan), plan
    assert not any(step.startswith("SCAN history") for step in plan), plan
