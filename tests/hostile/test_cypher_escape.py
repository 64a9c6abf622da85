"""Hostile Cypher through ``Memory.cypher``: no file read or written, nothing attached or
exported, no other scope's row, one statement, a time and a row limit (issue 20).

Every named case below got through on the commit before this suite (b8430ad): a ``//``
comment holding a quote made the old check read the rest of the text as a string.
"""

from __future__ import annotations

import uuid

import pytest

from graphmem import GraphMemError, Memory, QueryError, ReadOnlyError

IT_S = "// it's\n"  # the comment that hid everything after it from the old check
LIMITS = {"cypher_timeout": 1.0, "cypher_max_rows": 50}


@pytest.fixture
def world(tmp_path):
    """A memory store with two scopes, another data dir with its own secret, and a file
    holding a unique secret that no statement may ever read."""
    secret = f"SENTINEL-{uuid.uuid4().hex}"
    (tmp_path / "secret.csv").write_text(f"{secret},x\n", encoding="utf-8")
    other_secret = f"OTHER-{uuid.uuid4().hex}"
    with Memory.open(tmp_path / "other", embedder="hash", extractor="offline") as other:
        other.add(f"Mallory keeps {other_secret}.", infer=False, user_id="mallory")
    m = Memory.open(tmp_path / "mine", embedder="hash", extractor="offline", **LIMITS)
    m.add("Alice likes tea.", infer=False, user_id="alice")
    bob_secret = f"BOB-{uuid.uuid4().hex}"
    m.add(f"Bob hides {bob_secret}.", infer=False, user_id="bob")
    yield {"m": m, "tmp": tmp_path, "secret": secret, "other_secret": other_secret,
           "bob_secret": bob_secret, "other_graph": tmp_path / "other" / "graph" / "graph.kuzu"}  # fmt: skip
    m.close()


def attempt(m: Memory, text: str, **scope) -> str:
    """Everything a caller learns from one statement: its rows or its error message."""
    try:
        return repr(m.cypher(text, **scope))
    except GraphMemError as exc:
        return f"{type(exc).__name__}: {exc}"


SCOPES = [pytest.param({}, id="unscoped"), pytest.param({"user_id": "alice"}, id="scoped")]


def fact_texts(m: Memory) -> list[str]:
    return [r["t"] for r in m.cypher("MATCH (f:Fact) RETURN f.text AS t")]


@pytest.mark.parametrize("scope", SCOPES)
def test_comment_with_a_quote_does_not_hide_a_clause(world, scope):
    """The inspection itself must see the clause after the comment and name it (before,
    only the engine's read-only transaction stood in the way of a write)."""
    m = world["m"]
    with pytest.raises(ReadOnlyError, match="CREATE is refused"):
        m.cypher(f"{IT_S}CREATE (:Entity {{id: 'x'}})", **scope)
    assert "x" not in {r["id"] for r in m.cypher("MATCH (e:Entity) RETURN e.id AS id")}


@pytest.mark.parametrize("scope", SCOPES)
def test_load_from_reads_no_file(world, scope):
    path = world["tmp"] / "secret.csv"
    seen = attempt(world["m"], f"{IT_S}LOAD FROM '{path}' RETURN *", **scope)
    assert world["secret"] not in seen and seen.startswith("ReadOnlyError")


@pytest.mark.parametrize("scope", SCOPES)
def test_copy_to_writes_no_file(world, scope):
    out = world["tmp"] / "copied.csv"
    seen = attempt(world["m"], f"{IT_S}COPY (MATCH (f:Fact) RETURN f.text) TO '{out}'", **scope)
    assert seen.startswith("ReadOnlyError") and not out.exists()


@pytest.mark.parametrize("scope", SCOPES)
def test_export_database_writes_nothing(world, scope):
    out = world["tmp"] / "exported"
    seen = attempt(world["m"], f"{IT_S}EXPORT DATABASE '{out}'", **scope)
    assert seen.startswith("ReadOnlyError") and not out.exists()


@pytest.mark.parametrize("scope", SCOPES)
def test_attach_of_another_data_dir_returns_none_of_its_facts(world, scope):
    m = world["m"]
    seen = attempt(m, f"{IT_S}ATTACH '{world['other_graph']}' AS other (dbtype kuzu)", **scope)
    assert seen.startswith("ReadOnlyError")
    after = attempt(m, "MATCH (f:Fact) RETURN f.text AS t", **scope)
    assert world["other_secret"] not in after and "Alice likes tea." in after


def test_unscoped_attach_leaves_later_adds_working(world):
    m = world["m"]
    attempt(m, f"{IT_S}ATTACH '{world['other_graph']}' AS other (dbtype kuzu)")
    attempt(m, f"{IT_S}USE other")
    result = m.add("Carol likes jazz.", infer=False, user_id="alice")
    assert len(result.facts) == 1
    assert "Carol likes jazz." in fact_texts(m)
    assert world["other_secret"] not in fact_texts(m)


@pytest.mark.parametrize("scope", SCOPES)
def test_only_one_statement_per_call(world, scope):
    out = world["tmp"] / "second.csv"
    text = f"RETURN 1 AS x {IT_S}; COPY (RETURN 'pwned' AS y) TO '{out}'"
    seen = attempt(world["m"], text, **scope)
    assert seen.startswith("ReadOnlyError") and "one statement" in seen
    assert not out.exists()
    assert world["m"].cypher("MATCH (f:Fact) RETURN count(f) AS n;", **scope)  # one `;` is fine


@pytest.mark.parametrize("scope", SCOPES)
def test_cartesian_product_stops_at_the_time_limit(world, scope):
    text = ("UNWIND range(1, 1000000) AS a UNWIND range(1, 1000000) AS b "
            "WITH a, b WHERE a * b = -1 RETURN count(*) AS n")  # fmt: skip
    if not scope:  # in this process no range past 10,000 values runs (cypher_budget.py)
        text = ("UNWIND range(1, 100) AS a UNWIND range(1, 100) AS b MATCH (c), (d), (e), "
                "(f), (g), (h) WHERE a * b + size(c.id + d.id + e.id + f.id + g.id + h.id) "
                "= -1 RETURN count(*) AS n")  # fmt: skip
    with pytest.raises(QueryError, match="time limit"):
        world["m"].cypher(text, **scope)
    assert world["m"].cypher("RETURN 1 AS one", **scope) == [{"one": 1}]  # still usable


def test_row_limit_is_a_clear_error(world):
    with pytest.raises(QueryError, match="more than 50 rows"):
        world["m"].cypher("UNWIND range(1, 51) AS x RETURN x")
    assert len(world["m"].cypher("UNWIND range(1, 50) AS x RETURN x")) == 50


@pytest.mark.parametrize("scope", SCOPES)
def test_unterminated_text_is_a_clear_query_error(world, scope):
    for text in ("MATCH (n) RETURN 'open", "MATCH (n) RETURN n /* open", "RETURN `open"):
        with pytest.raises(QueryError, match="unterminated"):
            world["m"].cypher(text, **scope)


def test_scoped_statement_never_sees_another_scope(world):
    m = world["m"]
    for text in (
        "MATCH (f:Fact) RETURN f.text AS t",
        "MATCH (n) RETURN n",
        "CALL show_tables() RETURN *",
        "MATCH (a)-[r]->(b) RETURN a, r, b",
    ):
        assert world["bob_secret"] not in attempt(m, text, user_id="alice")


CORPUS = [
    "LOAD FROM '{secret_path}' RETURN *",
    'load from "{secret_path}" return *',
    "MATCH (f:Fact) WITH f LOAD FROM '{secret_path}' RETURN *",
    "MATCH (f:Fact) RETURN f.text UNION LOAD FROM '{secret_path}' RETURN *",
    "CALL {{ LOAD FROM '{secret_path}' RETURN * }} RETURN 1",
    "LOAD WITH HEADERS (a STRING) FROM '{secret_path}' RETURN *",
    "COPY (RETURN 1) TO '{out}'",
    "MATCH (f) /* ' */ COPY (RETURN 1) TO '{out}'",
    "RETURN '\\'' AS q // '\nCOPY (RETURN 1) TO '{out}'",
    'RETURN "\\"" AS q; COPY (RETURN 1) TO \'{out}\'',
    "RETURN `a``b` AS q; EXPORT DATABASE '{out}'",
    "EXPORT DATABASE '{out}' (format=\"csv\")",
    "IMPORT DATABASE '{out}'",
    "ATTACH '{other_graph}' AS o (dbtype kuzu)",
    "attach '{other_graph}' as o (DBTYPE KUZU)",
    "USE o",
    "INSTALL json",
    "LOAD EXTENSION json",
    "LOAD json",
    "CALL threads=1",
    "CALL timeout=0",
    "CALL show_attached_databases() RETURN *",
    "CALL current_setting('threads') RETURN *",
    "CALL read_csv('{secret_path}') RETURN *",
    "BEGIN TRANSACTION",
    "COMMIT",
    "CHECKPOINT",
    "DETACH o",
    "CREATE MACRO m(x) AS x",
    "DROP TABLE Fact",
    "ALTER TABLE Fact ADD x INT64",
    "MATCH (f:Fact) SET f.text = 'x'",
    "MATCH (f:Fact) DETACH DELETE f",
    "MERGE (e:Entity {{id: 'x'}})",
    "UNWIND [1] AS i FOREACH (x IN [i] | CREATE (:Entity {{id: 'y'}}))",
    "LOAD CSV FROM 'file://{secret_path}' AS line RETURN line",
    "EXPLAIN LOAD FROM '{secret_path}' RETURN *",
    "PROFILE LOAD FROM '{secret_path}' RETURN *",
    "MATCH (n) RETURN n;;",
    "\ufeffLOAD FROM '{secret_path}' RETURN *",
    "MATCH (n)\u2028LOAD FROM '{secret_path}' RETURN *",
    "/* */LOAD/**/FROM/**/'{secret_path}'/**/RETURN/**/*",
    "`LOAD` FROM '{secret_path}' RETURN *",
    "MATCH (n) RETURN n.`x` // `\n; LOAD FROM '{secret_path}' RETURN *",
]


def fill(template: str, world) -> str:
    return template.format(secret_path=world["tmp"] / "secret.csv", out=world["tmp"] / "out",
                           other_graph=world["other_graph"])  # fmt: skip


def assert_contained(world, seen: str) -> None:
    tmp = world["tmp"]
    for secret in (world["secret"], world["other_secret"]):
        assert secret not in seen
    out = tmp / "out"
    assert not out.is_file() and not (out.is_dir() and any(out.iterdir())), seen
    texts = fact_texts(world["m"])
    assert world["other_secret"] not in repr(texts)


@pytest.mark.parametrize("scope", SCOPES)
def test_wider_corpus_is_contained(world, scope):
    refused = 0
    for template in CORPUS:
        seen = attempt(world["m"], fill(template, world), **scope)
        assert_contained(world, seen)
        if scope:
            assert world["bob_secret"] not in seen
        refused += seen.startswith(("ReadOnlyError", "QueryError"))
    assert refused >= len(CORPUS) - 1  # only the doubled ';' statement may run
    assert len(world["m"].add("Dan likes chess.", infer=False, user_id="alice").facts) == 1


def test_default_limits_are_settings():
    from graphmem.config import Config

    config = Config.from_env({"GRAPHMEM_CYPHER_TIMEOUT": "2.5", "GRAPHMEM_CYPHER_MAX_ROWS": "7"})
    assert (config.cypher_timeout, config.cypher_max_rows) == (2.5, 7)
    assert Config().cypher_timeout > 0 and Config().cypher_max_rows >= 1000
    with pytest.raises(GraphMemError, match="cypher_max_rows"):
        Config(cypher_max_rows=0)


def test_read_queries_still_work(world):
    m = world["m"]
    rows = m.cypher("MATCH (f:Fact) WHERE f.text CONTAINS $w RETURN f.text AS t ORDER BY t",
                    {"w": "tea"}, user_id="alice")  # fmt: skip
    assert rows == [{"t": "Alice likes tea."}]
    assert m.cypher("CALL show_tables() RETURN name ORDER BY name LIMIT 1")
    assert m.cypher("MATCH (e:Entity) RETURN e.name AS x UNION ALL RETURN 'y' AS x LIMIT 1")
    text = "MATCH (f:Fact) // it's a comment\nRETURN f.text AS t /* it's */ ORDER BY t LIMIT 1"
    assert m.cypher(text, user_id="alice") == [{"t": "Alice likes tea."}]


@pytest.mark.parametrize("scope", SCOPES)
def test_union_with_parameters_does_not_crash_the_process(world, scope):
    """Kuzu 0.11.3 segfaulted preparing this statement (the engine's relations_touching)
    with a list parameter whose type it had to guess: the whole process died."""
    from graphmem.querylib import QueryLibrary

    world["m"].add("Bob is Alice's brother.", user_id="alice")  # relationships to match
    text = QueryLibrary("kuzu").get("relations_touching").text
    assert world["m"].cypher(text, {"ids": ["nobody"]}, **scope) == []
    rows = world["m"].cypher("MATCH (f:Fact) WHERE f.text CONTAINS $w RETURN f.text AS t "
                             "UNION MATCH (f:Fact) WHERE f.text CONTAINS $w RETURN f.text AS t",
                             {"w": "tea"}, **scope)  # fmt: skip
    assert rows == [{"t": "Alice likes tea."}]  # UNION keeps one of each row
