"""The relationship API (``memory.graph``) on the embedded stores."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import pytest

from graphmem import Memory, NotFoundError, ValidationError
from graphmem.models import PathStep

U = "rel"


@pytest.fixture(scope="module")
def mem(tmp_path_factory):
    m = Memory.open(tmp_path_factory.mktemp("rel"), embedder="hash", extractor="offline")
    m.add("Bob is Alice's brother.", user_id=U)
    m.add("Bob lives in Paris.", user_id=U)
    m.add("Carol is Bob's friend.", user_id=U)
    m.add("Alice works at Acme.", user_id=U, timestamp="2024-01-01")
    m.add("Alice moved from Acme to Globex.", user_id=U, timestamp="2025-06-01")
    m.add("Bob lives in Rome.", user_id="someone-else")
    m.add("Zed lives in Oslo.", user_id=U, run_id="trip")
    yield m
    m.close()


def triples(rels):
    return sorted((r.source_name, r.name, r.target_name) for r in rels)


def test_entity_by_name_any_case_and_not_elsewhere(mem):
    bob = mem.graph.entity("bob", user_id=U)
    assert bob.name == "Bob" and bob.scope.user_id == U
    assert mem.graph.entity(bob.id, user_id=U).id == bob.id
    with pytest.raises(NotFoundError):
        mem.graph.entity("Zed", user_id=U, run_id="other")
    with pytest.raises(NotFoundError):
        mem.graph.entity(bob.id, user_id="someone-else")
    assert mem.graph.entity("Zed", user_id=U).name == "Zed"  # a run inside the user's scope


def test_relations_by_direction_type_and_time(mem):
    assert triples(mem.graph.relations("Bob", user_id=U)) == [
        ("Alice", "brother", "Bob"), ("Bob", "friend", "Carol"), ("Bob", "lives_in", "Paris"),
    ]  # fmt: skip
    assert triples(mem.graph.relations("Bob", "out", user_id=U)) == [
        ("Bob", "friend", "Carol"), ("Bob", "lives_in", "Paris"),
    ]  # fmt: skip
    assert triples(mem.graph.relations("Bob", "in", types=["Brother"], user_id=U)) == [
        ("Alice", "brother", "Bob")
    ]
    assert triples(mem.graph.relations("Alice", types="works_at", user_id=U)) == [
        ("Alice", "works_at", "Globex")
    ]
    past = mem.graph.relations("Alice", types="works_at", as_of="2024-03-01", user_id=U)
    assert triples(past) == [("Alice", "works_at", "Acme")]
    assert past[0].invalid_at.startswith("2025-06-01")
    every = mem.graph.relations("Alice", types="works_at", include_invalid=True, user_id=U)
    assert triples(every) == [("Alice", "works_at", "Acme"), ("Alice", "works_at", "Globex")]


def test_neighbours_at_one_and_two_hops(mem):
    near = mem.graph.neighbours("Alice", user_id=U)
    assert sorted(n.entity.name for n in near) == ["Bob", "Globex"]
    far = {n.entity.name: n for n in mem.graph.neighbours("Alice", depth=2, user_id=U)}
    assert set(far) == {"Bob", "Globex", "Paris", "Carol"}
    assert far["Paris"].depth == 2
    assert far["Paris"].path == [PathStep("Alice", "brother", "Bob"),
                                 PathStep("Bob", "lives_in", "Paris")]  # fmt: skip


def test_paths_between_two_entities(mem):
    assert mem.graph.paths("Alice", "Paris", user_id=U) == [
        [PathStep("Alice", "brother", "Bob"), PathStep("Bob", "lives_in", "Paris")]
    ]
    assert mem.graph.paths("Alice", "Paris", max_hops=1, user_id=U) == []
    three = mem.graph.paths("Carol", "Globex", max_hops=3, user_id=U)
    assert [[s.relation for s in p] for p in three] == [["friend", "brother", "works_at"]]
    assert mem.graph.paths("Carol", "Globex", max_hops=2, user_id=U) == []


def test_facts_about_an_entity_now_and_then(mem):
    now = [f.text for f in mem.graph.facts_about("Alice", user_id=U)]
    assert "Alice works at Acme." not in now and "Alice moved from Acme to Globex." in now
    then = [f.text for f in mem.graph.facts_about("Acme", as_of="2024-02-01", user_id=U)]
    assert then == ["Alice works at Acme."]


def test_subgraph_with_attributes_and_exports(mem, tmp_path):
    g = mem.graph.subgraph(["Alice"], depth=2, user_id=U)
    assert isinstance(g, nx.MultiDiGraph)
    names = {a["name"] for _, a in g.nodes(data=True)}
    assert names == {"Alice", "Bob", "Globex", "Paris", "Carol"}
    edge = next(a for _, _, a in g.edges(data=True) if a["name"] == "lives_in")
    assert edge["fact_ids"] and edge["invalid_at"] == "" and edge["user_id"] == U
    whole = mem.graph.subgraph(user_id=U, include_invalid=True)
    assert {a["name"] for _, a in whole.nodes(data=True)} >= names | {"Acme", "Zed", "Oslo"}
    assert "Rome" not in {a["name"] for _, a in whole.nodes(data=True)}
    data = mem.graph.to_json(g)
    assert json.loads(json.dumps(data)) == data and len(data["edges"]) == g.number_of_edges()
    back = nx.read_graphml(mem.graph.to_graphml(g, tmp_path / "g.graphml"))
    assert back.number_of_nodes() == g.number_of_nodes()
    assert back.number_of_edges() == g.number_of_edges()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda g: g.relations("Bob", "sideways", user_id=U), "direction"),
        (lambda g: g.relations("Bob", types=[3], user_id=U), "types"),
        (lambda g: g.relations("Bob", as_of="soon", user_id=U), "as_of"),
        (lambda g: g.neighbours("Bob", depth=0, user_id=U), "depth"),
        (lambda g: g.paths("Bob", "Alice", max_hops=0, user_id=U), "max_hops"),
        (lambda g: g.entity("", user_id=U), "entity"),
        (lambda g: g.entity("Bob"), "scope"),
    ],
)
def test_bad_arguments_name_the_field(mem, call, field):
    with pytest.raises(ValidationError) as info:
        call(mem.graph)
    assert info.value.field == field


def test_answers_follow_every_kind_of_write(tmp_path):
    """``memory.graph`` answers from an in-process copy of the Kuzu graph: adds, deletes
    and the user's own Cypher writes must all show in the next answer."""
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add("Dan lives in Lima.", user_id=U)
        assert [n.entity.name for n in m.graph.neighbours("Dan", user_id=U)] == ["Lima"]
        later = m.add("Dan is Eve's friend.", user_id=U)
        assert [n.entity.name for n in m.graph.neighbours("Dan", user_id=U)] == ["Eve", "Lima"]
        assert [n.entity.name for n in m.graph.neighbours("Lima", depth=2, user_id=U)] == [
            "Dan", "Eve",
        ]  # fmt: skip
        m.delete(later.facts[0].id, user_id=U)
        assert [n.entity.name for n in m.graph.neighbours("Dan", user_id=U)] == ["Lima"]
        with pytest.raises(NotFoundError):
            m.graph.entity("Eve", user_id=U)
        m.cypher("MATCH (e:Entity) WHERE e.name = 'Dan' SET e.type = 'robot'", write=True)
        m.cypher("MATCH (:Entity)-[x:RELATES]->(:Entity) DELETE x", write=True)
        assert m.graph.entity("Dan", user_id=U).type == "robot"
        assert m.graph.neighbours("Dan", user_id=U) == []


def test_networkx_is_imported_only_when_a_subgraph_is_made(tmp_path):
    # Every CLI call and server start imports graphmem: networkx was a third of that.
    script = (
        "import sys\n"
        "from graphmem import Memory\n"
        "import graphmem.api, graphmem.client, graphmem.cli\n"
        "print('networkx' in sys.modules)\n"
        f"with Memory.open({str(tmp_path)!r}, embedder='hash') as m:\n"
        "    m.add('Alice lives in Paris.', user_id='u')\n"
        "    print('networkx' in sys.modules)\n"
        "    g = m.graph.subgraph('Alice', user_id='u')\n"
        "    print(type(g).__module__.split('.')[0], g.number_of_nodes() >= 1)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert done.stdout.split() == ["False", "False", "networkx", "True"]


def test_a_name_in_several_sub_scopes_is_read_whole_by_a_scope_covering_them(tmp_path):
    """``user_id="u"`` covers Alice stored with no agent and Alice stored for agent x. Search
    and Cypher saw both; relations, neighbours, paths, facts_about and subgraph read only
    the one ``entity()`` picks, so they missed what search returned for the same scope."""
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline") as m:
        m.add("Alice works at Acme.", user_id="u")
        m.add("Alice lives in Berlin.", user_id="u", agent_id="x")
        m.add("Alice likes Tokyo.", user_id="v", agent_id="x")  # another user: never seen
        u = {"user_id": "u"}
        assert set(triples(m.graph.relations("Alice", **u))) == {
            ("Alice", "works_at", "Acme"), ("Alice", "lives_in", "Berlin")}  # fmt: skip
        assert set(triples(m.graph.relations("Alice", user_id="u", agent_id="x"))) == {
            ("Alice", "lives_in", "Berlin")}  # fmt: skip
        assert {n.entity.name for n in m.graph.neighbours("Alice", **u)} == {"Acme", "Berlin"}
        assert m.graph.paths("Alice", "Berlin", **u) == [[PathStep("Alice", "lives_in", "Berlin")]]
        assert {f.text for f in m.graph.facts_about("Alice", **u)} == {
            "Alice works at Acme.", "Alice lives in Berlin."}  # fmt: skip
        names = {d["name"] for _, d in m.graph.subgraph(["Alice"], **u).nodes(data=True)}
        assert names == {"Alice", "Acme", "Berlin"}
        # Agent x across users sees its own Alices only, never user u's other one.
        assert set(triples(m.graph.relations("Alice", agent_id="x"))) == {
            ("Alice", "lives_in", "Berlin"), ("Alice", "likes", "Tokyo")}  # fmt: skip
        # An entity given as itself is read alone.
        alone = m.graph.entity("Alice", **u)
        assert len(m.graph.relations(alone, **u)) == 1
