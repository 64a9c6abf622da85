"""The real ``graphmem serve`` at the edges of what it reads: times at the year limits.

Each case here once answered 500 (or did what it should not); each now answers the
caller with what is wrong and what to send instead, in the usual problem+json shape.
"""

from __future__ import annotations

import httpx
import pytest
from server_helpers import problem_of

from graphmem import Client
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
