"""graphmem over the Model Context Protocol: the memory of any MCP-capable agent.

- ``graphmem mcp``: the stdio transport, for a client that starts the server itself
  (desktop assistants, editors); one scope, from ``--user/--agent/--run`` or
  ``GRAPHMEM_USER_ID``/``_AGENT_ID``/``_RUN_ID``; the embedded stores or a server
  (``--url``/``--api-key``).
- ``graphmem serve``: the streamable HTTP transport at ``/mcp``, where each request's API
  key decides the scope (``graphmem/mcp/http.py``), and the older HTTP+SSE transport at
  ``/sse`` for clients that predate it (``graphmem/mcp/sse.py``).

The tools themselves are in ``graphmem/mcp/tools.py``. Every module here imports the
official SDK by its absolute name (``mcp``); this package is ``graphmem.mcp`` and never
shadows it.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any


def mount_on_server(app: Any, state: Any) -> None:
    """The hook ``graphmem.server.app.create_app`` calls: MCP at ``/mcp`` and ``/sse`` (lazy import,
    so the SDK loads only where it is used). Without the SDK the REST API still runs."""
    if importlib.util.find_spec("mcp") is None:
        logging.getLogger("graphmem.server").warning(
            "no /mcp endpoint: the MCP SDK is not installed (pip install 'graphmem[mcp]')"
        )
        return
    from .http import mount
    from .sse import mount_sse

    server, security = mount(app, state)
    mount_sse(app, server, state, security)


__all__ = ["mount_on_server"]
