"""Fixtures for the hostile-input tests: a Memory, and what "nothing was written" means."""

from __future__ import annotations

import pytest

from graphmem import Memory

USER = "u"


def counts(m) -> tuple:
    """What every store holds: vector points (facts, entities), history events, graph rows."""
    return (
        m.vectors.count("facts"),
        m.vectors.count("entities"),
        len(m.history_store.events(None, limit=1_000_000)),
        tuple(sorted(m.stats(user_id=USER).items())),
    )


@pytest.fixture
def stored():
    return counts


@pytest.fixture
def memory(tmp_path):
    with Memory.open(tmp_path / "data", embedder="hash") as m:
        m.add("Alice works at Acme. Bob lives in Paris.", user_id=USER)
        yield m
