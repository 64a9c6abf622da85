"""The graph channel's personalised PageRank (search/ppr.py), on graphs built here."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from gazette_helpers import search_gazette

from graphmem.models import PathStep, Relation, Scope
from graphmem.search.ppr import EntityFactGraph, WalkSettings
from graphmem.search.recipes import HYBRID_PPR, TEXT

SCOPE = Scope.of("u")


def relation(rid, source, name, target, facts):
    return Relation(rid, source, target, name, SCOPE, fact_ids=list(facts),
                    source_name=source.title(), target_name=target.title())  # fmt: skip


def story_graph(residents: int = 0) -> EntityFactGraph:
    """f1: alice -brother-> bob; f2: bob -lives_in-> paris; f3: carol -lives_in-> rome;
    f4..: ``residents`` people living in paris (a hub when there are many)."""
    rels = [relation("r1", "alice", "brother", "bob", ["f1"]),
            relation("r2", "bob", "lives_in", "paris", ["f2"]),
            relation("r3", "carol", "lives_in", "rome", ["f3"])]  # fmt: skip
    rels += [relation(f"r{i}", f"p{i}", "lives_in", "paris", [f"f{i}"])
             for i in range(4, 4 + residents)]  # fmt: skip
    facts = [f"f{i}" for i in range(1, 4 + residents)]
    links = [(f, end) for r in rels for f in r.fact_ids for end in (r.source_id, r.target_id)]
    return EntityFactGraph(facts, [[] for _ in facts], links, relations=rels)


DEFAULT = WalkSettings()


def scores(graph, entities=None, facts=None, settings=DEFAULT, gate=None):
    mass = graph.propagate(graph.personalise(entities or {}, facts or {}), settings, gate)
    return dict(graph.fact_scores(mass, 100)), mass


def test_two_hops_from_a_named_entity_reach_the_answer_not_the_stranger():
    graph = story_graph()
    found, _ = scores(graph, entities={"alice": 1.0})
    assert found["f1"] == 1.0  # Alice's own fact first
    assert found["f2"] > 0  # Bob lives in Paris: two hops away
    assert "f3" not in found  # Carol is not connected at all


def test_a_hub_passes_nothing_on_and_the_walk_stays_within_its_budget():
    graph = story_graph(residents=50)
    assert graph.entity_facts[graph.entity_node["paris"]] == 51
    capped = WalkSettings(hub_degree=10, steps=6)
    found, mass = scores(graph, entities={"alice": 1.0}, settings=capped)
    assert found.get("f2", 0) > 0
    # Paris (51 memories) holds mass but, above hub_degree, spreads none to its residents.
    assert mass[graph.facts + graph.entity_node["paris"]] > 0
    assert not any(f"f{i}" in found for i in range(4, 54))
    open_walk, _ = scores(graph, entities={"alice": 1.0}, settings=WalkSettings(steps=6))
    assert any(f"f{i}" in open_walk for i in range(4, 54))  # under the default cap they do
    # A step expands the heaviest nodes until its edge budget is spent: one edge, one hop.
    short, _ = scores(graph, entities={"alice": 1.0}, settings=WalkSettings(edge_budget=1))
    assert set(short) == {"f1"}


def test_a_rare_entity_seeds_more_than_a_common_one():
    graph = story_graph(residents=20)
    assert graph.specificity("alice") > graph.specificity("paris") > 0
    assert graph.specificity("nobody") == 0.0
    seeds = graph.personalise({"alice": 1.0, "paris": 1.0}, {})
    node = graph.facts
    assert seeds[node + graph.entity_node["alice"]] > seeds[node + graph.entity_node["paris"]]


def test_memories_of_one_source_hold_together():
    links = [("a1", "x"), ("b1", "y"), ("a2", "z")]
    graph = EntityFactGraph(["a1", "a2", "b1"], [["A"], ["A"], ["B"]], links)
    found, _ = scores(graph, facts={"a1": 1.0})
    assert found.get("a2", 0) > 0  # the other fact of passage A, sharing no entity
    assert "b1" not in found


def test_a_relation_sharing_no_word_with_the_query_passes_less():
    graph = story_graph()
    gate = graph.gate("who is Alice's brother?", 0.2)
    assert gate is not None
    assert gate[graph.fact_node["f1"]] == 1.0
    assert gate[graph.fact_node["f2"]] == gate[graph.fact_node["f3"]] == 0.2
    assert graph.gate("where does she live?", 0.2)[graph.fact_node["f2"]] == 1.0  # stemmed
    assert graph.gate("anything", 1.0) is None
    gated, _ = scores(graph, entities={"alice": 1.0}, gate=gate)
    free, _ = scores(graph, entities={"alice": 1.0})
    assert gated["f2"] < free["f2"]


def test_the_path_explains_how_the_walk_got_there():
    graph = story_graph()
    _, mass = scores(graph, entities={"alice": 1.0})
    seeds = set(graph.personalise({"alice": 1.0}, {}))
    assert graph.path_to("f2", mass, seeds) == [PathStep("Alice", "brother", "Bob"),
                                                PathStep("Bob", "lives_in", "Paris")]  # fmt: skip
    assert graph.path_to("f1", mass, seeds) == [PathStep("Alice", "brother", "Bob")]
    assert graph.path_to("nope", mass, seeds) == []


def test_no_seed_no_mass():
    graph = story_graph()
    assert not graph.propagate({}, WalkSettings()).any()
    assert graph.fact_scores(np.zeros(graph.size), 5) == []


def test_a_passage_scores_all_the_evidence_the_walk_found_in_it():
    """Passage A holds two facts about the seed's neighbours, passage B one; a memory in
    no passage (c1) is its own unit, keyed by its id."""
    links = [("a1", "x"), ("a2", "x"), ("b1", "x"), ("c1", "x")]
    graph = EntityFactGraph(["a1", "a2", "b1", "c1"], [["A"], ["A"], [], []], links)
    assert graph.entities_of("a1") == ["x"] and graph.entities_of("nope") == []
    mass = graph.propagate(graph.personalise({"x": 1.0}, {}), WalkSettings())
    units = dict(graph.unit_scores(mass, 10))
    assert set(units) == {"A", "b1", "c1"}  # a1 and a2 are scored as their passage
    assert units["A"] == 1.0 and units["b1"] == units["c1"] < 1.0
    # A text hit seeds its passage's node by the passage's key.
    seeded = graph.personalise({}, {"A": 1.0})
    assert seeded == {graph.source_node["A"]: 1.0}
    assert graph.unit_scores(np.zeros(graph.size), 5) == []


def test_the_walk_lifts_a_passage_that_shares_no_word_with_the_question(tmp_path):
    """Passages extracted by the (stand-in) LLM: the question names the gazette, the
    gazette's passage names its editor, and only the editor's passage says where she
    grew up, in words the question does not use. Six passages about other editors born
    in cities match the question's words better."""
    # The PageRank channel alone: beside the text channels, with every passage of this
    # tiny corpus among their hits, it only reorders their hits.
    walk = replace(HYBRID_PPR, name="walk", weights={"graph": 1.0})
    found = search_gazette(tmp_path, "{person}, an editor, was born in the city of {city}.",
                           [TEXT, walk])  # fmt: skip
    ranks = {recipe: [h.source_ids[0] for h in hits].index("1") for recipe, hits in found.items()}
    assert ranks["text"] == 7  # last: the words lead elsewhere
    assert ranks["walk"] < ranks["text"], ranks
    reached = found["walk"][ranks["walk"]]
    assert "graph" in reached.channels
    assert reached.path[-1] == PathStep("Mira Holt", "grew up in", "Tallinn")


def test_bad_seed_settings_are_refused_naming_the_field():
    import pytest

    from graphmem import ValidationError
    from graphmem.search import Recipe

    with pytest.raises(ValidationError) as info:
        Recipe("mine", weights={"graph": 1.0}, fact_seed_channel="graph", match_seeds=-1)
    assert "fact_seed_channel" in str(info.value) and "match_seeds" in str(info.value)
