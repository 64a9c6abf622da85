"""MCP's older HTTP+SSE transport (protocol 2024-11-05) on ``graphmem serve``.

``GET /sse`` opens a session as an event stream; its first event names where the client
POSTs its messages (``/messages/?session_id=...``), and the answers come back on the
stream. The 2025-03-26 protocol replaced it with streamable HTTP (``http.py``), but
clients written before then still speak only this one, and some tools still pick it by
default. The SDK's transport does the protocol; this module puts the same rules in front
of it as ``/mcp`` has:

- every request, the stream and each message, carries a live API key, checked and
  rate-limited as the REST routes check it (401 / 429 problem+json otherwise);
- a session answers only the key that opened it (another key's message gets the 404 an
  unknown session gets), and its tools run in that key's scope;
- the app's Host and Origin guard against DNS rebinding, as on the REST routes;
- each message is checked as ``/mcp`` checks it (a call of a tool not served is a
  protocol error naming the tools), and the answer comes back on the stream;
- one key holds at most ``STREAMS_PER_KEY`` open streams, so it cannot use up the
  server's connections for everyone.
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.sse import SseServerTransport
from mcp.shared.message import SessionMessage
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import Route

from ..server.auth import presented_key
from ..server.problems import problem
from .accept import media_type
from .http import KEY, VET_MAX_BYTES
from .vet import refusal

STREAM_PATH = "/sse"
MESSAGES_PATH = "/messages/"
STREAMS_PER_KEY = 16  # open event streams one key may hold; past this, 429


class SseGate:
    """The two ASGI apps of the transport (the stream and its messages), each behind the
    key, the Host guard and, for the stream, the per-key cap."""

    def __init__(self, server: Any, state: Any, security: Any) -> None:
        self.server, self.state, self.security = server, state, security
        self.transport = SseServerTransport(
            MESSAGES_PATH, security_settings=security, max_request_body_size=VET_MAX_BYTES
        )
        self.streams: dict[str, int] = {}  # key id -> open streams

    def _admit(self, scope: dict) -> Any:
        """The request's key (AuthError / RateLimitError propagate to the app's
        problem+json handlers; a foreign Host or Origin was refused before, by the app's
        guard, as on every route but ``/mcp``)."""
        key = scope[KEY] = self.state.authenticate(presented_key(Headers(scope=scope)))
        # The SDK compares the principal that opened a session with each message's.
        scope["user"] = AuthenticatedUser(AccessToken(token=key.id, client_id=key.id, scopes=[]))
        return key

    async def stream(self, scope: dict, receive: Any, send: Any) -> None:
        """``GET /sse``: one session, served until the client goes."""
        if scope["method"] != "GET":  # Starlette adds HEAD to a GET route: no stream for it
            await Response(status_code=405, headers={"Allow": "GET"})(scope, receive, send)
            return
        key = self._admit(scope)
        if self.streams.get(key.id, 0) >= STREAMS_PER_KEY:
            refused = problem(429, "TooManyStreams", f"this key already holds "
                              f"{STREAMS_PER_KEY} open MCP event streams; close one, or use "
                              "streamable HTTP at /mcp")  # fmt: skip
            await refused(scope, receive, send)
            return
        self.streams[key.id] = self.streams.get(key.id, 0) + 1
        lowlevel = self.server._lowlevel_server  # what the SDK's own sse_app runs
        try:
            async with self.transport.connect_sse(scope, receive, send) as (reading, writing):
                vetted = _Vetted(reading, writing, self.server.graphmem_tools)
                await lowlevel.run(vetted, writing, lowlevel.create_initialization_options())
        finally:
            left = self.streams.pop(key.id) - 1
            if left:
                self.streams[key.id] = left

    async def message(self, scope: dict, receive: Any, send: Any) -> None:
        """``POST /messages/?session_id=...``: one message of an open session."""
        self._admit(scope)
        media = media_type(Headers(scope=scope))
        if media != "application/json":
            refused = problem(415, "UnsupportedMediaType", f"Content-Type is "
                              f"{media or 'missing'}: send the JSON-RPC message with "
                              "Content-Type: application/json")  # fmt: skip
            await refused(scope, receive, send)
            return
        await self.transport.handle_post_message(scope, receive, send)


class _Vetted:
    """The session's incoming messages, each checked as ``/mcp`` and stdio check theirs
    (``vet.refusal``: a call of a tool not served, arguments that are no object...): a
    refused one is answered on the stream, under its id, and never reaches the SDK.
    The sender's context rides along as the SDK's own stream carries it."""

    def __init__(self, inner: Any, answers: Any, tools: Any) -> None:
        self.inner, self.answers, self.tools = inner, answers, tools

    @property
    def last_context(self) -> Any:
        return self.inner.last_context

    async def receive(self) -> Any:
        while True:
            item = await self.inner.receive()
            message = getattr(item, "message", None)
            answer = refusal(message, self.tools) if message is not None else None
            if answer is None:
                return item
            await self.answers.send(SessionMessage(answer))

    def __aiter__(self) -> _Vetted:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> _Vetted:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Asgi:
    """A bound method as an ASGI app: Starlette calls a plain function or method with a
    ``Request`` and wants a response back, where these stream."""

    def __init__(self, serve: Any) -> None:
        self.serve = serve

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        await self.serve(scope, receive, send)


def mount_sse(app: Any, server: Any, state: Any, security: Any) -> None:
    """Serve the transport at ``/sse`` and ``/messages/`` on the graphmem ``app``."""
    gate = SseGate(server, state, security)
    for path, serve, method in ((STREAM_PATH, gate.stream, "GET"),
                                (MESSAGES_PATH, gate.message, "POST")):  # fmt: skip
        app.router.routes.append(Route(path, _Asgi(serve), methods=[method],
                                       include_in_schema=False))  # fmt: skip
