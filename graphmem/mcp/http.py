"""MCP's streamable HTTP transport at ``/mcp`` on ``graphmem serve``.

Every HTTP request to ``/mcp`` must carry an API key (``Authorization: Bearer gm_...`` or
``X-API-Key``), checked and rate-limited exactly as the REST routes check it; a bad key
gets the same 401 problem+json before the MCP layer sees the request. The tools then run
in that key's scope: the SDK hands each tool the HTTP request its message came in on, and
the key found for that request is kept in the request's ASGI scope. Calls go through the
server's ``AsyncMemory`` lanes, beside the REST routes.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import mcp_types as types
import pydantic
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import INVALID_REQUEST, UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import RateLimitError
from ..server.auth import presented_key
from ..server.guard import listed, names_for
from .accept import BOTH, answer_as, media_type, not_acceptable, send_as_json, with_headers
from .batch import (
    Captured,
    answerable,
    batch_items,
    encoded,
    in_batch_refusal,
    missing_session,
    rate_limited,
)
from .tools import build_server, calls_on
from .vet import bare_notification, refusal, twice_refusal, unreadable_line_error

PATH = "/mcp"
SESSION = "mcp-session-id"
MAX_SESSIONS = 100_000  # owners remembered; ~100 bytes each
SESSIONS_PER_KEY = 64  # open sessions one key may hold; its oldest end past this
VET_MAX_BYTES = 4 * 2**20  # read whole and checked before the SDK (vet.py); the SDK's limit
VERSION_HEADER = "mcp-protocol-version"
LAST_EVENT = "last-event-id"
SUPPORTED_PROTOCOL_VERSIONS = (*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS)
KEY = "graphmem.key"  # where KeyGate leaves the request's KeyInfo in the ASGI scope


def key_scope(ctx: Context) -> dict[str, str | None]:
    """The scope of the key the current tool call came with."""
    request = ctx.request_context.request
    key = request.scope.get(KEY) if request is not None else None
    if key is None:  # KeyGate lets nothing through without one; kept as a second lock
        raise ToolError("AuthError: no API key on this request")
    if not key.scoped:
        raise ToolError("AuthError: MCP tools work in one scope and this admin key has none: "
                        "create a scoped key (graphmem keys create --user NAME)")  # fmt: skip
    return key.scope.params_or_none()


class KeyGate:
    """ASGI app in front of the MCP session manager: the key, then MCP.

    A session belongs to the key that opened it: another key's request on it, or its
    DELETE, is answered as for a session that does not exist. Each request still ran in
    its own key's scope, but any other live key could use or end someone's session.
    """

    def __init__(self, server: Any, state: Any, security: TransportSecuritySettings) -> None:
        self.server, self.state = server, state
        self.owners: OrderedDict[str, str] = OrderedDict()  # session id -> key id
        self.security = security

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        # AuthError / RateLimitError propagate to the app's problem+json handlers.
        headers = Headers(scope=scope)
        key = scope[KEY] = self.state.authenticate(presented_key(headers))
        session = headers.get(SESSION)
        if session is not None and self.owners.get(session) != key.id:
            # Not this key's (or not known): the SDK's own answer to an unknown session.
            denied = JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
                "code": INVALID_REQUEST, "message": "Session not found: no session with this "
                "id was opened with this key; send initialize without mcp-session-id to "
                "open one"}}, status_code=404)  # fmt: skip
            await denied(scope, receive, send)
            return
        if session is not None and scope["method"] == "DELETE":
            self.owners.pop(session, None)
        elif session is None:
            send = self._owned_by(key.id, send)
        refused = _foreign(headers, self.security)
        if refused is not None:
            await refused(scope, receive, send)
            return
        version = headers.get(VERSION_HEADER)
        if version is not None and version not in SUPPORTED_PROTOCOL_VERSIONS:
            # The spec's 400, naming what is served. The SDK routes an unknown version to
            # its per-request-envelope path, whose refusal speaks of missing "_meta" keys.
            denied = JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
                "code": UNSUPPORTED_PROTOCOL_VERSION, "message": "Unsupported protocol "
                f"version {version[:40]!r} in {VERSION_HEADER}: send the version initialize "
                f"agreed, one of {', '.join(SUPPORTED_PROTOCOL_VERSIONS)}",
                "data": {"supported": list(SUPPORTED_PROTOCOL_VERSIONS),
                         "requested": version[:40]}}}, status_code=400)  # fmt: skip
            await denied(scope, receive, send)
            return
        # The eras that open a session with initialize; a later one sends each request
        # with its own envelope and no session (the SDK routes it by this header).
        handshake = version is None or version in HANDSHAKE_PROTOCOL_VERSIONS
        sessionless = session is None and handshake  # only initialize may come so
        media = media_type(headers)
        if scope["method"] == "POST" and media != "application/json":
            # The SDK answers this with a bare text/plain 400 that says nothing of the fix
            # (curl -d sends application/x-www-form-urlencoded).
            denied = JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
                "code": INVALID_REQUEST, "message": f"Content-Type is {media or 'missing'}: "
                "send the JSON-RPC message with Content-Type: application/json"}},
                status_code=415)  # fmt: skip
            await denied(scope, receive, send)
            return
        answering = answer_as(headers) if scope["method"] == "POST" else "both"
        if answering == "none":
            await not_acceptable(headers)(scope, receive, send)
            return
        if answering == "stream":  # the SDK takes both or none; it answers with a stream
            scope = with_headers(scope, {b"accept": BOTH})
        if scope["method"] == "POST":
            held, body = await _read_body(receive)
            if body is None and held and held[-1].get("type") == "http.request":
                # Past what is read to vet it, which is the SDK's own limit: the SDK
                # answered a bare 413 with no JSON-RPC error (VET_MAX_BYTES).
                await JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
                    "code": INVALID_REQUEST, "message": f"Invalid Request: the body is over "
                    f"{VET_MAX_BYTES:,} bytes; send a smaller message"}},
                    status_code=413)(scope, receive, send)  # fmt: skip
                return
            twice = twice_refusal(body) if body is not None else None
            if twice is not None:  # the same error stdio gives (vet.py)
                await JSONResponse(_dumped(twice), status_code=400 if twice.id is None
                                   else 200)(scope, receive, send)  # fmt: skip
                return
            items = batch_items(body) if body is not None else None
            if items is not None:
                await self._batch(scope, receive, send, key.id, items, sessionless)
                return
            answer, message = (None, None) if body is None else _vetted(
                body, self.server.graphmem_tools)  # fmt: skip
            if answer is not None:  # the same error stdio gives (vet.py)
                # Answered under the request's id, it is a JSON-RPC response like any
                # method's error (200): a 400 read as a failed transport to the TypeScript
                # SDK, whose call then threw no McpError. Only a message with no readable
                # id is input the server cannot accept (the spec's 400).
                await JSONResponse(_dumped(answer),
                                   status_code=400 if answer.id is None else 200)(
                    scope, receive, send)  # fmt: skip
                return
            receive = _replayed(held, receive)
            # Only an initialize opens a session. Its method is read as the SDK reads it,
            # parsed: a test of the raw bytes missed "initializ\u0065", and one key opened
            # sessions past its cap (1,000 in 65 s, measured).
            opens = isinstance(message, types.JSONRPCRequest) and message.method == "initialize"
            if sessionless and not opens:
                await _no_session(scope, receive, send)
                return
            if session is None and opens:
                await self._make_room(key.id)
            if answering == "json":
                await self._as_json(scope, receive, send, body)
                return
        elif sessionless and scope["method"] in ("GET", "DELETE"):
            await _no_session(scope, receive, send)
            return
        elif scope["method"] == "GET" and headers.get(LAST_EVENT) is not None:
            # No event is kept to replay: the SDK returned without any response (a 500).
            # The stream opens as a fresh one, which the spec allows.
            scope = with_headers(scope, {LAST_EVENT.encode(): None})
        await self.server.session_manager.handle_request(scope, receive, send)

    async def _batch(self, scope: dict, receive: Any, send: Any, key_id: str,
                     items: list[dict], sessionless: bool) -> None:  # fmt: skip
        """A JSON-RPC batch (``batch.py``): each message served as if it had come alone,
        in order, each past the first counted against the key's rate limit as a request
        of its own. The answers go back as one JSON array; a batch of notifications and
        responses gets a 202 with no body."""
        answers: list[dict] = []
        for number, item in enumerate(items):
            refused = in_batch_refusal(item)
            if refused is None and sessionless:
                refused = missing_session(item, SESSION)
            if refused is None and number:
                try:
                    self.state.limiter.take(key_id)
                except RateLimitError as exc:
                    refused = rate_limited(item, str(exc))
            if refused is None:
                answers += await self._alone(scope, receive, item)
            elif answerable(item):
                answers.append(_dumped(refused))
        if not answers and sessionless:  # notifications only: refused as one would be
            await _no_session(scope, receive, send)
            return
        reply = JSONResponse(answers) if answers else Response(status_code=202)
        await reply(scope, receive, send)

    async def _alone(self, scope: dict, receive: Any, item: dict) -> list[dict]:
        """The answers to one message of a batch, served as a request of its own."""
        body = encoded(item)
        answer, _message = _vetted(body, self.server.graphmem_tools)
        if answer is not None:
            return [_dumped(answer)]
        # Each answer goes into the batch's JSON array, whatever the client's Accept took.
        alone = with_headers(scope, {b"content-length": str(len(body)).encode(),
                                     b"accept": BOTH})  # fmt: skip
        held = [{"type": "http.request", "body": body, "more_body": False}]
        captured = Captured()
        await self.server.session_manager.handle_request(alone, _replayed(held, receive),
                                                         captured)  # fmt: skip
        return captured.answers(item)

    async def _as_json(self, scope: dict, receive: Any, send: Any, body: bytes) -> None:
        """A POST from a client whose Accept header takes JSON and not event streams, or
        names no type (any, by HTTP's rules). The SDK answers a request with an
        event stream and refused such a client outright (406, "Client must accept both
        application/json and text/event-stream"), though one JSON answer is all a request
        needs; the SDK's JSON mode would serve it, but only for a whole server. It is
        served as any request, and its answer sent as one JSON body."""
        captured = Captured()
        await self.server.session_manager.handle_request(with_headers(scope, {b"accept": BOTH}),
                                                         receive, captured)  # fmt: skip
        try:
            item = json.loads(body)
        except (ValueError, RecursionError):  # what the checks let through unparsed
            item = {}
        await send_as_json(captured, send, item if isinstance(item, dict) else {})

    async def _make_room(self, key_id: str) -> None:
        """Before a request that may open a session: end this key's oldest sessions past
        ``SESSIONS_PER_KEY``. The SDK caps sessions for the whole server (10,000, idle
        ones dropped after 30 minutes), so one key that kept opening sessions (9,773 in
        194 s, measured) had every other key answered 503 for half an hour. Now such a
        key only ends its own oldest sessions; their client gets the spec's 404 and
        initializes again."""
        manager = self.server.session_manager
        live = manager._server_instances  # the SDK's open sessions; no public view
        mine = [s for s, owner in self.owners.items() if owner == key_id and s in live]
        for session in mine[: max(0, len(mine) - SESSIONS_PER_KEY + 1)]:
            self.owners.pop(session, None)
            transport = live.get(session)
            if transport is not None:
                await manager._discard_session(session, transport)

    def _owned_by(self, key_id: str, send: Any) -> Any:
        """``send``, recording the session a response opens as ``key_id``'s."""

        async def sending(message: dict) -> None:
            if message.get("type") == "http.response.start":
                opened = Headers(raw=message.get("headers") or []).get(SESSION)
                if opened is not None:
                    self.owners[opened] = key_id
                    while len(self.owners) > MAX_SESSIONS:  # the oldest must initialize anew
                        self.owners.popitem(last=False)
            await send(message)

        return sending


async def _no_session(scope: dict, receive: Any, send: Any) -> None:
    """The spec's 400 for a request other than initialize without a session. The SDK
    answered it "Missing session ID" after opening a session for it, whose id went back
    in the header and was recorded as the key's: a key sending such requests filled the
    owners' table and pushed other keys' sessions out of it."""
    refused = missing_session({}, SESSION)
    await JSONResponse(_dumped(refused), status_code=400)(scope, receive, send)


def mount(app: Any, state: Any) -> tuple[Any, TransportSecuritySettings]:
    """Serve the tools at ``/mcp`` on the graphmem FastAPI ``app``; give back the MCP
    server and its Host guard, which the older SSE transport shares (``sse.py``)."""
    server = build_server(calls_on(state.amem), key_scope)
    # Builds the session manager; its Starlette app is not used, KeyGate routes to it.
    settings = state.settings
    security = host_check(settings.host, settings.allowed_hosts, settings.cors_origins)
    server.streamable_http_app(streamable_http_path=PATH, transport_security=security)
    state.lifespans.append(server.session_manager.run)
    gate = KeyGate(server, state, security)
    app.router.routes.append(Route(PATH, gate, include_in_schema=False))
    return server, security


def host_check(
    bound: str, allowed: tuple[str, ...] = (), pages: tuple[str, ...] = ()
) -> TransportSecuritySettings:
    """Which Host headers ``/mcp`` accepts (a DNS-rebinding check: a web page on a name
    that resolves to this machine must not reach a local server's tools, key or not).

    A server bound to a loopback interface accepts the local names, with a port or without
    (a proxy on port 80 sends ``localhost``), and the ``allowed`` ones. One bound to
    another interface is there to be reached by other names: it checks only if given
    ``allowed`` names. The SDK's own check knew only the local names, so a server bound
    to 0.0.0.0 answered every remote MCP client 421 "Invalid Host header" while its REST
    routes served the same client (seen with ``graphmem serve --host 0.0.0.0``)."""
    names = names_for(bound, allowed, pages)
    if not names.checked:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts, origins = list(names.hosts), list(names.origins)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                     allowed_hosts=hosts, allowed_origins=origins)  # fmt: skip


def _foreign(headers: Headers, security: TransportSecuritySettings) -> JSONResponse | None:
    """The JSON-RPC error for a Host or Origin ``host_check`` refuses, or None. The SDK
    makes the same check, but answers a bare text/plain "Invalid Host header" that names
    neither the fix nor the header's value; this runs first, by the same rules."""
    if not security.enable_dns_rebinding_protection:
        return None
    host, origin = headers.get("host"), headers.get("origin")
    if not host or not listed(host, security.allowed_hosts):
        status, message = (
            421,
            (
                f"Misdirected Request: Host {(host or '')[:80]!r} is not a name this server "
                "answers MCP on (a DNS-rebinding guard); connect to 127.0.0.1 or localhost, or "
                "start graphmem serve with --allowed-host NAME for each name clients use"
            ),
        )
    elif origin and not listed(origin, security.allowed_origins):
        status, message = (
            403,
            (
                f"Forbidden: a page from Origin {origin[:80]!r} may not call this "
                "server's tools (a DNS-rebinding guard); call from a local page, or start "
                "graphmem serve with --cors-origin ORIGIN for the page's origin"
            ),
        )
    else:
        return None
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
        "code": INVALID_REQUEST, "message": message}}, status_code=status)  # fmt: skip


async def _read_body(receive: Any) -> tuple[list[dict], bytes | None]:
    """The request's messages read so far, and its body if it ended within
    ``VET_MAX_BYTES`` (None past that: the SDK refuses a body over its own limit)."""
    held, size = [], 0
    while True:
        message = await receive()
        held.append(message)
        if message.get("type") != "http.request":
            return held, None
        size += len(message.get("body", b""))
        if size > VET_MAX_BYTES:
            return held, None
        if not message.get("more_body"):
            return held, b"".join(m.get("body", b"") for m in held)


def _replayed(held: list[dict], receive: Any) -> Any:
    async def replay() -> dict:
        return held.pop(0) if held else await receive()

    return replay


def _dumped(answer: Any) -> dict:
    return answer.model_dump(by_alias=True, exclude_unset=True)


def _vetted(body: bytes, tools: Any) -> tuple[Any, Any]:
    """The error answering ``body`` (None to serve it), and the message it parsed to."""
    if bare_notification(body):
        return None, None  # the SDK accepts it (202, no body) and serves nothing
    try:
        message = types.jsonrpc_message_adapter.validate_json(body, by_name=False)
    except (pydantic.ValidationError, ValueError) as exc:
        return unreadable_line_error(exc, body), None
    return refusal(message, tools), message
