"""``graphmem mcp``: the tools over stdio, for one scope fixed when the server starts."""

from __future__ import annotations

from typing import Any

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
        build_server(calls_on(amem), lambda _ctx: scope).run(transport="stdio")
    finally:
        amem.lanes.close()  # the caller closes the memory itself
