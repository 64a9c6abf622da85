"""The engine-side guard holds on its own: with the lexical allow-list switched off (as if
it misread a statement), no file is read or written, nothing is attached or exported and
later writes still work, on Kuzu (scoped and unscoped) and on the Bolt server.
"""

from __future__ import annotations

import uuid

import pytest

from graphmem import GraphMemError, Memory, QueryError, cypher_lexer
from graphmem.stores.neo4j import Neo4jGraphStore

SCOPES = [pytest.param({}, id="unscoped"), pytest.param({"user_id": "alice"}, id="scoped")]
KUZU_ATTACKS = [
    "LOAD FROM '{secret}' RETURN *",
    "MATCH (f:Fact) WITH f LOAD FROM '{secret}' RETURN *",
    "COPY (MATCH (f:Fact) RETURN f.text) TO '{out}'",
    "EXPORT DATABASE '{out}'",
    "ATTACH '{other}' AS other (dbtype kuzu)",
    "USE other",
    "INSTALL json",
    "CALL timeout=0",
    "CREATE (:Entity {{id: 'planted'}})",
    "RETURN 1; COPY (RETURN 1) TO '{out}'",
]


@pytest.fixture
def no_lexer(monkeypatch):
    """Every statement passes the lexical check: only the engine-side guard is left."""
    monkeypatch.setattr(cypher_lexer, "check_read_only", lambda text: None)


def seen_by(m: Memory, text: str, **scope) -> str:
    try:
        return repr(m.cypher(text, **scope))
    except GraphMemError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture
def files(tmp_path):
    secret = f"SENTINEL-{uuid.uuid4().hex}"
    (tmp_path / "secret.csv").write_text(f"{secret},x\n", encoding="utf-8")
    other_secret = f"OTHER-{uuid.uuid4().hex}"
    with Memory.open(tmp_path / "other", embedder="hash", extractor="offline") as other:
        other.add(f"Mallory keeps {other_secret}.", infer=False, user_id="mallory")
    return {
        "secret": secret, "other_secret": other_secret,
        "names": {"secret": tmp_path / "secret.csv", "out": tmp_path / "out",
                  "other": tmp_path / "other" / "graph" / "graph.kuzu"},
    }  # fmt: skip


def check_contained(m: Memory, files, seen: str) -> None:
    assert files["secret"] not in seen and files["other_secret"] not in seen
    out = files["names"]["out"]
    # Kuzu creates an EXPORT's target folder while it plans the statement: an empty
    # folder may remain, never a file.
    assert not out.is_file() and not (out.is_dir() and any(out.iterdir()))
    texts = [r["t"] for r in m.cypher("MATCH (f:Fact) RETURN f.text AS t")]
    assert files["other_secret"] not in repr(texts) and "planted" not in seen_by(
        m, "MATCH (e:Entity {id: 'planted'}) RETURN e.id"
    )


@pytest.mark.parametrize("scope", SCOPES)
def test_kuzu_plan_guard_alone_stops_every_attack(tmp_path, files, no_lexer, scope):
    with Memory.open(tmp_path / "mine", embedder="hash", extractor="offline") as m:
        m.add("Alice likes tea.", infer=False, user_id="alice")
        for attack in KUZU_ATTACKS:
            seen = seen_by(m, attack.format(**files["names"]), **scope)
            assert seen.startswith(("ReadOnlyError", "QueryError")), (attack, seen)
            check_contained(m, files, seen)
        assert len(m.add("Bob likes coffee.", infer=False, user_id="alice").facts) == 1
        assert m.cypher("MATCH (f:Fact) RETURN count(f) AS n", user_id="alice") == [{"n": 2}]


@pytest.fixture
def bolt_memory(bolt_server, tmp_path):
    store = Neo4jGraphStore(bolt_server.uri, bolt_server.user, bolt_server.password,
                            database=bolt_server.database)  # fmt: skip
    store.reset()
    m = Memory.open(tmp_path / "bolt", graph=store, embedder="hash", extractor="offline",
                    cypher_timeout=1.0, cypher_max_rows=50)  # fmt: skip
    m.add("Alice likes tea.", infer=False, user_id="alice")
    m.add(f"Bob hides BOB-{uuid.uuid4().hex}.", infer=False, user_id="bob")
    yield m
    m.close()


BOLT_ATTACKS = [
    "LOAD CSV FROM 'file://{secret}' AS line RETURN line",
    "MATCH (f:Fact) WITH f LOAD CSV FROM 'file://{secret}' AS line RETURN line",
    "CALL db.labels() YIELD label LOAD CSV FROM 'file://{secret}' AS l RETURN l",
    "CREATE (:Entity {{id: 'planted'}})",
    "MATCH (f:Fact) SET f.text = 'planted'",
    "MATCH (f:Fact) DETACH DELETE f",
    "CALL dbms.components() YIELD name RETURN name",
]


@pytest.mark.parametrize("lexer", ["on", "off"])
def test_bolt_guards_stop_file_reads_and_writes(bolt_memory, files, monkeypatch, lexer):
    if lexer == "off":
        monkeypatch.setattr(cypher_lexer, "check_read_only", lambda text: None)
    m = bolt_memory
    for attack in BOLT_ATTACKS:
        for scope in ({}, {"user_id": "alice"}):
            seen = seen_by(m, attack.format(**files["names"]), **scope)
            assert seen.startswith(("ReadOnlyError", "QueryError")), (attack, seen)
            assert files["secret"] not in seen and "BOB-" not in (seen if scope else "")
    texts = sorted(r["t"] for r in m.cypher("MATCH (f:Fact) RETURN f.text AS t"))
    assert texts[0] == "Alice likes tea." and len(texts) == 2
    assert len(m.add("Carol likes jazz.", infer=False, user_id="alice").facts) == 1


def test_bolt_statement_stops_at_the_time_limit(bolt_memory):
    # Sized so that ArcadeDB, which ignores transaction timeouts, finishes on its own soon
    # after the caller has been answered.
    # No range past 10,000 values runs without a scope (cypher_budget.py): the rows come
    # from the graph's few nodes, a few million of them.
    text = ("UNWIND range(1, 100) AS a UNWIND range(1, 100) AS b MATCH (c), (d), (e), (f) "
            "WHERE a * b + size(c.id + d.id + e.id + f.id) = -1 RETURN count(*) AS n")  # fmt: skip
    with pytest.raises(QueryError, match="time limit"):
        bolt_memory.cypher(text)
    with pytest.raises(QueryError, match="more than 50 rows"):
        bolt_memory.cypher("UNWIND range(1, 51) AS x RETURN x")
    assert bolt_memory.cypher("MATCH (f:Fact) RETURN count(f) AS n", user_id="alice") == [{"n": 1}]
