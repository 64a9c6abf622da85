"""Shared fixtures. The Bolt test server starts once per session, and only when asked for."""

from __future__ import annotations

import pytest

from graphmem.testing.bolt_server import start_or_skip


@pytest.fixture(scope="session")
def bolt_server():
    """ArcadeDB speaking Bolt on 127.0.0.1 (skips the requesting tests if it cannot start)."""
    server = start_or_skip()
    yield server
    server.stop()
