"""``graphmem mcp``: the tools over stdio, for one scope fixed when the server starts."""

from __future__ import annotations

from typing import Any

from ..aio import AsyncMemory
from ..models import Scope
from .tools import build_server, calls_on


def serve_stdio(memory: Any, scope: Scope) -> None:
    """Serve ``memory`` (a ``Memory`` or a ``Client``) to the MCP client on stdin/stdout
    until it disconnects. Calls go through ``AsyncMemory``'s lanes, as on the server:
    reads side by side, writes one at a time."""
    fixed = scope.params_or_none()
    amem = AsyncMemory(memory)
    try:
        build_server(calls_on(amem), lambda _ctx: fixed).run("stdio")
    finally:
        amem.lanes.close()  # the caller closes the memory itself
