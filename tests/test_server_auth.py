"""The real ``graphmem serve`` (uvicorn in a child process on 127.0.0.1) and its keys.

Keys: 401 for no, wrong, revoked or expired keys; another scope's data answers 404 on
every endpoint; the rate limit answers 429 with Retry-After; ``keys list`` counts use;
neither the key store nor the server's output ever holds a key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from server_helpers import problem_of as _problem

from graphmem import AuthError, Client, GraphMemError, NotFoundError, RateLimitError
from graphmem.api import OPS
from graphmem.testing.server import ServedMemory

# Words only Bob's stored data holds (requests name Zed and Quito, never these).
LEAKS = ("Umbra", "Yara", "Quito.", "Xenon")
CLI = "import sys; from graphmem.cli import main; sys.exit(main(sys.argv[1:]))"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = ServedMemory(tmp_path_factory.mktemp("served"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bob(served):
    """Bob's data, which Alice's key must never see."""
    key, info = served.keys.create(user_id="bob")
    with Client(served.url, key) as c:
        added = c.add("Zed lives in Quito. Zed works at Umbra.")
        c.add_triples([("Zed", "knows", "Yara")])
        merge = c.add("Zed Q. lives in Quito.")
        c.add("Always greet me with Xenon.", memory_type="rule")
    return {"key": key, "info": info, "fact": added.facts[0].id, "merge": merge}


def test_no_wrong_revoked_or_expired_key_gets_401(served, tmp_path):
    url = served.url + "/v1/memories"
    _problem(httpx.get(url), 401, "AuthError")
    _problem(httpx.get(url, headers={"Authorization": "Bearer nonsense"}), 401, "AuthError")
    key, info = served.keys.create(user_id="carol")
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")  # right id, wrong secret
    _problem(httpx.get(url, headers={"Authorization": f"Bearer {wrong}"}), 401, "AuthError")
    assert httpx.get(url, headers={"X-API-Key": key}).status_code == 200

    done = cli("keys", "revoke", info.id, "--data-dir", str(served.data_dir))
    assert done.returncode == 0, done.stderr
    _problem(httpx.get(url, headers={"X-API-Key": key}), 401, "AuthError")  # at once

    past = datetime.now(UTC) - timedelta(seconds=1)
    old, _ = served.keys.create(user_id="carol", expires_at=past)
    _problem(httpx.get(url, headers={"X-API-Key": old}), 401, "AuthError")
    with Client(served.url, old) as client, pytest.raises(AuthError):
        client.get_all()


def test_a_request_with_two_different_keys_is_refused_and_writes_nothing(served, bob):
    """The first key found used to win: Alice's Bearer beside Bob's X-API-Key wrote to
    Alice, and Bob's beside hers to Bob, whatever a proxy had checked."""
    alice, _ = served.keys.create(user_id="alice2")
    url = served.url + "/v1/memories"
    body = {"text": "Two keys sent this."}
    for headers in ([("Authorization", f"Bearer {alice}"), ("X-API-Key", bob["key"])],
                    [("X-API-Key", bob["key"]), ("Authorization", f"Bearer {alice}")],
                    [("Authorization", f"Bearer {bob['key']}"), ("Authorization", f"bearer {alice}")],
                    [("X-API-Key", alice), ("X-API-Key", bob["key"])]):  # fmt: skip
        refused = _problem(httpx.post(url, json=body, headers=headers), 401, "AuthError")
        assert "2 different API keys" in refused["detail"] and "send one" in refused["detail"]
        assert alice not in refused["detail"] and bob["key"] not in refused["detail"]
    for key in (alice, bob["key"]):
        listed = httpx.get(url, headers={"X-API-Key": key}).json()["memories"]
        assert "Two keys sent this." not in [m["text"] for m in listed]
    # One key sent twice is one key; a proxy's own Basic credentials are not a key.
    for headers in ([("Authorization", f"Bearer {alice}"), ("X-API-Key", alice)],
                    [("Authorization", "Basic cHJveHk6cHc="), ("X-API-Key", alice)]):  # fmt: skip
        assert httpx.get(url, headers=headers).status_code == 200


def _calls(bob: dict) -> dict[str, tuple[str, str, dict]]:
    """One request per endpoint, each naming Bob's data (ids, entities, or his scope)."""
    fact, event = bob["fact"], 1
    return {
        "add": ("POST", "/v1/memories", {"json": {"text": "x", "user_id": "bob"}}),
        "add_many": ("POST", "/v1/memories/batch",
                     {"json": {"items": [{"text": "x"}], "user_id": "bob"}}),
        "add_triples": ("POST", "/v1/triples",
                        {"json": {"triples": [["Zed", "likes", "tea"]], "user_id": "bob"}}),
        "get_all": ("GET", "/v1/memories", {"params": {"user_id": "bob"}}),
        "get": ("GET", f"/v1/memories/{fact}", {}),
        "update": ("PUT", f"/v1/memories/{fact}", {"json": {"text": "hijacked"}}),
        "delete": ("DELETE", f"/v1/memories/{fact}", {}),
        "delete_all": ("DELETE", "/v1/memories", {"params": {"user_id": "bob"}}),
        "history": ("GET", f"/v1/memories/{fact}/history", {}),
        "undo_merge": ("POST", f"/v1/merges/{event}/undo", {}),
        "search": ("POST", "/v1/search", {"json": {"query": "Zed", "user_id": "bob"}}),
        "cypher": ("POST", "/v1/cypher", {"json": {"query": "MATCH (e) RETURN e",
                                                    "user_id": "bob"}}),
        "stats": ("GET", "/v1/stats", {"params": {"user_id": "bob"}}),
        "rules": ("GET", "/v1/rules", {"params": {"user_id": "bob"}}),
        "archive": ("POST", f"/v1/memories/{fact}/archive", {}),
        "restore": ("POST", f"/v1/memories/{fact}/restore", {}),
        "maintain": ("POST", "/v1/maintain", {"json": {"user_id": "bob",
                                                        "now": "2999-01-01"}}),
        "settle": ("POST", "/v1/settle", {}),
        "graph.entity": ("GET", "/v1/entities/Zed", {}),
        "graph.relations": ("GET", "/v1/relations", {"params": {"entity": "Zed"}}),
        "graph.neighbours": ("GET", "/v1/neighbours", {"params": {"entity": "Zed"}}),
        "graph.paths": ("GET", "/v1/paths", {"params": {"source": "Zed", "target": "Quito"}}),
        "graph.facts_about": ("GET", "/v1/facts_about", {"params": {"entity": "Zed"}}),
        "graph.subgraph": ("GET", "/v1/subgraph", {"params": {"entity": "Zed"}}),
    }  # fmt: skip


def test_another_scopes_data_is_not_found_on_every_endpoint(served, bob):
    alice, _ = served.keys.create(user_id="alice")
    with Client(served.url, alice) as c:
        c.add("Alice lives in Lima.")
    calls = _calls(bob)
    assert set(calls) == set(OPS)  # a new endpoint must be added here too
    headers = {"Authorization": f"Bearer {alice}"}
    for name, (method, path, kwargs) in calls.items():
        response = httpx.request(method, served.url + path, headers=headers, **kwargs)
        # Naming Bob's id or entity is the same as naming one that does not exist; naming
        # his scope in a scope-wide call is refused. Either way nothing of his comes back.
        assert response.status_code in (403, 404), (name, response.status_code, response.text)
        assert not any(m in response.text for m in LEAKS), name
        if name in ("add", "add_many", "add_triples"):
            continue  # in her own scope these would create her own "Zed"
        # The same call without naming Bob's scope: Alice's own scope, where Bob's ids
        # and entities do not exist.
        own = {k: ({x: y for x, y in v.items() if x != "user_id"} if isinstance(v, dict) else v)
               for k, v in kwargs.items()}  # fmt: skip
        again = httpx.request(method, served.url + path, headers=headers, **own)
        assert again.status_code in (200, 403, 404, 422), (name, again.text)
        assert not any(m in again.text for m in LEAKS), name
    # Bob's memory is untouched by all of it.
    with Client(served.url, bob["key"]) as c:
        assert c.get(bob["fact"]).text == "Zed lives in Quito."
        assert c.stats()["memories"] >= 3
    with Client(served.url, alice) as c, pytest.raises(NotFoundError):
        c.history(bob["fact"])


def test_only_admin_keys_delete_a_whole_scope(served):
    user, _ = served.keys.create(user_id="dora")
    admin, _ = served.keys.create(admin=True)
    with Client(served.url, user) as c:
        c.add_many([{"text": "Dora likes tea."}, {"text": "Dora likes jazz."}])
        with pytest.raises(AuthError):
            c.delete_all()
        assert len(c.get_all()) == 2
    with Client(served.url, admin) as c:
        assert c.delete_all(user_id="dora") == 2
        assert c.get_all(user_id="dora") == []


def test_only_admin_keys_settle_and_the_server_answers_the_same_after(served):
    """A settle closes and reopens the data dir's stores for every scope, so a scoped key
    may not ask for it; an admin's leaves every answer as it was and writes still land."""
    user, _ = served.keys.create(user_id="gail")
    admin, _ = served.keys.create(admin=True)
    with Client(served.url, user) as c:
        c.add_many([{"text": "Gail lives in Porto."}, {"text": "Gail works at Nimbus."}])
        before = [(h.memory_id, h.text) for h in c.search("Where does Gail live?")]
        with pytest.raises(AuthError, match="admin key"):
            c.settle()
    _problem(httpx.post(served.url + "/v1/settle", headers={"X-API-Key": user}), 403,
             "AuthError")  # fmt: skip
    with Client(served.url, admin) as c:
        assert c.settle() == {"graph": True, "vectors": True}
    with Client(served.url, user) as c:
        assert [(h.memory_id, h.text) for h in c.search("Where does Gail live?")] == before
        c.add("Gail moved to Braga.")
        assert "Gail moved to Braga." in [h.text for h in c.search("Braga")]
        assert "Braga" in [r.target_name for r in c.graph.relations("Gail")]
    # From the command line, as a cron job at a quiet hour would; the add loaded the shards.
    refused = cli("settle", "--url", served.url, "--api-key", user)
    assert refused.returncode == 1 and "AuthError" in refused.stderr and "admin" in refused.stderr
    done = cli("--json", "settle", "--url", served.url, "--api-key", admin)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"graph": True, "vectors": True}
    assert user not in refused.stdout + refused.stderr  # a key is never echoed


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    with ServedMemory(tmp_path, extra_args=("--rate-limit", "0.5", "--burst", "3")) as server:
        key, _ = server.keys.create(user_id="erin")
        other, _ = server.keys.create(user_id="erin")
        headers = {"Authorization": f"Bearer {key}"}
        codes = [httpx.get(server.url + "/v1/stats", headers=headers) for _ in range(5)]
        assert [r.status_code for r in codes[:3]] == [200, 200, 200]
        limited = _problem(codes[4], 429, "RateLimitError")
        assert int(codes[4].headers["retry-after"]) >= 1 and limited["retry_after"] >= 1
        # Per key: another key is not slowed down by the first one's burst.
        assert httpx.get(server.url + "/v1/stats", headers={"X-API-Key": other}).status_code == 200
        with Client(server.url, key) as c, pytest.raises(RateLimitError) as caught:
            c.stats()
        assert caught.value.retry_after >= 1


def test_keys_list_counts_use_and_the_store_holds_no_key(served):
    key, info = served.keys.create(user_id="frank", label="ci")
    with Client(served.url, key) as c:
        c.add("Frank plays chess.")
        c.search("chess")
        c.stats()
    listed = cli("keys", "list", "--json", "--data-dir", str(served.data_dir))
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    row = next(r for r in rows if r["id"] == info.id)
    assert row["requests"] == 3 and row["last_used"] and row["scope"] == "user_id=frank"
    assert row["label"] == "ci" and not row["revoked"]
    table = cli("keys", "list", "--data-dir", str(served.data_dir)).stdout
    assert info.id in table and "requests" in table
    secret = key.split("_", 2)[2]  # gm_<id>_<secret>: the secret may hold "_" itself
    for path in served.data_dir.glob("keys.sqlite*"):
        data = path.read_bytes()
        assert secret.encode() not in data and key.encode() not in data, path


def test_keys_create_prints_the_key_once(served):
    made = cli("keys", "create", "--user", "gina", "--expires", "30d",
               "--data-dir", str(served.data_dir))  # fmt: skip
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("gm_") and "shown once" in made.stderr
    with Client(served.url, key) as c:
        assert c.add("Gina paints.").facts[0].scope.user_id == "gina"
    refused = cli("keys", "create", "--data-dir", str(served.data_dir))
    assert refused.returncode == 1 and "admin" in refused.stderr
    bad = cli("keys", "create", "--user", "x", "--expires", "soon",
              "--data-dir", str(served.data_dir))  # fmt: skip
    assert bad.returncode == 1 and "expires" in bad.stderr
    # Once an OverflowError with a traceback: now a refusal that says the bound.
    huge = cli("keys", "create", "--user", "x", "--expires", "99999999999999999999w",
               "--data-dir", str(served.data_dir))  # fmt: skip
    assert huge.returncode == 1 and "100 years" in huge.stderr
    assert "Traceback" not in huge.stderr


def test_the_cli_talks_to_a_server(served):
    key, _ = served.keys.create(user_id="hank")
    added = cli("add", "Hank lives in Bergen.", "--url", served.url, "--api-key", key)
    assert added.returncode == 0, added.stderr
    assert "Hank lives in Bergen." in added.stdout
    env = {"GRAPHMEM_URL": served.url, "GRAPHMEM_API_KEY": key}
    found = cli("search", "where does Hank live?", env=env)
    assert found.returncode == 0 and "Hank lives in Bergen." in found.stdout
    rels = cli("relations", "Hank", env=env)
    assert "lives_in" in rels.stdout and "Bergen" in rels.stdout


def test_health_readiness_docs_and_problem_shape(served):
    assert httpx.get(served.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(served.url + "/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert {s: v["status"] for s, v in body["stores"].items()} == {
        "graph": "ok", "vectors": "ok", "history": "ok"}  # fmt: skip
    assert httpx.get(served.url + "/docs").status_code == 200
    schema = httpx.get(served.url + "/openapi.json").json()
    assert "/v1/search" in schema["paths"] and "/v1/entities/{name}" in schema["paths"]
    key, _ = served.keys.create(user_id="ivy")
    headers = {"Authorization": f"Bearer {key}"}
    bad = httpx.post(served.url + "/v1/search", json={"query": "x", "limit": 0}, headers=headers)
    assert _problem(bad, 422, "ValidationError")["field"] == "limit"
    typed = httpx.post(served.url + "/v1/search", json={"limit": 3}, headers=headers)
    assert _problem(typed, 422, "ValidationError")["field"] == "query"
    _problem(httpx.get(served.url + "/v1/nowhere", headers=headers), 404, "NotFoundError")


def test_concurrent_writes_never_show_a_torn_batch(served):
    """Readers polling during batched writes always see whole batches, in both stores."""
    key, _ = served.keys.create(user_id="judy")
    seen: list[dict] = []
    errors: list[Exception] = []
    writing = threading.Event()

    def writer(n: int) -> None:
        try:
            with Client(served.url, key) as c:
                for b in range(3):
                    c.add_many([{"text": f"Judy note {n}-{b}-{i} about topic {i}."}
                                for i in range(10)])  # fmt: skip
        except (GraphMemError, httpx.HTTPError) as exc:  # reported by the main thread
            errors.append(exc)

    def reader() -> None:
        with Client(served.url, key) as c:
            while writing.is_set():
                seen.append(c.stats())
                c.search("Judy note")

    writing.set()
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    writing.clear()
    for t in readers:
        t.join()
    assert not errors, errors
    assert seen, "the readers never ran"
    for stats in seen:
        assert stats["memories"] % 10 == 0 and stats["facts"] == stats["memories"], stats
    with Client(served.url, key) as c:
        assert c.stats()["memories"] == 120


def test_the_server_never_prints_a_key(served):
    key, _ = served.keys.create(user_id="kim")
    wrong = "gm_0123456789ab_" + "x" * 43
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key},
                    {"Authorization": f"Bearer {wrong}"}):  # fmt: skip
        httpx.post(served.url + "/v1/search", json={"query": "q"}, headers=headers)
    # A key put in the URL is refused, and was written whole into the access log.
    httpx.get(served.url + f"/v1/memories?api_key={key}&user_id=kim")
    httpx.get(served.url + f"/v1/memories/{key}", headers={"Authorization": f"Bearer {key}"})
    # Percent-encoded, under a name the filter does not list: logged whole, and the 403
    # echoed it back, for the explorer to show.
    other, _ = served.keys.create(user_id="lou")
    encoded = key.replace("_", "%5f", 2)
    answer = httpx.get(served.url + f"/v1/memories?user_id={encoded}",
                       headers={"X-API-Key": other})  # fmt: skip
    assert answer.status_code == 403 and key.split("_", 2)[2] not in answer.text
    assert "looks like an API key" in answer.json()["detail"]
    httpx.get(served.url + "/healthz?done=1")
    deadline = time.monotonic() + 30
    while "done=1" not in served.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    output = served.output()
    assert "POST /v1/search" in output  # the access log is on, and still no key in it
    assert key not in output and key.split("_", 2)[2] not in output and wrong not in output


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("HEAD", "/v1/search", {"POST"}),
    ("OPTIONS", "/v1/search", {"POST"}),
    ("PATCH", "/v1/memories/abc", {"GET", "HEAD", "PUT", "DELETE"}),
    ("TRACE", "/v1/memories", {"GET", "HEAD", "POST", "DELETE"}),
])  # fmt: skip
def test_a_method_not_served_names_the_methods_that_are(served, method, path, allowed):
    key, _ = served.keys.create(user_id="ivy")
    answer = httpx.request(method, served.url + path, headers={"X-API-Key": key})
    assert answer.status_code == 405
    assert set(answer.headers["allow"].replace(" ", "").split(",")) == allowed
    if method != "HEAD":  # a HEAD answer has no body
        detail = _problem(answer, 405, "GraphMemError")["detail"]
        assert method in detail and path in detail and all(m in detail for m in allowed)


@pytest.mark.parametrize(("body", "named"), [
    (b'{"query": "Al\xff\xfeice"}', "is not UTF-8"),
    ('{"query": "Alice"}'.encode("utf-16"), "NUL bytes, as UTF-16"),
    ('{"query": "Alice"}'.encode("utf-32-le"), "NUL bytes, as UTF-16 and UTF-32"),
    (b'{"query": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nests too deep"),
    (b'{"query": "q", "limit": 1' + b"0" * 5_000 + b"}", "digits"),
], ids=["not-utf8", "utf16", "utf32", "too-deep", "huge-integer"])  # fmt: skip
def test_a_body_that_is_not_readable_json_is_named_with_the_fix(served, body, named):
    key, _ = served.keys.create(user_id="joy")
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    answer = httpx.post(served.url + "/v1/search", content=body, headers=headers)
    found = _problem(answer, 400, "ValidationError")
    assert found["field"] == "body"
    assert named in found["detail"] and "Content-Type: application/json" in found["detail"]
    fine = httpx.post(served.url + "/v1/search", json={"query": "q"}, headers=headers)
    assert fine.status_code == 200  # and it keeps serving


def test_a_path_nothing_serves_is_named_and_points_at_the_docs(served):
    key, _ = served.keys.create(user_id="kai")
    answer = httpx.get(served.url + "/v1/memorys", headers={"X-API-Key": key})
    detail = _problem(answer, 404, "NotFoundError")["detail"]
    assert "/v1/memorys" in detail and "/docs" in detail
    long = "/v1/" + "x" * 5_000
    detail = _problem(httpx.get(served.url + long, headers={"X-API-Key": key}), 404,
                      "NotFoundError")["detail"]  # fmt: skip
    assert len(detail) < 300  # the caller's path is cut short, not echoed whole


def test_keys_revoke_takes_an_id_or_the_key_and_refuses_anything_else_cleanly(tmp_path):
    from graphmem import ValidationError
    from graphmem.server.keys import KeyStore

    store = KeyStore.in_data_dir(tmp_path)
    first, _ = store.create(user_id="lee")
    second, info = store.create(user_id="lee")
    assert store.revoke(first).revoked_at  # the whole key, pasted: its id is revoked
    with pytest.raises(AuthError):
        store.verify(first)
    for bad in ("\udcff", "x" * 10_000, "gm_" + first[3:15], 12):
        with pytest.raises(ValidationError) as refused:
            store.revoke(bad)
        assert refused.value.field == "id" and "keys list" in str(refused.value)
    assert store.verify(second).id == info.id  # nothing else was touched
    # From the shell, an argument that is not UTF-8 is an error (exit 1), not a bug (3).
    done = subprocess.run([sys.executable, "-c", CLI, "keys", "revoke", b"\xff",
                           "--data-dir", str(tmp_path)], capture_output=True, timeout=120)  # fmt: skip
    assert done.returncode == 1 and b"ValidationError" in done.stderr, done.stderr


def test_a_query_parameter_the_endpoint_does_not_take_is_named(served, bob):
    """FastAPI dropped unknown query parameters: ``?agentid=x`` (for agent_id) read the
    key's whole scope instead of the agent's part, and ``?limt=1`` returned a hundred."""
    admin, _ = served.keys.create(admin=True)
    headers = {"Authorization": f"Bearer {admin}"}
    typo = httpx.get(f"{served.url}/v1/memories", params={"userid": "bob"}, headers=headers)
    body = _problem(typo, 422, "ValidationError")
    assert body["field"] == "userid" and "user_id" in body["detail"]
    assert "GET /v1/memories" in body["detail"] and "Zed" not in typo.text
    short = httpx.get(f"{served.url}/v1/entities/Zed", params={"limt": 1},
                      headers={"X-API-Key": bob["key"]})  # fmt: skip
    assert _problem(short, 422, "ValidationError")["field"] == "limt"
    narrower = httpx.get(f"{served.url}/v1/memories", params={"agentid": "planner"},
                         headers={"X-API-Key": bob["key"]})  # fmt: skip
    assert _problem(narrower, 422, "ValidationError")["field"] == "agentid"
    assert "Zed" not in narrower.text
    # The parameters it takes still work, repeated ones included; without a key the
    # answer is 401, whatever the parameters.
    kept = httpx.get(f"{served.url}/v1/memories", headers=headers,
                     params={"user_id": "bob", "limit": 1, "memory_types": ["semantic", "rule"]})  # fmt: skip
    assert kept.status_code == 200 and len(kept.json()["memories"]) == 1
    assert httpx.get(f"{served.url}/v1/memories", params={"userid": "bob"}).status_code == 401
    # A one-value parameter given twice was read as the last one, silently (3 memories).
    for name, values in (("limit", [1, 3]), ("user_id", ["bob", "bob"])):
        twice = httpx.get(f"{served.url}/v1/memories", headers=headers,
                          params={"user_id": "bob", "limit": 1, name: values})  # fmt: skip
        body = _problem(twice, 422, "ValidationError")
        assert body["field"] == name and "more than once" in body["detail"], body


def test_the_api_reference_runs_no_script_and_fetches_nothing(served):
    """FastAPI's Swagger UI and ReDoc loaded scripts from public CDNs, on the pages where
    a key is pasted: whoever served them could run code on the server's origin."""
    import re

    page = httpx.get(served.url + "/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert "<script" not in page.text.lower()
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", page.text), "fetches from elsewhere"
    for path in ("/v1/search", "/v1/memories", "/v1/cypher", "/v1/entities/{name}"):
        assert f"<code>{path}</code>" in page.text, path
    assert "SearchBody" in page.text or "query" in page.text
    redoc = httpx.get(served.url + "/redoc")
    assert redoc.status_code == 404 and redoc.headers["content-type"].startswith(
        "application/problem+json")  # fmt: skip
