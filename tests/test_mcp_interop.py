"""graphmem's MCP servers driven by a client that is not ours: the TypeScript SDK
(``tests/interop/mcp_client.mjs``, installed from npm by ``npm ci --prefix tests/interop``),
against ``graphmem mcp`` over stdio and the real ``graphmem serve`` at ``/mcp``. The
other MCP tests use the Python SDK, which shares its authors' reading of the protocol
with the server's SDK; an editor or agent written in TypeScript is the common case."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp_helpers import BAD_CALLS, STORY, TOOLS, server_env

from graphmem.testing.server import ServedMemory

HERE = Path(__file__).parent / "interop"
SDK = HERE / "node_modules" / "@modelcontextprotocol" / "sdk"
QUESTION = "Where does Alice's brother live?"
TWO_HOPS = [{"source": "Alice", "relation": "brother", "target": "Bob"},
            {"source": "Bob", "relation": "lives_in", "target": "Paris"}]  # fmt: skip


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None or not SDK.is_dir():
        pytest.fail("the interop tests need Node.js and the TypeScript MCP SDK: install "
                    "them with `npm ci --prefix tests/interop` (the README's test command "
                    "does)")  # fmt: skip
    return found


def ts_client(node: str, transport: list[str], calls: list[dict[str, Any]],
              batch: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """What the TypeScript client saw: the tools, each call's result, any failure; and
    the answers to ``batch``, sent after the calls as one JSON-RPC batch."""
    env = {**server_env(), **({"GRAPHMEM_BATCH": json.dumps(batch)} if batch else {})}
    done = subprocess.run([node, str(HERE / "mcp_client.mjs"), *transport],
                          input=json.dumps(calls), capture_output=True, text=True,
                          timeout=300, cwd=HERE, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def stdio(data_dir: Path, user: str) -> list[str]:
    # The SDK hands a child only a few safe variables (PATH, HOME...) and PYTHONPATH
    # (mcp_client.mjs), so the embedder goes on the command line.
    return ["stdio", sys.executable, "-m", "graphmem.cli", "mcp", "--data-dir", str(data_dir),
            "--embedder", "hash", "--user", user]  # fmt: skip


def remembering() -> list[dict[str, Any]]:
    return [{"tool": "remember", "arguments": {"text": t, "when": "2024-01-01"}} for t in STORY]


READS = [
    {"tool": "recall", "arguments": {"query": QUESTION, "limit": 3}},
    {"tool": "how_connected", "arguments": {"source": "Alice", "target": "Paris"}},
    {"tool": "cypher", "arguments": {"query": "MATCH (e:Entity) RETURN e.name AS name ORDER BY name"}},
    {"tool": "list_memories", "arguments": {}},
]  # fmt: skip


def check_story(results: list[dict[str, Any]]) -> None:
    """The story stored by ``remembering()`` and read back by ``READS``."""
    for result in results:
        assert "thrown" not in result and not result["isError"], result
    stored = [f["text"] for r in results[:3] for f in r["structured"]["result"]["facts"]]
    assert stored == STORY
    recall, connected, rows, listed = results[3:7]
    assert "Bob lives in Paris." in [h["text"] for h in recall["structured"]["hits"]]
    assert connected["structured"]["paths"][0] == TWO_HOPS
    assert [r["name"] for r in rows["structured"]["rows"]] == ["Acme", "Alice", "Bob", "Paris"]
    assert sorted(m["text"] for m in listed["structured"]["memories"]) == sorted(STORY)


def test_typescript_client_over_stdio_lists_and_calls_the_tools(node, tmp_path):
    seen = ts_client(node, stdio(tmp_path, "alice"), remembering() + READS)
    assert "error" not in seen and seen["pinged"], seen.get("error")
    assert seen["server"]["name"] == "graphmem"
    tools = {t["name"]: t for t in seen["tools"]}
    assert set(tools) == TOOLS
    assert all(t["inputSchema"]["type"] == "object" for t in tools.values())
    assert tools["recall"]["inputSchema"]["required"] == ["query"]
    check_story(seen["results"])


def test_typescript_client_gets_tool_errors_naming_the_problem(node, tmp_path):
    calls = [{"tool": "remember", "arguments": {"text": "Alice works at Acme."}}]
    calls += [{"tool": tool, "arguments": arguments} for tool, arguments, _ in BAD_CALLS]
    calls += [{"tool": "no_such_tool", "arguments": {}},
              {"tool": "recall", "arguments": {"query": "Where does Alice work?", "limit": 1}}]  # fmt: skip
    seen = ts_client(node, stdio(tmp_path, "alice"), calls)
    assert "error" not in seen and seen["pinged"], seen.get("error")
    results = seen["results"]
    assert len(results) == len(calls)
    for (tool, arguments, named), result in zip(BAD_CALLS, results[1:], strict=False):
        assert result["isError"], (tool, arguments, result)
        assert named in result["text"] and "Traceback" not in result["text"], result["text"]
    unknown = results[-2]
    assert unknown.get("isError") or "thrown" in unknown, unknown
    assert "no_such_tool" in (unknown.get("text") or unknown.get("thrown", ""))
    # Still serving, and nothing was lost.
    assert results[-1]["structured"]["hits"][0]["text"] == "Alice works at Acme."


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = ServedMemory(tmp_path_factory.mktemp("interop") / "data")
    yield server
    assert "gm_" not in server.stop()  # no key ever reaches the server's output


def test_typescript_client_over_http_with_keys_and_scopes(node, served):
    alice, _ = served.keys.create(user_id="alice")
    bob, _ = served.keys.create(user_id="bob")
    url = f"{served.url}/mcp"
    mine = ts_client(node, ["http", url, alice], remembering() + READS)
    assert "error" not in mine and mine["pinged"], mine.get("error")
    assert {t["name"] for t in mine["tools"]} == TOOLS
    check_story(mine["results"])

    theirs = ts_client(node, ["http", url, bob], READS + [
        {"tool": "entity", "arguments": {"name": "Alice"}}])  # fmt: skip
    assert "error" not in theirs, theirs.get("error")
    recall, connected, rows, listed, entity = theirs["results"]
    assert recall["structured"]["hits"] == []
    assert connected["isError"] and "NotFoundError" in connected["text"]
    assert rows["structured"]["rows"] == []
    assert listed["structured"]["memories"] == []
    assert entity["isError"] and "Paris" not in entity["text"]

    refused = ts_client(node, ["http", url, "gm_" + "0" * 40], READS[:1])
    assert "401" in refused["error"] and "API key" in refused["error"]
    assert refused["results"] == []
    assert alice not in served.output() and bob not in served.output()


def test_typescript_client_over_the_older_sse_transport(node, served):
    """A client written before streamable HTTP (protocol 2024-11-05) speaks only HTTP+SSE:
    the same tools, keys and scopes at ``/sse``."""
    carol, _ = served.keys.create(user_id="carol")
    dan, _ = served.keys.create(user_id="dan")
    url = f"{served.url}/sse"
    mine = ts_client(node, ["sse", url, carol], remembering() + READS)
    assert "error" not in mine and mine["pinged"], mine.get("error")
    assert {t["name"] for t in mine["tools"]} == TOOLS
    check_story(mine["results"])
    theirs = ts_client(node, ["sse", url, dan], READS[:1] + [
        {"tool": "no_such_tool", "arguments": {}}])  # fmt: skip
    assert theirs["results"][0]["structured"]["hits"] == []
    unknown = theirs["results"][1]
    assert "no_such_tool" in (unknown.get("text") or unknown.get("thrown", "")), unknown
    refused = ts_client(node, ["sse", url, "gm_" + "0" * 40], READS[:1])
    assert "401" in refused["error"], refused["error"]
    assert carol not in served.output() and dan not in served.output()


def test_typescript_client_over_http_gets_a_protocol_error_not_a_failed_transport(node, served):
    """graphmem's own JSON-RPC errors came back as HTTP 400, which the TypeScript SDK
    reads as a failed POST (StreamableHTTPError), not as the server's answer (McpError)."""
    key, _ = served.keys.create(user_id="uma")
    seen = ts_client(node, ["http", f"{served.url}/mcp", key], [
        {"tool": "no_such_tool", "arguments": {}},
        {"tool": "recall", "arguments": {"query": "anything"}}])  # fmt: skip
    assert "error" not in seen and seen["pinged"], seen.get("error")
    unknown, recall = seen["results"]
    assert "McpError" in unknown["thrown"] and "-32602" in unknown["thrown"], unknown
    assert "no_such_tool" in unknown["thrown"] and "HTTP" not in unknown["thrown"], unknown
    assert recall["structured"]["hits"] == []


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_each_protocol_version_a_client_may_ask_for_is_served(served, version):
    """A client with no SDK at all: JSON-RPC over HTTP, as an older client would send it.
    The server agrees to the version asked for, and the tools answer under it."""
    key, _ = served.keys.create(user_id="carol")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}  # fmt: skip
    hello = {"protocolVersion": version, "capabilities": {},
             "clientInfo": {"name": "raw", "version": "1"}}  # fmt: skip
    with httpx.Client(base_url=served.url, headers=headers, timeout=60) as http:
        started = http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                          "params": hello})  # fmt: skip
        assert started.status_code == 200, started.text
        assert message(started)["result"]["protocolVersion"] == version
        http.headers.update({"mcp-session-id": started.headers["mcp-session-id"],
                             "mcp-protocol-version": version})  # fmt: skip
        done = http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        assert done.status_code == 202
        listed = http.post("/mcp", json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert {t["name"] for t in message(listed)["result"]["tools"]} == TOOLS
        # A tool's answer and a refused argument have the shape of the version agreed:
        # the refusal carried 2026-07-28's resultType to every era. 1e400 is read as
        # Infinity, which is no integer, and was answered "must be at most 50".
        calls = [CALL_RECALL % limit for limit in ("3", "1e400")]  # as raw JSON text
        answers = [message(http.post("/mcp", content=body)) for body in calls]
        assert [a["result"]["isError"] for a in answers] == [False, True]
        assert "resultType" not in answers[0]["result"]
        assert sorted(answers[1]["result"]) == ["content", "isError"]
        refused = answers[1]["result"]["content"][0]["text"]
        assert refused.startswith(
            "Error executing tool recall: ValidationError: limit: must be an integer, got Infinity"
        )


CALL_RECALL = (
    '{"jsonrpc": "2.0", "id": 3, "method": "tools/call",'
    ' "params": {"name": "recall", "arguments": {"query": "tea", "limit": %s}}}'
)


def message(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a reply sent as JSON or as one server-sent event."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    data = [line[5:] for line in response.text.splitlines() if line.startswith("data:")]
    assert len(data) == 1, response.text
    return json.loads(data[0])


BATCH = [
    {"jsonrpc": "2.0", "id": "b-recall", "method": "tools/call",
     "params": {"name": "recall", "arguments": {"query": QUESTION, "limit": 3}}},
    {"jsonrpc": "2.0", "method": "notifications/progress",
     "params": {"progressToken": "t", "progress": 1}},
    {"jsonrpc": "2.0", "id": "b-ping", "method": "ping"},
]  # fmt: skip


@pytest.mark.parametrize("over", ["stdio", "http"])
def test_a_batch_sent_by_the_typescript_transport_is_answered(node, tmp_path, over):
    """The TypeScript SDK's transports send an array of messages as one JSON-RPC batch
    (protocol 2025-03-26 says a server MUST accept one); each request gets its answer."""
    if over == "stdio":
        seen = ts_client(node, stdio(tmp_path, "tess"), remembering(), BATCH)
    else:
        with ServedMemory(tmp_path) as served:
            key, _ = served.keys.create(user_id="tess")
            seen = ts_client(node, ["http", f"{served.url}/mcp", key], remembering(), BATCH)
    assert "error" not in seen and seen["pinged"], seen.get("error")
    answers = {a["id"]: a for a in seen["batch"]}
    assert sorted(answers) == ["b-ping", "b-recall"], seen["batch"]
    assert answers["b-ping"]["result"] == {}
    hits = answers["b-recall"]["result"]["structuredContent"]["hits"]
    assert "Bob lives in Paris." in [h["text"] for h in hits]
