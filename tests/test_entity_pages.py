"""``entities_in_scope`` (a scope's entities a page at a time, by name then id) answered
from the graph copy gives exactly Kuzu's pages through creates, renames, deletes and
several scopes; each ingest batch reads its first page (issue 16: Kuzu sorted every
entity of every scope for it)."""

from __future__ import annotations

import random

from graphmem.models import GraphBatch, Scope
from graphmem.stores.indexed_graph import IndexedGraphStore
from graphmem.stores.kuzu import KuzuGraphStore
from tests.test_graph_conformance import HOSTILE, ent

SCOPES = [Scope.of(user_id="alice"), Scope.of(user_id="bob"),
          Scope.of(user_id="alice", agent_id="helper")]  # fmt: skip
READS = [*SCOPES, Scope.of(agent_id="helper"), Scope()]
NAMES = ["Zoe", "anna", "Anna", "Émile", "Ömer", "Bob", "bob", "Lyon", "東京", "", *HOSTILE]


def _page(store, scope: Scope, skip: int, limit: int) -> list[tuple[str, str]]:
    rows = store.run("entities_in_scope", {**scope.params(), "skip": skip, "limit": limit})
    return [(r["id"], r["name"]) for r in rows]


def test_pages_from_the_copy_are_kuzus_through_every_kind_of_change(tmp_path):
    rng = random.Random(7)
    inner = KuzuGraphStore(tmp_path / "g")
    store = IndexedGraphStore(inner)
    answered: list[str] = []
    inner.tracer = lambda name, text, _params: answered.append(text)
    held: dict[str, object] = {}
    for step in range(120):
        roll = rng.random()
        if roll < 0.75 or not held:  # a new entity, or one stored again under a new name
            number = rng.randrange(60)
            entity = ent(f"e{number:02d}", rng.choice(NAMES), rng.choice(SCOPES))
            if f"e{number:02d}" in held:
                entity = ent(entity.id, rng.choice(NAMES), held[entity.id].scope)
            store.write(GraphBatch(entities=[entity]))
            held[entity.id] = entity
        else:
            gone = rng.choice(sorted(held))
            store.run("entity_delete", {"ids": [gone]})
            del held[gone]
        if step % 10 == 9:
            for scope in READS:
                for skip, limit in ((0, 200), (0, 3), (2, 4), (50, 10)):
                    answered.clear()
                    copy = _page(store, scope, skip, limit)
                    assert any("graph index" in t for t in answered)  # not Kuzu's answer
                    assert copy == _page(inner, scope, skip, limit), (step, scope, skip, limit)
    assert len(_page(inner, Scope(), 0, 1000)) == len(held) > 20
    # A copy read again from the store (a fresh process) pages the same.
    again = IndexedGraphStore(inner)
    for scope in READS:
        assert _page(again, scope, 0, 200) == _page(inner, scope, 0, 200)
    store.close()


def test_a_rename_moves_an_entity_in_every_scope_list_that_holds_it(tmp_path):
    store = IndexedGraphStore(KuzuGraphStore(tmp_path / "g"))
    alice, helper = SCOPES[0], SCOPES[2]
    store.write(GraphBatch(entities=[ent("a1", "Mallory", helper), ent("a2", "Bob", alice)]))
    before = {s: _page(store, s, 0, 10) for s in (alice, helper)}  # both lists made
    assert before[alice] == [("a2", "Bob"), ("a1", "Mallory")]
    store.write(GraphBatch(entities=[ent("a1", "Aaron", helper)]))
    assert _page(store, alice, 0, 10) == [("a1", "Aaron"), ("a2", "Bob")]
    assert _page(store, helper, 0, 10) == [("a1", "Aaron")]
    store.run("entity_delete", {"ids": ["a1"]})
    assert _page(store, alice, 0, 10) == [("a2", "Bob")] and _page(store, helper, 0, 10) == []
    store.close()
