"""``graphmem mcp``: the tools over stdio, for one scope fixed when the server starts."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from ..aio import AsyncMemory
from ..models import Scope
from .tools import build_server, calls_on
from .vet import bare_notification, error, refusal, unreadable_line_error


def serve_stdio(memory: Any, scope: dict[str, str | None]) -> None:
    """Serve ``memory`` (a ``Memory`` or a ``Client``) to the MCP client on stdin/stdout
    until it disconnects. Calls go through ``AsyncMemory``'s lanes, as on the server:
    reads side by side, writes one at a time.

    ``scope`` may be empty only for a ``Client``, whose API key then decides it.
    """
    if any(scope.values()):
        scope = Scope.of(**scope).params_or_none()  # malformed ids fail before serving
    amem = AsyncMemory(memory)
    try:
        anyio.run(_serve, build_server(calls_on(amem), lambda _ctx: scope))
    finally:
        amem.lanes.close()  # the caller closes the memory itself


async def _serve(server: Any) -> None:
    # The SDK's stdio transport drops a line it cannot read without a word, so a client
    # waiting on that request's id waits forever; here each such line gets the JSON-RPC
    # error the spec asks for, and the session goes on with the next line.
    lowlevel = server._lowlevel_server
    with _wire_in() as wire:
        await _session(lowlevel, wire)


async def _session(lowlevel: Any, wire: Any) -> None:
    async with stdio_server(stdin=_Unnotified(wire)) as (read, write):
        sieved_in, sieved_out = create_context_streams[SessionMessage | Exception](0)

        async def sieve() -> None:
            greeted = False
            async with sieved_in:
                async for item in read:
                    if isinstance(item, Exception):
                        await write.send(SessionMessage(unreadable_line_error(item)))
                        continue
                    message = item.message
                    refused = refusal(message)
                    if refused is not None:
                        await write.send(SessionMessage(refused))
                        continue
                    if isinstance(message, types.JSONRPCRequest):
                        greeted = greeted or message.method == "initialize"
                        if not greeted and message.method != "ping":
                            # The SDK's own answer, 'Invalid request parameters', hides this.
                            await write.send(SessionMessage(error(message.id,
                                types.INVALID_REQUEST, f"Invalid Request: {message.method!r} "
                                "came before initialize; send initialize first, then "
                                "notifications/initialized")))  # fmt: skip
                            continue
                    await sieved_in.send(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sieve)
            await lowlevel.run(sieved_out, write, lowlevel.create_initialization_options())
            tg.cancel_scope.cancel()


class _Unnotified:
    """The lines of ``wire`` but bare notifications (``vet.bare_notification``): the SDK
    reads those as it reads a request whose id is ``1.5``, which must be answered, and
    JSON-RPC forbids answering a notification, so they are dropped before it parses."""

    def __init__(self, wire: Any) -> None:
        self.wire = wire

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self.wire:
            if not bare_notification(line):
                yield line


@contextlib.contextmanager
def _wire_in() -> Iterator[Any]:
    """stdin as UTF-8 lines (undecodable bytes replaced, as the SDK reads them), read
    from a private copy of fd 0 while fd 0 itself reads the null device: a tool or a
    child process that read stdin would take the client's messages. Restored on exit."""
    try:
        private = os.dup(sys.stdin.fileno())
    except (OSError, ValueError, AttributeError):  # no real fd 0: read it as it is
        yield anyio.wrap_file(io.TextIOWrapper(sys.stdin.buffer, "utf-8", "replace"))
        return
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        yield anyio.wrap_file(io.TextIOWrapper(os.fdopen(private, "rb", closefd=False),
                                               "utf-8", "replace"))  # fmt: skip
    finally:
        # ``private`` stays open: a worker thread may still block reading it, and a
        # number closed under it could be reused by another file.
        os.dup2(private, 0)
