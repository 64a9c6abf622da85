"""A relationship's fact ids on Kuzu: kept as JSON text, read back as a list, and a graph
written by an earlier graphmem (a STRING[] column) still read and written as before."""

from __future__ import annotations

import kuzu
import pytest

from graphmem.models import GraphBatch, Scope
from graphmem.stores.graph_ops import GraphOps
from graphmem.stores.kuzu import KuzuGraphStore
from tests.test_graph_conformance import ALICE, ent, fact, rel, world

OLD_RELATES = (
    "CREATE REL TABLE RELATES(FROM Entity TO Entity, id STRING, name STRING, rel_type STRING, "
    "fact_ids STRING[], user_id STRING, agent_id STRING, run_id STRING, created_at STRING, "
    "valid_at STRING, invalid_at STRING)"
)


def fact_ids_type(path) -> str:
    conn = kuzu.Connection(kuzu.Database(str(path / "graph.kuzu"), read_only=True))
    info = conn.execute("CALL table_info('RELATES') RETURN name, type").get_all()
    return dict(info)["fact_ids"]


def old_graph(path) -> None:
    """The RELATES table as graphmem created it before fact ids became text."""
    path.mkdir(parents=True)
    db = kuzu.Database(str(path / "graph.kuzu"))
    conn = kuzu.Connection(db)
    conn.execute("CREATE NODE TABLE Entity(id STRING PRIMARY KEY, name STRING, type STRING, "
                 "aliases STRING[], keys STRING[], user_id STRING, agent_id STRING, "
                 "run_id STRING, created_at STRING, valid_at STRING, invalid_at STRING)")  # fmt: skip
    conn.execute(OLD_RELATES)
    conn.close()
    db.close()


def relations(store, scope=ALICE) -> dict[str, list[str]]:
    return {r.id: r.fact_ids for r in GraphOps(store).export(scope)[2]}


@pytest.mark.parametrize("made_by", ["this version", "an earlier version"])
def test_fact_ids_survive_every_read_path_and_a_reopen(tmp_path, made_by):
    path = tmp_path / "graph"
    if made_by == "an earlier version":
        old_graph(path)
    store = KuzuGraphStore(path)
    try:
        store.write(world())
        # A relation gains a supporting fact later (the merge path, not the create path).
        extra = fact("a-f4", "Alice still knows Bob")
        alice, bob = ent("a-alice", "Alice"), ent("a-bob", "Bob")
        knows = rel("a-knows", alice, bob, "knows", ["a-f1", "a-f2", "a-f4"])
        store.write(GraphBatch([extra], [], [knows], [("a-f4", "a-alice")]))
        expected = {"a-works": ["a-f1"], "a-knows": ["a-f1", "a-f2", "a-f4"],
                    "a-worked": ["a-f3"]}  # fmt: skip
        assert relations(store) == expected
        assert [r.fact_ids for _, r in GraphOps(store).supported_by(["a-f4"])] == [
            ["a-f1", "a-f2", "a-f4"]
        ]
        # Forgetting a fact rewrites the list of what still supports the relation.
        GraphOps(store).remove_facts(["a-f2"])
        expected["a-knows"] = ["a-f1", "a-f4"]
        assert relations(store) == expected
        # Inspection returns the list, as a property and inside a whole relationship.
        rows = store.cypher("MATCH ()-[x:RELATES]->() WHERE x.id = 'a-knows' "
                            "RETURN x, x.fact_ids, x.fact_ids AS ids, x.name AS name")  # fmt: skip
        assert rows == [{"x": rows[0]["x"], "x.fact_ids": ["a-f1", "a-f4"],
                         "ids": ["a-f1", "a-f4"], "name": "knows"}]  # fmt: skip
        assert rows[0]["x"]["fact_ids"] == ["a-f1", "a-f4"]
    finally:
        store.close()
    reopened = KuzuGraphStore(path)
    try:
        assert relations(reopened) == expected
        assert relations(reopened, Scope.of(user_id="bob")) == {}
    finally:
        reopened.close()
    # New graphs keep the text column (checkpoints stay flat, kuzu_lists.py); an older
    # graph is left with the column it had, not rewritten behind the user's back.
    assert fact_ids_type(path) == ("STRING" if made_by == "this version" else "STRING[]")


def test_fact_ids_that_look_like_json_or_hold_quotes_round_trip(tmp_path):
    store = KuzuGraphStore(tmp_path / "graph")
    try:
        odd = ['["not", "a list"]', 'say "hi"', "comma, separated", "ünïcode", ""]
        alice, bob = ent("a-alice", "Alice"), ent("a-bob", "Bob")
        store.write(GraphBatch([fact(i or "blank", "x") for i in odd], [alice, bob],
                               [rel("r", alice, bob, "knows", odd)], []))  # fmt: skip
        assert relations(store) == {"r": odd}
    finally:
        store.close()
