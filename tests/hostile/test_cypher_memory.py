"""A read-only statement that builds a huge value (issue 20's hostile input, continued).

Kuzu builds ``range(1, 100000000)`` whole before its time limit can stop it, outside its
buffer pool: in process that took 24 GB and the kernel killed the caller, a served
``graphmem serve`` included. Scoped statements now run in a child process that is
stopped past ``cypher_max_memory_mb``; these tests set 256 MB, so the statements below
(0.6 to over 6 GB each in process) are stopped long before they could strain the machine.
"""

from __future__ import annotations

import httpx
import pytest

from graphmem import Config, Memory, QueryError, ValidationError
from graphmem.client import Client
from graphmem.errors import ConfigError
from graphmem.testing.server import ServedMemory

BOMBS = ["UNWIND range(1, 10000000) AS x RETURN count(x) AS n",
         "RETURN size(repeat('ab', 500000000)) AS n",
         "UNWIND range(1, 20000) AS a UNWIND range(1, 1000) AS b RETURN size(collect(a)) AS n"]  # fmt: skip


@pytest.fixture
def memory(tmp_path):
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline",
                     cypher_max_memory_mb=256) as m:  # fmt: skip
        m.add("Alice lives in Paris.", user_id="alice")
        m.add("Bob lives in Oslo.", user_id="bob")
        yield m


@pytest.mark.parametrize("statement", BOMBS)
def test_a_statement_past_the_memory_limit_is_stopped_and_the_caller_lives_on(memory,
                                                                             statement):  # fmt: skip
    with pytest.raises(QueryError, match="cypher_max_memory_mb") as caught:
        memory.cypher(statement, user_id="alice")
    assert "256 MB" in str(caught.value)
    # The same Memory answers the next statement, still only with Alice's graph.
    rows = memory.cypher("MATCH (e:Entity) RETURN e.name AS name ORDER BY name",
                         user_id="alice")  # fmt: skip
    assert rows == [{"name": "Alice"}, {"name": "Paris"}]


def test_a_parameter_the_engine_cannot_take_is_refused_in_both_modes(memory):
    """Refused before any engine or child sees it, naming the parameter and its type."""
    for scope in ({}, {"user_id": "bob"}):
        for value in (lambda: 1, {1, 2}):  # a function cannot even reach the child
            with pytest.raises(ValidationError, match=type(value).__name__) as info:
                memory.cypher("RETURN $x AS x", {"x": value}, **scope)
            assert info.value.field == "params.x"


def test_what_the_statement_says_comes_back_from_the_child(memory):
    assert memory.cypher("UNWIND range(1, 3) AS x RETURN x * 2 AS y", user_id="bob") == [
        {"y": 2}, {"y": 4}, {"y": 6}]  # fmt: skip
    with pytest.raises(QueryError, match="(?i)cypher: .*function nope does not exist"):
        memory.cypher("RETURN nope(1)", user_id="bob")


def test_the_limit_is_a_setting():
    assert Config().cypher_max_memory_mb == 2048
    assert Config.from_env({"GRAPHMEM_CYPHER_MAX_MEMORY_MB": "64"}).cypher_max_memory_mb == 64
    with pytest.raises(ConfigError, match="cypher_max_memory_mb"):
        Config(cypher_max_memory_mb=0)


def test_a_served_key_cannot_take_the_server_down(tmp_path):
    env = {"GRAPHMEM_CYPHER_MAX_MEMORY_MB": "256"}
    with ServedMemory(tmp_path / "served", env=env) as server:
        key, _ = server.keys.create(user_id="alice")
        with Client(server.url, key) as client:
            client.add("Alice lives in Paris.")
        answer = httpx.post(f"{server.url}/v1/cypher", headers={"Authorization": f"Bearer {key}"},
                            json={"query": BOMBS[0]}, timeout=60)  # fmt: skip
        assert answer.status_code == 400, answer.text
        assert "cypher_max_memory_mb" in answer.json()["detail"]
        with Client(server.url, key) as client:  # the same server answers on
            assert [h.text for h in client.search("Where does Alice live?")][0] == (
                "Alice lives in Paris.")  # fmt: skip


def test_statements_side_by_side_each_get_their_own_scope(memory):
    from concurrent.futures import ThreadPoolExecutor

    asks = ["alice", "bob"] * 3
    with ThreadPoolExecutor(len(asks)) as pool:
        answers = list(pool.map(lambda user: memory.cypher(
            "MATCH (f:Fact) RETURN f.text AS text", user_id=user), asks))  # fmt: skip
    assert answers == [[{"text": "Alice lives in Paris."}], [{"text": "Bob lives in Oslo."}]] * 3


@pytest.mark.parametrize("code, errors, said", [(-9, b"", "ran out of memory"),
                                                (1, b"Segmentation fault", "status 1: Segm"),
                                                (0, b"", "status 0")])  # fmt: skip
def test_a_child_that_ends_without_its_answer_is_a_query_error(code, errors, said):
    from graphmem.cypher_child import _answer

    for cut in (b"", b"\x80\x04\x95"):  # nothing written, or killed mid-answer
        with pytest.raises(QueryError, match=said):
            _answer(cut, code, errors)


# Without a scope the statement runs on the real store, in the caller's process: no child
# to stop. A constant call is computed while Kuzu plans (past its time limit, outside its
# buffer pool), so these are refused before the engine sees them (``cypher_budget.py``).
UNSCOPED_BOMBS = [
    ("RETURN size(range(1, 100000000)) AS n", {}, "range()"),
    ("RETURN size(`RANGE`(1, $n)) AS n", {"n": 10**8}, "range()"),
    ("RETURN size(range(1, toInteger('100000000'))) AS n", {}, "range()"),
    ("MATCH (e:Entity) RETURN size(range(0, size(e.name) * 100000000)) AS n", {}, "range()"),
    ("RETURN size(repeat(repeat('x', 1000), 1000)) AS n", {}, "repeat()"),
    ("RETURN size(lpad('x', 100000000, 'y')) AS n", {}, "lpad()"),
    *[(bomb, {}, "") for bomb in BOMBS],
]


@pytest.mark.parametrize("statement, params, named", UNSCOPED_BOMBS)
def test_an_unscoped_statement_that_would_build_a_huge_value_never_runs(memory, statement,
                                                                       params, named):  # fmt: skip
    with pytest.raises(QueryError, match="cypher_max_memory_mb") as caught:
        memory.cypher(statement, params)
    assert named in str(caught.value)
    assert "user_id" in str(caught.value)  # what to do: the scoped sandbox
    rows = memory.cypher("MATCH (f:Fact) RETURN f.text AS text ORDER BY text")
    assert rows == [{"text": "Alice lives in Paris."}, {"text": "Bob lives in Oslo."}]


@pytest.mark.parametrize("statement, params, answer", [
    ("UNWIND range(1, 3) AS x RETURN x", {}, [1, 2, 3]),
    ("UNWIND range(10, 1, -4) AS x RETURN x", {}, [10, 6, 2]),
    ("UNWIND range(1, $n) AS x RETURN x", {"n": 2}, [1, 2]),
    ("RETURN repeat('ab', 3) + lpad('7', 3, '0') AS x", {}, ["ababab007"]),
    # Not calls: a map key, a string, a comment.
    ("RETURN {range: 1}.range + size('range(1, 100000000)') AS x // range(1, 10^9)", {}, [20]),
])  # fmt: skip
def test_small_generated_values_still_run_without_a_scope(memory, statement, params, answer):
    assert [r["x"] for r in memory.cypher(statement, params)] == answer


def test_an_unscoped_statement_growing_the_process_is_stopped_and_the_store_lives_on(tmp_path):
    """No generator at all: a collect() of collects builds ~4M strings on the heap."""
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline",
                     cypher_max_memory_mb=64) as m:  # fmt: skip
        m.add_many([{"text": f"note {i} on topic {i % 50}"} for i in range(2000)],
                   user_id="u", infer=False)  # fmt: skip
        with pytest.raises(QueryError, match="64 MB .*cypher_max_memory_mb"):
            m.cypher("MATCH (f:Fact) WITH collect(f.text) AS c MATCH (g:Fact) "
                     "RETURN size(collect(c)) AS n")  # fmt: skip
        # The connection was interrupted, not broken: reads and writes go on.
        assert m.cypher("MATCH (f:Fact) RETURN count(f) AS n") == [{"n": 2000}]
        m.add("Zed lives in Lima.", user_id="u")
        assert m.search("Where does Zed live?", user_id="u")[0].text == "Zed lives in Lima."


def test_an_admin_key_cannot_take_the_server_down_either(tmp_path):
    with ServedMemory(tmp_path / "served") as server:
        key, _ = server.keys.create(admin=True)
        answer = httpx.post(f"{server.url}/v1/cypher", headers={"Authorization": f"Bearer {key}"},
                            json={"query": "RETURN size(range(1, 100000000)) AS n"},
                            timeout=60)  # fmt: skip
        assert answer.status_code == 400, answer.text
        assert "range()" in answer.json()["detail"]
        answer = httpx.post(f"{server.url}/v1/cypher", headers={"Authorization": f"Bearer {key}"},
                            json={"query": "RETURN 1 AS one"}, timeout=60)  # fmt: skip
        assert answer.json()["rows"] == [{"one": 1}], answer.text


def test_a_value_doubled_clause_by_clause_is_stopped_before_it_runs_here(memory):
    """Kuzu folds a chain of WITH clauses while it plans, past the time limit and the
    memory watch: 18 doublings took 8.8 s and 565 MB in process against a one-second
    limit. Such a statement is rehearsed on an empty graph in the child first."""
    doubled = ("WITH [1, 2, 3, 4] AS l " + "WITH list_concat(l, l) AS l " * 24
               + "RETURN size(l) AS n")  # fmt: skip
    with pytest.raises(QueryError, match="cypher_max_memory_mb"):
        memory.cypher(doubled)
    # Chains and lambdas that stay small still run, on the real store.
    small = "WITH 1 AS a WITH a + 1 AS b WITH b + 1 AS c MATCH (f:Fact) RETURN c, count(f) AS n"
    assert memory.cypher(small) == [{"c": 3, "n": 2}]
    assert memory.cypher("RETURN list_transform([1, 2], x -> x * 2) AS y") == [{"y": [2, 4]}]


def test_a_path_pattern_that_fills_the_page_cache_says_what_to_change(tmp_path):
    """Undirected paths of up to 30 hops over a few entities and their facts: Kuzu's page
    cache fills before the time limit. The error must name the setting and the fix, not
    the engine's words alone, and the store must go on."""
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline",
                     graph_buffer_pool_mb=64, cypher_timeout=120) as m:  # fmt: skip
        m.add("Alice lives in Paris. Alice works at Acme.", user_id="alice")
        m.add("Bob lives in Rome.", user_id="bob")
        with pytest.raises(QueryError) as caught:
            m.cypher("MATCH p = (a)-[*1..30]-(b) RETURN count(p) AS n")
        said = str(caught.value)
        assert "graph_buffer_pool_mb" in said and "*1..3" in said and "changed nothing" in said
        assert m.cypher("MATCH p = (a)-[*1..2]-(b) RETURN count(p) > 0 AS some") == [{"some": True}]
        m.add("Carol lives in Oslo.", user_id="carol")
        assert m.search("Where does Carol live?", user_id="carol")[0].text == "Carol lives in Oslo."
        assert m.verify().ok
