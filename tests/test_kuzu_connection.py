"""Kuzu 0.11.3 keeps every pyarrow Table a ``LOAD FROM`` read, and what each unprepared
statement leaves, until its connection closes, so a process that writes for long held
every batch it ever wrote (issue 16: ~400 MB more after 300k memories, ~227 KB per single
add). The store replaces its connection between transactions once it is thought to hold
``RENEW_AFTER_BYTES``: the memory comes back, and nothing written, prepared or in flight
is lost with the old connection."""

from __future__ import annotations

import pyarrow as pa
import pytest

from graphmem import Memory
from graphmem.stores import kuzu
from graphmem.stores.graph_ops import GraphOps
from graphmem.stores.kuzu import KuzuGraphStore
from graphmem.stores.rows import entity_row
from tests.test_graph_conformance import ALICE, world

BATCHES = 12


def _load(path, renew_after: int, monkeypatch) -> tuple[int, list[str]]:
    """Arrow bytes still allocated after a bulk load, and what a search then finds."""
    monkeypatch.setattr(kuzu, "RENEW_AFTER_BYTES", renew_after)
    with Memory.open(path, embedder="hash") as m:
        before = pa.total_allocated_bytes()
        for n in range(BATCHES):
            items = [{"text": f"Worker{n}n{i} works at Firm{i % 7} in Town{i % 5}."}
                     for i in range(200)]  # fmt: skip
            m.add_many(items, user_id="u", infer=False)
        held = pa.total_allocated_bytes() - before
        assert m.verify().ok
        found = [h.text for h in m.search("Where does Worker11n3 work?", user_id="u", limit=3)]
        assert m.stats(user_id="u")["facts"] == BATCHES * 200
    return held, found


def test_a_bulk_load_does_not_keep_the_tables_it_wrote(tmp_path, monkeypatch):
    kept, found_kept = _load(tmp_path / "kept", 2**62, monkeypatch)
    renewed, found = _load(tmp_path / "renewed", 64 * 1024, monkeypatch)
    # Every batch's tables stay allocated on one connection; renewed, at most the limit
    # and the tables read since (a batch's are well under it here).
    assert kept > BATCHES * 64 * 1024
    assert renewed < kept / 4
    # The new connections read and write as the old one did: the same answers.
    assert found == found_kept and "Worker11n3 works at Firm3 in Town3." in found


def test_a_transaction_keeps_its_connection_past_the_limit(tmp_path, monkeypatch):
    """Statements of one transaction must share one connection: a connection replaced
    inside it would leave what ran before on the old one, committed by nobody."""
    monkeypatch.setattr(kuzu, "RENEW_AFTER_BYTES", 1)
    store = KuzuGraphStore(tmp_path / "graph")
    batch = world()
    rows = [entity_row(e) for e in batch.entities]
    with pytest.raises(RuntimeError, match="stop here"), store.transaction() as tx:
        tx.run("entity_create", {"rows": rows[:1]})  # each reads a table past the limit
        tx.run("entity_create", {"rows": rows[1:]})
        raise RuntimeError("stop here")
    assert GraphOps(store).export(ALICE)[1] == []  # rolled back whole
    store.write(batch)  # the next connection writes, and reads what it wrote
    assert sorted(e.id for e in GraphOps(store).export(ALICE)[1]) == sorted(
        e.id for e in batch.entities
    )
    store.close()


def test_single_adds_renew_the_connection_too(tmp_path, monkeypatch):
    """One ``add`` reads ~1 KB of tables but left ~227 KB behind on the connection, in
    its unprepared statements (measured): each counts, so a server taking one memory at
    a time renews its connection as a bulk load does, and reads what it wrote after."""
    opened = []
    real = kuzu.kuzu.Connection

    def connection(db):
        opened.append(db)
        return real(db)

    monkeypatch.setattr(kuzu, "RENEW_AFTER_BYTES", 1 * 2**20)
    with Memory.open(tmp_path, embedder="hash") as m:
        monkeypatch.setattr(kuzu.kuzu, "Connection", connection)
        for i in range(40):
            m.add(f"Courier{i} works at Depot{i % 3} in Town{i % 5}.", user_id="u", infer=False)
        assert len(opened) >= 4  # a fact and a relation statement an add, 64 KB each
        assert m.verify().ok and m.stats(user_id="u")["facts"] == 40
        hits = m.search("Who works at Depot2?", user_id="u", recipe="graph", limit=20)
        found = {h.text for h in hits}
        assert {f"Courier{i} works at Depot2 in Town{i % 5}." for i in (2, 38)} <= found


def test_a_connection_that_cannot_be_renewed_leaves_the_writes_as_they_were(
    tmp_path, monkeypatch, caplog
):
    """The renewal runs after statements that took effect: were it to fail and raise,
    a committed write would read as failed, and be written again. The old connection
    serves on, and says so in the log."""
    monkeypatch.setattr(kuzu, "RENEW_AFTER_BYTES", 1)
    store = KuzuGraphStore(tmp_path / "graph")

    def refused(db):
        raise RuntimeError("Buffer manager exception: Unable to allocate memory")

    monkeypatch.setattr(kuzu.kuzu, "Connection", refused)
    batch = world()
    store.write(batch)  # past the limit: the renewal fails after the commit
    assert "not renewed" in caplog.text
    assert sorted(e.id for e in GraphOps(store).export(ALICE)[1]) == sorted(
        e.id for e in batch.entities
    )
    store.write(batch)  # not fresh: looked up and upserted on the old connection
    assert len(GraphOps(store).export(ALICE)[0]) == len(batch.facts)
    store.close()
