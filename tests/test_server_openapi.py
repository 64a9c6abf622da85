"""What the OpenAPI document promises about errors is what the server answers.

A client generated from /openapi.json reads each status with the schema documented for
it. The document used to give 422 as FastAPI's ``{"detail": [...]}`` in application/json
while the server answered problem+json with ``detail`` as text, and named no other error
status at all, so such a client failed on the first error it met.
"""

from __future__ import annotations

import httpx
import jsonschema
import pytest

from graphmem.testing.server import ServedMemory


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with ServedMemory(tmp_path_factory.mktemp("openapi"), extra_args=("--rate-limit", "0")) as s:
        yield s


def test_every_keyed_operation_documents_its_errors_as_problems(served):
    spec = httpx.get(f"{served.url}/openapi.json", timeout=60).json()
    keyed = [(path, method, op) for path, ops in spec["paths"].items()
             for method, op in ops.items() if op.get("security")]  # fmt: skip
    assert len(keyed) >= 20
    for path, method, op in keyed:
        for code in ("400", "401", "403", "404", "422", "429", "503"):
            content = op["responses"][code]["content"]
            assert list(content) == ["application/problem+json"], (method, path, code)
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_error_answers_match_the_documented_schema(served):
    spec = httpx.get(f"{served.url}/openapi.json", timeout=60).json()
    problem = spec["components"]["schemas"]["Problem"]
    key, _ = served.keys.create(user_id="olga")
    headers = {"Authorization": f"Bearer {key}"}
    answers = {
        401: httpx.get(f"{served.url}/v1/memories", timeout=60),
        404: httpx.get(f"{served.url}/v1/entities/Nobody", headers=headers, timeout=60),
        422: httpx.post(
            f"{served.url}/v1/search", json={"query": 5}, headers=headers, timeout=60
        ),  # fmt: skip
        400: httpx.post(
            f"{served.url}/v1/cypher",
            json={"query": "MATCH (n RETURN n"},
            headers=headers,
            timeout=60,
        ),  # fmt: skip
    }
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.text)
        documented = {s for ops in spec["paths"].values() for op in ops.values()
                      for s in op["responses"]}  # fmt: skip
        assert str(status) in documented
        assert answer.headers["content-type"].split(";")[0] == "application/problem+json"
        jsonschema.validate(answer.json(), problem)
    assert answers[422].json()["field"] == "query"
