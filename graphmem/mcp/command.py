"""The ``graphmem mcp`` command (the SDK is imported only when it runs)."""

from __future__ import annotations

import os
from typing import Any

from ..cli.registry import Context, UsageError, command


@command("mcp", "serve this memory to an MCP client (assistant, editor, agent) over stdio; "
         "the scope comes from --user/--agent/--run or GRAPHMEM_USER_ID/_AGENT_ID/_RUN_ID, "
         "or from the API key with --url")  # fmt: skip
def mcp_stdio(ctx: Context) -> Any:
    remote = getattr(ctx.args, "url", None) or os.environ.get("GRAPHMEM_URL")
    if not remote and not any(ctx.scope.values()):
        raise UsageError("give the scope the tools work in: --user, --agent or --run "
                         "(or GRAPHMEM_USER_ID, GRAPHMEM_AGENT_ID, GRAPHMEM_RUN_ID)")  # fmt: skip
    from .stdio import serve_stdio

    serve_stdio(ctx.memory, ctx.scope)
