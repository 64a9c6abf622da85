"""Qdrant Edge's mapped segment and write-ahead-log pages are handed back, and nothing
they held is lost."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from graphmem import Memory
from graphmem.models import Scope
from graphmem.stores import mapped_pages
from graphmem.stores.base import VectorPoint
from graphmem.stores.qdrant_edge import EdgeVectorStore

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc/self/smaps; releases on Linux only"
)
DIM = 64


def resident_mb(folder: Path) -> float:
    """This process's resident pages of files mapped from under ``folder``."""
    root, name, kb = str(folder.resolve()) + "/", "", 0
    with open("/proc/self/smaps", encoding="utf-8", errors="replace") as smaps:
        for line in smaps:
            head = line.split(maxsplit=5)
            if "-" in head[0] and ":" not in head[0]:  # a mapping's first line
                name = head[5].strip() if len(head) > 5 else ""
            elif head[0] == "Rss:" and name.startswith(root):
                kb += int(head[1])
    return kb / 1024


def points(start: int, count: int, rng: np.random.Generator) -> list[VectorPoint]:
    return [
        VectorPoint(
            str(uuid.UUID(int=i + 1)),
            rng.standard_normal(DIM).tolist(),
            {"user_id": "u", "text": f"memory {i}"},
        )
        for i in range(start, start + count)
    ]


@pytest.fixture
def store(tmp_path):
    vectors = EdgeVectorStore(tmp_path / "edge")
    vectors.open(DIM, "test")
    vectors._pages.every = float("inf")  # released only when the test says so
    yield vectors
    vectors.close()


def test_released_pages_leave_the_process_and_every_point_reads_back(store, tmp_path):
    rng = np.random.default_rng(0)
    for start in range(0, 20_000, 2_000):
        store.upsert("facts", points(start, 2_000, rng))
    segments = tmp_path / "edge" / "graphmem_facts" / "segments"
    before = resident_mb(segments)
    assert before > 4  # 20k 64-d vectors and their payloads were written through the map
    assert mapped_pages.release(store._mapped_folders()) > 0
    assert resident_mb(segments) < before / 4
    # Everything reads back, and writing goes on: the pages came back from the file.
    got = store.get("facts", [str(uuid.UUID(int=5)), str(uuid.UUID(int=19_999))])
    assert [h.payload["text"] for h in got] == ["memory 4", "memory 19998"]
    store.upsert("facts", points(20_000, 500, rng))
    assert len(store.scan("facts", Scope("u"))) == 20_500


def test_writes_survive_a_release_and_a_reopen(tmp_path):
    rng = np.random.default_rng(1)
    written = points(0, 3_000, rng)
    first = EdgeVectorStore(tmp_path / "edge")
    first.open(DIM, "test")
    first.upsert("facts", written[:1_500])
    mapped_pages.release(first._mapped_folders())
    first.upsert("facts", written[1_500:])
    mapped_pages.release(first._mapped_folders())
    first.close()
    again = EdgeVectorStore(tmp_path / "edge")
    again.open(DIM, "test")
    try:
        hits = again.get("facts", [p.id for p in written], with_vectors=True)
        assert len(hits) == 3_000
        want = np.asarray(written[2_999].vector)
        assert np.allclose(hits[-1].vector, want / np.linalg.norm(want), atol=1e-5)
    finally:
        again.close()


def test_only_shared_mappings_under_the_folders_are_named(store, tmp_path):
    store.upsert("facts", points(0, 100, np.random.default_rng(2)))
    found = mapped_pages.shared_mappings(store._mapped_folders())
    assert any("/graphmem_facts/segments/" in p for *_, p in found)
    assert any("/graphmem_facts/wal/" in p for *_, p in found)
    assert all("/segments/" in p or "/wal/" in p for *_, p in found)
    assert all(str((tmp_path / "edge").resolve()) in p for *_, p in found)
    assert mapped_pages.shared_mappings([tmp_path / "elsewhere"]) == []


def test_an_ingest_keeps_few_segment_pages_resident(tmp_path):
    """The store releases on its own after its calls: a bulk add does not leave the
    vectors it wrote in the process's resident memory."""
    memory = Memory.open(str(tmp_path / "data"), embedder="hash")
    try:
        edge = memory.vectors.inner
        assert isinstance(edge, EdgeVectorStore)
        edge._pages.every = 0.0
        items = [{"text": f"Note {i}: the meeting with Ada {i} moved to room {i % 50}."}
                 for i in range(3_000)]  # fmt: skip
        memory.add_many(items, user_id="u", batch_size=500)
        # Neither the segments' pages nor the write-ahead log's stay behind (the log's
        # held ~24 MB after 50k memories, when it was left out).
        assert sum(resident_mb(f) for f in edge._mapped_folders()) < 2
        assert resident_mb(tmp_path / "data" / "qdrant-edge" / "graphmem_facts" / "wal") < 1
        assert len(memory.get_all(user_id="u", limit=5_000)) == 3_000
        assert memory.search("room 7 meeting", user_id="u", limit=3)
    finally:
        memory.close()


def test_pages_are_released_once_enough_points_have_moved(store, tmp_path):
    """Counted in points: small writes (a read-count flush that searches wait for) pay
    nothing until the count is reached."""
    rng = np.random.default_rng(3)
    segments = tmp_path / "edge" / "graphmem_facts" / "segments"
    store._pages.every = 12_000
    store.upsert("facts", points(0, 10_000, rng))
    held = resident_mb(segments)
    assert held > 2
    store.upsert("facts", points(10_000, 1_000, rng))
    assert resident_mb(segments) >= held  # 11,000 moved: not yet
    store.upsert("facts", points(11_000, 1_000, rng))
    assert resident_mb(segments) < held / 4  # 12,000: released


def test_payload_rewrites_count_towards_a_release_too(store, tmp_path):
    """Read counts are written as payload rewrites, a few at a time while searches run: at
    1M memories the pages they touched held ~210 MB of a serving process (section 27)."""
    rng = np.random.default_rng(4)
    segments = tmp_path / "edge" / "graphmem_facts" / "segments"
    store._pages.every = 12_000
    written = points(0, 10_000, rng)
    store.upsert("facts", written)
    held = resident_mb(segments)
    counted = [VectorPoint(p.id, p.vector, {**p.payload, "access_count": 3})
               for p in written[:2_000]]  # fmt: skip
    for start in range(0, 2_000, 200):  # as flushes come: small and many
        store.overwrite_payloads("facts", counted[start : start + 200])
    assert resident_mb(segments) < held / 4  # 12,000 moved: released
    back = store.get("facts", [written[0].id, written[1_999].id, written[2_000].id])
    assert [h.payload.get("access_count") for h in back] == [3, 3, None]


def test_points_written_through_a_released_log_survive_a_kill(tmp_path):
    """A process killed before its close leaves its points in the write-ahead log alone;
    handing the log's pages back after every call must not lose any of them."""
    script = f"""
import os, sys
import numpy as np
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from graphmem.stores.qdrant_edge import EdgeVectorStore
from tests.test_mapped_pages import points
store = EdgeVectorStore({str(tmp_path / "edge")!r})
store.open({DIM}, "test")
store._pages.every = 0.0  # released after every call, the log's pages included
rng = np.random.default_rng(4)
for start in range(0, 3_000, 500):
    store.upsert("facts", points(start, 500, rng))
os._exit(0)  # killed: no close, no flush of the segments
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    again = EdgeVectorStore(tmp_path / "edge")
    again.open(DIM, "test")
    try:
        ids = [str(uuid.UUID(int=i + 1)) for i in range(3_000)]
        got = again.get("facts", ids)
        assert len(got) == 3_000
        assert {h.payload["text"] for h in got} == {f"memory {i}" for i in range(3_000)}
    finally:
        again.close()
