"""One route per op of ``graphmem/api.py``. Each checks the scope against the key, calls
the ``Memory`` method through the server's lanes, and answers with ``wire.to_wire``.

Bodies and query parameters are declared field by field so ``/docs`` and
``/openapi.json`` describe them; their defaults are ``Memory``'s own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from ..api import OPS
from ..errors import ValidationError
from ..relations import to_json
from ..wire import to_wire
from .auth import principal, scope_for
from .keys import KeyInfo
from .problems import forbidden
from .strict import known_query

Json = dict[str, Any]
Auth = Annotated[KeyInfo, Depends(principal)]
ScopeId = Annotated[str | None, Query(description="scope; defaults to the key's")]


def _asked_scope(user_id: ScopeId = None, agent_id: ScopeId = None, run_id: ScopeId = None):
    """The scope a GET or DELETE names in its query string (checked against the key)."""
    return {"user_id": user_id, "agent_id": agent_id, "run_id": run_id}


AskedScope = Annotated[Json, Depends(_asked_scope)]


def _by_id(key: Auth, asked: AskedScope) -> Json:
    return scope_for(key, asked, by_id=True)


def _wide(key: Auth, asked: AskedScope) -> Json:
    return scope_for(key, asked, by_id=False)


# The scope a GET/DELETE call runs in: about one id or entity (another scope's: 404), or
# scope-wide (another scope: 403).
ById = Annotated[Json, Depends(_by_id)]
Wide = Annotated[Json, Depends(_wide)]
Names = Annotated[list[str] | None, Query()]
Limit = Annotated[int | None, Query(ge=1)]


class Scoped(BaseModel):
    # Strict: "5" is no limit and 1 or "yes" no boolean, as Memory refuses them (lax
    # parsing took {"infer": "yes"} for True). An integer still passes for a float.
    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: str | None = None
    agent_id: str | None = None
    run_id: str | None = None

    def scope(self) -> Json:
        return {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id}


class Lifecycle(Scoped):
    """What ``add`` and ``add_many`` accept about a memory's type and lifetime."""

    memory_type: str | None = None
    importance: float | None = None
    ttl: str | float | None = None  # "7d", "12h", or seconds
    expires_at: str | None = None

    def life(self) -> Json:
        return {"memory_type": self.memory_type, "importance": self.importance,
                "ttl": self.ttl, "expires_at": self.expires_at}  # fmt: skip


class AddBody(Lifecycle):
    messages: str | Json | list[Json] | None = None
    text: str | None = None  # the same as ``messages`` given as one string
    metadata: Json | None = None
    infer: bool = True
    source_ids: list[str] | None = None
    timestamp: str | None = None


class BatchBody(Lifecycle):
    items: list[Json]
    infer: bool = False
    batch_size: int = 500


class TriplesBody(Scoped):
    triples: list[Json | list[str]]
    fact: str | None = None
    metadata: Json | None = None
    source_ids: list[str] | None = None
    timestamp: str | None = None


class UpdateBody(Scoped):
    text: str


class SearchBody(Scoped):
    query: str
    limit: int = 10
    filters: Json | None = None
    recipe: str = "hybrid"
    as_of: str | None = None
    include_invalid: bool = False
    memory_types: list[str] | None = None
    include_archived: bool = False


class MaintainBody(Scoped):
    now: str | None = None  # ISO time to apply expiry, archival and promotion as of


class CypherBody(Scoped):
    query: str
    params: Json | None = None
    write: bool = False


def _call_on(request: Request):
    state = request.app.state.graphmem

    async def call(name: str, *args: Any, **kwargs: Any) -> Any:
        return await state.amem._call(OPS[name], args, kwargs)

    return call


def _answer(name: str, value: Any) -> JSONResponse:
    key = OPS[name].key
    data = to_wire(value)
    return JSONResponse({key: data} if key else data)


def install_routes(app: FastAPI) -> None:
    def route(name: str, **kw: Any):
        op = OPS[name]
        summary = op.doc.split("\n")[0]
        return app.api_route(
            op.path, methods=[op.http], dependencies=[Depends(known_query)], tags=[
                "graph" if op.on_graph else "memories"], summary=summary or name,
            name=name, **kw)  # fmt: skip

    # -- writing ---------------------------------------------------------------------------

    @route("add")
    async def add(body: AddBody, request: Request, key: Auth) -> JSONResponse:
        if body.messages is not None and body.text is not None:
            raise ValidationError("text", "the body has both text and messages; give one")
        messages = body.messages if body.messages is not None else body.text
        try:
            result = await _call_on(request)(
                "add", messages, **scope_for(key, body.scope(), by_id=False),
                metadata=body.metadata, infer=body.infer, source_ids=body.source_ids,
                timestamp=body.timestamp, **body.life(),
            )  # fmt: skip
        except ValidationError as exc:
            if body.messages is None and exc.field == "messages":  # the body's name for it
                raise ValidationError("text", exc.detail) from exc
            raise
        return _answer("add", result)

    @route("add_many")
    async def add_many(body: BatchBody, request: Request, key: Auth) -> JSONResponse:
        result = await _call_on(request)(
            "add_many", body.items, **scope_for(key, body.scope(), by_id=False),
            infer=body.infer, batch_size=body.batch_size, **body.life(),
        )  # fmt: skip
        return _answer("add_many", result)

    @route("add_triples")
    async def add_triples(body: TriplesBody, request: Request, key: Auth):
        result = await _call_on(request)(
            "add_triples", body.triples, **scope_for(key, body.scope(), by_id=False),
            fact=body.fact, metadata=body.metadata, source_ids=body.source_ids,
            timestamp=body.timestamp,
        )  # fmt: skip
        return _answer("add_triples", result)

    @route("update")
    async def update(memory_id: str, body: UpdateBody, request: Request, key: Auth):
        scope = scope_for(key, body.scope(), by_id=True)
        return _answer("update", await _call_on(request)("update", memory_id, body.text, **scope))

    @route("delete")
    async def delete(memory_id: str, request: Request, scope: ById):  # fmt: skip
        await _call_on(request)("delete", memory_id, **scope)
        return JSONResponse({"deleted": 1})

    @route("delete_all")
    async def delete_all(request: Request, key: Auth, scope: Wide):  # fmt: skip
        if not key.admin:
            raise forbidden("deleting a whole scope needs an admin key (keys create --admin)")
        return _answer("delete_all", await _call_on(request)("delete_all", **scope))

    @route("undo_merge")
    async def undo_merge(event_id: int, request: Request, key: Auth,
                         body: Scoped | None = None):  # fmt: skip
        scope = scope_for(key, body.scope() if body else {}, by_id=True)
        return _answer("undo_merge", await _call_on(request)("undo_merge", event_id, **scope))

    @route("archive")
    async def archive(memory_id: str, request: Request, key: Auth,
                      body: Scoped | None = None):  # fmt: skip
        scope = scope_for(key, body.scope() if body else {}, by_id=True)
        return _answer("archive", await _call_on(request)("archive", memory_id, **scope))

    @route("restore")
    async def restore(memory_id: str, request: Request, key: Auth,
                      body: Scoped | None = None):  # fmt: skip
        scope = scope_for(key, body.scope() if body else {}, by_id=True)
        return _answer("restore", await _call_on(request)("restore", memory_id, **scope))

    @route("maintain")
    async def maintain(request: Request, key: Auth, body: MaintainBody | None = None):
        body = body or MaintainBody()
        scope = scope_for(key, body.scope(), by_id=False)
        if not any(scope.values()) and not key.admin:
            raise forbidden("maintaining every scope needs an admin key")
        given = {k: v for k, v in scope.items() if v}  # none (an admin's): every scope
        report = await _call_on(request)("maintain", body.now, **given)
        return _answer("maintain", report)

    @route("settle")
    async def settle(request: Request, key: Auth) -> JSONResponse:
        # The caches are the whole data dir's, and a settle pauses every scope's calls.
        if not key.admin:
            raise forbidden("handing back the stores' caches pauses every scope's calls: it "
                            "needs an admin key (keys create --admin)")  # fmt: skip
        return _answer("settle", await _call_on(request)("settle"))

    # -- reading ---------------------------------------------------------------------------

    @route("get_all")
    async def get_all(request: Request, scope: Wide, limit: int = 100, offset: int = 0,
                      include_invalid: bool = False, memory_types: Names = None,
                      include_archived: bool = False):  # fmt: skip
        facts = await _call_on(request)("get_all", **scope, limit=limit, offset=offset,
                                        include_invalid=include_invalid,
                                        memory_types=memory_types,
                                        include_archived=include_archived)  # fmt: skip
        return _answer("get_all", facts)

    @route("rules")
    async def rules(request: Request, scope: Wide, limit: int = 100):  # fmt: skip
        return _answer("rules", await _call_on(request)("rules", **scope, limit=limit))

    @route("get")
    async def get(memory_id: str, request: Request, scope: ById):  # fmt: skip
        return _answer("get", await _call_on(request)("get", memory_id, **scope))

    @route("history")
    async def history(memory_id: str, request: Request, scope: ById):  # fmt: skip
        return _answer("history", await _call_on(request)("history", memory_id, **scope))

    @route("search")
    async def search(body: SearchBody, request: Request, key: Auth) -> JSONResponse:
        hits = await _call_on(request)(
            "search", body.query, **scope_for(key, body.scope(), by_id=False),
            limit=body.limit, filters=body.filters, recipe=body.recipe, as_of=body.as_of,
            include_invalid=body.include_invalid, memory_types=body.memory_types,
            include_archived=body.include_archived,
        )  # fmt: skip
        return _answer("search", hits)

    @route("cypher")
    async def cypher(body: CypherBody, request: Request, key: Auth) -> JSONResponse:
        if body.write:
            raise forbidden("write Cypher is not served over HTTP: it bypasses the history log")
        scope = scope_for(key, body.scope(), by_id=False)
        if not any(scope.values()) and not key.admin:
            raise forbidden("unscoped Cypher needs an admin key")
        rows = await _call_on(request)("cypher", body.query, body.params, **scope)
        return _answer("cypher", rows)

    @route("stats")
    async def stats(request: Request, scope: Wide):  # fmt: skip
        return _answer("stats", await _call_on(request)("stats", **scope))

    # -- the relationship API --------------------------------------------------------------

    @route("graph.entity")
    async def entity(name: str, request: Request, scope: ById):  # fmt: skip
        return _answer("graph.entity", await _call_on(request)("graph.entity", name, **scope))

    @route("graph.relations")
    async def relations(request: Request, entity: str, scope: ById,
                        direction: str = "both", types: Names = None,
                        as_of: str | None = None, include_invalid: bool = False):  # fmt: skip
        rels = await _call_on(request)("graph.relations", entity, direction, types, as_of,
                                       include_invalid, **scope)  # fmt: skip
        return _answer("graph.relations", rels)

    @route("graph.neighbours")
    async def neighbours(request: Request, entity: str, scope: ById, depth: int = 1,
                         types: Names = None, as_of: str | None = None,
                         include_invalid: bool = False):  # fmt: skip
        found = await _call_on(request)("graph.neighbours", entity, depth, types=types,
                                        as_of=as_of, include_invalid=include_invalid,
                                        **scope)  # fmt: skip
        return _answer("graph.neighbours", found)

    @route("graph.paths")
    async def paths(request: Request, source: str, target: str, scope: ById,
                    max_hops: int = 3, limit: int = 10, types: Names = None,
                    as_of: str | None = None, include_invalid: bool = False):  # fmt: skip
        found = await _call_on(request)("graph.paths", source, target, max_hops, limit=limit,
                                        types=types, as_of=as_of,
                                        include_invalid=include_invalid, **scope)  # fmt: skip
        return _answer("graph.paths", found)

    @route("graph.facts_about")
    async def facts_about(request: Request, entity: str, scope: ById,
                          as_of: str | None = None, include_invalid: bool = False,
                          limit: Limit = None):  # fmt: skip
        facts = await _call_on(request)("graph.facts_about", entity, as_of=as_of,
                                        include_invalid=include_invalid, **scope)  # fmt: skip
        return _answer("graph.facts_about", facts[:limit] if limit else facts)

    @route("graph.subgraph")
    async def subgraph(request: Request, key: Auth, asked: AskedScope,
                       entity: Names = None, depth: int = 1,
                       as_of: str | None = None, include_invalid: bool = False,
                       limit: Limit = None):  # fmt: skip
        scope = scope_for(key, asked, by_id=bool(entity))
        graph = await _call_on(request)("graph.subgraph", entity, depth, as_of=as_of,
                                        include_invalid=include_invalid, **scope)  # fmt: skip
        data = to_json(graph)
        cap = min(limit or request.app.state.graphmem.settings.subgraph_limit,
                  request.app.state.graphmem.settings.subgraph_limit)  # fmt: skip
        if len(data["nodes"]) > cap:
            data["nodes"] = data["nodes"][:cap]
            kept = {n["id"] for n in data["nodes"]}
            data["edges"] = [
                e for e in data["edges"] if e["source"] in kept and e["target"] in kept
            ]
            data["truncated"] = True
        return JSONResponse(to_wire(data))
