"""Entity lookup by name on the Bolt backend, served by indexed EntityKey nodes.

No index serves ``k IN e.keys``, so ``entities_by_key`` scanned the scope's entities on every
search and every ingest batch, and its cost grew with the scope (issue 16). The server now
keeps one indexed ``EntityKey`` node per name or alias key (``cypher/neo4j/``), written and
deleted in the same transaction as the entity. These tests hold it to the entities on the
real ArcadeDB test server: what changes, goes or was written before the nodes existed.
"""

from __future__ import annotations

import pytest

from graphmem.memory import Memory
from graphmem.models import Entity, GraphBatch, Scope
from graphmem.stores.graph_ops import GraphOps
from graphmem.stores.neo4j import Neo4jGraphStore
from graphmem.stores.rows import entity_row

ALICE, BOB = Scope.of(user_id="alice"), Scope.of(user_id="bob")
T = "2024-01-01T00:00:00.000000Z"


def person(eid: str, name: str, scope: Scope, aliases=()) -> Entity:
    return Entity(id=eid, name=name, type="person", scope=scope, aliases=list(aliases),
                  created_at=T)  # fmt: skip


def connect(server) -> Neo4jGraphStore:
    return Neo4jGraphStore(server.uri, server.user, server.password, database=server.database)


@pytest.fixture
def store(bolt_server):
    graph = connect(bolt_server)
    graph.reset()  # the server outlives the test
    yield graph
    graph.reset()
    graph.close()


def found(graph, key: str, scope: Scope) -> list[str]:
    return sorted(e.id for e in GraphOps(graph).entities_by_keys([key], scope).get(key, []))


def key_nodes(graph) -> list[tuple[str, str]]:
    rows = graph.cypher("MATCH (k:EntityKey) RETURN k.entity_id AS id, k.key AS key")
    return sorted((r["id"], r["key"]) for r in rows)


def test_lookups_follow_every_change_and_stay_in_their_scope(store):
    store.write(GraphBatch(entities=[person("a1", "Alice Smith", ALICE, ["Ally"]),
                                     person("b1", "Alice Smith", BOB)]))  # fmt: skip
    assert found(store, "alice smith", ALICE) == ["a1"]
    assert found(store, "alice smith", BOB) == ["b1"]
    assert found(store, "ally", ALICE) == ["a1"] and found(store, "ally", BOB) == []

    # A changed alias list replaces the old keys, in the same transaction as the entity.
    store.write(GraphBatch(entities=[person("a1", "Alice Smith", ALICE, ["Al"])]))
    assert found(store, "ally", ALICE) == [] and found(store, "al", ALICE) == ["a1"]
    assert [k for i, k in key_nodes(store) if i == "a1"] == ["al", "alice smith"]

    store.run("entity_delete", {"ids": ["a1"]})
    assert found(store, "alice smith", ALICE) == [] and found(store, "al", ALICE) == []
    assert [i for i, _ in key_nodes(store)] == ["b1"]

    store.run("scope_delete_entities", BOB.params())
    assert found(store, "alice smith", BOB) == [] and key_nodes(store) == []


def test_a_database_written_before_the_key_nodes_gets_them_on_open(store, bolt_server):
    store.write(GraphBatch(entities=[person("a1", "Alice Smith", ALICE, ["Ally"]),
                                     person("a2", "Bob Jones", ALICE)]))  # fmt: skip
    before = key_nodes(store)
    # What an older graphmem left: entities with their keys as a list, no EntityKey nodes.
    store.run("entity_keys_clear")
    store.cypher("MATCH (m:GraphmemMeta) DELETE m", read_only=False)
    assert found(store, "ally", ALICE) == []
    again = connect(bolt_server)
    try:
        assert found(again, "ally", ALICE) == ["a1"] and found(again, "bob jones", ALICE) == ["a2"]
        assert key_nodes(again) == before  # each key once
        third = connect(bolt_server)  # the layout is recorded: no second rebuild duplicates
        third.close()
        assert key_nodes(again) == before
    finally:
        again.close()


def test_memory_on_bolt_resolves_a_name_to_one_entity_and_delete_all_drops_its_keys(
    store, bolt_server, tmp_path
):
    with Memory.open(tmp_path / "data", embedder="hash", graph=connect(bolt_server)) as memory:
        memory.add("Alice Smith moved to Lisbon.", user_id="alice")
        memory.add("Alice Smith adopted a cat.", user_id="alice")
        memory.add("Alice Smith plays chess.", user_id="bob")
        names = [e.name for e in GraphOps(store).all_entities(ALICE)]
        assert names.count("Alice Smith") == 1  # the second add found the first's entity
        bobs = memory.graph.entity("Alice Smith", user_id="bob")
        assert bobs.id not in _entities(store, ALICE)
        memory.delete_all(user_id="alice")
        assert {i for i, _ in key_nodes(store)} == set(_entities(store, BOB)) != set()
        assert memory.graph.entity("Alice Smith", user_id="bob") == bobs


def _entities(graph, scope: Scope) -> list[str]:
    return [e.id for e in GraphOps(graph).all_entities(scope)]


def test_entity_rows_carry_each_key_once():
    # Two aliases that normalise alike ("ALLY", "Ally") made two keys, and two key nodes.
    row = entity_row(person("a1", "Alice  Smith", ALICE, ["ALLY", "Ally"]))
    assert row["keys"] == ["alice smith", "ally"]
