"""``graphmem mcp`` over stdio, driven by the official ``mcp`` SDK client as a real
subprocess: every tool, a two-hop recall with its path, tool errors that leave the
server serving, one scope per server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp_helpers import (
    STORY,
    bad_calls,
    call,
    every_tool,
    remember_story,
    sees_nothing_of,
    server_env,
    stdio_client,
)


def test_lists_and_calls_every_tool(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as client:
            await every_tool(client)

    anyio.run(scenario)


def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as client:
            await bad_calls(client)

    anyio.run(scenario)


def test_a_server_for_one_user_sees_nothing_of_another(tmp_path):
    async def scenario():
        async with stdio_client(tmp_path, "--user", "alice") as alice:
            ids = [f.id for f in await remember_story(alice)]
        async with stdio_client(tmp_path, "--user", "bob") as bob:
            await sees_nothing_of(bob, ids)
        async with stdio_client(tmp_path, "--user", "alice") as alice:
            kept = await call(alice, "list_memories")
            assert sorted(f["text"] for f in kept.structured_content["memories"]) == sorted(STORY)

    anyio.run(scenario)


@pytest.mark.parametrize("argv", [[], ["--user", " "]])
def test_mcp_without_a_valid_scope_does_not_start(tmp_path, argv):
    done = subprocess.run(
        [sys.executable, "-m", "graphmem.cli", "mcp", "--data-dir", str(tmp_path), *argv],
        capture_output=True, text=True, env=server_env(), timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr
    assert "user" in done.stderr and done.stdout == ""


def test_graphmem_mcp_does_not_shadow_the_sdk():
    import mcp

    import graphmem.mcp
    from graphmem.mcp import tools

    assert Path(mcp.__file__).parent != Path(graphmem.mcp.__file__).parent
    assert tools.MCPServer.__module__.startswith("mcp.server.")
