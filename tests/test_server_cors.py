"""A web page on another origin calling ``graphmem serve`` from a browser (CORS), against
the real server in a child process: refused by default, allowed for the ``--cors-origin``
pages only, and never without a key."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from graphmem.testing.server import ServedMemory

PAGE = "http://localhost:5173"  # a dev server's page, another origin than the API's


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = ServedMemory(tmp_path_factory.mktemp("cors"),
                          extra_args=("--cors-origin", PAGE, "--cors-origin", "https://app.example/"))  # fmt: skip
    yield server
    assert "gm_" not in server.stop()


def preflight(url: str, origin: str, method: str = "POST") -> httpx.Response:
    return httpx.options(url, timeout=30, headers={
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type"})  # fmt: skip


def test_a_page_of_a_listed_origin_may_call_the_api_with_its_key(served):
    key, _ = served.keys.create(user_id="web")
    asked = preflight(f"{served.url}/v1/memories", PAGE)
    assert asked.status_code == 200
    assert asked.headers["access-control-allow-origin"] == PAGE
    assert "authorization" in asked.headers["access-control-allow-headers"].lower()
    added = httpx.post(f"{served.url}/v1/memories", timeout=60, json={"text": "I live in Oslo."},
                       headers={"Origin": PAGE, "Authorization": f"Bearer {key}"})  # fmt: skip
    assert added.status_code == 200, added.text
    assert added.headers["access-control-allow-origin"] == PAGE
    # The origin given with a trailing slash is the origin a browser sends, without it.
    other = preflight(f"{served.url}/v1/memories", "https://app.example")
    assert other.headers.get("access-control-allow-origin") == "https://app.example"
    # A page still needs a key: CORS lets it ask, not skip the key.
    keyless = httpx.get(f"{served.url}/v1/memories", headers={"Origin": PAGE}, timeout=30)
    assert keyless.status_code == 401


def test_a_page_of_any_other_origin_is_refused(served):
    key, _ = served.keys.create(user_id="web2")
    asked = preflight(f"{served.url}/v1/memories", "https://evil.example")
    assert "access-control-allow-origin" not in asked.headers
    called = httpx.get(f"{served.url}/v1/memories", timeout=30,
                       headers={"Origin": "https://evil.example", "X-API-Key": key})  # fmt: skip
    assert called.status_code == 403 and "access-control-allow-origin" not in called.headers


def test_mcp_answers_a_listed_page_and_shows_it_the_session_header(served):
    key, _ = served.keys.create(user_id="web3")
    asked = preflight(f"{served.url}/mcp", PAGE)
    assert asked.headers["access-control-allow-origin"] == PAGE
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "page", "version": "0"}}}  # fmt: skip
    opened = httpx.post(f"{served.url}/mcp", json=hello, timeout=60, headers={
        "Origin": PAGE, "Authorization": f"Bearer {key}",
        "Accept": "application/json, text/event-stream"})  # fmt: skip
    assert opened.status_code == 200, opened.text
    assert "mcp-session-id" in opened.headers["access-control-expose-headers"].lower()


def test_by_default_no_page_of_another_origin_may_call(tmp_path):
    server = ServedMemory(tmp_path)
    try:
        key, _ = server.keys.create(user_id="solo")
        for page in (PAGE, "https://app.example"):
            asked = preflight(f"{server.url}/v1/memories", page)
            assert "access-control-allow-origin" not in asked.headers
        # A local page passes the DNS-rebinding guard but gets no CORS header, so a
        # browser hands it no answer; another site's page is refused outright.
        local = httpx.get(f"{server.url}/v1/memories", timeout=30,
                          headers={"Origin": PAGE, "X-API-Key": key})  # fmt: skip
        assert "access-control-allow-origin" not in local.headers
        called = httpx.get(f"{server.url}/v1/memories", timeout=30,
                           headers={"Origin": "https://app.example", "X-API-Key": key})  # fmt: skip
        assert called.status_code == 403 and "--cors-origin" in called.json()["detail"]
    finally:
        server.stop()


@pytest.mark.parametrize(("origin", "said"), [
    ("*", "name each origin"),
    ("app.example", "not a web origin"),
    ("https://app.example/ui", "has a path"),
    ("ftp://app.example", "not a web origin"),
])  # fmt: skip
def test_an_origin_that_is_not_one_is_refused_at_start(tmp_path, origin, said):
    done = subprocess.run([sys.executable, "-m", "graphmem.cli", "serve", "--data-dir",
                           str(tmp_path), "--port", "0", "--cors-origin", origin],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and said in done.stderr, done.stderr
