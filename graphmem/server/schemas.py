"""What each operation answers, in the OpenAPI document.

Why: every route answers a ``JSONResponse`` built by ``wire.to_wire``, so FastAPI had no
type to describe and documented each 200 as an empty schema. A client generated from
``/openapi.json`` (openapi-generator, openapi-python-client, a TypeScript fetcher) then
typed every answer as "any": no ``hit.memory_id``, no ``fact.text``, nothing to check.

The schemas come from the result type each op already declares (``api.OPS``), read by
pydantic from graphmem's dataclasses, so a field added to ``Hit`` or ``Fact`` shows up
here without a second list to keep in step. ``to_wire`` writes every field of a
dataclass, so every field is required; ``Hit`` also carries its derived
``explanation`` and ``said_by``.
``tests/test_server_openapi.py`` checks real answers against these schemas.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from ..api import OPS, Op
from ..wire import Subgraph

REF = "#/components/schemas/{model}"

# ``relations.to_json``'s shape: nodes and edges carry their attributes beside the ids.
_SUBGRAPH = {
    "type": "object",
    "title": "Subgraph",
    "properties": {
        "nodes": {"type": "array", "items": {
            "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}},
        "edges": {"type": "array", "items": {
            "type": "object", "required": ["id", "source", "target"],
            "properties": {k: {"type": "string"} for k in ("id", "source", "target")}}},
        "truncated": {"type": "boolean",
                      "description": "present and true when the server's node cap cut it"},
    },
    "required": ["nodes", "edges"],
}  # fmt: skip

# /readyz, which answers this with 200 when every store answers and 503 when one does not.
READINESS = {
    "type": "object",
    "title": "Readiness",
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unavailable"]},
        "stores": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["status", "ms"],
            "properties": {"status": {"type": "string",
                                      "description": "ok, or the store's error"},
                           "ms": {"type": "number"}}}},
        "backends": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["status", "stores", "backends"],
}  # fmt: skip


def answer_schema(op: Op, defs: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of ``op``'s 200 answer; the schemas it refers to go into ``defs``."""
    if op.result is None:  # delete: it answers how many it deleted
        return _keyed("deleted", {"type": "integer"})
    if op.result is Subgraph:
        return _SUBGRAPH
    body = TypeAdapter(op.result).json_schema(mode="serialization", ref_template=REF)
    found = body.pop("$defs", {})
    if body.get("type") == "object" and "title" in body:  # a dataclass itself: by reference
        found[body["title"]] = body
        body = {"$ref": REF.format(model=body["title"])}
    for name, schema in found.items():
        if "properties" in schema:  # to_wire writes every field, defaults included
            schema["required"] = list(schema["properties"])
        if name == "Hit":
            schema["properties"]["explanation"] = {
                "type": "string",
                "description": "hit.explain(): channels, scores, path",
            }
            schema["properties"]["said_by"] = {
                "type": "string",
                "description": "hit.said_by(): the speaker, 'the assistant', or '' for the user",
            }
            schema["required"] += ["explanation", "said_by"]
        defs[name] = schema
    return _keyed(op.key, body) if op.key else body


def _keyed(key: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {key: body}, "required": [key]}


def document_answers(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document give each op's 200 answer its schema."""
    build = app.openapi
    routes = {r.name: r for r in app.routes if isinstance(r, APIRoute) and r.name in OPS}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        defs: dict[str, Any] = {}
        for name, route in routes.items():
            body = answer_schema(OPS[name], defs)
            for method in route.methods:
                operation = spec["paths"][route.path_format][method.lower()]
                ok = operation.setdefault("responses", {}).setdefault(
                    "200", {"description": "Successful Response"}
                )
                ok["content"] = {"application/json": {"schema": body}}
        clash = sorted(n for n in defs if n in schemas and schemas[n] != defs[n])
        if clash:  # a request body named like a result type would be overwritten
            raise RuntimeError(f"OpenAPI schema names used twice: {', '.join(clash)}")
        schemas.update(defs)
        ready = spec["paths"].get("/readyz", {}).get("get")
        if ready is not None:
            content = {"application/json": {"schema": READINESS}}
            ready["responses"] = {
                "200": {"description": "Every store answered", "content": content},
                "503": {"description": "A store did not answer; `stores` says which",
                        "content": content}}  # fmt: skip
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
