"""A fresh add skips the graph writer's look-ups of ids it made itself (issue 16): on
Kuzu each look-up scans a whole table. A journaled write rolled forward still looks
them up, and a batch wrongly called fresh fails loudly instead of doubling a row."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory
from graphmem.errors import GraphMemError
from graphmem.ingest.journal import WRITE, Change, decode, encode
from graphmem.stores.graph_ops import GraphOps
from graphmem.stores.kuzu import KuzuGraphStore
from tests.test_graph_conformance import ALICE, world

LOOK_UPS = {"fact_existing", "relation_existing"}


def _rows(store: KuzuGraphStore) -> tuple:
    facts, entities, relations, mentions = GraphOps(store).export(ALICE)
    return (sorted(f.id for f in facts), sorted(e.id for e in entities),
            sorted(r.id for r in relations), sorted(map(tuple, mentions)))  # fmt: skip


def test_a_stored_batch_called_fresh_fails_and_changes_nothing(tmp_path):
    store = KuzuGraphStore(tmp_path / "graph.kuzu")
    batch = world()
    store.write(batch)
    before = _rows(store)
    store.write(batch)  # not fresh: looked up, upserted, nothing doubled
    assert _rows(store) == before
    with pytest.raises(GraphMemError):
        store.write(replace(batch, fresh=True))
    assert _rows(store) == before  # rolled back whole: no second edge, no half write
    store.close()


def test_a_fresh_add_skips_the_look_ups_and_the_journal_forgets_it(tmp_path):
    seen: list[str] = []
    with Memory.open(tmp_path, embedder="hash", extractor="offline",
                     tracer=lambda name, text, params: seen.append(name)) as m:  # fmt: skip
        m.add("Alice works at Acme. Bob lives in Paris.", user_id="alice")
        m.add("Alice moved to Berlin.", user_id="alice")
        assert "fact_create" in seen and "relation_create" in seen
        assert not LOOK_UPS & set(seen)
        assert m.verify().ok
    # What the journal keeps of a write is what a roll-forward after a crash runs: it
    # must look the ids up, since the crashed try may have stored them.
    change = Change("add", [(WRITE, replace(world(), fresh=True))])
    replayed = decode(encode(change)).graph[0][1]
    assert replayed.fresh is False
    assert [f.id for f in replayed.facts] == [f.id for f in world().facts]
