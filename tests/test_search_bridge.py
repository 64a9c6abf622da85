"""The bridge walk (search/bridge.py): from the best text hits, across the fact closest to
the query, to the units about what that fact names."""

from __future__ import annotations

from dataclasses import replace

import pytest
from gazette_helpers import QUESTION, add_passages, gazette_memory, search_gazette

from graphmem.index.scope import ScopeIndex
from graphmem.models import Entity, Fact, GraphBatch, PathStep, Relation, Scope
from graphmem.search.bridge import Around, BridgeSettings, bridge
from graphmem.search.collapse import Groups
from graphmem.search.recipes import HYBRID, TEXT
from graphmem.stores.graph_ops import GraphOps
from graphmem.stores.indexed_graph import IndexedGraphStore
from graphmem.stores.kuzu import KuzuGraphStore

SCOPE = Scope.of("u")
# hybrid as it was before the bridge: the path walk its only graph channel.
PATH_ONLY = replace(HYBRID, name="path_only", weights={"vector": 0.5, "keyword": 0.5, "graph": 1.0})
T = "2024-01-01T00:00:00.000000Z"


class World:
    """Memories in a real Kuzu graph (behind the in-process index, as ``Memory`` keeps
    it, or read by Cypher) and a real search index whose groups make the units."""

    def __init__(self, store, index: ScopeIndex) -> None:
        self.store, self.index = store, index
        self.fact_ids = [i for i in index.ids if i is not None]

    def around(self, hub_degree: int) -> Around:
        return Around(GraphOps(self.store), Groups(self.index, lambda _p: True), hub_degree)


@pytest.fixture(params=["indexed", "cypher"])
def make(request, tmp_path):
    """``make(units, mentions)``: units (passages) of facts, each fact stating one
    relation ``(s, name, o)``; a ``mentions`` entry ``(fact, entity)`` links a fact to an
    entity with no relation, and a unit whose triples list is empty is that one fact."""
    kuzu = KuzuGraphStore(tmp_path / "graph.kuzu")
    store = IndexedGraphStore(kuzu) if request.param == "indexed" else kuzu
    if request.param == "indexed":
        store.index()  # built before the write: every write must be applied to it

    def build(*units, mentions=(), bare=()) -> World:
        facts, rels, links, names = [], [], set(mentions), set()
        index = ScopeIndex(SCOPE)
        for key, triples in units:
            for i, (s, name, o) in enumerate(triples):
                fact = f"{key}.{i}"
                facts.append(fact)
                index.put(fact, {"id": fact, "text": fact,
                                 "origin": key if len(triples) > 1 else ""}, None)  # fmt: skip
                rels.append(Relation(f"r.{fact}", s, o, name, SCOPE, fact_ids=[fact],
                                     created_at=T, source_name=s.title(),
                                     target_name=o.title()))  # fmt: skip
                links |= {(fact, s), (fact, o)}
                names |= {s, o}
        for fact in bare:
            facts.append(fact)
            index.put(fact, {"id": fact, "text": fact}, None)
        names |= {e for _f, e in links}
        store.write(GraphBatch([Fact(f, f, SCOPE, created_at=T) for f in facts],
                               [Entity(e, e.title(), "thing", SCOPE, created_at=T)
                                for e in sorted(names)], rels, sorted(links)))  # fmt: skip
        return World(store, index)

    yield build
    kuzu.close()


JOURNAL = ("J", [("journal", "published by", "society"), ("journal", "founded in", "1991")])
SOCIETY = ("S", [("society", "first president", "hall"), ("society", "based in", "dc")])
OTHER = ("O", [("paris", "capital of", "france"), ("paris", "river", "seine")])


def cosine_of(values: dict[str, float]):
    return lambda memory_id: values.get(memory_id, 0.1)


def run(world, hop_one, cosines, named=(), **settings):
    """``hop_one`` as ``(unit key, weight)``: each hit stands for the memories of its unit."""
    hits = [([f for f in world.fact_ids if f == key or f.startswith(f"{key}.")], weight)
            for key, weight in hop_one]  # fmt: skip
    settings = BridgeSettings(**settings)
    around = world.around(settings.hub_degree)
    return bridge(around, hits, cosine_of(cosines), named, settings)


def test_the_fact_closest_to_the_question_leads_to_the_passage_about_what_it_names(make):
    graph = make(JOURNAL, SOCIETY, OTHER)
    found = run(graph, [("J", 1.0)], {"J.0": 0.8, "J.1": 0.2}, named=["journal"])
    assert found.ranked()[0] == ("S", 1.0)  # the society's passage, one fact away
    assert "J" not in found.scores and "O" not in found.scores
    assert found.via["S"] == ("J.0", "society")
    assert found.paths["S"] == [PathStep("Journal", "published by", "Society")]


def test_entities_the_query_names_lead_nowhere(make):
    graph = make(JOURNAL, SOCIETY, ("K", [("journal", "indexed by", "scopus"),
                                              ("scopus", "owned by", "elsevier")]))  # fmt: skip
    cosines = {"J.0": 0.8, "J.1": 0.2}
    assert "K" in run(graph, [("J", 1.0)], cosines).scores  # through the journal itself
    found = run(graph, [("J", 1.0)], cosines, named=["journal"])
    assert "K" not in found.scores and "S" in found.scores


def test_only_the_closest_facts_lead_on(make):
    graph = make(JOURNAL, SOCIETY, ("Y", [("1991", "year of", "the gulf war"),
                                              ("1991", "followed by", "1992")]))  # fmt: skip
    cosines = {"J.0": 0.8, "J.1": 0.2}
    assert set(run(graph, [("J", 1.0)], cosines, named=["journal"], facts=1).scores) == {"S"}
    assert set(run(graph, [("J", 1.0)], cosines, named=["journal"], facts=2).scores) == {"S", "Y"}


def test_a_rare_bridge_counts_more_than_a_common_one_and_a_hub_leads_nowhere(make):
    start = ("A", [("film", "directed by", "kim"), ("film", "shot in", "seoul")])
    kim = ("K", [("kim", "born in", "busan"), ("kim", "studied at", "cnu")])
    # Seoul is the subject of five passages: a far vaguer step than Kim's one.
    seoul = [(f"S{i}", [("seoul", f"fact {i}", f"x{i}"), ("seoul", f"more {i}", f"y{i}")])
             for i in range(5)]  # fmt: skip
    graph = make(start, kim, *seoul)
    cosines = {"A.0": 0.7, "A.1": 0.7}
    found = run(graph, [("A", 1.0)], cosines, named=["film"])
    assert found.scores["K"] == 1.0
    assert 0 < found.scores["S0"] < found.scores["K"] / 4
    # With Seoul the only step, its passages score 1 as the best found: a stated relation
    # is a step, however many passages it reaches, and the floor is not applied to it.
    vague = {"A.0": 0.0, "A.1": 0.7}
    for floor in (0.0, 1.0):
        found = run(graph, [("A", 1.0)], vague, named=["film"], floor=floor)
        assert found.scores == {f"S{i}": 1.0 for i in range(5)}
    # Seoul is named by 11 memories: above a hub degree of 10 it leads nowhere.
    capped = run(graph, [("A", 1.0)], cosines, named=["film"], hub_degree=10)
    assert set(capped.scores) == {"K"}


def test_the_leading_facts_are_the_closest_that_lead_somewhere(make):
    """The film's closest facts name actors no other passage names; the fourth names its
    director, whose own passage is the step the question needs."""
    start = (
        "F",
        [
            ("film", "starring", "hale"),
            ("film", "starring", "hobson"),
            ("film", "starring", "fairbanks"),
            ("film", "directed by", "walsh"),
        ],
    )
    walsh = ("W", [("walsh", "married", "cooper"), ("walsh", "born in", "nyc")])
    graph = make(start, walsh)
    cosines = {"F.0": 0.6, "F.1": 0.59, "F.2": 0.58, "F.3": 0.55}
    found = run(graph, [("F", 1.0)], cosines, named=["film"])
    assert found.ranked() == [("W", 1.0)]
    assert found.paths["W"] == [PathStep("Film", "directed by", "Walsh")]
    assert run(graph, [("F", 1.0)], {**cosines, "F.3": 0.0}, named=["film"]).ranked() == []


def test_a_memory_about_someone_else_is_lifted_less_than_one_about_the_bridge(make):
    """A memory saying "Dan lives in Rome" names Rome as its object: it is about Dan, and a question
    about what the leading fact names should reach Rome's own passage first."""
    start = ("A", [("alice", "lives in", "rome"), ("alice", "works at", "acme")])
    about_rome = ("R", [("rome", "capital of", "italy"), ("rome", "founded", "753 bc")])
    residents = [(f"P{i}", [(f"person{i}", "lives in", "rome")]) for i in range(3)]
    graph = make(start, about_rome, *residents)
    found = run(graph, [("A", 1.0)], {"A.0": 0.9, "A.1": 0.1}, named=["alice"])
    assert found.scores["R"] == 1.0
    assert all(found.scores[f"P{i}.0"] == pytest.approx(0.25) for i in range(3))


def test_a_memory_stating_no_relation_leads_through_what_it_mentions(make):
    graph = make(mentions=[("m1", "bob"), ("m2", "bob"), ("m3", "carol")],
                 bare=["m1", "m2", "m3"])  # fmt: skip
    found = run(graph, [("m1", 1.0)], {"m1": 0.9})
    assert found.ranked() == [("m2", 1.0)]
    assert found.paths["m2"] == []  # no relation to show


def test_a_word_many_messages_share_is_held_under_the_floor(make):
    """Messages stating no relation: the first names Sundays and its own topic, as five
    others do. Scaled to the best, the five would score 1 like a clean step; the floor
    holds them to their lift over the leading message's strength."""
    links = [(f"m{i}", "sundays") for i in range(6)] + [(f"m{i}", f"t{i}") for i in range(6)]
    graph = make(mentions=links, bare=[f"m{i}" for i in range(6)])
    found = run(graph, [("m0", 1.0)], {"m0": 0.8})
    assert found.scores == {f"m{i}": 1.0 for i in range(1, 6)}
    # Each is about Sundays for half (two names), and five messages share it: 1/10.
    floored = run(graph, [("m0", 1.0)], {"m0": 0.8}, floor=1.0)
    assert floored.scores == {f"m{i}": pytest.approx(0.1) for i in range(1, 6)}
    assert run(graph, [("m0", 1.0)], {"m0": 0.8}, floor=0.05).scores == found.scores


def test_a_long_memory_naming_many_entities_is_about_none_of_them(make):
    """Stated no relation, a memory is about each entity it names in equal parts: a long
    reply quoting a dozen names is no passage about the one the bridge leads to."""
    crowd = [f"e{i}" for i in range(12)]
    links = [("m1", "bob"), ("m2", "bob"), ("m3", "bob")] + [("m3", e) for e in crowd]
    graph = make(mentions=links, bare=["m1", "m2", "m3"])
    found = run(graph, [("m1", 1.0)], {"m1": 0.9})
    assert found.scores["m2"] == 1.0
    assert found.scores["m3"] == pytest.approx(1 / 13)


def test_the_hop_one_weights_and_the_leading_cosine_scale_the_lift(make):
    graph = make(JOURNAL, SOCIETY, ("F", [("film", "made by", "studio"),
                                              ("film", "shot in", "x")]),
                     ("T", [("studio", "owned by", "z"), ("studio", "based in", "w")]))  # fmt: skip
    cosines = {"J.0": 0.8, "F.0": 0.8}
    found = run(graph, [("J", 1.0), ("F", 0.5)], cosines, named=["journal", "film"])
    assert found.scores["S"] == 1.0 and found.scores["T"] == pytest.approx(0.5)
    assert run(graph, [("J", 1.0), ("F", 0.5)], cosines, sources=1, named=["journal"]).ranked() == [
        ("S", 1.0)
    ]
    assert run(graph, [], cosines).ranked() == []
    assert run(graph, [("J", 1.0)], {"J.0": -0.2, "J.1": -0.3}).ranked() == []


def test_hybrid_reaches_the_passage_the_question_only_describes(tmp_path):
    """Recorded-style LLM extraction (the stand-in server): the question names the
    gazette; its passage names the editor; only the editor's passage says where she grew
    up, in no word of the question. Under the hashing embedder its cosine is below every
    other passage's, so the text channels rank it last, and the path walk, seeded by the
    gazette alone, lifts it too little; the bridge takes it from the gazette's fact."""
    found = search_gazette(tmp_path, "{person} plays chess in {city} on Sundays.",
                           [TEXT, PATH_ONLY, HYBRID])  # fmt: skip
    ranks = {recipe: [h.source_ids[0] for h in hits].index("1") for recipe, hits in found.items()}
    assert ranks["text"] == ranks["path_only"] == 7, ranks  # last
    assert ranks["hybrid"] == 1, ranks  # right behind the gazette's passage
    reached = found["hybrid"][1]
    assert "bridge" in reached.channels and reached.score_parts["bridge"] == 1.0
    assert reached.path == [PathStep("Harbour Gazette", "edited by", "Mira Holt")]


def test_bad_bridge_settings_are_refused_naming_the_field():
    from graphmem import ValidationError

    with pytest.raises(ValidationError) as info:
        replace(HYBRID, bridge_sources=0, bridge_facts=-1)
    assert "bridge_sources" in str(info.value) and "bridge_facts" in str(info.value)


def test_a_memory_written_after_a_search_is_bridged_to_on_the_next_one(tmp_path):
    """The bridge reads the graph around each search's hits as it is now: no copy of the
    scope's graph to rebuild or to go stale after a write."""
    with gazette_memory(tmp_path, "{person} plays chess in {city} on Sundays.") as (memory, data):
        editor = data.passages[1]
        add_passages(memory, [p for p in data.passages if p is not editor], "m")
        before = memory.search(QUESTION, user_id="m", limit=8, recipe=HYBRID)
        assert "1" not in {h.source_ids[0] for h in before}
        memory.add(editor.memory, user_id="m", source_ids=[str(editor.id)])
        after = memory.search(QUESTION, user_id="m", limit=8, recipe=HYBRID)
    assert [h.source_ids[0] for h in after][:2] == ["0", "1"]
    assert after[1].path == [PathStep("Harbour Gazette", "edited by", "Mira Holt")]


def test_the_bridge_never_crosses_into_another_scope(tmp_path):
    """Two users store the same gazette, one without the editor's passage: the bridge
    reaches it for the user who has it, and for the other finds nothing to lift, though
    every name is the same."""
    with gazette_memory(tmp_path, "{person} plays chess in {city} on Sundays.") as (memory, data):
        add_passages(memory, data.passages, "full")
        stored = add_passages(memory, [p for p in data.passages if p is not data.passages[1]],
                              "part")  # fmt: skip
        full = memory.search(QUESTION, user_id="full", limit=8)
        part = memory.search(QUESTION, user_id="part", limit=8)
    assert [h.source_ids[0] for h in full][:2] == ["0", "1"] and "bridge" in full[1].channels
    assert "1" not in {h.source_ids[0] for h in part}
    assert part and all(h.memory_ids for h in part)
    assert {i for h in part for i in h.memory_ids} <= stored
