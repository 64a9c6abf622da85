"""The ``graphmem mcp`` command (the SDK is imported only when it runs)."""

from __future__ import annotations

from typing import Any

from ..cli.registry import Context, UsageError, command
from ..models import Scope


@command("mcp", "serve this memory to an MCP client (assistant, editor, agent) over stdio; "
         "the scope comes from --user/--agent/--run or GRAPHMEM_USER_ID/_AGENT_ID/_RUN_ID")  # fmt: skip
def mcp_stdio(ctx: Context) -> Any:
    if not any(ctx.scope.values()):
        raise UsageError("give the scope the tools work in: --user, --agent or --run "
                         "(or GRAPHMEM_USER_ID, GRAPHMEM_AGENT_ID, GRAPHMEM_RUN_ID)")  # fmt: skip
    scope = Scope.of(**ctx.scope)  # a malformed id is refused before the client connects
    from .stdio import serve_stdio

    serve_stdio(ctx.memory, scope)
