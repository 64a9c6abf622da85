"""``graphmem mcp``: the tools over stdio, for one scope fixed when the server starts."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import anyio

from ..models import Scope
from .tools import build_server


class LocalCalls:
    """Runs a ``Memory`` (or ``Client``) method off the event loop, one call at a time:
    one stdio client rarely overlaps calls, and the embedded stores want one writer."""

    def __init__(self, memory: Any) -> None:
        self.memory = memory
        self._lock = threading.Lock()

    async def __call__(self, op: str, *args: Any, **kwargs: Any) -> Any:
        owner, _, method = op.rpartition(".")
        target = self.memory.graph if owner == "graph" else self.memory
        return await anyio.to_thread.run_sync(self._locked, partial(getattr(target, method),
                                                                    *args, **kwargs))  # fmt: skip

    def _locked(self, fn: Any) -> Any:
        with self._lock:
            return fn()


def serve_stdio(memory: Any, scope: Scope) -> None:
    """Serve ``memory`` to the MCP client on stdin/stdout until it disconnects."""
    fixed = scope.params_or_none()
    server = build_server(LocalCalls(memory), lambda _ctx: fixed)
    server.run("stdio")
