"""MCP's older HTTP+SSE transport at ``/sse`` on the real ``graphmem serve`` (uvicorn in a
child process on 127.0.0.1), driven by the official SDK's SSE client: every tool, the key's
scope as the tools' scope, a session that answers only its own key, the Host guard."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp_helpers import STORY, bad_calls, every_tool, remember_story, sees_nothing_of

from graphmem import Client as RestClient
from graphmem.testing.server import ServedMemory

STREAMS_PER_KEY = 16  # graphmem.mcp.sse's cap, read by a client from the outside


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = ServedMemory(tmp_path_factory.mktemp("mcp-sse"))
    yield server
    output = server.stop()
    assert "gm_" not in output  # no key ever reaches the server's output


def sse(served: ServedMemory, key: str) -> Client:
    return Client(sse_client(f"{served.url}/sse", headers={"Authorization": f"Bearer {key}"},
                             timeout=60))  # fmt: skip


def test_an_sse_client_lists_and_calls_every_tool_and_survives_bad_calls(served):
    key, _ = served.keys.create(user_id="alice")

    async def scenario():
        async with sse(served, key) as client:
            await every_tool(client)
            await bad_calls(client)
            assert (await client.list_tools()).tools  # still serving

    anyio.run(scenario)


def test_over_sse_a_key_for_one_user_sees_nothing_of_another(served):
    carol, _ = served.keys.create(user_id="carol")
    dave, _ = served.keys.create(user_id="dave")

    async def scenario():
        async with sse(served, carol) as client:
            ids = [f.id for f in await remember_story(client)]
        async with sse(served, dave) as client:
            await sees_nothing_of(client, ids)

    anyio.run(scenario)
    with RestClient(served.url, carol) as rest:  # what SSE stored is carol's, over REST too
        assert sorted(f.text for f in rest.get_all()) == sorted(STORY)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer gm_not-a-key"}])
def test_the_stream_and_its_messages_need_a_live_key(served, headers):
    opened = httpx.get(f"{served.url}/sse", headers=headers, timeout=30)
    posted = httpx.post(f"{served.url}/messages/?session_id={'0' * 32}", json={},
                        headers=headers, timeout=30)  # fmt: skip
    assert (opened.status_code, posted.status_code) == (401, 401)
    assert opened.headers["content-type"].startswith("application/problem+json")


async def _endpoint(lines) -> str:
    """The path the server's first event tells the client to post its messages to.
    ``lines``: the stream's line iterator, which the caller holds while the session is
    used (an iterator dropped mid-stream is finalised, and that closes the stream)."""
    event = ""
    async for line in lines:
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "endpoint":
            return line.split(":", 1)[1].strip()
    raise AssertionError("the stream ended with no endpoint event")


def test_a_session_answers_only_the_key_that_opened_it(served):
    jane, _ = served.keys.create(user_id="jane")
    mallory, _ = served.keys.create(user_id="mallory")
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}}  # fmt: skip

    async def scenario():
        async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:
            mine = {"X-API-Key": jane}
            async with http.stream("GET", "/sse", headers=mine) as stream:
                lines = stream.aiter_lines()
                path = await _endpoint(lines)
                assert path.startswith("/messages/?session_id=")
                foreign = await http.post(path, json=hello, headers={"X-API-Key": mallory})
                as_form = await http.post(path, content=json.dumps(hello), headers={
                    **mine, "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
                owned = await http.post(path, json=hello, headers=mine)
                return foreign.status_code, as_form, owned.status_code

    foreign, as_form, owned = anyio.run(scenario)
    assert (foreign, owned) == (404, 202)
    assert as_form.status_code == 415 and "application/json" in as_form.json()["detail"]


def test_a_head_request_opens_no_stream(served):
    key, _ = served.keys.create(user_id="ian")
    probed = httpx.head(f"{served.url}/sse", headers={"X-API-Key": key}, timeout=30)
    assert probed.status_code == 405 and probed.headers["allow"] == "GET"


def test_a_foreign_host_header_is_refused_even_with_a_good_key(served):
    key, _ = served.keys.create(user_id="hal")
    refused = httpx.get(f"{served.url}/sse", timeout=30,
                        headers={"X-API-Key": key, "Host": "evil.example"})  # fmt: skip
    assert refused.status_code == 421 and "--allowed-host" in refused.json()["detail"]


def test_one_key_holds_a_bounded_number_of_streams(served):
    key, _ = served.keys.create(user_id="greedy")
    other, _ = served.keys.create(user_id="patient")

    async def scenario():
        async with httpx.AsyncClient(base_url=served.url, timeout=60) as http:
            held = []
            try:
                for _ in range(STREAMS_PER_KEY):
                    stream = await http.send(http.build_request(
                        "GET", "/sse", headers={"X-API-Key": key}), stream=True)  # fmt: skip
                    held.append((stream, stream.aiter_lines()))
                    await _endpoint(held[-1][1])
                # Streamed: a stream let through (no cap) would never end as a body.
                async with http.stream("GET", "/sse", headers={"X-API-Key": key}) as over:
                    refused = (over.status_code, await over.aread() if over.status_code != 200
                               else b"")  # fmt: skip
                async with http.stream("GET", "/sse", headers={"X-API-Key": other}) as theirs:
                    others = theirs.status_code
            finally:
                for stream, _lines in held:
                    await stream.aclose()
            return refused, others

    (status, body), others = anyio.run(scenario)
    assert status == 429 and "/mcp" in json.loads(body)["detail"]
    assert others == 200  # another key is not held back
