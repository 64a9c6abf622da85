"""Starting ``graphmem mcp`` as a real subprocess and talking to it with the official SDK."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters

REPO = Path(__file__).resolve().parents[1]
TOOLS = {"remember", "recall", "forget", "list_memories", "update_memory", "entity",
         "how_connected", "history", "cypher"}  # fmt: skip


def server_env(**extra: str) -> dict[str, str]:
    """The subprocess environment: this checkout's graphmem, the hashing embedder, the
    offline extractor (no model endpoint), nothing inherited that names a scope."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GRAPHMEM_"))}
    env.update(PYTHONPATH=str(REPO), GRAPHMEM_EMBEDDER="hash", **extra)
    return env


@contextlib.asynccontextmanager
async def stdio_client(data_dir: Path, *scope_args: str) -> AsyncIterator[Client]:
    """An SDK client session with ``graphmem mcp --data-dir DATA SCOPE...`` as a subprocess."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "graphmem.cli", "mcp", "--data-dir", str(data_dir), *scope_args],
        env=server_env(),
    )
    async with Client(params, read_timeout_seconds=120) as client:
        yield client


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")
