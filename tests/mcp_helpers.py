"""Starting ``graphmem mcp`` as a real subprocess and talking to it with the official SDK."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from graphmem import Entity, Fact, HistoryEvent, Hit, PathStep, Relation
from graphmem.jsonable import from_jsonable
from graphmem.memory import AddResult

REPO = Path(__file__).resolve().parents[1]
TOOLS = {"remember", "remember_conversation", "recall", "forget", "list_memories",
         "update_memory", "entity", "how_connected", "history", "cypher", "rules"}  # fmt: skip


def server_env(**extra: str) -> dict[str, str]:
    """The subprocess environment: this checkout's graphmem, the hashing embedder, the
    offline extractor (no model endpoint), nothing inherited that names a scope."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GRAPHMEM_"))}
    env.update(PYTHONPATH=str(REPO), GRAPHMEM_EMBEDDER="hash", **extra)
    return env


@contextlib.asynccontextmanager
async def stdio_client(data_dir: Path, *scope_args: str, **options: Any) -> AsyncIterator[Client]:
    """An SDK client session with ``graphmem mcp --data-dir DATA SCOPE...`` as a subprocess
    (``options``: more of ``Client``'s, such as the protocol ``mode``)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "graphmem.cli", "mcp", "--data-dir", str(data_dir), *scope_args],
        env=server_env(),
    )
    async with Client(params, read_timeout_seconds=120, **options) as client:
        yield client


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


STORY = ["Alice works at Acme.", "Bob is Alice's brother.", "Bob lives in Paris."]
TWO_HOPS = [PathStep("Alice", "brother", "Bob"), PathStep("Bob", "lives_in", "Paris")]


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    return result


async def remember_story(client: Client) -> list[Fact]:
    added = []
    for text in STORY:
        result = await call(client, "remember", text=text, when="2024-01-01")
        added += from_jsonable(AddResult, result.structured_content["result"]).facts
    assert [f.text for f in added] == STORY
    return added


async def every_tool(client: Client) -> None:
    """Lists the tools and calls each one on the story, in one scope; the same checks
    for either transport."""
    listed = (await client.list_tools()).tools
    assert {t.name for t in listed} == TOOLS
    for tool in listed:
        assert len(tool.description) > 40, tool.name  # written for a model to read
        assert tool.input_schema["type"] == "object"
        # An argument the tool does not take is refused (BAD_CALLS), and the schema says so.
        assert tool.input_schema["additionalProperties"] is False, tool.name
    # No prompts: vet._no_prompt answers every prompts/get, so one added must change it.
    assert (await client.list_prompts()).prompts == []
    recall_schema = next(t for t in listed if t.name == "recall").input_schema
    assert recall_schema["required"] == ["query"]
    assert recall_schema["properties"]["limit"]["maximum"] == 50

    added = await remember_story(client)

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
    itself = await call(client, "how_connected", source="Alice", target="alice")
    assert itself.structured_content["paths"] == [[]]  # was shown as a bare "1. "
    assert "are the same entity" in text_of(itself)

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
    # Acme went with the only words that named it (update withdraws the old claims), and
    # Globex came with the new ones (update reads them as add does).
    assert [r["name"] for r in rows.structured_content["rows"]] == [
        "Alice", "Bob", "Globex", "Paris"]  # fmt: skip

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

    # Issue 17: rules for the system prompt, memory kinds, lifetimes.
    assert text_of(await call(client, "rules")) == "No rules."
    await call(client, "remember", text="Never call before 9am.", memory_type="rule",
               importance=0.9)  # fmt: skip
    await call(client, "remember", text="From now on, always answer in French.")
    await call(client, "remember", text="Erin visits on Friday.", ttl="7d", infer=False)
    found = await call(client, "rules")
    rules = [from_jsonable(Fact, f) for f in found.structured_content["rules"]]
    assert [r.text for r in rules] == ["Never call before 9am.",
                                       "From now on, always answer in French."]  # fmt: skip
    assert "- Never call before 9am." in text_of(found)
    only = await call(client, "recall", query="Erin Friday", memory_types=["episodic"])
    hits = [from_jsonable(Hit, h) for h in only.structured_content["hits"]]
    assert [h.text for h in hits] == ["Erin visits on Friday."]
    kinds = await call(client, "list_memories", memory_types=["rule"], include_archived=True)
    assert {f["memory_type"] for f in kinds.structured_content["memories"]} == {"rule"}
    erin = await call(client, "list_memories", memory_types=["episodic"])
    assert erin.structured_content["memories"][0]["expires_at"] > "2000"


BAD_CALLS = [
    ("recall", {"query": ""}, "query"),
    ("recall", {"query": "x", "limit": "many"}, "limit"),
    ("recall", {"query": "x", "limit": 1000}, "limit"),
    ("recall", {}, "query"),
    ("remember", {"text": "x", "metadata": "not an object"}, "metadata"),
    ("remember", {"text": "x", "memory_type": "dream"}, "memory_type"),
    ("remember", {"text": "x", "ttl": "forever"}, "ttl"),
    ("remember", {"text": "x", "importance": 2}, "importance"),
    # The library's field is timestamp; the model sent, and must be told of, "when".
    ("remember", {"text": "x", "when": "the day after tomorrow"}, "ValidationError: when:"),
    ("recall", {"query": "x", "memory_types": ["dream"]}, "memory_types"),
    ("forget", {"memory_id": "00000000-0000-4000-8000-000000000000"}, "NotFoundError"),
    ("entity", {"name": "Nobody"}, "NotFoundError"),
    ("entity", {"name": "Alice", "as_of": "yesterday-ish"}, "as_of"),
    ("cypher", {"query": "MATCH (e:Entity) DETACH DELETE e"}, "ReadOnlyError: DETACH is refused"),
    ("cypher", {"query": "Alice"}, "must start with a read clause"),
    ("cypher", {"query": "MATCH (e:Entity RETURN e"}, "QueryError"),
    # An argument the tool does not take was dropped without a word (5 hits, not 3).
    ("recall", {"query": "x", "top_k": 3}, "recall takes no argument 'top_k'; its arguments "
     "are query, limit, as_of, memory_types"),
    ("remember", {"text": "x", "user_id": "mallory"}, "takes no argument 'user_id'"),
    # A slip of case or spelling is told the name it most likely meant.
    ("recall", {"querry": "x"}, "takes no argument 'querry'; its arguments are query, limit, "
     "as_of, memory_types; did you mean 'query'?"),
    ("recall", {"query": "x", "Limit": 3}, "did you mean 'limit'?"),
    # A JSON type the advertised schema does not allow: the SDK's lax validation ran
    # these as limit 1, limit 2, include_archived True and infer False.
    ("recall", {"query": "x", "limit": True}, "limit: must be an integer, got true"),
    ("recall", {"query": "x", "limit": "2"}, 'limit: must be an integer, got "2"'),
    ("list_memories", {"include_archived": "yes"}, "include_archived: must be true or false"),
    ("remember", {"text": "Larry likes tea.", "infer": "no"}, "infer: must be true or false"),
    ("how_connected", {"source": "Alice", "target": "Acme", "max_hops": "1"}, "max_hops"),
    # Right type, wrong value: "must be an array or null, got ["bogus"]" told a model
    # nothing it could fix; the name that is no memory type is named now.
    ("recall", {"query": "x", "memory_types": ["bogus"]},
     'memory_types.0: must be one of "semantic"'),
    # Past a bound, or missing: said in the same words, not pydantic's with its web page.
    ("remember", {"text": "Larry likes tea.", "importance": -1},
     "ValidationError: importance: must be at least 0, got -1; send importance as tools/list"),
    ("recall", {"query": ""}, "ValidationError: query: must be non-empty, got \"\""),
    ("recall", {"query": "x", "limit": 1000}, "limit: must be at most 50, got 1000"),
    ("recall", {}, "ValidationError: query: is required and was not given"),
    # No arguments at all (left out, as the SDK sends None): read as none given.
    ("recall", None, "ValidationError: query: is required and was not given"),
    ("remember_conversation", {"messages": [{"role": "user"}]},
     "messages.0.content: is required and was not given"),
    ("remember_conversation", {"messages": []}, "messages: must be non-empty, got []"),
    # Named as the tool's argument, not the library's (messages).
    # And what to do is said in words that fit every surface, not the library's add().
    ("remember", {"text": "Eve likes ham. " * 1400},
     "ValidationError: text: is 21,000 characters, over the limit of 20,000; split it into "
     "parts and add each on its own, or raise max_text_chars (a server: "
     "GRAPHMEM_MAX_TEXT_CHARS)"),
]  # fmt: skip


async def bad_calls(client: Client) -> None:
    """Each bad call is a tool error naming the problem; the server keeps serving."""
    await call(client, "remember", text="Alice works at Acme.")
    for tool, arguments, named in BAD_CALLS:
        result = await client.call_tool(tool, arguments)
        assert result.is_error, (tool, arguments)
        assert named in text_of(result), (tool, text_of(result))
        assert "Traceback" not in text_of(result) and "pydantic" not in text_of(result)
        # One shape for every tool error, whether the tool or the argument check answered:
        # "Error executing tool <name>: <error class>: <what and what to do>".
        assert re.match(rf"Error executing tool {tool}: [A-Za-z]+Error: ", text_of(result)), (
            tool, text_of(result))  # fmt: skip
        # Still serving, and nothing was lost.
        still = await call(client, "recall", query="Where does Alice work?", limit=1)
        assert still.structured_content["hits"][0]["text"] == "Alice works at Acme."
    # A tool the server does not have is a protocol error (-32602), not a tool's failure.
    with pytest.raises(MCPError) as refused:
        await client.call_tool("nonexistent_tool", {})
    assert refused.value.error.code == -32602
    assert "no tool is named 'nonexistent_tool'" in refused.value.error.message
    still = await call(client, "recall", query="Where does Alice work?", limit=1)
    assert still.structured_content["hits"][0]["text"] == "Alice works at Acme."


async def sees_nothing_of(other: Client, ids: list[str]) -> None:
    """``other`` (another scope) gets nothing of the story through any tool."""
    found = await call(other, "recall", query="Where does Alice's brother live?")
    assert found.structured_content["hits"] == []
    assert (await call(other, "list_memories")).structured_content["memories"] == []
    rows = await call(other, "cypher", query="MATCH (e:Entity) RETURN count(e) AS n")
    assert rows.structured_content["rows"] == [{"n": 0}]
    refused = [
        await other.call_tool("entity", {"name": "Alice"}),
        await other.call_tool("how_connected", {"source": "Alice", "target": "Paris"}),
        await other.call_tool("history", {"memory_id": ids[0]}),
        await other.call_tool("update_memory", {"memory_id": ids[0], "text": "mine now"}),
        await other.call_tool("forget", {"memory_id": ids[0]}),
    ]
    for result in refused:
        assert result.is_error and "NotFoundError" in text_of(result)
        assert "Acme" not in text_of(result) and "Paris" not in text_of(result)
