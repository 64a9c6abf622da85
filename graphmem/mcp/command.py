"""The ``graphmem mcp`` command (the SDK is imported only when it runs)."""

from __future__ import annotations

import os
from typing import Any

from ..cli import streams
from ..cli.registry import Context, UsageError, command
from ..errors import GraphMemError, ScopeError


@command("mcp", "serve this memory to an MCP client (assistant, editor, agent) over stdio; "
         "the scope comes from --user/--agent/--run or GRAPHMEM_USER_ID/_AGENT_ID/_RUN_ID, "
         "or from the API key with --url")  # fmt: skip
def mcp_stdio(ctx: Context) -> Any:
    if streams.closed & {0, 1}:  # the client's channel: answers went into the lock file
        raise UsageError("stdin or stdout is closed: graphmem mcp talks to its client over "
                         "both; start it from the client (its MCP server settings)")  # fmt: skip
    remote = getattr(ctx.args, "url", None) or os.environ.get("GRAPHMEM_URL")
    if not remote and not any(ctx.scope.values()):
        raise UsageError("give the scope the tools work in: --user, --agent or --run "
                         "(or GRAPHMEM_USER_ID, GRAPHMEM_AGENT_ID, GRAPHMEM_RUN_ID)")  # fmt: skip
    if remote and not any(ctx.scope.values()):
        _need_scoped_key(ctx.memory)
    from .stdio import serve_stdio

    serve_stdio(ctx.memory, ctx.scope)


def _need_scoped_key(client: Any) -> None:
    """Refuse an admin key with no scope given, as ``/mcp`` does (``http.key_scope``):
    every tool but ``cypher`` was refused in each call, and ``cypher`` read every user's
    graph. The server says nothing of a key's scope, but a scope-wide read with none
    given is refused only for a key that has none."""
    try:
        client.get_all(limit=1)
    except ScopeError:
        raise UsageError("this API key is an admin key, which has no scope, and MCP tools "
                         "work in one: give the scope with --user, --agent or --run, or use "
                         "a scoped key (graphmem keys create --user NAME)") from None  # fmt: skip
    except GraphMemError:
        return  # a bad key or a server down: each tool call says so, as before
