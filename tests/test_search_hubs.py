"""Hubs: an entity thousands of memories share must not make a search read all of them.

A city where a hundred people live, and Alice's brother Bob who lives elsewhere. The walk
from Alice crosses the city (she lives there too); with a fan-out cap it passes the city's
score along only ``fanout`` of its relations, and the two-hop answer is still found.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory
from graphmem.index.neighbours import NeighbourTable
from graphmem.models import Scope
from graphmem.search import RECIPES
from graphmem.search.graph import Relevance, walk
from graphmem.stores.graph_ops import GraphOps

U = "hubs"
FIRST = "Ada Ben Cleo Dirk Elin Faye Gus Hana Ivo Jade Karl Lena Milo Nora Otto Pia".split()
LAST = "Keller Ortiz Novak Brandt Silva Moreau Larsen".split()
RESIDENTS = [f"{f} {last}" for f in FIRST for last in LAST][:100]


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    m = Memory.open(tmp_path_factory.mktemp("hubs"), embedder="hash", extractor="offline")
    m.add_many([{"text": f"{name} lives in Lyon."} for name in RESIDENTS], user_id=U)
    m.add("Alice lives in Lyon.", user_id=U)
    m.add("Bob is Alice's brother.", user_id=U)
    m.add("Bob lives in Porto.", user_id=U)
    yield m
    m.close()


def _walk(memory, fanout):
    scope = Scope.of(U)
    alice = memory.graph.entity("Alice", user_id=U)
    # Mentions off: they are bounded apart (``Searcher.containing``, tested below).
    recipe = replace(RECIPES["hybrid"], name="narrow", mention_weight=0.0)
    relevance = Relevance("where does Alice's brother live?", None)
    return walk({alice.id: 1.0}, scope, memory.ops, recipe, relevance, fanout=fanout)


def _texts(memory, fact_ids):
    return {memory.get(i, user_id=U).text for i in fact_ids}


def test_a_hub_passes_its_score_along_at_most_fanout_relations(city):
    whole, capped = _walk(city, None), _walk(city, 3)
    lyon = {t for t in _texts(city, whole.facts) if t.endswith("lives in Lyon.")}
    assert len(lyon) == 101  # uncapped, the walk offers every resident's fact
    kept = {t for t in _texts(city, capped.facts) if t.endswith("lives in Lyon.")}
    # Alice's own fact (hop 1) and three residents' (hop 2, through the city).
    assert len(kept) == 4 and "Alice lives in Lyon." in kept
    assert "Bob lives in Porto." in _texts(city, capped.facts)
    # What it kept of the hub scored as it did uncapped.
    for fact_id, (score, _path) in capped.facts.items():
        assert whole.facts[fact_id][0] == score


def test_the_cap_keeps_the_lowest_fact_ids_and_both_readers_agree(city):
    """The in-process graph index and a plain read of the store cap alike."""
    scope = Scope.of(U)
    lyon = city.graph.entity("Lyon", user_id=U)
    alice = city.graph.entity("Alice", user_id=U)
    every = city.ops.relations_touching([lyon.id], scope)
    indexed = city.ops.relations_touching([lyon.id], scope, fanout=5, keep=[alice.id])
    plain = GraphOps(city.graph_store.inner).relations_touching(
        [lyon.id], scope, fanout=5, keep=[alice.id]
    )
    assert [r.id for r in indexed] == [r.id for r in plain]
    lowest = sorted(every, key=lambda r: min(r.fact_ids))[:5]
    assert {r.id for r in indexed} == {r.id for r in lowest} | {
        r.id for r in every if alice.id in (r.source_id, r.target_id)
    }


def test_the_facts_naming_a_hub_are_counted_whole_and_listed_capped(city):
    searcher = city.searcher
    index = searcher.scope_index(Scope.of(U))
    every = index.containing("Lyon")
    count, first = searcher.containing(index, "Lyon", 3)
    assert count == len(every) >= 101  # a mention's weight is divided by the whole count
    assert list(first) == sorted(every)[:3]


@pytest.mark.parametrize("query", ["where does Alice's brother live?", "who lives in Lyon?"])
def test_capping_the_hub_changes_no_hit_a_user_sees(city, query):
    """Equal scores rank by fact id, and the cap keeps the lowest: the top ten agree."""
    wide = replace(RECIPES["hybrid"], name="wide", fanout=10_000)
    narrow = replace(RECIPES["hybrid"], name="narrow", fanout=1)  # the engine's floor: 80
    seen = [(h.memory_id, h.score) for h in city.search(query, user_id=U, recipe=narrow)]
    assert seen == [(h.memory_id, h.score) for h in city.search(query, user_id=U, recipe=wide)]


def test_a_capped_read_follows_writes_to_the_hub(city):
    scope = Scope.of(U)
    lyon = city.graph.entity("Lyon", user_id=U)
    before = city.ops.relations_touching([lyon.id], scope, fanout=1000)
    added = city.add("Zoe Quinn lives in Lyon.", user_id=U)
    after = city.ops.relations_touching([lyon.id], scope, fanout=1000)
    assert len(after) == len(before) + 1
    city.delete(added.facts[0].id, user_id=U)
    assert len(city.ops.relations_touching([lyon.id], scope, fanout=1000)) == len(before)


def test_neighbours_follow_adds_and_removes_in_one_big_conversation():
    table = NeighbourTable()
    for n in range(10):
        table.add(f"m{n}", {"source_ids": [f"D1:{n}"], "created_at": ""})
    assert table.of("m5", 1) == ("m4", "m6")
    table.remove("m4")
    assert table.of("m5", 1) == ("m3", "m6")
    table.add("m4b", {"source_ids": ["D1:4"], "created_at": ""})
    assert table.of("m5", 1) == ("m4b", "m6")
    assert table.of("m9", 2) == ("m7", "m8")
