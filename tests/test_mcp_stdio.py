"""``graphmem mcp`` over stdio, driven by the official ``mcp`` SDK client: every tool,
a two-hop recall with its path, tool errors that leave the server serving, one scope."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp_helpers import TOOLS, server_env, stdio_client, text_of

from graphmem import Entity, Fact, HistoryEvent, Hit, PathStep, Relation
from graphmem.jsonable import from_jsonable
from graphmem.memory import AddResult

STORY = ["Alice works at Acme.", "Bob is Alice's brother.", "Bob lives in Paris."]
TWO_HOPS = [PathStep("Alice", "brother", "Bob"), PathStep("Bob", "lives_in", "Paris")]


async def call(client, tool: str, **arguments):
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    return result


def test_lists_and_calls_every_tool(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as client:
            listed = (await client.list_tools()).tools
            assert {t.name for t in listed} == TOOLS
            for tool in listed:
                assert len(tool.description) > 40, tool.name  # written for a model to read
                assert tool.input_schema["type"] == "object"
            recall_schema = next(t for t in listed if t.name == "recall").input_schema
            assert recall_schema["required"] == ["query"]
            assert recall_schema["properties"]["limit"]["maximum"] == 50

            added = []
            for text in STORY:
                result = await call(client, "remember", text=text, when="2024-01-01")
                added += from_jsonable(AddResult, result.structured_content["result"]).facts
            assert [f.text for f in added] == STORY

            # A two-hop question: Alice -> Bob -> Paris, the path in text and in data.
            found = await call(client, "recall", query="Where does Alice's brother live?")
            hits = [from_jsonable(Hit, h) for h in found.structured_content["hits"]]
            paris = next(h for h in hits if h.text == "Bob lives in Paris.")
            assert paris.path == TWO_HOPS
            assert ("graph path: Alice -[brother]-> Bob ; Bob -[lives_in]-> Paris"
                    in text_of(found))  # fmt: skip

            listed_facts = await call(client, "list_memories")
            facts = [from_jsonable(Fact, f) for f in listed_facts.structured_content["memories"]]
            assert sorted(f.text for f in facts) == sorted(STORY)

            bob = await call(client, "entity", name="bob")
            assert from_jsonable(Entity, bob.structured_content["entity"]).name == "Bob"
            rels = [from_jsonable(Relation, r) for r in bob.structured_content["relations"]]
            assert {(r.source_name, r.name, r.target_name) for r in rels} == {
                ("Alice", "brother", "Bob"), ("Bob", "lives_in", "Paris")}  # fmt: skip
            before = await call(client, "entity", name="Bob", as_of="2023-12-31")
            assert before.structured_content["relations"] == []  # nothing was true yet

            linked = await call(client, "how_connected", source="Alice", target="Paris")
            first = [from_jsonable(PathStep, s) for s in linked.structured_content["paths"][0]]
            assert first == TWO_HOPS
            assert "Alice -[brother]-> Bob ; Bob -[lives_in]-> Paris" in text_of(linked)

            work = added[0]
            changed = await call(client, "update_memory", memory_id=work.id,
                                 text="Alice works at Globex.")  # fmt: skip
            assert changed.structured_content["memory"]["text"] == "Alice works at Globex."
            events = await call(client, "history", memory_id=work.id)
            kinds = [from_jsonable(HistoryEvent, e).event
                     for e in events.structured_content["events"]]  # fmt: skip
            assert kinds == ["ADD", "UPDATE"]

            rows = await call(client, "cypher", query="MATCH (e:Entity) RETURN e.name AS name "
                              "ORDER BY name")  # fmt: skip
            assert [r["name"] for r in rows.structured_content["rows"]] == [
                "Acme", "Alice", "Bob", "Paris"]  # fmt: skip

            # A move supersedes the old relation; as_of still sees the past.
            await call(client, "remember", text="Bob lives in Rome.", when="2024-06-01")
            now = await call(client, "entity", name="Bob")
            then = await call(client, "entity", name="Bob", as_of="2024-03-01")
            assert "Bob -[lives_in]-> Rome" in text_of(now) and "Paris" not in text_of(now)
            assert "Bob -[lives_in]-> Paris" in text_of(then) and "Rome" not in text_of(then)
            old_way = await call(client, "how_connected", source="Alice", target="Paris",
                                 as_of="2024-03-01")  # fmt: skip
            assert old_way.structured_content["paths"] != []
            new_way = await call(client, "how_connected", source="Alice", target="Paris")
            assert new_way.structured_content["paths"] == []

            await call(client, "forget", memory_id=work.id)
            left = await call(client, "list_memories")
            assert work.id not in {f["id"] for f in left.structured_content["memories"]}

    anyio.run(scenario)


BAD_CALLS = [
    ("recall", {"query": ""}, "query"),
    ("recall", {"query": "x", "limit": "many"}, "limit"),
    ("recall", {"query": "x", "limit": 1000}, "limit"),
    ("recall", {}, "query"),
    ("remember", {"text": "x", "metadata": "not an object"}, "metadata"),
    ("forget", {"memory_id": "00000000-0000-4000-8000-000000000000"}, "NotFoundError"),
    ("entity", {"name": "Nobody"}, "NotFoundError"),
    ("entity", {"name": "Alice", "as_of": "yesterday-ish"}, "as_of"),
    ("cypher", {"query": "MATCH (e:Entity) DETACH DELETE e"}, "ReadOnlyError"),
    ("cypher", {"query": "MATCH (e:Entity RETURN e"}, "QueryError"),
    ("nonexistent_tool", {}, "nonexistent_tool"),
]


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as client:
            await call(client, "remember", text="Alice works at Acme.")
            for tool, arguments, named in BAD_CALLS:
                result = await client.call_tool(tool, arguments)
                assert result.is_error, (tool, arguments)
                assert named in text_of(result), (tool, text_of(result))
                assert "Traceback" not in text_of(result)
                # Still serving, and nothing was lost.
                still = await call(client, "recall", query="Where does Alice work?", limit=1)
                assert still.structured_content["hits"][0]["text"] == "Alice works at Acme."

    anyio.run(scenario)


def test_a_server_for_one_user_sees_nothing_of_another(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as alice:
            ids = []
            for text in STORY:
                result = await call(alice, "remember", text=text)
                ids += [f["id"] for f in result.structured_content["result"]["facts"]]
        async with stdio_client(tmp_path, "--user", "bob") as bob:
            found = await call(bob, "recall", query="Where does Alice's brother live?")
            assert found.structured_content["hits"] == []
            assert (await call(bob, "list_memories")).structured_content["memories"] == []
            rows = await call(bob, "cypher", query="MATCH (e:Entity) RETURN count(e) AS n")
            assert rows.structured_content["rows"] == [{"n": 0}]
            refused = [
                await bob.call_tool("entity", {"name": "Alice"}),
                await bob.call_tool("how_connected", {"source": "Alice", "target": "Paris"}),
                await bob.call_tool("history", {"memory_id": ids[0]}),
                await bob.call_tool("update_memory", {"memory_id": ids[0], "text": "mine now"}),
                await bob.call_tool("forget", {"memory_id": ids[0]}),
            ]
            for result in refused:
                assert result.is_error and "NotFoundError" in text_of(result)
                assert "Acme" not in text_of(result) and "Paris" not in text_of(result)
        async with stdio_client(tmp_path, "--user", "alice") as alice:
            kept = await call(alice, "list_memories")
            assert sorted(f["text"] for f in kept.structured_content["memories"]) == sorted(STORY)

    anyio.run(scenario)


@pytest.mark.parametrize("argv", [[], ["--user", " "]])
def test_mcp_without_a_valid_scope_does_not_start(tmp_path, argv):
    done = subprocess.run(
        [sys.executable, "-m", "graphmem.cli", "mcp", "--data-dir", str(tmp_path), *argv],
        capture_output=True, text=True, env=server_env(), timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr
    assert "user" in done.stderr and done.stdout == ""


def test_graphmem_mcp_does_not_shadow_the_sdk():
    import mcp

    import graphmem.mcp
    from graphmem.mcp import tools

    assert Path(mcp.__file__).parent != Path(graphmem.mcp.__file__).parent
    assert tools.MCPServer.__module__.startswith("mcp.server.")
