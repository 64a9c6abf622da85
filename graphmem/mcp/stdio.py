"""``graphmem mcp``: the tools over stdio, for one scope fixed when the server starts."""

from __future__ import annotations

import json
from typing import Any

import anyio
import mcp_types as types
import pydantic
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage

from ..aio import AsyncMemory
from ..models import Scope
from .tools import build_server, calls_on


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
                    if isinstance(message, types.JSONRPCRequest):
                        greeted = greeted or message.method == "initialize"
                        if not greeted and message.method != "ping":
                            # The SDK's own answer, 'Invalid request parameters', hides this.
                            await write.send(SessionMessage(_error(message.id,
                                types.INVALID_REQUEST, f"Invalid Request: {message.method!r} "
                                "came before initialize; send initialize first, then "
                                "notifications/initialized")))  # fmt: skip
                            continue
                    await sieved_in.send(item)

        async with anyio.create_task_group() as tg:
            tg.start_soon(sieve)
            await lowlevel.run(sieved_out, write, lowlevel.create_initialization_options())
            tg.cancel_scope.cancel()


def unreadable_line_error(exc: Exception) -> types.JSONRPCError:
    """The JSON-RPC error answering a line that is not a JSON-RPC message."""
    first = exc.errors(include_url=False)[0] if isinstance(exc, pydantic.ValidationError) else {}
    if first.get("type") != "json_invalid":
        where = ".".join(str(p) for p in first.get("loc", ()))
        detail = f"{where}: {first['msg']}" if first else str(exc)
        return _error(None, types.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message "
                      f"({detail}); send one JSON object per line with jsonrpc '2.0'")  # fmt: skip
    try:  # Python reads what the SDK's parser refuses: lone surrogates in \u escapes
        parsed = json.loads(first["input"])
    except (ValueError, TypeError, RecursionError):
        return _error(None, types.PARSE_ERROR, f"Parse error: {first['msg']}; send one JSON "
                      "object per line")  # fmt: skip
    msg_id = parsed.get("id") if isinstance(parsed, dict) else None
    msg_id = msg_id if isinstance(msg_id, str | int) and not isinstance(msg_id, bool) else None
    return _error(msg_id, types.PARSE_ERROR, "Parse error: the message holds a lone UTF-16 "
                  "surrogate (a \\ud800-\\udfff escape without its pair), which is not valid "
                  "Unicode text; send well-formed UTF-8")  # fmt: skip


def _error(msg_id: str | int | None, code: int, message: str) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=msg_id, error=types.ErrorData(code=code,
                              message=message))  # fmt: skip
