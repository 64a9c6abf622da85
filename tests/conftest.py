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


def pytest_collection_modifyitems(config, items):
    """Every test that reaches the Bolt server carries the ``bolt`` marker, so
    ``-m "not bolt"`` runs the suite without starting it: those asking for the fixture,
    and those parametrised over backends with a ``bolt`` case (which ask for it late)."""
    for item in items:
        spec = getattr(item, "callspec", None)
        late = spec is not None and "bolt" in spec.params.values()
        if late or "bolt_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.bolt)
