"""Host, Origin and caching rules of every route (``graphmem/server/guard.py``), on the
real server in a subprocess. ``/mcp`` has the same Host rules (``test_mcp_http.py``)."""

from __future__ import annotations

import httpx
import pytest
from server_helpers import problem_of

from graphmem.testing.server import ServedMemory

ROUTES = [("GET", "/v1/memories"), ("POST", "/v1/search"), ("GET", "/ui/"),
          ("GET", "/ui/app.js"), ("GET", "/readyz"), ("GET", "/openapi.json")]  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with ServedMemory(tmp_path_factory.mktemp("guard") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def key(served):
    made, _ = served.keys.create(user_id="hal")
    with httpx.Client() as c:
        c.post(served.url + "/v1/memories", headers={"X-API-Key": made},
               json={"text": "Hal keeps a secret diary.", "infer": False})  # fmt: skip
    return made


def _call(served, key, method, path, **headers):
    body = {"json": {"query": "diary"}} if method == "POST" else {}
    return httpx.request(method, served.url + path, headers={"X-API-Key": key, **headers},
                         **body)  # fmt: skip


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[p for _, p in ROUTES])
def test_a_foreign_host_gets_nothing_from_any_route(served, key, method, path):
    port = served.url.rsplit(":", 1)[1]
    answer = _call(served, key, method, path, Host=f"attacker.example:{port}")
    found = problem_of(answer, 421, "MisdirectedRequest")
    assert "attacker.example" in found["detail"] and "--allowed-host" in found["detail"]
    assert "diary" not in answer.text
    assert _call(served, key, method, path).status_code == 200  # the local name still works


def test_a_page_on_another_site_may_not_call_the_server(served, key):
    answer = _call(served, key, "POST", "/v1/search", Origin="https://attacker.example")
    found = problem_of(answer, 403, "ForbiddenOrigin")
    assert "attacker.example" in found["detail"] and "diary" not in answer.text
    local = "http://" + served.url.removeprefix("http://")
    assert _call(served, key, "POST", "/v1/search", Origin=local).status_code == 200


def test_answers_with_memories_are_not_kept_by_a_browser_cache(served, key):
    for method, path in (("GET", "/v1/memories"), ("POST", "/v1/search")):
        assert _call(served, key, method, path).headers["cache-control"] == "no-store"
    refused = _call(served, "gm_000000000000_wrong", "GET", "/v1/memories")
    assert refused.status_code == 401 and refused.headers["cache-control"] == "no-store"
    assert _call(served, key, "GET", "/ui/").headers["cache-control"] == "no-cache"


def test_a_server_bound_to_every_interface_answers_any_name_unless_names_are_given(tmp_path):
    with ServedMemory(tmp_path / "open", extra_args=("--host", "0.0.0.0")) as server:
        made, _ = server.keys.create(user_id="ines")
        assert _call(server, made, "GET", "/v1/memories", Host="memory.internal").status_code == 200
    with ServedMemory(tmp_path / "named", extra_args=(
            "--host", "0.0.0.0", "--allowed-host", "memory.internal")) as server:  # fmt: skip
        made, _ = server.keys.create(user_id="ines")
        assert _call(server, made, "GET", "/v1/memories", Host="memory.internal").status_code == 200
        assert _call(server, made, "GET", "/v1/memories", Host="evil.example").status_code == 421
