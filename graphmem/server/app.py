"""The HTTP face of one ``Memory``: ``create_app(memory, keys, settings=...)``.

One process owns the stores; every request runs through ``AsyncMemory``'s lanes (reads
side by side, writes one at a time, never a torn batch) and through the ``Memory``
facade only. Routes, methods and result shapes come from ``graphmem/api.py``, the same
table the clients are generated from. REST_CONTRACT (briefs) documents the paths.

Other rooms mount on the app: a package ``graphmem.<room>`` exposing
``mount_on_server(app, state)`` is called for each name in ``Settings.rooms`` that can be
imported (``graphmem.mcp`` for MCP over HTTP, ``graphmem.ui`` for the web explorer).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match

from .. import __version__
from ..aio import AsyncMemory
from ..api import OPS
from ..errors import GraphMemError, NotFoundError
from ..memory import Memory
from ..wire import to_wire
from .auth import RateLimiter, scope_for
from .docs import install_docs
from .guard import Guard, names_for
from .keys import KeyInfo, KeyStore
from .problems import document_problems, install_handlers, problem
from .routes import install_routes
from .schemas import document_answers

READY_PROBE_SCOPE = "graphmem-readyz-probe"
# What a page may send (keys, JSON, MCP's session and version) and read back (CORS).
CORS_HEADERS = ("authorization", "x-api-key", "content-type", "mcp-session-id",
                "mcp-protocol-version", "last-event-id")  # fmt: skip
CORS_SHOWN = ("mcp-session-id", "retry-after")


@dataclass(frozen=True)
class Settings:
    rate_limit: float = 50.0  # requests per second per key; 0 turns the limit off
    burst: int = 100  # requests a key may make at once before the rate applies
    max_body_bytes: int = 5_000_000
    subgraph_limit: int = 5_000  # nodes returned for a whole-scope subgraph
    readers: int = 4  # threads serving reads side by side
    rooms: tuple[str, ...] = ("graphmem.mcp", "graphmem.ui")
    host: str = "127.0.0.1"  # the interface bound: a loopback one checks Host headers
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted beside the local ones (guard.py)
    # Web origins whose pages may call the API from a browser (CORS; guard.web_origin).
    cors_origins: tuple[str, ...] = ()


@dataclass
class ServerState:
    """What a route or a mounted room needs: run calls through ``amem`` (not ``memory``)
    so they share the server's read/write lanes."""

    memory: Memory
    amem: AsyncMemory
    keys: KeyStore
    settings: Settings
    limiter: RateLimiter
    lifespans: list[Callable[[], Any]] = field(default_factory=list)  # async ctx factories

    def authenticate(self, presented: str | None) -> KeyInfo:
        """The live key behind ``presented`` (401 otherwise), its use counted and limited."""
        info = self.keys.verify(presented)
        self.limiter.take(info.id)
        return info

    scope_for = staticmethod(scope_for)


def state_of(request: Request) -> ServerState:
    return request.app.state.graphmem


class _BodyLimit:
    """Refuses a request whose body is larger than the setting: at once when its
    Content-Length says so, else (chunked) as soon as the bytes received pass it."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        coding = headers.get(b"content-encoding", b"identity").strip().lower()
        if coding not in (b"", b"identity"):
            # RFC 9110 8.4: a content coding the server does not take is 415. The bytes
            # were read as text and refused as "not UTF-8", which sent the client looking
            # at its characters instead of its compression.
            name = coding.decode("latin-1")[:40]
            await problem(415, "ValidationError", f"Content-Encoding {name!r} is not "
                          "accepted: send the body uncompressed", field="body")(
                scope, receive, send)  # fmt: skip
            return
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # No length declared: a chunked body was read whole (20 MB in the probe), so count
        # it as it comes, then hand the app what came; later receives (a disconnect, for
        # the /mcp event stream) pass straight through.
        received, size = [], 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict:
            return received.pop(0) if received else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict, receive: Any, send: Any) -> None:
        response = problem(413, "ValidationError", f"request body over {self.limit} "
                           "bytes: send fewer items per call", field="body")  # fmt: skip
        await response(scope, receive, send)


def _api_match(scope: dict) -> Match:
    """How well one of FastAPI's own routes (not a mounted room) matches ``scope``: FULL,
    PARTIAL (the path, not the method) or NONE."""
    found = [route.matches(scope)[0] for route in scope["app"].router.routes
             if isinstance(route, APIRoute)]  # fmt: skip
    return max(found, default=Match.NONE, key=lambda match: match.value)


class _HeadAsGet:
    """Answers HEAD on a GET route as that GET: RFC 9110 serves HEAD wherever GET is, and
    load balancers probe /healthz with it (405 before). uvicorn sends the GET's headers
    and drops the body. Only FastAPI's routes: HEAD on /mcp must not open its event stream."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            as_get = {**scope, "method": "GET"}
            if _api_match(as_get) == Match.FULL:
                scope = as_get
        await self.app(scope, receive, send)


class _SlashFree:
    """Serves ``/v1/stats/`` as ``/v1/stats``: an API route's path with one trailing slash
    is that route. FastAPI answered it with a 307 and an empty body, which httpx and many
    SDKs do not follow by default, and which some clients follow with the body dropped.
    Only FastAPI's routes: ``/ui`` -> ``/ui/`` (a mounted page) still redirects."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if len(path) > 1 and path.endswith("/") and not path.endswith("//"):
            bare = {**scope, "path": path[:-1]}
            method = "GET" if scope["method"] == "HEAD" else scope["method"]
            if _api_match({**bare, "method": method}) != Match.NONE:
                raw = scope.get("raw_path")
                if isinstance(raw, bytes) and raw.endswith(b"/"):
                    bare["raw_path"] = raw[:-1]
                scope = bare
        await self.app(scope, receive, send)


def _operation_id(route: APIRoute) -> str:
    return route.name


def create_app(memory: Memory, keys: KeyStore, *, settings: Settings | None = None) -> FastAPI:
    """A FastAPI app serving ``memory``; the caller keeps ownership of both stores."""
    settings = settings or Settings()
    state = ServerState(
        memory, AsyncMemory(memory, readers=settings.readers), keys, settings,
        RateLimiter(settings.rate_limit, settings.burst),
    )  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        async with contextlib.AsyncExitStack() as stack:
            for factory in state.lifespans:
                await stack.enter_async_context(factory())
            yield
        state.amem.lanes.close()

    app = FastAPI(
        title="graphmem",
        version=__version__,
        description="Long-term memory for LLM agents: a knowledge graph and vectors at once. "
        "Every call needs an API key (`graphmem keys create`).",
        lifespan=lifespan,
        # FastAPI's pages load scripts from public CDNs: /docs is made here (docs.py).
        docs_url=None,
        redoc_url=None,
        # Each operation named as its library call ("search", "add_many"): a client
        # generated from /openapi.json had methods such as search_v1_search_post.
        generate_unique_id_function=_operation_id,
    )
    app.state.graphmem = state
    install_handlers(app)
    install_routes(app)
    document_problems(app)
    _install_health(app)
    install_docs(app)
    document_answers(app)  # after the problems: /readyz's 503 is its own body, not one
    app.add_middleware(_BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(_HeadAsGet)
    app.add_middleware(_SlashFree)  # outside _HeadAsGet: HEAD /v1/stats/ is HEAD /v1/stats
    app.add_middleware(Guard, names=names_for(settings.host, settings.allowed_hosts,
                                              settings.cors_origins))  # fmt: skip
    if settings.cors_origins:  # outermost: a preflight carries no key and is answered here
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=list(CORS_HEADERS), expose_headers=list(CORS_SHOWN),
                           max_age=600)  # fmt: skip
    for room in settings.rooms:
        if importlib.util.find_spec(room) is not None:
            mount = getattr(importlib.import_module(room), "mount_on_server", None)
            if mount is not None:
                mount(app, state)
    return app


def _install_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="The process is up (no key needed)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Each store answers (no key needed)")
    async def readyz(request: Request) -> JSONResponse:
        state = state_of(request)
        probe = {"user_id": READY_PROBE_SCOPE}
        checks = {
            "graph": (OPS["stats"], (), probe),
            "vectors": (OPS["get_all"], (), {**probe, "limit": 1}),
            "history": (OPS["history"], ("readyz",), probe),
        }
        stores, ready = {}, True
        for name, (op, args, kwargs) in checks.items():
            started = time.perf_counter()
            try:
                await state.amem._call(op, args, kwargs)
                status = "ok"
            except NotFoundError:
                status = "ok"  # the history store answered: nothing recorded for the probe
            except GraphMemError as exc:
                status, ready = f"{type(exc).__name__}: {exc}", False
            ms = round((time.perf_counter() - started) * 1000, 2)
            stores[name] = {"status": status, "ms": ms}
        config = state.memory.config
        body = {
            "status": "ready" if ready else "unavailable",
            "stores": stores,
            "backends": {
                "graph": config.graph,
                "vectors": config.vector_store_choice,
                "embedder": config.embedder,
            },  # fmt: skip
        }
        return JSONResponse(to_wire(body), status_code=200 if ready else 503)
