"""One scenario, four surfaces: Memory, AsyncMemory, Client and AsyncClient must agree.

Each surface gets its own stores (the clients each their own ``graphmem serve`` child
process on 127.0.0.1), runs the same calls, and the answers are compared after ids and
clock times (which differ between runs by design) are masked.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from datetime import timedelta
from typing import Any

import pytest

from graphmem import AsyncClient, AsyncMemory, Client, GraphMemError, Memory
from graphmem.testing.server import ServedMemory
from graphmem.wire import to_wire

USER = "alice"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_CLOCK = {"created_at", "updated_at"}
_STAMPS = {"archived_at", "last_accessed_at"}  # set by each surface's own clock


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _mask(v) for k, v in value.items() if k not in _CLOCK}
        out.update({k: "<time>" for k in _STAMPS if out.get(k)})
        if out.get("expires_at", "").startswith("20"):  # from a ttl: the surface's own clock
            out["expires_at"] = "<ttl>" if out["expires_at"] < "2999" else out["expires_at"]
        return out
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str) and _UUID.match(value):
        return "<id>"
    if isinstance(value, float):
        return round(value, 6)
    return value


async def scenario(surface: Any) -> list[tuple[str, Any]]:
    """The calls a user would make, and what each returned (or raised)."""
    out: list[tuple[str, Any]] = []

    async def call(name: str, *args: Any, **kwargs: Any) -> Any:
        target = surface
        for part in name.split("."):
            target = getattr(target, part)
        try:
            result = target(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except GraphMemError as exc:
            out.append((name, {"raised": type(exc).__name__, "field": getattr(exc, "field", None)}))
            return None
        if name == "graph.subgraph":
            shown = sorted(
                (d["name"], g["name"], d2["name"])
                for s, t, g in result.edges(data=True)
                for d, d2 in [(result.nodes[s], result.nodes[t])]
            )
            out.append((name, shown))
        else:
            out.append((name, _mask(to_wire(result))))
        return result

    first = await call("add", "Alice works at Acme.", user_id=USER, timestamp="2024-01-10")
    await call("add", "Bob is Alice's brother. Bob lives in Paris.", user_id=USER)
    await call("add", "Alice works at Globex.", user_id=USER, timestamp="2024-06-15")
    await call(
        "add_many",
        [{"text": "Carol lives in Rome.", "metadata": {"topic": "travel"}},
         {"text": "Dave works at Initech.", "source_ids": ["doc-7"]}],
        user_id=USER,
    )  # fmt: skip
    await call("add_triples", [("Carol", "manages", "Alice")], user_id=USER)
    await call("search", "where does Alice's brother live?", user_id=USER, limit=5)
    await call("search", "Alice works", user_id=USER, as_of="2024-03-01")
    await call("search", "Carol", user_id=USER, filters={"metadata.topic": "travel"})
    await call("search", "Alice", user_id=USER, recipe="keyword", include_invalid=True)
    await call("graph.entity", "Bob", user_id=USER)
    await call("graph.relations", "Alice", include_invalid=True, user_id=USER)
    await call("graph.relations", "Alice", "out", user_id=USER)
    await call("graph.neighbours", "Alice", 2, user_id=USER)
    await call("graph.paths", "Carol", "Paris", user_id=USER)
    await call("graph.facts_about", "Bob", user_id=USER)
    await call("graph.subgraph", user_id=USER)
    await call("graph.subgraph", ["Bob"], 1, user_id=USER)
    await call("get_all", user_id=USER, include_invalid=True, limit=50)
    fact = first.facts[0]
    await call("get", fact.id, user_id=USER)
    await call("update", fact.id, "Alice works at Acme Corporation.", user_id=USER)
    await call("history", fact.id, user_id=USER)
    await call("delete", fact.id, user_id=USER)
    await call("get", fact.id, user_id=USER)
    await call("history", fact.id, user_id=USER)
    await call("cypher", "MATCH (e:Entity) RETURN e.name AS name ORDER BY name", user_id=USER)
    # Issue 17: memory kinds, lifetimes and rules, with the same parameters everywhere.
    await call("add", "From now on, always answer in French.", user_id=USER, importance=0.9)
    await call("add", "Never call before 9am.", user_id=USER, memory_type="rule",
               expires_at="2999-01-01")  # fmt: skip
    await call(
        "add_many",
        [{"text": "Erin visits on Friday.", "ttl": "30d"},
         {"text": "Use metric units.", "memory_type": "rule", "importance": 0.4}],
        user_id=USER, importance=0.7, ttl=timedelta(days=400),
    )  # fmt: skip
    await call("add", [{"role": "user", "content": "Book a table."},
                       {"role": "assistant", "content": "Called Chez Max for 8pm."}],
               user_id=USER, memory_type="procedural")  # fmt: skip
    await call("rules", user_id=USER)
    await call("rules", user_id=USER, limit=1)
    await call("search", "French or metric", user_id=USER, memory_types=["rule"])
    await call("search", "Erin", user_id=USER, include_archived=True, limit=3)
    await call("get_all", user_id=USER, memory_types=["procedural", "semantic"], limit=50)
    rule = (await call("rules", user_id=USER))[0]
    await call("archive", rule.id, user_id=USER)
    await call("rules", user_id=USER)  # archived: no longer a rule in force
    await call("get_all", user_id=USER, include_archived=True, memory_types=["rule"])
    await call("restore", rule.id, user_id=USER)
    await call("history", rule.id, user_id=USER)
    await call("maintain", user_id=USER)
    await call("maintain", "2100-01-01", user_id=USER)  # the ttl'd memories expire by then
    await call("get_all", user_id=USER, include_archived=True, limit=50)
    await call("stats", user_id=USER)
    # Errors come back as the same class, naming the same field.
    await call("search", "", user_id=USER)
    await call("search", "x", user_id=USER, limit=0)
    await call("add", "   ", user_id=USER)
    await call("graph.entity", "Nobody", user_id=USER)
    await call("graph.neighbours", "Alice", 9, user_id=USER)
    await call("cypher", "MATCH (n) DETACH DELETE n", user_id=USER)
    await call("cypher", "RETURN $x AS x", {"x": [0, ""]}, user_id=USER)
    await call("add", "x y z", user_id=USER, memory_type="dream")
    await call("add", "x y z", user_id=USER, ttl="forever")
    await call("search", "x", user_id=USER, memory_types=["dream"])
    await call("rules", user_id=USER, limit=0)
    return out


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    a = ServedMemory(tmp_path_factory.mktemp("served-sync"))
    try:
        b = ServedMemory(tmp_path_factory.mktemp("served-async"))
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


def test_every_surface_gives_the_same_answers(tmp_path, servers):
    with Memory.open(tmp_path / "direct", embedder="hash") as memory:
        expected = asyncio.run(scenario(memory))

    async def through_async_memory():
        async with AsyncMemory.open(tmp_path / "async", embedder="hash") as amem:
            return await scenario(amem)

    served_sync, served_async = servers
    key_sync, _ = served_sync.keys.create(user_id=USER)
    with Client(served_sync.url, key_sync) as client:
        via_client = asyncio.run(scenario(client))

    async def through_async_client():
        key, _ = served_async.keys.create(user_id=USER)
        async with AsyncClient(served_async.url, key) as aclient:
            return await scenario(aclient)

    surfaces = {
        "AsyncMemory": asyncio.run(through_async_memory()),
        "Client": via_client,
        "AsyncClient": asyncio.run(through_async_client()),
    }
    # The scenario must exercise real answers, not a run of errors.
    raised = [r["raised"] for _, r in expected if isinstance(r, dict) and "raised" in r]
    assert raised == ["NotFoundError", "ValidationError", "ValidationError", "ValidationError",
                      "NotFoundError", "ValidationError", "ReadOnlyError", "ValidationError",
                      "ValidationError", "ValidationError", "ValidationError",
                      "ValidationError"], raised  # fmt: skip
    fields = [r["field"] for _, r in expected[-4:]]
    assert fields == ["memory_type", "ttl", "memory_types", "limit"], fields
    rules = next(result for step, result in expected if step == "rules")
    assert [r["text"] for r in rules] == ["From now on, always answer in French.",
                                          "Never call before 9am.", "Use metric units."]  # fmt: skip
    hits = next(result for step, result in expected if step == "search")
    assert hits and "Paris" in hits[0]["text"] + hits[1]["text"]
    for name, got in surfaces.items():
        assert [step for step, _ in got] == [step for step, _ in expected], name
        for (step, want), (_, have) in zip(expected, got, strict=True):
            assert have == want, f"{name} differs from Memory at {step}"


def test_client_returns_the_library_types(servers):
    served, _ = servers
    key, _ = served.keys.create(user_id="types")
    with Client(served.url, key) as client:
        result = client.add("Erin lives in Oslo.")  # the key's scope is filled in
        hit = client.search("where does Erin live?")[0]
        rel = client.graph.relations("Erin")[0]
        event = client.history(result.facts[0].id)[0]
    assert type(result).__name__ == "AddResult" and result.facts[0].scope.user_id == "types"
    assert hit.explain().startswith("[") and hit.text == "Erin lives in Oslo."
    assert (rel.source_name, rel.name, rel.target_name) == ("Erin", "lives_in", "Oslo")
    assert event.event == "ADD" and event.new_value == "Erin lives in Oslo."
