"""Fuzz the real server from its own OpenAPI schema (schemathesis + hypothesis).

A bounded number of generated requests per operation, all with Alice's key: whatever
they hold, the server answers without a 5xx, and nothing of Bob's stored data ever
appears in an answer.
"""

from __future__ import annotations

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from graphmem import Client
from graphmem.testing.server import ServedMemory

CASES_PER_OPERATION = 20
# Words only Bob's memories hold.
BOB_ONLY = ("Xanadu", "Quillon", "zebrafish")


def test_generated_requests_never_fail_the_server_or_cross_scopes(tmp_path):
    with ServedMemory(tmp_path, extra_args=("--rate-limit", "0")) as served:
        alice, _ = served.keys.create(user_id="alice")
        bob, _ = served.keys.create(user_id="bob")
        with Client(served.url, bob) as c:
            c.add("Bob keeps a zebrafish named Quillon in Xanadu.")
            c.add_triples([("Quillon", "lives_in", "Xanadu")])
        with Client(served.url, alice) as c:
            c.add("Alice keeps a cat named Tom in Lima.")
        schema = schemathesis.openapi.from_url(served.url + "/openapi.json")
        headers = {"Authorization": f"Bearer {alice}"}
        seen: dict[str, set[int]] = {}

        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20  # every route of graphmem/api.py, plus health
        for operation in operations:
            _fuzz(operation, served.url, headers, seen)
        assert set(seen) == {op.label for op in operations}
        # The fuzzing reached real answers, not only refusals.
        assert any(200 in codes for codes in seen.values()), seen
        # And Bob's data is still whole after all of it.
        rows = httpx.get(served.url + "/v1/memories", headers={"X-API-Key": bob}).json()
        assert any("zebrafish" in m["text"] for m in rows["memories"])
        assert "Traceback" not in served.output()


def _fuzz(operation, url: str, headers: dict, seen: dict[str, set[int]]) -> None:
    label = operation.label

    @settings(max_examples=CASES_PER_OPERATION, deadline=None, database=None,
              derandomize=True, suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy())
    def check(case):
        response = case.call(base_url=url, headers=headers, timeout=60)
        seen.setdefault(label, set()).add(response.status_code)
        assert response.status_code < 500, (label, case.as_curl_command(), response.text)
        leaked = [w for w in BOB_ONLY if w in response.text]
        assert not leaked, (label, case.as_curl_command(), response.text[:500])

    check()
