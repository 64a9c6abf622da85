"""What a graph share must show to count in full (hybrid's ``join_fit`` and ``graph_gate``).

On chats added as named messages, a question naming a speaker lifted every fact of that
speaker's relations by the walk's floor, and a relation joining two named entities gave
its facts the walk's full score whatever the question asked; hybrid then trailed text.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory
from graphmem.errors import ValidationError
from graphmem.search import recipes
from graphmem.search.fuse import Fused, gate

# hybrid as it was: a join as relevant as it gets, no gate on graph shares, topics seeding
BEFORE = replace(recipes.HYBRID, name="before", join_fit=1.0, graph_gate=0.0, concept_seed=1.0)
ALICE = ["Alice baked rye bread with her aunt.", "Alice painted the kitchen light green.",
         "Alice fed the ducks at the park.", "Alice read a novel about sailors.",
         "Alice repaired the old bicycle.", "Alice cooked pasta for her friends.",
         "Alice watched a film about whales.", "Alice planted tomatoes in the garden.",
         "Alice goes hiking in the hills every weekend.", "Alice works at Acme Corp.",
         "Acme Corp is located in Berlin."]  # fmt: skip


def test_gate_leaves_alone_the_memories_it_is_not_asked_to_weigh():
    fused = [Fused("near", 1.0, {"graph": 0.5}, {"vector": 0.9, "graph": 0.5}),
             Fused("far", 0.9, {"graph": 0.5}, {"vector": 0.1, "graph": 0.5}),
             Fused("far-two-hops", 0.8, {"graph": 0.5}, {"vector": 0.1, "graph": 0.5})]  # fmt: skip
    out = {f.memory_id: f for f in gate(fused, 1.0, 0.1, 0.9, channel="graph",
                                         only=lambda i: i != "far-two-hops")}  # fmt: skip
    assert out["near"].parts["graph"] == 0.5 and "graph_gate" not in out["near"].raw
    assert out["far"].parts["graph"] == 0.0 and out["far"].raw["graph_gate"] == 0.0
    assert out["far-two-hops"].parts["graph"] == 0.5


@pytest.mark.parametrize("bad, named", [
    ({"join_fit": 1.5}, "join_fit"),
    ({"graph_gate": -1.0}, "graph_gate"),
    ({"graph_gate": 5.0}, "graph_gate"),
    ({"graph_gate_low": 1.0, "graph_gate_high": 0.0}, "graph_gate_low, graph_gate_high"),
    ({"user_relations": "some"}, "user_relations"),
])  # fmt: skip
def test_bad_graph_evidence_options_are_refused(bad, named):
    with pytest.raises(ValidationError, match=named):
        replace(recipes.HYBRID, name="bad", **bad)


def _scope(tmp_path_factory, name, said):
    """A scope "u" in a fresh data dir holding ``said``, one memory per line."""
    with Memory.open(tmp_path_factory.mktemp(name), embedder="hash") as m:
        m.add_many([{"text": t} for t in said], user_id="u")
        yield m


@pytest.fixture(scope="module")
def alice(tmp_path_factory):
    yield from _scope(tmp_path_factory, "alice", ALICE)


def _hit(hits, text):
    return next((rank, h) for rank, h in enumerate(hits) if h.text == text)


def test_a_relation_of_the_named_person_the_question_is_not_about_keeps_little(alice):
    """ "Alice works at Acme Corp." is Alice's relation, and the question is about her
    weekends: its meaning is no closer than the typical memory of Alice's, so the graph's
    floor no longer lifts it, and the hit says why."""
    query = "What does Alice do on weekends?"
    before = _hit(alice.search(query, user_id="u", recipe=BEFORE), "Alice works at Acme Corp.")[1]
    hits = alice.search(query, user_id="u")
    _, now = _hit(hits, "Alice works at Acme Corp.")
    assert hits[0].text == "Alice goes hiking in the hills every weekend."
    assert now.score_parts["graph"] < 0.8 * before.score_parts["graph"]
    assert now.score_parts["graph_gate"] < 0.8
    assert "graph_gate=" in now.explain() and "graph_gate" not in before.score_parts


def test_a_fact_two_hops_out_keeps_its_whole_graph_share(alice):
    """The employer's city says nothing of the question in its own words: only relations
    one hop from a named entity are gated. (Gating by path length alone took a fact that
    mentions the employer for one-hop evidence and cut its share to nothing.)"""
    query = "In which city is the company Alice works for?"
    before = alice.search(query, user_id="u", recipe=BEFORE)
    hits = alice.search(query, user_id="u")
    rank, city = _hit(hits, "Acme Corp is located in Berlin.")
    assert rank == _hit(before, "Acme Corp is located in Berlin.")[0] == 1
    assert city.score_parts["graph"] > 0.2 and "graph_gate" not in city.score_parts
    assert hits[0].text == "Alice works at Acme Corp."  # what the question is about: whole
    assert hits[0].score_parts["graph"] == pytest.approx(0.8)


def test_a_relation_joining_two_named_entities_is_weighed_by_its_name(tmp_path):
    """Jon and dancing are both named: before, "Jon likes dancing" was the strongest
    evidence there is for any question naming both; now its name must fit the question."""
    said = ["Jon loves dancing.", "Jon won first place in a regional competition last spring.",
            "Jon baked rye bread with his aunt.", "Jon fed the ducks at the park."]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": t} for t in said], user_id="u")
        asked = "Did Jon ever win a dancing competition?"
        before = _hit(m.search(asked, user_id="u", recipe=BEFORE), "Jon loves dancing.")[1]
        now = _hit(m.search(asked, user_id="u"), "Jon loves dancing.")[1]
        fits = _hit(m.search("Does Jon like dancing?", user_id="u"), "Jon loves dancing.")[1]
    assert before.score_parts["path"] == pytest.approx(0.8)
    assert now.score_parts["path"] < 0.3  # the floor of an irrelevant relation
    assert fits.score_parts["path"] == pytest.approx(0.8)  # "like" fits "likes"


# A user who likes a few things, and a question that names one of them as a topic.
LIKES = ["I love dance and I compete in dance shows.", "I love fantasy films.",
         "I love jazz records.", "My team won first place with a contemporary piece.",
         "Gina works at Acme Corp.", "The weather was cold last week."]  # fmt: skip
DANCE = "What kind of dance piece did the team perform?"


@pytest.fixture(scope="module")
def likes(tmp_path_factory):
    yield from _scope(tmp_path_factory, "likes", LIKES)


def _graph_share(hits, text):
    hit = next((h for h in hits if h.text == text), None)
    return 0.0 if hit is None else hit.score_parts.get("graph", 0.0)


def test_a_topic_word_the_query_names_seeds_no_walk_in_hybrid(likes):
    """ "dance" is a concept the user likes: walked from, it led to the user and on to
    everything else the user likes, and "I love jazz records" gained a graph share for a
    question about a dance piece."""
    assert any(r["e.type"] == "concept" for r in
               likes.cypher("MATCH (e:Entity) WHERE e.name = 'dance' RETURN e.type"))  # fmt: skip
    # As it was: a topic seeding, and every relation of the user leading on from the user.
    before = likes.search(DANCE, user_id="u", recipe=replace(
        recipes.HYBRID, name="before", concept_seed=1.0, user_relations="all"))  # fmt: skip
    assert _graph_share(before, "I love jazz records.") > 0
    hits = likes.search(DANCE, user_id="u")
    assert not any("graph" in h.channels for h in hits)
    assert _graph_share(hits, "I love jazz records.") == 0.0


def test_a_named_thing_still_seeds_the_walk_and_graph_alone_follows_topics(likes):
    hits = likes.search("Which company does Gina work for?", user_id="u")
    assert hits[0].text == "Gina works at Acme Corp." and "graph" in hits[0].channels
    # The graph recipe alone has nothing else to go by: a topic still seeds it.
    walked = likes.search(DANCE, user_id="u", recipe="graph")
    assert any(h.text == "I love dance and I compete in dance shows." for h in walked)


def test_a_concept_seed_out_of_range_is_refused():
    with pytest.raises(ValidationError, match="concept_seed"):
        replace(recipes.HYBRID, name="bad", concept_seed=1.5)


def test_the_bridge_does_not_step_through_the_user(likes):
    """Every "I ..." statement names the scope's user, so from "I love dance" the bridge
    reached "I love fantasy films" and "I love jazz records" (a full bridge share each)
    for a question about a dance piece."""
    hits = likes.search(DANCE, user_id="u")
    for said in ("I love fantasy films.", "I love jazz records."):
        hit = next(h for h in hits if h.text == said)
        assert "bridge" not in hit.channels and hit.score_parts.get("bridge", 0.0) == 0.0
    # A question naming the user and the relation walks from them as before ("like" is a
    # word of "likes"); naming the user alone, it finds the memory by its words.
    hits = likes.search("What films do I like?", user_id="u")
    assert hits[0].text == "I love fantasy films." and "graph" in hits[0].channels
    hits = likes.search("What films do I love?", user_id="u")
    assert hits[0].text == "I love fantasy films." and "graph" not in hits[0].channels


# The user's own life, told in the first person: the user's entity holds every relation.
MINE = ["My neighbor Carlos looks after our dog Biscuit.", "My wife Priya is allergic to shellfish.",
        "I work as a nurse at St. Luke's hospital.", "I have been a vegetarian since college."]  # fmt: skip


def test_a_first_person_question_walks_only_the_users_relations_it_names(tmp_path):
    """ "I" seeds the walk at the user, all of whose relations are the user's: before, each
    passed on the walk's floor, so "What should I cook for dinner?" lifted the neighbour
    and the wife by a path that had nothing to do with dinner."""
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": t} for t in MINE], user_id="u")
        cook = m.search("What should I cook for dinner?", user_id="u", recipe="graph")
        hybrid = m.search("What should I cook for dinner?", user_id="u")
        neighbour = m.search("Who is my neighbor?", user_id="u", recipe="graph")
        wife = m.search("Can my wife eat shrimp?", user_id="u", recipe="graph")
    assert [h.explain() for h in cook] == []
    assert all("graph" not in h.channels for h in hybrid)
    # A relation the question names still leads on, and the hit's path says which.
    assert neighbour[0].text == MINE[0]
    assert [s.relation for s in neighbour[0].path] == ["neighbor"]
    assert any(h.text == MINE[1] and h.path[0].relation == "wife" for h in wife)


def test_a_question_about_someones_pets_is_answered_through_their_pets(tmp_path):
    """The offline extractor made no relation of "my snake Seraphim", so a question about
    Jolene's pets had only the words to go on: the turns naming a pet but not the word."""
    turns = [("Jolene", "My snake Seraphim loves the warm rock I bought."),
             ("Deborah", "My cats Luna and Max are napping."),
             ("Jolene", "Susie, my other snake, sheds her skin this week."),
             ("Deborah", "Luna knocked a plant off the shelf!"),
             ("Jolene", "I have exams next week and I feel stressed.")]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add(_chat(turns), user_id="chat")
        assert _pets(m, "Jolene") == {("Jolene", "Seraphim"), ("Jolene", "Susie")}
        hits = m.search("What pets does Jolene have?", user_id="chat", limit=5)
        through = {h.text for h in hits if "graph" in h.score_parts}
        assert {"My snake Seraphim loves the warm rock I bought.",
                "Susie, my other snake, sheds her skin this week."} <= through  # fmt: skip
        assert all("Jolene -[pet]->" in h.explain() for h in hits if h.text in through)
        assert not any("Luna" in text for text in through)  # Deborah's are not Jolene's


def test_a_pet_named_turns_after_it_came_is_its_owners(tmp_path):
    """Chats bring a pet in, are asked its name, and give it a turn later: no rule read a
    name so far from its animal, so "What is Maria's dog called?" had no edge to go by."""
    turns = [("Maria", "I just adopted a cute pup from a shelter last week."),
             ("John", "Wow, how cute! What's her name?"),
             ("Maria", "Her name is Shadow! She's full of energy."),
             ("John", "I met a girl at the gym. Her name is Sue."),  # John's news, no pet
             ("John", "Your dog looks so happy, what's his name?"),
             ("Maria", "Thanks! His name is Rex, he is my old boy.")]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add(_chat(turns), user_id="chat")
        assert _pets(m, "Maria") == {("Maria", "Shadow"), ("Maria", "Rex")}
        assert _pets(m, "John") == set()


def test_an_allergy_is_reached_through_whose_it_is(tmp_path):
    """ "What is my wife allergic to?": the allergy turn names Priya, not the wife, and no
    rule read an allergy, so nothing in the graph led from "my wife" to it."""
    turns = [("Sam", "I'm planning a trip to Japan with my wife Priya."),
             ("Sam", "Priya is allergic to shellfish, so we need to be careful."),
             ("Sam", "My budget is 4000 dollars."),
             ("Sam", "I have a bad allergy to pollen in spring.")]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add(_chat(turns), user_id="chat")
        [first, *_] = m.search("What is my wife allergic to?", user_id="chat", limit=3)
        assert first.text.startswith("Priya is allergic to shellfish")
        assert "Sam -[wife]-> Priya" in first.explain()
        assert {(r.name, r.target_name) for r in m.graph.relations("Priya", user_id="chat")} >= {
            ("allergic_to", "shellfish")}  # fmt: skip
        assert {(r.source_name, r.target_name) for r in m.graph.relations(
            "Sam", user_id="chat") if r.name == "allergic_to"} == {("Sam", "pollen")}  # fmt: skip


def _chat(turns: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"role": "user", "content": text, "name": who} for who, text in turns]


def _pets(m: Memory, owner: str) -> set[tuple[str, str]]:
    return {(r.source_name, r.target_name) for r in m.graph.relations(owner, user_id="chat")
            if r.name == "pet"}  # fmt: skip
