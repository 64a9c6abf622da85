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


def _validator(spec: dict, path: str, method: str, status: str = "200"):
    """A validator for what the document says ``method path`` answers with ``status``,
    its ``#/components/...`` references resolved against the document itself."""
    content = spec["paths"][path][method]["responses"][status]["content"]
    schema = content["application/json"]["schema"]
    assert schema not in ({}, {"type": "object"}), (method, path, "documents no shape")
    root = {**schema, "components": spec["components"]}
    return jsonschema.Draft202012Validator(root)


def test_every_answer_matches_the_schema_the_document_gives_it(served):
    """A client generated from /openapi.json types each answer by its 200 schema. It was
    empty for every operation (the routes answer ``wire.to_wire``'s JSON, which FastAPI
    cannot see): each real answer must now fit its schema, field types included."""
    spec = httpx.get(f"{served.url}/openapi.json", timeout=60).json()
    user, _ = served.keys.create(user_id="sam")
    admin, _ = served.keys.create(admin=True)
    base, seen = served.url, {}

    def call(method: str, path: str, template: str | None = None, key: str = user, **kw):
        answer = httpx.request(method, base + path, timeout=60,
                               headers={"Authorization": f"Bearer {key}"}, **kw)  # fmt: skip
        assert answer.status_code == 200, (method, path, answer.text)
        body = answer.json()
        errors = list(_validator(spec, template or path, method.lower()).iter_errors(body))
        assert not errors, (method, path, [e.message for e in errors][:3], body)
        seen[(template or path, method.lower())] = body
        return body

    added = call("POST", "/v1/memories", json={"text": "Sam works at Initech. Sam lives in "
                                               "Oslo. Oslo is in Norway."})  # fmt: skip
    memory_id = added["facts"][0]["id"]
    call("POST", "/v1/memories", json={"messages": [
        {"role": "user", "content": "My sister Ana moved to Bergen."},
        {"role": "assistant", "content": "Noted: Ana lives in Bergen."}]})  # fmt: skip
    call("POST", "/v1/memories/batch", json={"items": [{"text": "Sam likes jazz."}]})
    call("POST", "/v1/triples", json={"triples": [["Sam", "knows", "Ana"]]})
    hits = call("POST", "/v1/search", json={"query": "Where does Sam live?", "limit": 5})
    assert hits["hits"] and all(h["explanation"] for h in hits["hits"])
    call("POST", "/v1/memories", json={"messages": [
        {"role": "user", "content": "We land in Kyoto on Friday."},
        {"role": "assistant", "content": "I'd suggest dinner at Shigetsu near the temple."},
        {"role": "user", "content": "Thanks, I will book it."}]})  # fmt: skip
    said = call("POST", "/v1/search", json={"query": "Shigetsu dinner", "limit": 3})
    # Who said each hit comes with it, so no client re-derives it from role and speaker.
    assert said["hits"][0]["said_by"] == "the assistant"
    assert {h["said_by"] for h in hits["hits"]} == {""}  # Sam's facts are the user's own
    call("GET", "/v1/memories")
    call("GET", f"/v1/memories/{memory_id}", "/v1/memories/{memory_id}")
    call("GET", f"/v1/memories/{memory_id}/history", "/v1/memories/{memory_id}/history")
    call("PUT", f"/v1/memories/{memory_id}", "/v1/memories/{memory_id}",
         json={"text": "Sam works at Globex."})  # fmt: skip
    call("POST", f"/v1/memories/{memory_id}/archive", "/v1/memories/{memory_id}/archive")
    call("POST", f"/v1/memories/{memory_id}/restore", "/v1/memories/{memory_id}/restore")
    call("GET", "/v1/rules")
    call("POST", "/v1/maintain", json={})
    assert call("POST", "/v1/settle", key=admin) == {"graph": True, "vectors": True}
    call("GET", "/v1/stats")
    call("POST", "/v1/cypher", json={"query": "MATCH (e:Entity) RETURN e.name AS name"})
    call("GET", "/v1/entities/Sam", "/v1/entities/{name}")
    call("GET", "/v1/relations", params={"entity": "Sam"})
    call("GET", "/v1/neighbours", params={"entity": "Sam", "depth": 2})
    paths = call("GET", "/v1/paths", params={"source": "Sam", "target": "Ana"})
    assert paths["paths"] and paths["paths"][0][0]["relation"]
    call("GET", "/v1/facts_about", params={"entity": "Sam"})
    call("GET", "/v1/subgraph", params={"entity": "Sam"})
    call("DELETE", f"/v1/memories/{memory_id}", "/v1/memories/{memory_id}")
    call("DELETE", "/v1/memories", key=admin, params={"user_id": "sam"})
    ready = httpx.get(f"{base}/readyz", timeout=60)
    assert not list(_validator(spec, "/readyz", "get").iter_errors(ready.json()))

    documented = {(path, method) for path, ops in spec["paths"].items()
                  for method, op in ops.items() if op.get("security")}  # fmt: skip
    untried = documented - seen.keys()
    # Undoing a merge needs a merge the offline extractor did; its answer is an Entity,
    # the schema /v1/entities/{name} was checked with just above.
    assert untried == {("/v1/merges/{event_id}/undo", "post")}, untried
    undo = spec["paths"]["/v1/merges/{event_id}/undo"]["post"]["responses"]["200"]
    assert undo["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Entity"}  # fmt: skip


def test_each_operation_is_named_as_its_library_call(served):
    """A client generated from the document names its methods by operationId: FastAPI's
    made "search_v1_search_post"."""
    spec = httpx.get(f"{served.url}/openapi.json", timeout=60).json()
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert {"add", "add_many", "search", "get", "delete", "history", "cypher"} <= set(ids)
    assert spec["paths"]["/v1/search"]["post"]["operationId"] == "search"
    assert not [i for i in ids if "_v1_" in i or i.endswith(("_get", "_post"))]
