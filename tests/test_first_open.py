"""A data dir whose first open was cut short opens again (``EdgeVectorStore.open``).

The vector store records its embedder in ``graphmem.meta.json``; it wrote the record after
making its shards, so a kill in between (most of a first open's time) left shards no later
open or ``graphmem doctor`` would take ("holds vectors from an unrecorded embedder").
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from graphmem import ConfigError, Memory

KILLED_AFTER_FIRST_SHARD = textwrap.dedent("""
    import os, sys
    from graphmem.stores import qdrant_edge
    made = qdrant_edge.EdgeVectorStore._create
    def create(self, name, dim):
        made(self, name, dim)
        os._exit(9)  # as a kill, with one shard made and the others not
    qdrant_edge.EdgeVectorStore._create = create
    from graphmem import Memory
    Memory.open(sys.argv[1], embedder="hash")
""")


def _meta(data) -> list:
    return list((data / "qdrant-edge").glob("*.meta.json"))


def test_a_first_open_killed_after_a_shard_was_made_opens_again_and_keeps_writes(tmp_path):
    data = tmp_path / "d"
    child = subprocess.run([sys.executable, "-c", KILLED_AFTER_FIRST_SHARD, str(data)],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert child.returncode == 9, child.stderr
    with Memory.open(data, embedder="hash") as m:
        m.add("Ada keeps bees.", user_id="u", infer=False)
    with Memory.open(data, embedder="hash") as m:
        assert [f.text for f in m.get_all(user_id="u")] == ["Ada keeps bees."]
        assert m.verify().ok


def test_empty_shards_left_without_a_record_by_an_older_first_open_are_made_again(tmp_path):
    data = tmp_path / "d"
    Memory.open(data, embedder="hash").close()
    for meta in _meta(data):  # what a kill before the record left, before this fix
        meta.unlink()
    with Memory.open(data, embedder="hash") as m:
        m.add("Ada keeps bees.", user_id="u", infer=False)
        assert [h.text for h in m.search("bees", user_id="u")] == ["Ada keeps bees."]


def test_shards_holding_memories_without_a_record_are_still_refused(tmp_path):
    data = tmp_path / "d"
    with Memory.open(data, embedder="hash") as m:
        m.add("Ada keeps bees.", user_id="u", infer=False)
    for meta in _meta(data):
        meta.unlink()
    with pytest.raises(ConfigError, match="unrecorded embedder"):
        Memory.open(data, embedder="hash")
