"""``graphmem mcp``: the tools over stdio, for one scope fixed when the server starts."""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from ..aio import AsyncMemory
from ..models import Scope
from .tools import build_server, calls_on
from .vet import error, refusal, unreadable_line_error


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
    async with stdio_server() as (read, write):
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
