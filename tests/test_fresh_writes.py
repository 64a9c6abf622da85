"""A fresh add skips the graph writer's look-ups of ids it made itself (issue 16): on
Kuzu each look-up scans a whole table. A journaled write rolled forward still looks
them up, and a batch wrongly called fresh fails loudly instead of doubling a row.
A few updates of stored rows run one primary-key statement per row: they must store what
the one statement over every row stores."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory
from graphmem.errors import GraphMemError
from graphmem.ingest.journal import WRITE, Change, decode, encode
from graphmem.models import GraphBatch, Scope
from graphmem.stores import kuzu
from graphmem.stores.graph_ops import GraphOps
from graphmem.stores.indexed_graph import IndexedGraphStore
from graphmem.stores.kuzu import KuzuGraphStore
from graphmem.stores.rows import fact_row, relation_row
from tests.test_graph_conformance import ALICE, snapshot, world

LOOK_UPS = {"fact_existing", "relation_existing", "entity_existing"}


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
    assert replayed.fresh is False and replayed.new_entities == frozenset()
    assert [f.id for f in replayed.facts] == [f.id for f in world().facts]


def test_a_stored_entity_called_new_fails_and_changes_nothing(tmp_path):
    store = KuzuGraphStore(tmp_path / "graph.kuzu")
    batch = world()
    store.write(batch)
    before = _rows(store)
    alice = replace(batch.entities[0], aliases=["Al"])
    with pytest.raises(GraphMemError):
        store.write(GraphBatch(entities=[alice], fresh=True, new_entities=frozenset({alice.id})))
    assert _rows(store) == before
    # Called stored while it is new: the upsert creates it all the same.
    carol = replace(batch.entities[1], id="a-carol", name="Carol")
    store.write(GraphBatch(entities=[carol], fresh=True))
    assert "a-carol" in _rows(store)[1]
    store.close()


def _updates(batch: GraphBatch, count: int) -> tuple[list[dict], list[dict]]:
    """``count`` relation and fact updates, plus one of each naming nothing stored."""
    rels = [relation_row(r) | {"fact_ids": [f"x{n}", *r.fact_ids], "valid_at": f"v{n}",
                               "invalid_at": f"i{n}"}
            for n, r in enumerate(batch.relations * count)][:count]  # fmt: skip
    rels.append(relation_row(batch.relations[0]) | {"id": "nowhere", "valid_at": "no"})
    wrong_end = relation_row(batch.relations[1]) | {"target_id": batch.relations[0].target_id}
    rels.append(wrong_end | {"invalid_at": "no"})
    facts = [fact_row(f) | {"text": f"edited {n}", "invalid_at": f"i{n}"}
             for n, f in enumerate(batch.facts * count)][:count]  # fmt: skip
    facts.append(fact_row(batch.facts[0]) | {"id": "nothing"})
    return rels, facts


@pytest.mark.parametrize("count", [1, 3, 70])
def test_updates_row_by_row_store_what_one_statement_stores(tmp_path, monkeypatch, count):
    seen: dict[str, list[str]] = {"row": [], "one": []}
    stores = {}
    for way, most in (("row", kuzu.ROW_FORM_MAX), ("one", 0)):
        monkeypatch.setattr(kuzu, "ROW_FORM_MAX", most)
        store = KuzuGraphStore(tmp_path / way, tracer=lambda n, t, p, w=way: seen[w].append(n))
        store.write(world())
        rels, facts = _updates(world(), count)
        with store.transaction() as tx:
            tx.run("relation_set", {"rows": rels})
            tx.run("fact_set", {"rows": facts})
        stores[way] = store
    assert snapshot(stores["row"]) == snapshot(stores["one"])
    rels, facts = _updates(world(), count)
    last = {r["id"]: r["valid_at"] for r in rels[:count]}  # a later row wins
    stored = {r["id"]: r["valid_at"] for r in snapshot(stores["row"])["relations"]}
    assert {k: stored[k] for k in last} == last and "no" not in stored.values()
    texts = {f["id"]: f["text"] for f in facts[:count]}
    stored = {f["id"]: f["text"] for f in snapshot(stores["row"])["facts"]}
    assert {k: stored[k] for k in texts} == texts and "nothing" not in stored
    if count <= kuzu.ROW_FORM_MAX:  # the one-row forms ran, once a row
        assert seen["row"].count("relation_set_row") == count + 2
        assert seen["row"].count("fact_set_row") == count + 1
    assert "relation_set_row" not in seen["one"]
    for store in stores.values():
        store.close()


@pytest.mark.parametrize(("share", "by_row"), [(1, True), (2, False)])
def test_more_updates_run_row_by_row_while_the_table_is_large_next_to_them(
    tmp_path, monkeypatch, share, by_row
):
    """Over ROW_FORM_MAX rows, the one-row form still runs while the rows are fewer than
    the table's count over its share (a joined scan grows with the table); either way the
    graph ends the same."""
    monkeypatch.setattr(kuzu, "ROW_FORM_MAX", 1)
    monkeypatch.setattr(kuzu, "ROW_FORM_SHARE", {"fact_set": ("facts", share),
                                                 "relation_set": ("relations", share)})  # fmt: skip
    seen: list[str] = []
    store = KuzuGraphStore(tmp_path / "g", tracer=lambda n, t, p: seen.append(n))
    batch = world()
    store.write(batch)
    counts = GraphOps(store).counts(Scope())
    facts = [fact_row(f) | {"text": f"edited {f.id}"} for f in batch.facts]
    rels = [relation_row(r) | {"valid_at": "2020-01-01"} for r in batch.relations]
    assert len(facts) == counts["facts"] > 1 and len(rels) == counts["relations"] > 1
    with store.transaction() as tx:
        tx.run("fact_set", {"rows": facts})
        tx.run("relation_set", {"rows": rels})
    assert (seen.count("fact_set_row"), seen.count("relation_set_row")) == (
        (len(facts), len(rels)) if by_row else (0, 0))  # fmt: skip
    stored = snapshot(store)
    assert sorted(f["text"] for f in stored["facts"]) == sorted(f["text"] for f in facts)
    assert {r["valid_at"] for r in stored["relations"]} == {"2020-01-01"}
    store.close()


@pytest.mark.parametrize(("fresh_s", "reads"), [(3600.0, 1), (-1.0, 3)])
def test_the_counts_that_choose_a_form_are_read_again_only_once_stale(
    tmp_path, monkeypatch, fresh_s, reads
):
    """Counting the tables cost 8-25 ms a batch at 1M memories: three batches of updates
    read them once while the counts are fresh, and each time once they are not."""
    monkeypatch.setattr(kuzu, "ROW_FORM_MAX", 1)
    monkeypatch.setattr(kuzu, "COUNTS_FRESH_S", fresh_s)
    seen: list[str] = []
    store = KuzuGraphStore(tmp_path / "g", tracer=lambda n, t, p: seen.append(n))
    batch = world()
    store.write(batch)
    for round_ in range(3):
        facts = [fact_row(f) | {"text": f"edited {round_} {f.id}"} for f in batch.facts]
        store.run("fact_set", {"rows": facts})
    assert seen.count("graph_counts_all") == reads
    assert seen.count("fact_set") == 3  # rows as many as the table's: one statement each
    stored = sorted(f["text"] for f in snapshot(store)["facts"])
    assert stored == sorted(f"edited 2 {f.id}" for f in batch.facts)
    store.close()


def test_a_fresh_add_and_its_roll_forward_store_the_same_graph(tmp_path):
    """What a fresh add stores (its look-ups skipped, a few updates row by row) is what the
    journal's copy of the same writes stores when rolled forward into an empty store."""
    said = ["Dora lives in Lyon.", "Dora works at Acme.", "Eve lives in Lyon.",
            "Dora lives in Lyon, she said.", "Dora moved to Porto.", "Eve works at Acme.",
            "Dora works at Initech.", "Eve lives in Lyon again."]  # fmt: skip
    bodies: list[bytes] = []
    seen: list[str] = []
    with Memory.open(tmp_path / "fresh", embedder="hash", extractor="offline",
                     tracer=lambda name, text, params: seen.append(name)) as m:  # fmt: skip
        begin = m.history_store.begin_intent

        def kept(kind: str, body: bytes) -> int:
            bodies.append(body)
            return begin(kind, body)

        m.history_store.begin_intent = kept
        for start in range(0, len(said), 3):
            m.add_many([{"text": t} for t in said[start : start + 3]], user_id="alice")
        fresh = snapshot(m.graph_store)
        assert m.verify().ok
    assert {"relation_set_row", "fact_set_row"} <= set(seen)  # updates did happen
    with Memory.open(tmp_path / "replayed", embedder="hash", extractor="offline") as r:
        for body in bodies:
            r.writer.commit(decode(body))
        assert snapshot(r.graph_store) == fresh
        assert r.verify().ok
    assert any(rel["invalid_at"] for rel in fresh["relations"])


def test_rows_run_one_at_a_time_outside_a_transaction_are_all_or_nothing(tmp_path):
    """A named write run on its own was one statement, atomic under auto-commit. Its rows
    run one by one must be too: a bad row after a good one leaves the good one unwritten."""
    store = KuzuGraphStore(tmp_path / "g")
    store.write(world())
    before = snapshot(store)
    facts = [fact_row(f) | {"text": "edited"} for f in world().facts][:2]
    del facts[1]["valid_at"]  # the second row cannot run
    with pytest.raises(GraphMemError, match="lacks valid_at"):
        store.run("fact_set", {"rows": facts})
    assert snapshot(store) == before
    store.run("fact_set", {"rows": facts[:1]})  # a good row alone still goes in
    assert snapshot(store) != before
    store.close()


def test_mentions_the_graph_copy_holds_are_not_merged_again(tmp_path):
    """Re-adding stored memories sends their mentions again; the copy knows which the
    store holds, so only new ones reach the store (a Kuzu MERGE joins every fact and
    entity), and the stored graph ends the same as with every one merged."""
    seen: list[tuple[str, int]] = []
    inner = KuzuGraphStore(tmp_path / "g", tracer=lambda n, t, p: seen.append(
        (n, len(p.get("rows") or ()))))  # fmt: skip
    store = IndexedGraphStore(inner)
    batch = world()
    store.write(batch)
    store.run("entities_get", {"ids": [], **ALICE.params()})  # a read: the copy is made
    f3, bob = batch.facts[2].id, batch.entities[1].id  # not yet linked
    seen.clear()
    store.write(GraphBatch(mentions=[*batch.mentions, (f3, bob)]))
    assert [n for n in seen if n[0] == "mention_merge"] == [("mention_merge", 1)]
    assert [f3, bob] in snapshot(inner)["mentions"]
    # A mention removed earlier in the same transaction, not yet in the copy: merged back.
    f1, alice = batch.mentions[0]
    seen.clear()
    with store.transaction() as tx:
        tx.run("mention_delete", {"rows": [{"fact_id": f1, "entity_id": alice}]})
        store.write(GraphBatch(mentions=[(f1, alice)]))
    assert ("mention_merge", 1) in seen
    assert [f1, alice] in snapshot(inner)["mentions"]
    copy = {(r["fact_id"], r["entity_id"]) for r in store.run("fact_mentions", {"ids": [f1, f3]})}
    assert copy == {(f, e) for f, e in snapshot(inner)["mentions"] if f in (f1, f3)}
    store.close()
