"""``graphmem mcp`` over stdio, driven by the official ``mcp`` SDK client as a real
subprocess: every tool, a two-hop recall with its path, tool errors that leave the
server serving, one scope per server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import pytest
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

from graphmem.jsonable import from_jsonable
from graphmem.memory import AddResult


def test_lists_and_calls_every_tool(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as client:
            await every_tool(client)

    anyio.run(scenario)


@pytest.mark.parametrize("mode", ["2026-07-28", "legacy"])
def test_both_protocol_eras_are_served_over_stdio(tmp_path, mode):
    """The 2026-07-28 protocol has no initialize: each request names its version in
    ``_meta``. The stdio server refused every such request as "came before initialize"
    while /mcp served them."""

    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice", mode=mode) as client:
            await every_tool(client)
            # A refusal made before the SDK's handler has the era's shape too: the
            # client reads it as the tool's error, not as a malformed result.
            refused = await client.call_tool("recall", {"query": "x", "limit": True})
            assert refused.is_error
            assert "limit: must be an integer, got true" in text_of(refused)

    anyio.run(scenario)


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as client:
            await bad_calls(client)

    anyio.run(scenario)


def test_a_server_for_one_user_sees_nothing_of_another(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as alice:
            ids = [f.id for f in await remember_story(alice)]
        async with stdio_client(tmp_path, "--user", "bob") as bob:
            await sees_nothing_of(bob, ids)
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


# Lines Python's json reads and the SDK's parser does not: each was said to hold a lone
# surrogate. And tools/call naming no tool, which was said to name "a str".
SURROGATE = b'{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":"a\\ud800"}}'
# A lone surrogate in the id itself: echoed back, the answer could not be encoded (HTTP 500).
SURROGATE_ID = b'{"jsonrpc":"2.0","id":"a\\ud800","method":"ping"}'
DEEP = (b'{"jsonrpc":"2.0","id":"deep","method":"ping","params":{"_meta":' + b'{"a":' * 250
        + b"1" + b"}" * 250 + b"}}")  # fmt: skip
BOM = b'\xef\xbb\xbf{"jsonrpc":"2.0","id":"bom","method":"ping"}'
NO_NAME = b'{"jsonrpc":"2.0","id":16,"method":"tools/call","params":{"name":"","arguments":{}}}'
BLANK_NAME = b'{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"name":" "}}'
# prompts/get: graphmem serves no prompts, and the SDK answered with code 0 and a traceback.
PROMPT = b'{"jsonrpc":"2.0","id":18,"method":"prompts/get","params":{"name":"nope"}}'
# A tool graphmem does not have: a protocol error (the SDK answered a tool result).
NO_TOOL = b'{"jsonrpc":"2.0","id":19,"method":"tools/call","params":{"name":"nope","arguments":{}}}'
# A page graphmem never gave: the SDK answered the first page, read as the next one.
CURSOR = b'{"jsonrpc":"2.0","id":22,"method":"tools/list","params":{"cursor":"page-2"}}'
# Bytes that are no UTF-8: stdio served them as U+FFFD and stored the altered text.
LATIN1 = b'{"jsonrpc":"2.0","id":23,"method":"ping","params":{"x":"caf\xe9"}}'
# UTF-16: Python's parser read it, and the SDK's refused it as "key must be a string".
UTF16 = '{"jsonrpc":"2.0","id":26,"method":"ping"}'.encode("utf-16-le")
# A member given twice: the parser kept the last, so this searched "b" without a word.
TWICE = (b'{"jsonrpc":"2.0","id":24,"method":"tools/call","params":{"name":"recall",'
         b'"arguments":{"query":"a","query":"b"}}}')  # fmt: skip
# What the error for those lines must say.
SAYS = {TWICE: "'query' is given more than once in one JSON object; send each member once",
        SURROGATE: "lone UTF-16 surrogate", SURROGATE_ID: "lone UTF-16 surrogate",
        DEEP: "252 levels deep, past the 200",
        BOM: "byte-order mark (U+FEFF); send UTF-8 without one",
        NO_NAME: "got an empty string; send one that tools/list gives",
        BLANK_NAME: "got a string of only whitespace; send one that tools/list gives",
        PROMPT: "no prompt is named 'nope'",
        NO_TOOL: "no tool is named 'nope'; send one that tools/list gives: cypher",
        CURSOR: "'page-2' is no cursor graphmem gave",
        LATIN1: "byte 0xe9 at offset 59 is not UTF-8",
        UTF16: "NUL bytes, as UTF-16 and UTF-32 text do"}  # fmt: skip

# A line a client may send that is no JSON-RPC message, and the error code and id it gets.
UNREADABLE_LINES = [
    (b"{not json", -32700, None),
    (SURROGATE, -32700, 7),
    (SURROGATE_ID, -32700, None),
    (DEEP, -32700, "deep"),
    (BOM, -32700, "bom"),
    (b'{"jsonrpc":"1.0","id":8,"method":"ping"}', -32600, 8),  # its id read back
    (b"[1, 2]", -32600, None),
    (b'{"jsonrpc":"2.0","id":9,"method":"ping","params":' + b"[" * 3000 + b"]" * 3000 + b"}",
     -32700, None),
    # A request whose id is no string or integer was read as a notification and dropped.
    *[(b'{"jsonrpc":"2.0","id":%s,"method":"ping"}' % bad, -32600, None)
      for bad in (b"1.5", b"true", b"null", b"[1]", b'{"a":1}')],
    # tools/call naming no tool, or with arguments that are not an object.
    (b'{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"arguments":{}}}', -32602, 10),
    (NO_NAME, -32602, 16),
    (BLANK_NAME, -32602, 17),
    (PROMPT, -32602, 18),
    (NO_TOOL, -32602, 19),
    (CURSOR, -32602, 22),
    (LATIN1, -32700, 23),
    (UTF16, -32700, None),
    (TWICE, -32600, 24),
    (b'{"jsonrpc":"2.0","id":25,"method":"ping","method":"ping"}', -32600, 25),
    # Valid JSON but no JSON-RPC request: its id is read back all the same (a null id,
    # which JSON-RPC allows only for an id that cannot be read, left the client waiting).
    (b'{"jsonrpc":"2.0","id":20,"method":"tools/list","params":[]}', -32600, 20),
    (b'{"jsonrpc":"2.0","id":"m","method":7}', -32600, "m"),
    (b'{"id":21,"method":"ping"}', -32600, 21),
    (b'{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"recall",'
     b'"arguments":["where"]}}', -32602, 11),
    # Params that fit no protocol era's schema: the SDK said "Invalid request parameters".
    (b'{"jsonrpc":"2.0","id":12,"method":"tools/list","params":{"cursor":5}}', -32602, 12),
    (b'{"jsonrpc":"2.0","id":13,"method":"resources/read","params":{}}', -32602, 13),
    (b'{"jsonrpc":"2.0","id":14,"method":"logging/setLevel","params":{"level":"loud"}}',
     -32602, 14),
    (b'{"jsonrpc":"2.0","id":15,"method":"initialize","params":{"protocolVersion":'
     b'"2025-06-18","capabilities":{}}}', -32602, 15),
]  # fmt: skip


def test_each_unreadable_or_early_line_gets_a_json_rpc_error_and_the_session_goes_on(tmp_path):
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}}  # fmt: skip
    early = b'{"jsonrpc":"2.0","id":0,"method":"tools/list"}'
    lines = [early, json.dumps(hello).encode(),
             b'{"jsonrpc":"2.0","method":"notifications/initialized"}']  # fmt: skip
    for n, (line, _, _) in enumerate(UNREADABLE_LINES):
        lines += [
            line,
            json.dumps({"jsonrpc": "2.0", "id": f"after-{n}", "method": "ping"}).encode(),
        ]
    replies = _replies(tmp_path, lines, expected=2 + 2 * len(UNREADABLE_LINES))
    # JSON-RPC answers need not come in order (a request is answered by its own task, and
    # on a busy machine the initialize's answer came after the next line's error): the
    # initialize and the pings are matched by id, the errors (some carry no id) by order.
    too_soon = replies[0]
    assert too_soon["id"] == 0 and too_soon["error"]["code"] == -32600
    assert "send initialize first" in too_soon["error"]["message"]
    welcome = [r for r in replies[1:] if r.get("id") == 1]
    assert len(welcome) == 1 and "result" in welcome[0]
    pongs = [r for r in replies[1:] if str(r.get("id")).startswith("after-")]
    errors = [r for r in replies[1:] if r not in pongs and r not in welcome]
    for n, (line, code, msg_id) in enumerate(UNREADABLE_LINES):
        error = errors[n]
        assert (error["id"], error["error"]["code"]) == (msg_id, code), (line[:60], error)
        said = error["error"]["message"]
        assert "send " in said  # says what to do instead
        lone = line in (SURROGATE, SURROGATE_ID)
        assert SAYS.get(line, "") in said and ("surrogate" in said) == lone
        if code == -32602:  # and which field is wrong
            assert "params." in error["error"]["message"], error
    assert sorted(pongs, key=lambda r: int(r["id"][6:])) == [
        {"jsonrpc": "2.0", "id": f"after-{n}", "result": {}} for n in range(len(UNREADABLE_LINES))
    ]


def test_a_notification_is_never_answered_whatever_its_method(tmp_path):
    """JSON-RPC forbids answering a notification (a message with no id), even one naming
    a method that is no notification; an id that is there but unusable is answered. A
    blank line is no message, and gets no answer either."""
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}}  # fmt: skip
    lines = [json.dumps(hello).encode(),
             b'{"jsonrpc":"2.0","method":"notifications/initialized"}', b"", b" \t",
             b'{"jsonrpc":"2.0","method":"tools/list"}',
             b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}',
             b'{"jsonrpc":"2.0","id":"p","method":"ping"}',
             b'{"jsonrpc":"2.0","id":null,"method":"tools/list"}',
             b'{"jsonrpc":"2.0","id":"q","method":"ping"}',
             # A bare CR is JSON whitespace: read with universal newlines it cut this
             # message in two, two parse errors, and "r" was never answered.
             b'{"jsonrpc":"2.0",\r"id":"r","method":"ping"}']  # fmt: skip
    replies = _replies(tmp_path, lines, expected=5)
    # Answers need not come in order (a ping is answered by its own task): matched by id.
    by_id = {str(r["id"]): r for r in replies}
    assert len(by_id) == 5 and "result" in by_id["1"]
    assert by_id["r"] == {"jsonrpc": "2.0", "id": "r", "result": {}}
    assert by_id["p"] == {"jsonrpc": "2.0", "id": "p", "result": {}}
    assert by_id["None"]["error"]["code"] == -32600
    assert by_id["q"] == {"jsonrpc": "2.0", "id": "q", "result": {}}


def test_requests_piped_in_whole_are_all_answered_after_stdin_ends(tmp_path):
    """A client that writes its requests and closes stdin at once (``printf ... |
    graphmem mcp``, a test harness) gets every answer: the session does not end while a
    request read before the end of input is still being worked on. The SDK answered the
    ones still running "Connection closed" and nothing was stored."""
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "piped", "version": "1"}}}  # fmt: skip
    calls = [{"jsonrpc": "2.0", "id": f"add-{n}", "method": "tools/call", "params": {
        "name": "remember", "arguments": {"text": text}}}
        for n, text in enumerate(["Alice moved to Paris in 2020.",
                                  "Bob works at the harbour in Lisbon."])]  # fmt: skip
    recall = {"jsonrpc": "2.0", "id": "find", "method": "tools/call",
              "params": {"name": "recall", "arguments": {"query": "Where does Alice live?"}}}  # fmt: skip
    lines = [json.dumps(hello), '{"jsonrpc":"2.0","method":"notifications/initialized"}',
             *map(json.dumps, calls), json.dumps(recall)]  # fmt: skip
    argv = [sys.executable, "-m", "graphmem.cli", "mcp", "--data-dir", str(tmp_path), "--user",
            "a", "--embedder", "hash"]  # fmt: skip
    done = subprocess.run(argv, input="".join(line + "\n" for line in lines).encode(),
                          capture_output=True, env=server_env(), timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    by_id = {r["id"]: r for r in map(json.loads, done.stdout.decode().splitlines())}
    assert set(by_id) == {1, "add-0", "add-1", "find"}, by_id
    for n in range(2):
        answer = by_id[f"add-{n}"]
        assert "error" not in answer and not answer["result"]["isError"], answer
        assert "Remembered 1 memory" in answer["result"]["content"][0]["text"]
    assert "error" not in by_id["find"], by_id["find"]
    # Both memories were stored: a fresh session finds them.
    again = subprocess.run([*argv[:3], "search", "harbour Lisbon", "--data-dir", str(tmp_path),
                            "--user", "a", "--embedder", "hash"],
                           capture_output=True, env=server_env(), timeout=300)  # fmt: skip
    assert again.returncode == 0 and b"Bob works at the harbour" in again.stdout, again


def _replies(data_dir: Path, lines: list[bytes], expected: int) -> list[dict]:
    """Sends ``lines`` (CRLF-ended) to a fresh ``graphmem mcp`` and reads ``expected``
    replies before closing its stdin (an early EOF would end the session under them)."""
    argv = [sys.executable, "-m", "graphmem.cli", "mcp", "--data-dir", str(data_dir), "--user", "a"]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=server_env()) as server:  # fmt: skip
        server.stdin.write(b"".join(line + b"\r\n" for line in lines))
        server.stdin.flush()
        stop = threading.Timer(120, server.kill)  # a silent server fails the test, not hangs it
        stop.start()
        replies = [json.loads(server.stdout.readline() or "null") for _ in range(expected)]
        stop.cancel()
        server.stdin.close()
        assert server.wait(timeout=60) == 0 and b"Traceback" not in server.stderr.read()
    return replies


# A group chat with an assistant reply, over 200 words: long enough to be kept turn by turn.
CHAT = [
    {"role": "user", "name": "Ana", "content": "Morning everyone. Quick update from me: my "
     "sister Lucia is moving to Valencia next month because she got a job at a shipping "
     "company there. I am helping her pack the flat this weekend, so I will be slow to "
     "answer messages until Monday. If anyone has spare boxes, please bring them over."},
    {"role": "user", "name": "Ben", "content": "Good luck with the move, Ana. On my side, "
     "the bakery on Elm Street finally reopened after the fire, and they still make the rye "
     "bread I like. I also signed up for the city half marathon in October, so I will be "
     "training three evenings a week along the river path from now on."},
    {"role": "assistant", "content": "Thanks for the updates. I have noted that Lucia is "
     "moving to Valencia for a new job, and that Ben is training for the October half "
     "marathon. Ben, the river path is closed near the old mill for repairs until the end "
     "of the month, so the loop through the park may be a better route for long runs."},
    {"role": "user", "name": "Ana", "content": "Thanks. One more thing before I forget: "
     "our book club meets on Thursday at the library instead of the cafe, since the cafe is "
     "closed for renovation. We are reading a novel about a lighthouse keeper on a remote "
     "island, and I still have two chapters left, so no spoilers please."},
]  # fmt: skip


def test_a_conversation_is_remembered_turn_by_turn(tmp_path):
    """``remember`` takes one text, so an agent saving a transcript got it back whole from
    every recall. ``remember_conversation`` takes the messages: each recall hit is the
    turn that says it, with its speaker, the assistant's own replies included."""

    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as client:
            tool = next(t for t in (await client.list_tools()).tools
                        if t.name == "remember_conversation")  # fmt: skip
            assert "$ref" not in str(tool.input_schema)  # some clients follow no references
            added = await call(client, "remember_conversation", messages=CHAT)
            assert from_jsonable(AddResult, added.structured_content["result"]).facts

            club = await call(client, "recall", query="Where does the book club meet?")
            best = club.structured_content["hits"][0]
            assert best["text"] == CHAT[3]["content"]
            assert best["metadata"]["speaker"] == "Ana"
            route = await call(client, "recall", query="Which route should Ben run?")
            assert route.structured_content["hits"][0]["text"] == CHAT[2]["content"]
            # Who said each hit, in the words an agent reads: advice is the assistant's.
            assert route.structured_content["hits"][0]["role"] == "assistant"
            assert route.structured_content["hits"][0]["said_by"] == "the assistant"
            assert route.content[0].text.startswith(f"1. {CHAT[2]['content']}  (said by the "
                                                    "assistant, id ")  # fmt: skip
            assert club.content[0].text.startswith(f"1. {CHAT[3]['content']}  (said by Ana, id ")

            for bad in ([], [{"role": "bot", "content": "hi"}], [{"role": "user"}],
                        [{"content": "hi", "mood": "happy"}]):  # fmt: skip
                refused = await client.call_tool("remember_conversation", {"messages": bad})
                assert refused.is_error, bad
            listed = await call(client, "list_memories", limit=500)
            assert len(listed.structured_content["memories"]) == len(
                from_jsonable(AddResult, added.structured_content["result"]).facts
            )

    anyio.run(scenario)


def test_remembering_the_same_thing_twice_says_it_is_already_stored(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as client:
            first = await remember_story(client)
            again = await call(client, "remember", text=STORY[0], when="2024-01-01")
            result = from_jsonable(AddResult, again.structured_content["result"])
            assert result.facts == [] and result.unchanged == [first[0].id]
            assert f"Already stored, unchanged: {first[0].id}" in text_of(again)

    anyio.run(scenario)


def test_a_batch_line_gets_an_answer_for_each_of_its_requests(tmp_path):
    """Protocol 2025-03-26 says a server MUST accept JSON-RPC batches; the SDK read one
    message per line, so a batch line was refused whole and none of its requests ran."""
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"}}}  # fmt: skip
    batch = [
        {"jsonrpc": "2.0", "id": "p", "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/progress",
         "params": {"progressToken": "t", "progress": 1}},  # a notification: no answer
        {"jsonrpc": "2.0", "id": "w", "method": "tools/call", "params": {
            "name": "remember", "arguments": {"text": "Rosa waters the ferns on Fridays.",
                                              "infer": False}}},
        {"jsonrpc": "2.0", "id": "x", "method": "tools/call", "params": {"name": "nope"}},
    ]  # fmt: skip
    # A batch line holding a byte that is not UTF-8 is refused whole, naming the byte.
    undecodable = json.dumps(batch[:1]).encode().replace(b'"ping"', b'"p\xe9ng"')
    lines = [json.dumps(hello).encode(), b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
             json.dumps(batch).encode(), undecodable,
             b'{"jsonrpc":"2.0","id":"after","method":"ping"}']  # fmt: skip
    replies = _replies(tmp_path, lines, expected=6)
    refused = [r for r in replies if r["id"] is None]
    assert len(refused) == 1 and "byte 0xe9" in refused[0]["error"]["message"], replies
    by_id = {r["id"]: r for r in replies if r["id"] is not None}
    assert sorted(by_id, key=str) == [1, "after", "p", "w", "x"], replies
    assert by_id["p"]["result"] == {} and by_id["after"]["result"] == {}
    assert "ferns" in json.dumps(by_id["w"]["result"]) and not by_id["w"]["result"]["isError"]
    assert by_id["x"]["error"]["code"] == -32602 and "tools/list gives" in json.dumps(by_id["x"])
