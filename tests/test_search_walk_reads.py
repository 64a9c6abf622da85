"""What the graph walk reads is made once and reused, and must never go stale.

``GraphIndex.fanned`` keeps the ``Relation`` models it hands the walk from one search to
the next (building them was a quarter of the graph channel on hub-heavy data); the walk
records the relations it went along and builds the mention pairs only when the PageRank
rerank asks. A user would see a stale model as a hit whose path names an entity by its
old name, or a relation that was superseded still carrying the walk.
"""

from __future__ import annotations

from dataclasses import replace

from graphmem import Memory
from graphmem.models import Entity, Relation, Scope
from graphmem.search import RECIPES
from graphmem.search.graph import Relevance, walk
from graphmem.stores.graph_index import GraphIndex
from graphmem.stores.rows import entity_row, relation_row

U = "walker"
SCOPE = Scope.of(U)


def _index() -> GraphIndex:
    alice, lyon = Entity("a", "Alice", "person", SCOPE), Entity("l", "Lyon", "place", SCOPE)
    lives = Relation("r", "a", "l", "lives_in", SCOPE, ["f1"], valid_at="2026-01-01T00:00:00Z")
    return GraphIndex([entity_row(alice), entity_row(lyon)], [relation_row(lives)],
                      [("f1", "a"), ("f1", "l")])  # fmt: skip


def _fanned(index: GraphIndex) -> Relation:
    (found,) = index.fanned(["a"], 10, lambda row: True)
    return found


def test_a_fanned_model_is_reused_until_the_relation_or_an_end_changes():
    index = _index()
    first = _fanned(index)
    assert _fanned(index) is first  # unchanged: the same model
    index.set_relation({"id": "r", "source_id": "a", "target_id": "l", "fact_ids": ["f1", "f2"],
                        "valid_at": "2026-01-01T00:00:00Z",
                        "invalid_at": "2026-06-01T00:00:00Z"})  # fmt: skip
    changed = _fanned(index)
    assert changed.fact_ids == ["f1", "f2"] and changed.invalid_at == "2026-06-01T00:00:00Z"
    renamed = Entity("l", "Lyon (France)", "place", SCOPE)
    index.put_entity(entity_row(renamed))
    assert _fanned(index).target_name == "Lyon (France)"
    index.drop_relation("r")
    assert index.fanned(["a"], 10, lambda row: True) == []


def test_a_search_path_names_the_entity_as_it_is_now(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as memory:
        memory.add("Alice lives in Lyon.", user_id=U)
        memory.add("Bob is Alice's brother.", user_id=U)
        before = memory.search("Where does Alice live?", user_id=U, recipe="graph")
        assert any(step.target == "Lyon" for hit in before for step in hit.path)
        # Supersede: Alice moves. The walk must follow the current relation, not a model
        # of the old one kept from the search before.
        memory.add("Alice lives in Porto.", user_id=U)
        after = memory.search("Where does Alice live?", user_id=U, recipe="graph")
        assert after[0].text == "Alice lives in Porto."
        assert all(step.target != "Lyon" for hit in after for step in hit.path)


def test_mentions_hold_both_ends_of_every_walked_relation_and_the_named_facts(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as memory:
        for text in ("Alice lives in Lyon.", "Bob is Alice's brother.", "Bob lives in Porto.",
                     "Alice likes Porto wine."):  # fmt: skip
            memory.add(text, user_id=U)
        alice = memory.graph.entity("Alice", user_id=U)
        recipe = replace(RECIPES["hybrid"], name="walk", mention_weight=0.5)
        result = walk({alice.id: 1.0}, SCOPE, memory.ops, recipe,
                      Relevance("where does Alice's brother live?", None))  # fmt: skip
        assert result.walked
        ends = {(f, e) for rel in result.walked for f in rel.fact_ids
                for e in (rel.source_id, rel.target_id)}  # fmt: skip
        assert ends and ends <= result.mentions
        assert result.linked and result.linked <= result.mentions
        porto = memory.graph.entity("Porto", user_id=U)
        bob_lives = next(h for h in memory.search("Bob lives", user_id=U, recipe="keyword"))
        assert (bob_lives.memory_id, porto.id) in result.mentions
