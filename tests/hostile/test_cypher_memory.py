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
