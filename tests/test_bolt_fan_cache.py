"""A hub's capped relations, kept between searches on the Bolt backend until the graph changes.

On a graph server a walk's second hop expanded each hub it reached on every search, ~70%
of a hybrid search's time at 100k memories (issue 16). ``Neo4jGraphStore`` now keeps what
the server sent per entity (``stores/fan_cache.py``), checked against a token every
graphmem write replaces. These tests hold the kept fans to the graph on the real ArcadeDB
test server: a second store stands for another process writing to the same database.
"""

from __future__ import annotations

import pytest

from graphmem.models import Entity, Fact, GraphBatch, Relation, Scope
from graphmem.stores.fan_cache import FanCache
from graphmem.stores.graph_ops import GraphOps
from graphmem.stores.neo4j import Neo4jGraphStore
from graphmem.stores.rows import entity_row, relation_row

ALICE = Scope.of(user_id="alice")
T = "2024-01-01T00:00:00.000000Z"
CITY = Entity(id="city", name="Geneva", type="place", scope=ALICE, created_at=T)


def person(n: int) -> Entity:
    return Entity(id=f"p{n:03d}", name=f"Person {n}", type="person", scope=ALICE, created_at=T)


def lives(n: int, fact: str | None = None, invalid_at: str = "") -> Relation:
    return Relation(id=f"r{n:03d}", source_id=f"p{n:03d}", target_id="city", name="lives_in",
                    scope=ALICE, fact_ids=[fact or f"f{n:03d}"], created_at=T,
                    invalid_at=invalid_at, source_name=f"Person {n}", target_name="Geneva")  # fmt: skip


def town(people: range) -> GraphBatch:
    facts = [Fact(id=f"f{n:03d}", text=f"Person {n} lives in Geneva", scope=ALICE, created_at=T)
             for n in people]  # fmt: skip
    return GraphBatch(facts=facts, entities=[CITY, *map(person, people)],
                      relations=[lives(n) for n in people])  # fmt: skip


def connect(server) -> Neo4jGraphStore:
    return Neo4jGraphStore(server.uri, server.user, server.password, database=server.database)


@pytest.fixture
def stores(bolt_server):
    reader, writer = connect(bolt_server), connect(bolt_server)
    writer.reset()  # the server outlives the test
    yield reader, writer
    writer.reset()
    reader.close()
    writer.close()


def residents(graph, keep=()) -> list[str]:
    found = GraphOps(graph).relations_touching(["city"], ALICE, fanout=3, keep=keep)
    return sorted(r.source_id for r in found)


def fan_reads(graph) -> list[str]:
    """Record the statements ``graph`` runs from now on."""
    names: list[str] = []
    graph.tracer = lambda name, text, params: names.append(name)
    return names


def test_a_hub_is_read_once_until_another_process_changes_it(stores):
    reader, writer = stores
    writer.write(town(range(10, 30)))
    statements = fan_reads(reader)
    assert residents(reader) == ["p010", "p011", "p012"]
    assert residents(reader) == ["p010", "p011", "p012"]
    assert statements.count("relations_fan") == 1  # the second search kept the first's read

    # Another connection (another process) adds a resident whose fact sorts first: the
    # reader's next search sees it, though its own store wrote nothing.
    writer.write(GraphBatch(facts=[], entities=[person(1)], relations=[lives(1, "f001")]))
    assert residents(reader) == ["p001", "p010", "p011"]
    # ... and one invalidated: it leaves the hub's fan at once.
    writer.write(GraphBatch(relations=[lives(10, invalid_at="2025-01-01T00:00:00.000000Z")]))
    assert residents(reader) == ["p001", "p011", "p012"]
    assert statements.count("relations_fan") == 3


def test_a_transaction_that_writes_nothing_keeps_the_fans(stores):
    """The engine opens a graph transaction for every step, payload-only ones too (access
    counts, flushed every few seconds while searches run): those must not drop the fans."""
    reader, writer = stores
    writer.write(town(range(10, 30)))
    statements = fan_reads(reader)
    assert residents(reader) == ["p010", "p011", "p012"]
    with writer.transaction() as tx:
        tx.run("graph_counts", {"user_id": "alice", "agent_id": "", "run_id": ""})
    assert residents(reader) == ["p010", "p011", "p012"]
    assert statements.count("relations_fan") == 1


def test_relations_to_named_entities_are_read_for_each_query(stores):
    reader, writer = stores
    writer.write(town(range(10, 30)))
    assert residents(reader) == ["p010", "p011", "p012"]
    # p025 is past the cap, but the query names it: kept, from the same cached fan.
    assert residents(reader, keep=["p025"]) == ["p010", "p011", "p012", "p025"]
    assert residents(reader, keep=["p026"]) == ["p010", "p011", "p012", "p026"]


def test_a_fan_read_whole_needs_no_second_read_for_named_entities(stores):
    reader, writer = stores
    writer.write(town(range(10, 12)))  # two residents, under the cap of three
    statements = fan_reads(reader)
    assert residents(reader, keep=["p011"]) == ["p010", "p011"]
    assert "relations_joining" not in statements


def test_reads_inside_a_transaction_that_rolls_back_are_not_kept(stores):
    reader, writer = stores
    writer.write(town(range(10, 30)))
    with pytest.raises(RuntimeError), reader.transaction() as tx:
        tx.run("entity_upsert", {"rows": [entity_row(person(2))]})
        tx.run("relation_upsert", {"rows": [relation_row(lives(2, "f002"))]})
        assert "p002" in residents(reader)  # the transaction sees its own write
        raise RuntimeError("the caller gives up")
    assert residents(reader) == ["p010", "p011", "p012"]


def test_a_reset_database_is_read_again(stores):
    reader, writer = stores
    writer.write(town(range(10, 30)))
    assert residents(reader) == ["p010", "p011", "p012"]
    writer.reset()
    writer.write(town(range(40, 45)))
    assert residents(reader) == ["p040", "p041", "p042"]


def test_the_cache_is_bounded_and_keeps_nothing_without_a_token():
    cache = FanCache(max_rows=5)
    assert cache.take("t1", ["a", "b"]) == ({}, ["a", "b"])  # a read learns the token first
    cache.put("t1", {"a": [{"id": 1}] * 3, "b": [{"id": 2}] * 2})
    assert cache.take("t1", ["a", "b"])[1] == []
    cache.put("t1", {"c": [{"id": 3}] * 2})  # 7 rows: the least recently used goes
    found, missing = cache.take("t1", ["a", "b", "c"])
    assert sorted(found) == ["b", "c"] and missing == ["a"]
    assert cache.take("t2", ["b"]) == ({}, ["b"])  # a new token: everything read again
    cache.put("t1", {"b": [{"id": 2}]})  # read under an older token: not kept
    assert cache.take("t2", ["b"]) == ({}, ["b"])
    cache.put(None, {"b": [{"id": 2}]})
    assert cache.take(None, ["b"]) == ({}, ["b"])
    # A read with no token (inside a transaction) neither uses nor empties what is kept.
    cache.put("t2", {"b": [{"id": 2}]})
    assert cache.take(None, ["b"]) == ({}, ["b"])
    assert cache.take("t2", ["b"])[1] == []


def test_fans_read_under_another_token_than_the_check_are_not_kept():
    """On a cluster the token check and the fans' read may reach two members: the fans
    come with the token of their own read, and are kept only when it is the checked one."""
    row = {"entity_id": "city", "id": "r1", "name": "lives_in", "source_id": "p1",
           "target_id": "city"}  # fmt: skip

    def read(token):
        return lambda ids: (token, [dict(row)])

    def joining(ids, keep):
        raise AssertionError("no named entities here")

    cache = FanCache()
    found = cache.capped("t1", ["city"], 3, (), "rules", read("t2"), joining)
    assert [r["id"] for r in found] == ["r1"]  # answered, but not kept: read elsewhere
    assert cache.take("t1", [("city", 3, "rules")])[1] == [("city", 3, "rules")]
    cache.capped("t1", ["city"], 3, (), "rules", read("t1"), joining)
    assert cache.take("t1", [("city", 3, "rules")])[1] == []


def test_one_search_reads_the_graph_token_once(stores):
    """A search's walk checks its hubs' kept fans at each hop; each check was a round trip
    to the server for the token. Inside ``GraphOps.reading()`` (what a search runs in)
    the first check's token serves the rest; the next block reads it again."""
    reader, writer = stores
    writer.write(town(range(10, 30)))
    assert residents(reader) == ["p010", "p011", "p012"]  # the hub's fan is kept
    statements = fan_reads(reader)
    with GraphOps(reader).reading():
        assert residents(reader) == ["p010", "p011", "p012"]
        assert residents(reader) == ["p010", "p011", "p012"]
    assert statements == ["graph_token"]
    # Another process's write is seen by the next block, whose token is read anew (and
    # the changed hub read again, with the token in the same transaction).
    writer.write(GraphBatch(facts=[], entities=[person(1)], relations=[lives(1, "f001")]))
    with GraphOps(reader).reading():
        assert residents(reader) == ["p001", "p010", "p011"]
        assert residents(reader) == ["p001", "p010", "p011"]
    assert statements.count("graph_token") == 3 and statements.count("relations_fan") == 1
    # Outside a block, every check reads it.
    residents(reader)
    residents(reader)
    assert statements.count("graph_token") == 5


def test_a_search_on_the_bolt_backend_reads_the_token_once(bolt_server, tmp_path):
    """Two hops (Bob -> Carl -> Acme), each checking its kept fans: one token read."""
    from graphmem import Memory

    options = {"neo4j_uri": bolt_server.uri, "neo4j_user": bolt_server.user,
               "neo4j_password": bolt_server.password,
               "neo4j_database": bolt_server.database}  # fmt: skip
    with Memory.open(tmp_path, embedder="hash", graph="neo4j", **options) as m:
        m.graph_store.reset()
        m.add_triples([("Bob", "brother", "Carl"), ("Carl", "works_at", "Acme")],
                      user_id="alice")  # fmt: skip
        counts = []
        for recipe in ("graph", "hybrid"):
            m.search("Where does Bob's brother work?", user_id="alice", recipe=recipe)
            statements = fan_reads(m.graph_store)  # the fans are kept: a warm search
            hits = m.search("Where does Bob's brother work?", user_id="alice", recipe=recipe)
            assert hits and "Carl works at Acme" in hits[0].text
            counts.append(statements.count("graph_token"))
        m.graph_store.reset()
    assert counts == [1, 1]  # it was 2 each: one per hop
