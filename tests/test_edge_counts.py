"""Qdrant Edge shards load on first use, and a reopen counts from the last clean close.

Real Qdrant Edge shards throughout. The counts file (``stores/edge_counts.py``) is what
lets a read-only process skip loading a shard at open; these tests check that it never
gives a count the shards do not hold.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge as qe

from graphmem.errors import BackendUnavailableError
from graphmem.models import Scope
from graphmem.stores.base import VectorPoint
from graphmem.stores.qdrant_edge import EdgeVectorStore

DIM = 8
EMBEDDER = "test-embedder"


def points(first: int, count: int, user: str = "u1") -> list[VectorPoint]:
    rng = np.random.default_rng(first)
    out = []
    for n in range(first, first + count):
        vec = rng.normal(size=DIM)
        out.append(VectorPoint(str(uuid.UUID(int=n + 1)), (vec / np.linalg.norm(vec)).tolist(),
                               {"user_id": user, "created_at": "2026-01-01T00:00:00.000000Z"}))  # fmt: skip
    return out


def opened(where) -> EdgeVectorStore:
    store = EdgeVectorStore(where)
    store.open(DIM, EMBEDDER)
    return store


def counted(where, collection: str = "facts") -> int:
    """What a fresh open of ``where`` says ``collection`` holds."""
    store = opened(where)
    try:
        return store.count(collection)
    finally:
        store.close()


@pytest.fixture
def closed_store(tmp_path):
    """A store with 12 facts (2 of them deleted) and 3 entities, closed cleanly."""
    where = tmp_path / "edge"
    store = opened(where)
    store.upsert("facts", points(0, 12))
    store.delete("facts", [p.id for p in points(0, 2)])
    store.upsert("entities", points(100, 3))
    store.close()
    return where


def test_a_reopened_store_counts_without_loading_a_shard(closed_store):
    store = opened(closed_store)
    try:
        assert store.count("facts") == 10
        assert store.count("entities") == 3
        assert store.count("sources") == 0
        assert store._pending == {"facts", "entities", "sources"}  # nothing was loaded
        # A scoped count needs the shard, and agrees.
        assert store.count("facts", Scope(user_id="u1")) == 10
        assert "facts" not in store._pending
    finally:
        store.close()


def test_the_first_read_or_write_loads_the_shard_and_sees_every_point(closed_store):
    store = opened(closed_store)
    try:
        wanted = points(0, 12)[5]
        hits = store.search("facts", wanted.vector, Scope(user_id="u1"), limit=1)
        assert [h.id for h in hits] == [wanted.id]
        store.upsert("facts", points(50, 4))
        store.delete("entities", [points(100, 1)[0].id])
        assert store.count("facts") == 14
        assert store.count("entities") == 2
    finally:
        store.close()
    again = opened(closed_store)
    try:  # the counts written by that close are the new ones
        assert (again.count("facts"), again.count("entities")) == (14, 2)
        assert again._pending == {"facts", "entities", "sources"}
    finally:
        again.close()


def test_the_counts_file_is_gone_as_soon_as_a_shard_loads(closed_store):
    counts = closed_store / "graphmem.counts.json"
    assert counts.is_file()
    store = opened(closed_store)
    try:
        store.count("entities")  # answered from the file
        assert counts.is_file()
        store.get("facts", [points(3, 1)[0].id])
        assert not counts.exists()  # a process that now writes and dies leaves no file
    finally:
        store.close()
    assert counts.is_file()


def test_a_process_killed_after_writing_leaves_counts_that_are_not_believed(closed_store):
    tests, where = str(Path(__file__).parent), str(closed_store)
    code = (
        "import os, sys\n"
        f"sys.path[:0] = [{tests!r}]\n"
        "from test_edge_counts import opened, points\n"
        f"store = opened({where!r})\n"
        "store.upsert('facts', points(200, 7))\n"
        "os._exit(0)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert counted(closed_store) == 17  # from the shard's write-ahead log, not 10


def test_a_shard_changed_behind_the_stores_back_is_counted_again(closed_store):
    # Another program deletes points from the closed shard: the counts file still says 10.
    shard = qe.EdgeShard.load(str(closed_store / "graphmem_facts"))
    shard.update(qe.UpdateOperation.delete_points([str(p.id) for p in points(2, 4)]))
    shard.flush()
    shard.close()
    assert counted(closed_store) == 6


def test_a_shard_folder_restored_from_a_copy_is_counted_again(closed_store, tmp_path):
    backup = tmp_path / "backup"
    shutil.copytree(closed_store / "graphmem_facts", backup)  # 10 facts
    store = opened(closed_store)
    store.upsert("facts", points(300, 5))
    store.close()  # the counts file now says 15
    shutil.rmtree(closed_store / "graphmem_facts")
    shutil.copytree(backup, closed_store / "graphmem_facts")  # same sizes and times
    assert counted(closed_store) == 10


def test_a_damaged_counts_file_is_ignored(closed_store):
    (closed_store / "graphmem.counts.json").write_text('{"version": 1, "shards": ')
    assert counted(closed_store) == 10


def test_a_closed_or_unopened_store_still_refuses_counts(closed_store):
    store = EdgeVectorStore(closed_store)
    try:
        with pytest.raises(Exception, match="not open"):
            store.count("facts")
    finally:
        store.close()
    with pytest.raises(BackendUnavailableError, match="closed"):
        store.count("facts")
