"""MCP's streamable HTTP transport at ``/mcp`` on the real ``graphmem serve`` (uvicorn in a
child process on 127.0.0.1), driven by the official SDK client with API keys: every tool,
the key's scope as the tools' scope, 401 for bad keys, tool errors that leave it serving."""

from __future__ import annotations

import json
import subprocess
import sys

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_helpers import (
    STORY,
    bad_calls,
    call,
    every_tool,
    remember_story,
    sees_nothing_of,
    server_env,
    stdio_client,
    text_of,
)

from graphmem import Client as RestClient
from graphmem.testing.server import ServedMemory


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = ServedMemory(tmp_path_factory.mktemp("mcp-http"))
    yield server
    output = server.stop()
    assert "gm_" not in output  # no key ever reaches the server's output


def mcp_client(served: ServedMemory, key: str, header: str = "authorization") -> Client:
    value = f"Bearer {key}" if header == "authorization" else key
    http = httpx2.AsyncClient(headers={header: value}, timeout=120)
    return Client(streamable_http_client(f"{served.url}/mcp", http_client=http))


def test_lists_and_calls_every_tool(served):
    key, _ = served.keys.create(user_id="alice")

    async def scenario():
        async with mcp_client(served, key) as client:
            await every_tool(client)

    anyio.run(scenario)


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(served):
    key, _ = served.keys.create(user_id="erin")

    async def scenario():
        async with mcp_client(served, key, header="x-api-key") as client:
            await bad_calls(client)

    anyio.run(scenario)


def test_a_key_for_one_user_sees_nothing_of_another_through_any_tool(served):
    carol, _ = served.keys.create(user_id="carol")
    dave, _ = served.keys.create(user_id="dave")

    async def scenario():
        async with mcp_client(served, carol) as client:
            ids = [f.id for f in await remember_story(client)]
        async with mcp_client(served, dave) as client:
            await sees_nothing_of(client, ids)
        return ids

    ids = anyio.run(scenario)
    # Same memory, same scope over REST: what MCP stored is there, untouched by dave.
    with RestClient(served.url, carol) as rest:
        assert sorted(f.text for f in rest.get_all()) == sorted(STORY)
        assert rest.get(ids[0]).text == STORY[0]


def test_an_admin_key_gets_a_tool_error_naming_the_fix(served):
    admin, _ = served.keys.create(admin=True)

    async def scenario():
        async with mcp_client(served, admin) as client:
            result = await client.call_tool("recall", {"query": "Alice"})
            assert result.is_error and "graphmem keys create --user" in text_of(result)

    anyio.run(scenario)


def post_tools_list(served: ServedMemory, headers: dict[str, str]) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    return httpx.post(f"{served.url}/mcp", json=body, timeout=60,
                      headers={**headers, "Accept": "application/json, text/event-stream"})  # fmt: skip


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer gm_nope_nope"},
                                     {"X-API-Key": "not-a-key"}])  # fmt: skip
def test_requests_without_a_live_key_are_401(served, headers):
    answer = post_tools_list(served, headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["error"] == "AuthError"


def test_a_request_with_two_different_keys_is_401_as_on_the_rest_routes(served):
    alice, _ = served.keys.create(user_id="alice")
    bob, _ = served.keys.create(user_id="bob")
    answer = post_tools_list(served, {"Authorization": f"Bearer {alice}", "X-API-Key": bob})
    assert answer.status_code == 401 and answer.json()["error"] == "AuthError"
    assert "send one" in answer.json()["detail"]
    # The same key twice passes the gate (then MCP asks for a session, as without it).
    twice = post_tools_list(served, {"Authorization": f"Bearer {alice}", "X-API-Key": alice})
    alone = post_tools_list(served, {"Authorization": f"Bearer {alice}"})
    assert twice.status_code == alone.status_code != 401


def test_a_revoked_key_stops_working_at_once(served):
    key, info = served.keys.create(user_id="frank")

    async def scenario():
        async with mcp_client(served, key) as client:
            await call(client, "remember", text="Frank lives in Oslo.")
            served.keys.revoke(info.id)
            with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the 401 its own way
                await client.call_tool("recall", {"query": "Frank"})

    anyio.run(scenario)
    assert post_tools_list(served, {"Authorization": f"Bearer {key}"}).status_code == 401


def test_a_foreign_host_header_is_refused_even_with_a_good_key(served):
    key, _ = served.keys.create(user_id="gina")
    # DNS rebinding: a web page on another name must not reach a local server's tools.
    answer = post_tools_list(served, {"Authorization": f"Bearer {key}", "Host": "evil.example"})
    assert answer.status_code == 421
    # A JSON-RPC error naming the header and the fix, not the SDK's bare text/plain.
    said = answer.json()["error"]["message"]
    assert "'evil.example'" in said and "--allowed-host" in said, said
    # A web page on another site: its Origin is refused the same way.
    answer = post_tools_list(served, {"Authorization": f"Bearer {key}",
                                      "Origin": "https://evil.example"})  # fmt: skip
    assert answer.status_code == 403
    said = answer.json()["error"]["message"]
    assert "'https://evil.example'" in said and "--cors-origin" in said, said
    local = f"http://{served.url.removeprefix('http://')}"
    answer = post_tools_list(served, {"Authorization": f"Bearer {key}", "Origin": local})
    assert answer.status_code == 400 and "no mcp-session-id header" in answer.text, answer.text


def post_initialize(url: str, key: str, host: str, escaped: bool = False) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "remote", "version": "1"}}}  # fmt: skip
    content = json.dumps(body)
    if escaped:  # the same JSON, its method spelled with an escape
        content = content.replace('"initialize"', '"initializ\\u0065"')
    return httpx.post(f"{url}/mcp", content=content, timeout=60, headers={
        "Authorization": f"Bearer {key}", "Host": host, "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream"})  # fmt: skip


def test_a_local_name_without_a_port_is_a_local_host(served):
    """A proxy on port 80 in front of a local server sends ``Host: localhost``."""
    key, _ = served.keys.create(user_id="gina")
    for host in ("localhost", "127.0.0.1", served.url.removeprefix("http://")):
        answer = post_initialize(served.url, key, host)
        assert answer.status_code == 200 and '"result"' in answer.text, (host, answer.text)


def test_a_server_bound_to_every_interface_serves_mcp_clients_by_any_name(tmp_path):
    """``graphmem serve --host 0.0.0.0`` is reached by other names (the machine's own, a
    DNS name): MCP answered each of them 421 "Invalid Host header" while REST served them.
    ``--allowed-host`` turns the name check back on, for the names given."""
    with ServedMemory(tmp_path / "open", extra_args=("--host", "0.0.0.0")) as open_server:
        key, _ = open_server.keys.create(user_id="ines")
        port = open_server.url.rsplit(":", 1)[1]
        for host in (f"memory.internal:{port}", f"10.1.2.3:{port}", "localhost"):
            answer = post_initialize(open_server.url, key, host)
            assert answer.status_code == 200 and '"result"' in answer.text, (host, answer.text)
    with ServedMemory(tmp_path / "named", extra_args=(
            "--host", "0.0.0.0", "--allowed-host", "memory.internal")) as named:  # fmt: skip
        key, _ = named.keys.create(user_id="ines")
        port = named.url.rsplit(":", 1)[1]
        assert post_initialize(named.url, key, f"memory.internal:{port}").status_code == 200
        assert post_initialize(named.url, key, f"localhost:{port}").status_code == 200
        assert post_initialize(named.url, key, f"evil.example:{port}").status_code == 421


def test_a_key_that_keeps_opening_sessions_ends_only_its_own_oldest(served):
    """The SDK caps sessions server-wide (10,000): one key that kept opening them locked
    every other key out (503) until its sessions idled out, 30 minutes later. A key past
    SESSIONS_PER_KEY now ends its own oldest sessions, which answer 404, as the spec has
    a client initialize again; another key's session is untouched."""
    from graphmem.mcp.http import SESSIONS_PER_KEY

    greedy, _ = served.keys.create(user_id="greedy")
    calm, _ = served.keys.create(user_id="calm")
    host = served.url.removeprefix("http://")
    kept = post_initialize(served.url, calm, host).headers["mcp-session-id"]
    # The later half spell the method with a JSON escape: a test of the raw bytes missed
    # those, and one key opened sessions past its cap.
    opened = [post_initialize(served.url, greedy, host, escaped=i >= SESSIONS_PER_KEY // 2)
              .headers["mcp-session-id"] for i in range(SESSIONS_PER_KEY + 5)]  # fmt: skip

    def status(key: str, session: str) -> int:
        body = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        return httpx.post(f"{served.url}/mcp", json=body, timeout=60, headers={
            "Authorization": f"Bearer {key}", "mcp-session-id": session,
            "Accept": "application/json, text/event-stream"}).status_code  # fmt: skip

    assert [status(greedy, s) for s in opened[:5]] == [404] * 5
    assert {status(greedy, s) for s in opened[5:]} == {200}
    assert status(calm, kept) == 200


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("POST", {"jsonrpc": "2.0", "id": 7, "method": "tools/list"}),
        ("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"}),
        ("GET", None),
        ("DELETE", None),
    ],
)
def test_a_request_without_a_session_opens_none_and_names_the_header(served, method, body):
    """The SDK opened a session for such a request, sent its id back and recorded it as
    the key's while refusing it ("Missing session ID"): a key sending them filled the
    owners' table, whose oldest entries, other keys' sessions, then went."""
    key, _ = served.keys.create(user_id="nadia")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}  # fmt: skip
    kept = initialized(served, "olga")
    for _ in range(3):
        answer = httpx.request(method, f"{served.url}/mcp", json=body, headers=headers, timeout=60)
        assert answer.status_code == 400, answer.text
        assert "mcp-session-id" not in answer.headers
        said = answer.json()["error"]["message"]
        assert "no mcp-session-id header" in said and "send initialize" in said, said
    assert "remember" in post_tools_list(served, kept).text  # another key's session serves on


def test_a_stream_asked_to_resume_opens_fresh(served):
    """No event is kept to replay: the SDK returned no response at all (a 500)."""
    headers = initialized(served, "lena")
    headers = {**headers, "Accept": "text/event-stream", "Last-Event-ID": "e-1"}
    with httpx.stream("GET", f"{served.url}/mcp", headers=headers, timeout=60) as answer:
        assert answer.status_code == 200, answer.read()[:300]
        assert answer.headers["content-type"].startswith("text/event-stream")
    assert "remember" in post_tools_list(served, headers).text  # the session serves on


def test_a_body_past_the_mcp_limit_gets_a_json_rpc_error(served):
    """Between the SDK's limit (4 MiB) and the server's (5 MB) the SDK answered a bare
    413 with no body a JSON-RPC client could read."""
    from graphmem.mcp.http import VET_MAX_BYTES

    key, _ = served.keys.create(user_id="ivy")
    text = "x" * (VET_MAX_BYTES + 1000)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "remember", "arguments": {"text": text}}}  # fmt: skip
    answer = httpx.post(f"{served.url}/mcp", json=body, timeout=60, headers={
        "Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"})  # fmt: skip
    assert answer.status_code == 413
    said = answer.json()["error"]
    assert said["code"] == -32600 and "send a smaller message" in said["message"]


def test_stdio_server_in_front_of_a_remote_graphmem(served, tmp_path):
    """``graphmem mcp --url ... --api-key ...``: stdio for the client, the key's scope."""
    key, _ = served.keys.create(user_id="hana")

    async def scenario():
        remote = ("--url", served.url, "--api-key", key)
        async with stdio_client(tmp_path / "unused", *remote) as client:
            await call(client, "remember", text="Hana works at Initech.")
            found = await call(client, "recall", query="Where does Hana work?", limit=1)
            assert found.structured_content["hits"][0]["text"] == "Hana works at Initech."

    anyio.run(scenario)
    with RestClient(served.url, key) as rest:
        assert [f.text for f in rest.get_all()] == ["Hana works at Initech."]


def test_stdio_with_an_admin_key_needs_a_scope_as_mcp_over_http_does(served, tmp_path):
    """With an admin key and no --user, ``graphmem mcp --url`` started, refused every tool
    but ``cypher``, and ``cypher`` read every user's graph."""
    admin, _ = served.keys.create(admin=True)
    other, _ = served.keys.create(user_id="oscar")
    with RestClient(served.url, other) as rest:
        rest.add("Oscar's PIN is 1234.", infer=False)
    remote = ("--url", served.url, "--api-key", admin)
    argv = [sys.executable, "-m", "graphmem.cli", "mcp", *remote]
    done = subprocess.run(argv, capture_output=True, text=True, env=server_env(), timeout=120,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert "admin key" in done.stderr and "--user" in done.stderr

    async def scenario():  # with a scope given, the admin key serves it, and only it
        async with stdio_client(tmp_path / "unused", *remote, "--user", "petra") as client:
            await call(client, "remember", text="Petra's PIN is 9876.", infer=False)
            rows = await call(client, "cypher", query="MATCH (f:Fact) RETURN f.text AS text")
            assert rows.structured_content["rows"] == [{"text": "Petra's PIN is 9876."}]

    anyio.run(scenario)


HELLO = (
    b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": '
    b'"2025-03-26", "capabilities": {}, "clientInfo": {"name": "curl", "version": "1"}}}'
)


def initialized(served, user: str) -> dict[str, str]:
    """The headers of a session opened and initialized with a new key for ``user``."""
    key, _ = served.keys.create(user_id=user)
    headers = {"X-API-Key": key, "Accept": "application/json, text/event-stream",
               "Content-Type": "application/json"}  # fmt: skip
    opened = httpx.post(f"{served.url}/mcp", content=HELLO, headers=headers, timeout=60)
    headers["mcp-session-id"] = opened.headers["mcp-session-id"]
    ready = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
    assert httpx.post(f"{served.url}/mcp", content=ready, headers=headers, timeout=60).is_success
    return headers


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_not_sent_as_json_gets_a_json_rpc_error_naming_the_header(served, content_type):
    key, _ = served.keys.create(user_id="iris")
    headers = {"X-API-Key": key, "Accept": "application/json, text/event-stream"}
    sent = {**headers, "Content-Type": content_type} if content_type else headers
    answer = httpx.post(f"{served.url}/mcp", content=HELLO, headers=sent, timeout=60)
    assert answer.status_code == 415  # curl -d sends a form's Content-Type
    error = answer.json()["error"]
    assert error["code"] == -32600 and "Content-Type: application/json" in error["message"]
    # With the header, the same bytes are served.
    fixed = httpx.post(f"{served.url}/mcp", content=HELLO, timeout=60,
                       headers={**headers, "Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    assert fixed.status_code == 200 and '"protocolVersion":"2025-03-26"' in fixed.text


@pytest.mark.parametrize("accept", ["application/json", "application/json;q=0.9", "", None])
def test_a_client_that_takes_only_json_gets_plain_json_answers(served, accept):
    """A client whose Accept header named JSON alone (or no type: any, by HTTP's rules)
    was refused outright, 406 "Client must accept both application/json and
    text/event-stream", though one JSON answer is all a request needs."""
    key, _ = served.keys.create(user_id=f"plain-{accept}")
    with httpx.Client(base_url=served.url, timeout=60) as http:
        http.headers.pop("accept")  # httpx's default */* takes both
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        if accept is not None:
            headers["Accept"] = accept
        opened = http.post("/mcp", content=HELLO, headers=headers)
        assert opened.status_code == 200, opened.text[:300]
        assert opened.headers["content-type"] == "application/json"
        assert opened.json()["result"]["protocolVersion"] == "2025-03-26"
        headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        ready = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert http.post("/mcp", json=ready, headers=headers).status_code == 202
        said = http.post("/mcp", headers=headers, json=tool_call(
            2, "remember", text="Pia's spare key is under the red pot.", infer=False))  # fmt: skip
        assert said.headers["content-type"] == "application/json"
        assert int(said.headers["content-length"]) == len(said.content)
        assert said.json()["id"] == 2 and "red pot" in json.dumps(said.json()["result"])
        batch = [tool_call("r", "recall", query="Where is the spare key?"),
                 {"jsonrpc": "2.0", "id": 4, "method": "ping"}]  # fmt: skip
        answers = {a["id"]: a for a in http.post("/mcp", json=batch, headers=headers).json()}
        assert "red pot" in json.dumps(answers["r"]["result"]) and answers[4]["result"] == {}
        wrong = http.post("/mcp", json=tool_call(5, "nope"), headers=headers)
        assert wrong.json()["id"] == 5 and "no tool is named 'nope'" in wrong.text


def test_an_accept_header_that_takes_neither_json_nor_a_stream_is_406_with_no_session(served):
    """The SDK refused it too, but after opening a session, whose id came back with the
    refusal and counted against the key's sessions."""
    key, _ = served.keys.create(user_id="html")
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    refused = httpx.post(f"{served.url}/mcp", content=HELLO, timeout=60,
                         headers={**headers, "Accept": "text/html"})  # fmt: skip
    assert refused.status_code == 406 and "mcp-session-id" not in refused.headers
    said = refused.json()["error"]["message"]
    assert "'text/html'" in said and "Accept: application/json, text/event-stream" in said
    # A client taking only a stream gets one (the SDK refused it as well).
    streamed = httpx.post(f"{served.url}/mcp", content=HELLO, timeout=60,
                          headers={**headers, "Accept": "text/event-stream"})  # fmt: skip
    assert streamed.status_code == 200 and "mcp-session-id" in streamed.headers
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert '"protocolVersion":"2025-03-26"' in streamed.text


def test_a_session_answers_only_the_key_that_opened_it(served):
    """Another user's key could send requests on a session, or DELETE it and cut its
    owner off; each request ran in its own key's scope, but the session was anyone's."""
    alice, _ = served.keys.create(user_id="jane")
    mallory, _ = served.keys.create(user_id="mallory")
    accept = {"Accept": "application/json, text/event-stream"}
    opened = httpx.post(f"{served.url}/mcp", content=HELLO, timeout=60,
                        headers={**accept, "Content-Type": "application/json",
                                 "X-API-Key": alice})  # fmt: skip
    session = {"mcp-session-id": opened.headers["mcp-session-id"]}
    ready = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    with httpx.Client(timeout=60, headers={**accept, **session}) as http:
        assert http.post(f"{served.url}/mcp", json=ready, headers={"X-API-Key": alice}).is_success
        foreign = {"Authorization": f"Bearer {mallory}"}
        used = post_tools_list(served, {**foreign, **session})
        cut = http.delete(f"{served.url}/mcp", headers=foreign)
        assert (used.status_code, cut.status_code) == (404, 404)
        assert "Session not found" in used.json()["error"]["message"]
        # The owner's session is untouched, and the owner may still end it.
        mine = post_tools_list(served, {"X-API-Key": alice, **session})
        assert mine.status_code == 200 and "remember" in mine.text
        assert http.delete(f"{served.url}/mcp", headers={"X-API-Key": alice}).is_success
        assert post_tools_list(served, {"X-API-Key": alice, **session}).status_code == 404


def test_each_unreadable_message_gets_the_error_stdio_gives(served):
    """Over HTTP the SDK answered a batch or another jsonrpc with a pydantic dump, a lone
    surrogate with a wrong parse error, and dropped a request with a float id (202)."""
    from test_mcp_stdio import SAYS, SURROGATE, SURROGATE_ID, UNREADABLE_LINES

    headers = initialized(served, "kate")
    logged = len(served.output())
    for line, code, msg_id in UNREADABLE_LINES:
        answer = httpx.post(f"{served.url}/mcp", content=line, headers=headers, timeout=60)
        # Under a readable id the error is a JSON-RPC response (200): the TypeScript SDK
        # took a 400 for a failed transport and threw no McpError.
        want = 400 if msg_id is None else 200
        assert answer.status_code == want, (line[:60], answer.text[:300])
        body = answer.json()
        assert (body["id"], body["error"]["code"]) == (msg_id, code), (line[:60], body)
        assert "send " in body["error"]["message"] and "validation error" not in answer.text
        said = body["error"]["message"]
        lone = line in (SURROGATE, SURROGATE_ID)
        assert SAYS.get(line, "") in said and ("surrogate" in said) == lone
        assert code != -32602 or "params." in body["error"]["message"], body
    assert "Traceback" not in served.output()[logged:]
    # A notification (no id) is accepted and never answered, whatever it names.
    for bare in (b'{"jsonrpc":"2.0","method":"tools/list"}',
                 b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}'):  # fmt: skip
        answer = httpx.post(f"{served.url}/mcp", content=bare, headers=headers, timeout=60)
        assert (answer.status_code, answer.content) == (202, b""), (bare, answer.text[:300])
    # The session still serves.
    assert "remember" in post_tools_list(served, headers).text


def test_an_unknown_protocol_version_is_refused_naming_the_versions_served(served):
    """A client that sent an MCP-Protocol-Version the server does not speak was told that
    "params._meta must be an object carrying ... envelope keys": nothing said the version
    was the problem, or which would do."""
    headers = initialized(served, "lena")
    for version in ("2099-01-01", "1.0", ""):
        answer = post_tools_list(served, {**headers, "mcp-protocol-version": version})
        assert answer.status_code == 400, (version, answer.text[:300])
        error = answer.json()["error"]
        assert error["code"] == -32022 and "Unsupported protocol version" in error["message"]
        assert "2025-03-26" in error["data"]["supported"]
        assert error["data"]["requested"] == version and "_meta" not in answer.text
    # The version initialize agreed is served, and so is a request naming none.
    for agreed in ({"mcp-protocol-version": "2025-03-26"}, {}):
        assert "remember" in post_tools_list(served, {**headers, **agreed}).text


def tool_call(msg_id, tool: str, **arguments) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}  # fmt: skip


def test_a_batch_of_a_2025_03_26_client_gets_every_answer_in_one_array(served):
    """Protocol 2025-03-26 says a server MUST accept JSON-RPC batches; the SDK read one
    message per body, so a batch was refused whole and none of its requests ran."""
    headers = initialized(served, "nora")
    other = initialized(served, "oscar")
    secret = tool_call("o", "remember", text="Oscar's locker code is 4412.", infer=False)
    assert "4412" in httpx.post(f"{served.url}/mcp", json=secret, headers=other, timeout=60).text
    batch = [
        tool_call("w", "remember", text="Nora keeps her bike in the blue shed.", infer=False),
        {"jsonrpc": "2.0", "method": "notifications/progress",
         "params": {"progressToken": "t", "progress": 1}},  # a notification: no answer
        {"jsonrpc": "2.0", "id": 7, "method": "ping"},
        tool_call("r", "recall", query="Where is the bike kept? What is the locker code?"),
    ]  # fmt: skip
    answer = httpx.post(f"{served.url}/mcp", json=batch, headers=headers, timeout=60)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/json"), answer.text[:300]  # fmt: skip
    answers = {a["id"]: a for a in answer.json()}
    assert sorted(answers, key=str) == [7, "r", "w"], answer.text[:500]
    assert answers[7]["result"] == {}
    assert "blue shed" in json.dumps(answers["w"]["result"])
    # In order: the recall ran after the remember, in the key's own scope only.
    recalled = json.dumps(answers["r"]["result"])
    assert "blue shed" in recalled and "4412" not in recalled


def test_a_batch_without_a_session_is_refused_as_each_message_alone_would_be(served):
    key, _ = served.keys.create(user_id="quinn")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}  # fmt: skip
    ready = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "ping"}, ready,
             tool_call("r", "remember", text="Quinn rows on Sundays.", infer=False)]  # fmt: skip
    answer = httpx.post(f"{served.url}/mcp", json=batch, headers=headers, timeout=60)
    assert answer.status_code == 200 and "mcp-session-id" not in answer.headers
    answers = {a["id"]: a["error"]["message"] for a in answer.json()}
    assert sorted(answers, key=str) == [1, "r"]  # the notification gets no answer
    assert all("no mcp-session-id header" in said for said in answers.values()), answers
    # Notifications alone: nothing to answer them under, so the request is refused whole.
    answer = httpx.post(f"{served.url}/mcp", json=[ready, ready], headers=headers, timeout=60)
    assert answer.status_code == 400 and "mcp-session-id" not in answer.headers
    assert "no mcp-session-id header" in answer.json()["error"]["message"]
    stored = httpx.post(f"{served.url}/mcp", json=tool_call("s", "recall", query="rows"),
                        headers=initialized(served, "quinn"), timeout=60)  # fmt: skip
    assert "Sundays" not in stored.text


def test_each_message_of_a_batch_is_checked_as_if_it_came_alone(served):
    headers = initialized(served, "pia")
    batch = [
        tool_call(1, "no_such_tool"),
        {"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}},
        {"jsonrpc": "2.0", "id": 3.5, "method": "ping"},
        tool_call(4, "recall", query="anything", top_k=3),
        {"jsonrpc": "2.0", "id": 5, "method": "tools/list"},
    ]  # fmt: skip
    answer = httpx.post(f"{served.url}/mcp", json=batch, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    answers = answer.json()
    assert len(answers) == 5
    by_id = {a["id"]: a for a in answers if a["id"] is not None}
    assert (
        by_id[1]["error"]["code"] == -32602 and "tools/list gives" in by_id[1]["error"]["message"]
    )
    assert by_id[2]["error"]["code"] == -32600
    assert "initialize may not be part of a batch" in by_id[2]["error"]["message"]
    assert [a["error"]["code"] for a in answers if a["id"] is None] == [-32600]  # id 3.5
    assert by_id[4]["result"]["isError"] and "top_k" in json.dumps(by_id[4]["result"])
    assert "remember" in json.dumps(by_id[5]["result"])
    # Notifications alone get the spec's 202 with no body; a batch that is no array of
    # objects is refused whole, as before.
    only = [{"jsonrpc": "2.0", "method": "notifications/progress",
             "params": {"progressToken": "t", "progress": 2}}]  # fmt: skip
    quiet = httpx.post(f"{served.url}/mcp", json=only, headers=headers, timeout=60)
    assert (quiet.status_code, quiet.content) == (202, b"")
    # Without the session's id, each request is answered under its own id.
    alone = {k: v for k, v in headers.items() if k != "mcp-session-id"}
    pings = [{"jsonrpc": "2.0", "id": n, "method": "ping"} for n in (8, 9)]
    lost = httpx.post(f"{served.url}/mcp", json=pings, headers=alone, timeout=60).json()
    assert [(a["id"], a["error"]["code"]) for a in lost] == [(8, -32600), (9, -32600)], lost
    assert "session" in lost[0]["error"]["message"].lower()
    for refused in ([], [1, {"jsonrpc": "2.0", "id": 6, "method": "ping"}]):
        whole = httpx.post(f"{served.url}/mcp", json=refused, headers=headers, timeout=60)
        assert whole.status_code == 400 and whole.json()["error"]["code"] == -32600


def test_each_message_of_a_batch_counts_against_the_rate_limit(tmp_path):
    """One request carrying many messages would otherwise pass the per-key limit."""
    with ServedMemory(tmp_path, extra_args=("--rate-limit", "0.5", "--burst", "3")) as slow:
        headers = initialized(slow, "quinn")  # two of the three requests of the burst
        pings = [{"jsonrpc": "2.0", "id": n, "method": "ping"} for n in range(6)]
        answer = httpx.post(f"{slow.url}/mcp", json=pings, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text[:300]
        answers = answer.json()
        assert [a["id"] for a in answers] == list(range(6))
        served = [a for a in answers if "result" in a]
        limited = [a for a in answers if "error" in a]
        assert 1 <= len(served) <= 3 and answers[: len(served)] == served  # in order
        assert limited and all(a["error"]["code"] == -32000 for a in limited)
        assert "rate limit" in limited[0]["error"]["message"]
        assert "send it again" in limited[0]["error"]["message"]
