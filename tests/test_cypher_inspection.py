"""Users' own Cypher: read-only by default, scoped by construction, errors made clear."""

from __future__ import annotations

import pytest

from graphmem import Memory, QueryError, ReadOnlyError, ValidationError, cypher_lexer
from graphmem.cypher_lexer import check_read_only


@pytest.fixture(scope="module")
def mem(tmp_path_factory):
    m = Memory.open(tmp_path_factory.mktemp("cy"), embedder="hash", extractor="offline")
    m.add("Bob is Alice's brother.", user_id="a")
    m.add("Bob lives in Paris.", user_id="a")
    m.add("Carol works at Acme.", user_id="b")
    m.add("Dave lives in Rome.", user_id="b")
    m.add("Erin lives in Oslo.", user_id="b", run_id="r1")
    yield m
    m.close()


def counts(m: Memory) -> list[dict]:
    return m.cypher(
        "MATCH (n) WITH count(n) AS nodes MATCH ()-[x]->() RETURN nodes, count(x) AS edges"
    )


WRITES = [
    "CREATE (:Entity {id: 'x', name: 'Mallory'})",
    "MERGE (e:Entity {id: 'x'}) RETURN e",
    "MATCH (e:Entity) DETACH DELETE e",
    "MATCH (e:Entity) SET e.name = 'Mallory'",
    "MATCH (e:Entity) REMOVE e.name",
    "DROP TABLE Entity",
    "match (e:Entity) set e.name = 'lower case too'",
    "MATCH (e:Entity) RETURN e.name; CREATE (:Entity {id: 'y'})",
    "COMMIT",
]


@pytest.mark.parametrize("statement", WRITES)
@pytest.mark.parametrize("scope", [{}, {"user_id": "a"}])
def test_read_only_refuses_writes_and_nothing_changes(mem, statement, scope):
    before = counts(mem)
    with pytest.raises(ReadOnlyError) as info:
        mem.cypher(statement, **scope)
    assert "read-only" in str(info.value) or "one statement" in str(info.value)
    assert counts(mem) == before


def test_the_backend_refuses_a_write_the_lexical_check_missed(mem):
    before = counts(mem)
    with pytest.raises(ReadOnlyError):  # straight to the store: only its transaction guards
        mem.graph_store.cypher("CREATE (:Entity {id: 'sneaky'})", read_only=True)
    assert counts(mem) == before


NAMED_PATH = "MATCH p=(a:Entity)-[:RELATES*1..2]->(b:Entity) {} RETURN count(p) AS paths"


@pytest.mark.parametrize("scope", [{}, {"user_id": "a"}])
def test_a_named_path_is_read_and_a_write_beside_it_still_refused(mem, monkeypatch, scope):
    """Kuzu ends a named path's pipeline with a DUMMY_SINK, which the plan guard refused as
    "would read or write files ... or change data"; the same pattern unnamed was served."""
    unnamed = "MATCH (a:Entity)-[:RELATES*1..2]->(b:Entity) RETURN count(*) AS paths"
    expected = mem.cypher(unnamed, **scope)
    assert expected[0]["paths"] > 0
    assert mem.cypher(NAMED_PATH.format(""), **scope) == expected
    before = counts(mem)
    monkeypatch.setattr(cypher_lexer, "check_read_only", lambda text: None)  # the plan alone
    for write in ("CREATE (:Entity {id: 'np'})", "SET a.name = 'Mallory'"):
        with pytest.raises(ReadOnlyError, match="engine's plan"):
            mem.cypher(NAMED_PATH.format(write), **scope)
    assert counts(mem) == before


@pytest.mark.parametrize("scope", [{}, {"user_id": "a"}])
def test_a_path_comes_back_as_its_nodes_and_relationships(mem, scope):
    """Every key of Kuzu's path value starts with "_", and all such keys were dropped as
    internal: ``RETURN p`` gave {}. Now the shape the Neo4j store gives, and a map the
    user builds keeps its own keys."""
    rows = mem.cypher("MATCH p=(a:Entity)-[r:RELATES]->(b:Entity) WHERE a.name = 'Bob' "
                      "AND b.name = 'Paris' RETURN p", **scope)  # fmt: skip
    assert len(rows) == 1
    path = rows[0]["p"]
    assert [n["name"] for n in path["nodes"]] == ["Bob", "Paris"]
    assert [r["name"] for r in path["relationships"]] == ["lives_in"]
    assert not any(k.startswith("_") for n in path["nodes"] for k in n)  # internals dropped
    assert mem.cypher("RETURN {_x: 1, y: 2} AS m", **scope) == [{"m": {"_x": 1, "y": 2}}]


@pytest.mark.parametrize(
    "text",
    [
        "MATCH (e:Entity) WHERE e.name = 'CREATE' RETURN e",  # a keyword inside a string
        "MATCH (e:Entity) RETURN e.created_at // DELETE in a comment",
        "MATCH (e:Entity) RETURN e.`set` AS s",
    ],
)
def test_lexical_check_ignores_strings_comments_and_names(text):
    check_read_only(text)


def test_scoped_statements_see_only_their_scope(mem):
    def names(**scope):
        rows = mem.cypher("MATCH (e:Entity) RETURN e.name AS name ORDER BY name", **scope)
        return [r["name"] for r in rows]

    assert names(user_id="a") == ["Alice", "Bob", "Paris"]
    assert names(user_id="b", run_id="r1") == ["Erin", "Oslo"]
    assert set(names(user_id="b")) == {"Carol", "Acme", "Dave", "Rome", "Erin", "Oslo"}
    assert set(names()) >= {"Alice", "Carol", "Erin"}  # unscoped: the operator's view


def test_scoped_aggregates_count_only_the_scope(mem):
    query = "MATCH (f:Fact) WITH count(f) AS facts MATCH ()-[x:RELATES]->() RETURN facts, count(x) AS rels"
    assert mem.cypher(query, user_id="a") == [{"facts": 2, "rels": 2}]
    assert mem.cypher(query, user_id="b") == [{"facts": 3, "rels": 3}]
    everything = mem.cypher(query)[0]
    assert everything["facts"] >= 5 and everything["rels"] >= 5


def test_parameters_are_passed_and_checked(mem):
    rows = mem.cypher("MATCH (e:Entity) WHERE e.name = $n RETURN e.name AS name", {"n": "Bob"},
                      user_id="a")  # fmt: skip
    assert rows == [{"name": "Bob"}]
    with pytest.raises(ValidationError) as info:
        mem.cypher("MATCH (e) RETURN e", {1: "x"}, user_id="a")
    assert info.value.field == "params"
    # A name with a lone surrogate reached the driver's C++ cast ("Unable to cast").
    with pytest.raises(ValidationError, match="lone surrogate") as info:
        mem.cypher("RETURN 1 AS x", {"\ud800": 1})
    assert info.value.field == "params"
    # A tuple is a list, as it would be in JSON (Kuzu said "Unknown parameter type").
    for scope in ({}, {"user_id": "a"}):
        assert mem.cypher("RETURN $x AS x", {"x": (1, 2)}, **scope) == [{"x": [1, 2]}]


@pytest.mark.parametrize("scope", [{}, {"user_id": "a"}])
def test_malformed_cypher_is_a_query_error(mem, scope):
    with pytest.raises(QueryError) as info:
        mem.cypher("MATCH (e:Entity RETURN e", **scope)
    assert not isinstance(info.value, ReadOnlyError)


@pytest.mark.parametrize("scope", [{}, {"user_id": "a"}])
def test_a_parse_error_quotes_the_users_own_statement(mem, scope):
    """The plan check runs ``EXPLAIN <statement>``: its quote and offset were of that."""
    with pytest.raises(QueryError) as info:
        mem.cypher("MATCH (e:Entity RETURN e", **scope)
    message = str(info.value)
    assert '"MATCH (e:Entity RETURN e"' in message and "EXPLAIN" not in message
    assert "offset: 16)" in message  # where RETURN starts
    quote, caret = message.split("\n")[-2:]
    assert quote[caret.index("^")] == "R"


@pytest.mark.parametrize("scope", [{}, {"user_id": "a"}])
@pytest.mark.parametrize(
    ("query", "params", "field", "said"),
    [
        ("RETURN $x AS x", {"x": 2**63}, "params.x", "64-bit"),
        ("RETURN $x AS x", {"x": [1, -(2**64)]}, "params.x[1]", "64-bit"),
        ("RETURN $x AS x", {"x": []}, "params", "a list that is empty"),
        # It said "an empty list ([])" of a list that held two values.
        ("RETURN $x AS x", {"x": [None, None]}, "params", "or holds only nulls"),
        ("RETURN 1 AS one", {"u": "x"}, "params.u", "no $u"),
        # Maps reached Kuzu's type inference in C++: the first two killed the process
        # (segmentation fault), the third failed an internal assertion.
        ("RETURN $x AS x", {"x": {"a": [None, {"b": 1.5}]}}, "params.x", "map"),
        ("RETURN $x AS x", {"x": [{"b": 1}, None]}, "params.x[0]", "map"),
        ("RETURN $x AS x", {"x": {"a": None}}, "params.x", "map"),
        ("RETURN $x AS x", {"x": [1, "a"]}, "params.x", "mixes number and string"),
        ("RETURN $x AS x", {"x": [[1], ["a"]]}, "params.x", "mixes"),
        ("RETURN $x AS x", {"x": [1, {2, 3}]}, "params.x[1]", "got set"),
        # No $name can read these: the engine's "Parameter p q not found." came through.
        ("RETURN 1 AS one", {"": 1}, "params", "'' is no parameter name"),
        ("RETURN 1 AS one", {"p q": 1}, "params", "'p q' is no parameter name"),
    ],
)
def test_a_bad_parameter_is_named_not_the_drivers_words(mem, scope, query, params, field, said):
    with pytest.raises(ValidationError) as info:
        mem.cypher(query, params, **scope)
    assert info.value.field == field and said in str(info.value)
    assert "pybind" not in str(info.value).lower() and "should not happen" not in str(info.value)


@pytest.mark.parametrize("scope", [{}, {"user_id": "a"}])
def test_lists_of_one_kind_pass_with_their_nulls(mem, scope):
    rows = mem.cypher("RETURN $x AS x, $y AS y, $z AS z",
                      {"x": [1, None, 2.5], "y": [["a"], ["b", None]], "z": None}, **scope)  # fmt: skip
    assert rows == [{"x": [1.0, None, 2.5], "y": [["a"], ["b", None]], "z": None}]


@pytest.mark.parametrize(("query", "field"), [("", "query"), (None, "query"), (42, "query")])
def test_bad_statement_names_the_field(mem, query, field):
    with pytest.raises(ValidationError) as info:
        mem.cypher(query, user_id="a")
    assert info.value.field == field


def test_write_needs_the_flag_and_no_scope(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add("Bob lives in Paris.", user_id="w")
        with pytest.raises(ValidationError) as info:
            m.cypher("MATCH (e:Entity) SET e.type = 'x'", user_id="w", write=True)
        assert info.value.field == "write"
        m.cypher("MATCH (e:Entity {name: 'Bob'}) SET e.type = 'robot'", write=True)
        assert m.graph.entity("Bob", user_id="w").type == "robot"
        # A result with a date is read twice (kuzu_values.py): a write is not run twice,
        # nor at all, and says how to return the date.
        with pytest.raises(QueryError, match="string"):
            m.cypher("MATCH (e:Entity {name: 'Bob'}) SET e.type = e.type + '!' "
                     "RETURN date('2024-01-01') AS d", write=True)  # fmt: skip
        assert m.graph.entity("Bob", user_id="w").type == "robot"


_DATES = r"""
import json, sys
from graphmem import Memory, QueryError
m = Memory.open(sys.argv[1], embedder="hash", extractor="offline")
m.add("Alice lives in Paris.", user_id="a")
said = []
for scope in ({}, {"user_id": "a"}):
    for statement in ("RETURN date('10000-01-01') AS x",
                      "RETURN [timestamp('9999-12-31 23:59:59') + interval('1 day')] AS x",
                      "RETURN {a: date('0001-01-01') - interval('1 day')} AS x",
                      "RETURN map([[1], [2]], ['a', 'b']) AS x"):
        try:
            m.cypher(statement, **scope)
            said.append("answered")
        except QueryError as exc:
            said.append(str(exc))
    said.append(m.cypher("RETURN date('2024-01-02') AS d, interval('1 day') AS i", **scope))
print(json.dumps(said, default=str))
"""


def test_a_value_python_cannot_hold_is_a_query_error_not_a_crash(tmp_path):
    """Kuzu turned ``date('10000-01-01')`` into a Python date with a segmentation fault:
    one admin request ended ``graphmem serve``. Run in a child, so a crash fails this
    test rather than the whole run."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _DATES, str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    said = json.loads(done.stdout.strip().splitlines()[-1])
    for part in (said[:4], said[5:9]):  # unscoped, then scoped (the child's copy)
        assert all("outside years 1-9999" in s and "string(" in s for s in part[:3]), part
        assert "map_keys" in part[3], part[3]
    # Dates inside the range still come back as dates.
    assert said[4] == said[9] == [{"d": "2024-01-02", "i": "1 day, 0:00:00"}]
