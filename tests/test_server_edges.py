"""The real ``graphmem serve`` at the edges of what it reads: times at the year limits,
bodies sent in chunks with no Content-Length, bodies that are not one JSON object, blank ids,
and HEAD where GET is served.

Each case here once answered 500 (or did what it should not); each now answers the
caller with what is wrong and what to send instead, in the usual problem+json shape.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import pytest
from server_helpers import problem_of

from graphmem import Client
from graphmem.errors import GraphMemError
from graphmem.testing.server import ServedMemory


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = ServedMemory(tmp_path_factory.mktemp("served"), extra_args=("--rate-limit", "0"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def key(served):
    key, _ = served.keys.create(user_id="edna")
    with Client(served.url, key) as c:
        c.add_triples([("Edna", "likes", "Tea")])
    return key


# Valid ISO-8601 times whose UTC reading is in year 10000 or year 0.
EDGE_TIMES = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")


def _dated_calls(when: str) -> dict[str, tuple[str, str, dict]]:
    triple = {"source": "Edna", "relation": "visits", "target": "Lima", "valid_at": when}
    return {
        "timestamp": ("POST", "/v1/memories", {"json": {"text": "Edna naps.", "infer": False,
                                                        "timestamp": when}}),
        "expires_at": ("POST", "/v1/memories", {"json": {"text": "Edna naps.", "infer": False,
                                                         "expires_at": when}}),
        "as_of": ("POST", "/v1/search", {"json": {"query": "Edna", "as_of": when}}),
        "as_of ": ("GET", "/v1/relations", {"params": {"entity": "Edna", "as_of": when}}),
        "now": ("POST", "/v1/maintain", {"json": {"now": when}}),
        "triples[0].valid_at": ("POST", "/v1/triples", {"json": {"triples": [triple]}}),
    }  # fmt: skip


@pytest.mark.parametrize("when", EDGE_TIMES)
def test_a_time_past_the_year_limits_in_utc_is_named_not_a_500(served, key, when):
    """``astimezone(UTC)`` raised OverflowError for these, which became a 500."""
    headers = {"X-API-Key": key}
    for field, (method, path, kwargs) in _dated_calls(when).items():
        answer = httpx.request(method, served.url + path, headers=headers, **kwargs)
        body = problem_of(answer, 422, "ValidationError")
        assert body["field"] == field.strip(), (path, body)
        assert when in body["detail"] and "0001-9999" in body["detail"], body
    with Client(served.url, key) as c:  # nothing was written
        assert [m.text for m in c.get_all()] == ["Edna likes Tea"]


def _chunks(body: bytes, size: int = 65_536):
    """``body`` as an iterator: httpx then sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_a_chunked_body_over_the_limit_is_refused_and_one_within_it_arrives_whole(served, key):
    """The limit read only Content-Length: a 20 MB chunked body was read and parsed."""
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    item = json.dumps({"text": "z" * 19_000})
    # Over the 5 MB default; its user_id is not the key's, so a parsed body answers 403.
    big = ('{"items": [' + ", ".join([item] * 300) + '], "user_id": "nobody"}').encode()
    answer = httpx.post(served.url + "/v1/memories/batch", content=_chunks(big),
                        headers=headers, timeout=60)  # fmt: skip
    body = problem_of(answer, 413, "ValidationError")
    assert body["field"] == "body" and "5000000 bytes" in body["detail"]
    small = json.dumps({"items": [{"text": "Edna sends tea in chunks."}]}).encode()
    fine = httpx.post(served.url + "/v1/memories/batch", content=_chunks(small, 7),
                      headers=headers)  # fmt: skip
    assert fine.status_code == 200, fine.text
    with Client(served.url, key) as c:
        assert "Edna sends tea in chunks." in [m.text for m in c.get_all()]
        c.delete(fine.json()["facts"][0]["id"])
    assert httpx.get(served.url + "/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(("content_type", "body", "status", "said"), [
    (None, b'{"query": "tea"}', 415, "with no Content-Type"),
    ("text/plain", b'{"query": "tea"}', 415, "as 'text/plain'"),
    ("application/x-www-form-urlencoded", b"query=tea", 415, "as 'application/x-www-form-urlencoded'"),
    ("application/json", b'{"query":', 400, "Expecting value at line 1, column 10"),
    ("application/json", b'{\n "query": "tea",\n}', 400, "at line 3, column 1"),
    ("application/json", b"", 400, "it is empty"),
    ("application/json", b'["tea"]', 422, "is a JSON array"),
], ids=["none", "text", "form", "cut-short", "trailing-comma", "empty", "array"])  # fmt: skip
def test_a_body_that_is_not_one_json_object_says_why_and_what_to_send(
    served, key, content_type, body, status, said
):
    """These answered "request: Input should be a valid dictionary ...", "request: Field
    required", or "9: JSON decode error" with the character offset as the field."""
    headers = {"X-API-Key": key} | ({"Content-Type": content_type} if content_type else {})
    answer = httpx.post(served.url + "/v1/search", content=body, headers=headers)
    found = problem_of(answer, status, "ValidationError")
    assert found["field"] == "body" and said in found["detail"], found
    assert ("application/json" if status != 422 else "JSON object") in found["detail"]
    assert "dictionary" not in found["detail"] and "Field required" not in found["detail"]


@pytest.mark.parametrize(("method", "path", "sent", "field", "said"), [
    ("POST", "/v1/search", {"query": "tea", "users_id": "edna"}, "users_id",
     "is not a field of POST /v1/search (it takes: agent_id, "),
    ("POST", "/v1/search", {"Query": "tea"}, "Query", "did you mean 'query'?"),
    ("POST", "/v1/memories", {"message": "I like tea"}, "message", "did you mean 'messages'?"),
    ("POST", "/v1/search", {"query": "tea", "zzz": 1}, "zzz", "check the name's spelling"),
    ("POST", "/v1/search", {"limit": 3}, "query",
     "is required by POST /v1/search; send it in the JSON body"),
    ("PUT", "/v1/memories/m1", {"user_id": "edna"}, "text",
     "is required by PUT /v1/memories/{memory_id}; send it in the JSON body"),
    ("GET", "/v1/paths", {"source": "Edna"}, "target",
     "is required by GET /v1/paths; send it as a query parameter (it takes: "),
    ("GET", "/v1/neighbours", {"Entity": "Edna"}, "Entity", "did you mean 'entity'?"),
], ids=["typo", "case", "singular", "unlike", "missing", "missing-put", "missing-query",
        "query-case"])  # fmt: skip
def test_a_field_misnamed_or_left_out_is_named_with_what_the_route_takes(
    served, key, method, path, sent, field, said
):
    """pydantic's words went out as they were: "users_id: Extra inputs are not permitted"
    and "query: Field required", with neither the fields the route takes nor the one meant."""
    headers = {"X-API-Key": key}
    if method == "GET":
        answer = httpx.get(served.url + path, params=sent, headers=headers)
    else:
        answer = httpx.request(method, served.url + path, json=sent, headers=headers)
    found = problem_of(answer, 422, "ValidationError")
    assert found["field"] == field and said in found["detail"], found
    assert "not permitted" not in found["detail"] and "Field required" not in found["detail"]
    # Nothing was stored on the way: Edna's scope holds its one memory.
    with Client(served.url, key) as c:
        assert len(c.get_all()) == 1


def test_a_blank_memory_id_is_called_blank(served, key):
    answer = httpx.get(served.url + "/v1/memories/%20", headers={"X-API-Key": key})
    found = problem_of(answer, 422, "ValidationError")
    assert found["field"] == "memory_id" and "is blank" in found["detail"], found
    assert "got str" not in found["detail"]


BATCH_ITEMS = [
    ({"text": "Edna naps.", "user_id": "mallory"}, "items[1].user_id", "per call"),
    ({"text": "Edna naps.", "metdata": {"mood": "calm"}}, "items[1].metdata", "unknown key"),
    ({"text": "\u200b\u2060"}, "items[1].text", "invisible"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "field", "said"), BATCH_ITEMS, ids=[b[1] for b in BATCH_ITEMS])
def test_a_batch_item_that_would_be_misread_is_named_and_nothing_stored(
    served, key, item, field, said
):
    """Unknown keys in ``items[]`` were dropped: a misspelt key lost its data, and an
    item's own ``user_id`` was stored in the key's scope."""
    body = {"items": [{"text": "Edna sings."}, item], "infer": False}
    answer = httpx.post(served.url + "/v1/memories/batch", json=body, headers={"X-API-Key": key})
    found = problem_of(answer, 422, "ValidationError")
    assert found["field"] == field and said in found["detail"], found
    with Client(served.url, key) as c:  # nothing of the batch was written
        assert [m.text for m in c.get_all()] == ["Edna likes Tea"]


ADD_BODIES = [
    ({"messages": "Eve likes ham.", "text": "Eve likes rum."}, "text", "both text and messages"),
    ({"messages": [{"role": ["user"], "content": "Eve likes ham."}]}, "messages[0].role",
     "is not one of"),
    ({"messages": [{"role": "user", "content": "Eve likes ham.", "nmae": "Eve"}]},
     "messages[0].nmae", "unknown key"),
    # Sent as text, named as text: the library's argument is messages.
    ({"text": "Eve likes ham. " * 1400}, "text",
     "21,000 characters, over the limit of 20,000; split it into parts and add each"),
    ({"messages": "Eve likes ham. " * 1400}, "messages",
     "or raise max_text_chars (a server: GRAPHMEM_MAX_TEXT_CHARS)"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field", "said"), ADD_BODIES,
                         ids=[f"{i}-{b[1]}" for i, b in enumerate(ADD_BODIES)])  # fmt: skip
def test_an_add_body_that_would_be_misread_is_named_and_nothing_stored(
    served, key, body, field, said
):
    """A body with both text and messages stored the messages and dropped the text; a list
    as a role was a 500; a misspelt message key was dropped."""
    answer = httpx.post(served.url + "/v1/memories", json={**body, "infer": False},
                        headers={"X-API-Key": key})  # fmt: skip
    found = problem_of(answer, 422, "ValidationError")
    assert found["field"] == field and said in found["detail"], found
    with Client(served.url, key) as c:
        assert [m.text for m in c.get_all()] == ["Edna likes Tea"]


@pytest.mark.parametrize(("body", "field"), [
    (b'{"text": "Eve likes ham.", "text": "Eve likes rum."}', "text"),
    (b'{"messages": [{"role": "user", "content": "Eve likes ham.", "content": "x y"}]}',
     "content"),
    (b'{"text": "Eve likes ham.", "user_id": "edna", "user_id": "edna"}', "user_id"),
])  # fmt: skip
def test_a_body_field_given_twice_is_refused_and_nothing_stored(served, key, body, field):
    """The last of the two was taken without a word: a proxy or a log that read the
    first saw other text than what was stored."""
    answer = httpx.post(served.url + "/v1/memories", content=body,
                        headers={"X-API-Key": key, "Content-Type": "application/json"})  # fmt: skip
    found = problem_of(answer, 422, "ValidationError")
    assert found["field"] == field and "more than once" in found["detail"], found
    with Client(served.url, key) as c:
        assert [m.text for m in c.get_all()] == ["Edna likes Tea"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_a_body_in_utf16_or_utf32_is_refused_and_nothing_stored(served, key, encoding):
    """Python's parser reads these from their NUL bytes, so the memory was stored, while a
    proxy or a log that read the body as UTF-8 saw NULs."""
    body = json.dumps({"text": "Eve likes ham.", "infer": False}).encode(encoding)
    answer = httpx.post(served.url + "/v1/memories", content=body,
                        headers={"X-API-Key": key, "Content-Type": "application/json"})  # fmt: skip
    found = problem_of(answer, 400, "ValidationError")
    assert found["field"] == "body" and "UTF-8 encoded" in found["detail"], found
    with Client(served.url, key) as c:
        assert [m.text for m in c.get_all()] == ["Edna likes Tea"]


WRONG_TYPES = [
    ("POST", "/v1/search", {"json": {"query": "x", "limit": "many"}}, "limit",
     'must be an integer, got "many"'),
    ("POST", "/v1/search", {"json": {"query": "x", "limit": 2.5}}, "limit",
     "must be an integer, got 2.5"),
    ("POST", "/v1/search", {"json": {"query": 5}}, "query", "must be a string, got 5"),
    ("POST", "/v1/search", {"json": {"query": "x", "filters": [1]}}, "filters",
     "must be an object, got [1]"),
    # Neither what was sent nor anything of a key is echoed when it looks like one.
    ("POST", "/v1/search", {"json": {"query": ["gm_0123456789ab_secret"]}}, "query",
     "must be a string, got a value that looks like an API key"),
    ("GET", "/v1/memories", {"params": {"limit": "1e400"}}, "limit",
     'must be an integer, got "1e400"'),
    ("GET", "/v1/memories", {"params": {"include_archived": "maybe"}}, "include_archived",
     'must be true or false, got "maybe"'),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "sent", "field", "said"), WRONG_TYPES,
                         ids=[f"{i}-{w[3]}" for i, w in enumerate(WRONG_TYPES)])  # fmt: skip
def test_a_value_of_the_wrong_type_is_named_with_what_was_sent(
    served, key, method, path, sent, field, said
):
    """pydantic's words came through: "limit: Input should be a valid integer, unable to
    parse string as an integer", saying neither what was sent nor where to look."""
    answer = httpx.request(method, served.url + path, headers={"X-API-Key": key}, **sent)
    found = problem_of(answer, 422, "ValidationError")
    assert found["field"] == field, found
    assert found["detail"] == f"{field}: {said}; send it as /docs describes"
    assert "secret" not in answer.text


@pytest.mark.parametrize(("body", "field", "said"), [
    (rb'{"query": "x", "memory_types": "\ud800"}', "memory_types", 'got "\\ud800"'),
    (rb'{"query": "x", "limit": "\udfff many"}', "limit", 'got "\\udfff many"'),
    (rb'{"query": "x", "ask\ud800": 1}', "request", "'ask\\ud800' holds a lone surrogate"),
])  # fmt: skip
def test_a_lone_surrogate_echoed_in_an_error_is_written_as_its_escape(
    served, key, body, field, said
):
    """JSON may escape a lone surrogate ("\\ud800"). An error that echoed it could not be
    encoded as UTF-8, so the caller got a 500 instead of what was wrong."""
    answer = httpx.post(served.url + "/v1/search", content=body,
                        headers={"X-API-Key": key, "Content-Type": "application/json"})  # fmt: skip
    found = problem_of(answer, 422, "ValidationError")
    assert found["field"] == field, found
    assert said in found["detail"], found


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/stats", "/v1/memories",
                                  "/v1/relations?entity=Edna"])  # fmt: skip
def test_head_answers_as_get_does_with_no_body(served, key, path):
    """HEAD answered 405 on every GET route; load balancers probe /healthz with it."""
    headers = {"X-API-Key": key}
    got = httpx.get(served.url + path, headers=headers)
    head = httpx.head(served.url + path, headers=headers)
    assert got.status_code == head.status_code == 200, (head.status_code, head.headers)
    assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]
    if path.startswith("/v1/"):  # a key is still needed where GET needs one
        assert httpx.head(served.url + path).status_code == 401


def test_a_repeated_add_says_the_memory_is_already_stored(served, key):
    headers, body = {"X-API-Key": key}, {"text": "Edna waters the ferns.", "infer": False}
    first = httpx.post(served.url + "/v1/memories", json=body, headers=headers)
    again = httpx.post(served.url + "/v1/memories", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    ids = [f["id"] for f in first.json()["facts"]]
    assert ids and again.json()["facts"] == [] and again.json()["unchanged"] == ids
    with Client(served.url, key) as c:
        assert c.add("Edna waters the ferns.", infer=False).unchanged == ids
        c.delete(ids[0])  # the module's other tests expect Edna's one memory


def test_a_cypher_result_of_nan_or_infinity_is_json_null(served, key, tmp_path):
    """0.0 / 0.0 in a Cypher result has no JSON form: the server answered 500, and the
    CLI's --json printed NaN, which strict parsers refuse. Both give null, as MCP does."""
    query = "RETURN 0.0/0.0 AS n, 1.0/0.0 AS i, -1.0/0.0 AS j, 1.5 AS x"
    answer = httpx.post(served.url + "/v1/cypher", json={"query": query},
                        headers={"X-API-Key": key})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert json.loads(answer.text, parse_constant=_refuse) == {
        "rows": [{"n": None, "i": None, "j": None, "x": 1.5}]
    }
    done = subprocess.run([sys.executable, "-m", "graphmem.cli", "cypher", "run", query,
                           "--user", "u", "--json", "--embedder", "hash",
                           "--data-dir", str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout, parse_constant=_refuse) == {"n": None, "i": None, "j": None,
                                                               "x": 1.5}  # fmt: skip


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


@pytest.mark.parametrize("odd", [".", ".."])
def test_an_id_of_dots_names_one_memory_never_the_scope(served, odd):
    """The client wrote "." into the URL as is, the HTTP client removed it as a dot
    segment, and ``delete(".")`` with an admin key reached ``DELETE /v1/memories``: every
    memory of the scope was deleted (through MCP's ``forget`` too)."""
    admin, _ = served.keys.create(admin=True)
    with Client(served.url, admin) as c:
        c.add("Dave owns a red bicycle.", user_id="dave-" + odd, infer=False)
        before = c.get_all(user_id="dave-" + odd)
        with pytest.raises(GraphMemError):
            c.delete(odd, user_id="dave-" + odd)
        with pytest.raises(GraphMemError):
            c.get(odd, user_id="dave-" + odd)
        assert [f.id for f in c.get_all(user_id="dave-" + odd)] == [f.id for f in before]
        assert before
        c.add_triples([(odd, "follows", "Dave")], user_id="dave-" + odd)
        assert [r.target_name for r in c.graph.relations(odd, user_id="dave-" + odd)] == ["Dave"]


def test_blanks_around_a_key_are_not_part_of_it(served, key):
    """RFC 9110 5.5: a field value excludes the blanks around it; ``X-API-Key: gm_... ``
    got 401. A key read from a file keeps its newline: the client sent it and failed with
    "Illegal header value", reported as the server being unavailable."""
    port = int(served.url.rsplit(":", 1)[1])
    for padded in (key + " ", key + "\t", " " + key):
        with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
            conn.sendall(b"GET /v1/memories?limit=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"X-API-Key: " + padded.encode() + b"\r\nConnection: close\r\n\r\n")  # fmt: skip
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200"), (padded, answer[:300])
    with Client(served.url, key) as plain, Client(served.url, key + "\n") as c:
        assert [f.text for f in c.get_all()] == [f.text for f in plain.get_all()]


def test_a_compressed_body_is_415_naming_the_coding(served, key):
    """RFC 9110 8.4: a content coding the server does not take is 415; gzip bytes were
    read as text and refused as "not UTF-8"."""
    import gzip

    answer = httpx.post(served.url + "/v1/memories", headers={
        "X-API-Key": key, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        content=gzip.compress(b'{"text": "Edna likes tea."}'))  # fmt: skip
    assert "Content-Encoding 'gzip'" in problem_of(answer, 415, "ValidationError")["detail"]
    with Client(served.url, key) as c:
        assert "Edna likes tea." not in [f.text for f in c.get_all()]


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/stats/", None),
    ("POST", "/v1/search/", {"query": "What does Edna like?"}),
    ("POST", "/v1/memories/", {"text": "Edna keeps a slash-free diary.", "infer": False}),
])  # fmt: skip
def test_a_route_asked_with_a_trailing_slash_is_that_route(served, key, method, path, body):
    """FastAPI answered these 307 with an empty body: httpx does not follow it by default,
    so the call did nothing and said nothing."""
    headers = {"X-API-Key": key}
    answer = httpx.request(method, served.url + path, json=body, headers=headers)
    same = (
        httpx.request("GET", served.url + path[:-1], headers=headers) if method == "GET" else None
    )
    assert answer.status_code in (200, 201), (answer.status_code, answer.headers, answer.text)
    if same is not None:
        assert answer.json().keys() == same.json().keys()
    if path == "/v1/memories/":  # stored, once, as if asked without the slash
        ids = [f["id"] for f in answer.json()["facts"]]
        again = httpx.post(served.url + "/v1/memories", json=body, headers=headers)
        assert ids and again.json()["unchanged"] == ids
        with Client(served.url, key) as c:
            c.delete(ids[0])  # the module's other tests expect Edna's one memory
    assert httpx.head(served.url + "/v1/stats/", headers=headers).status_code == 200
    assert httpx.get(served.url + "/v1/stats/").status_code == 401  # still needs a key
    assert httpx.get(served.url + "/v1/nothing/", headers=headers).status_code == 404
