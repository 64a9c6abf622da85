"""The write journal's encoding: what a roll-forward after a crash reads back must be
what the write held, whatever JSON the caller's metadata holds. The journal is encoded
by orjson, which refuses integers past 64 bits; such a write falls back to json."""

from __future__ import annotations

import json

from graphmem import Memory
from graphmem.ingest.journal import WRITE, Change, decode, encode
from graphmem.models import HistoryEvent, Scope
from graphmem.stores.base import VectorPoint
from tests.test_graph_conformance import world

ODD = {
    "big": 2**70,
    "negative": -(2**64),
    "note": 'Zoë 東京 \u2028 "quoted"',
    "nested": {"1": [1.5]},
}


def _change(payload):
    scope = Scope.of(user_id="u")
    return Change("add", [(WRITE, world())],
                  [VectorPoint("f1", [0.25, -1.0, 3.0], payload)],
                  events=[HistoryEvent("ADD", "f1", scope, new_value=str(payload),
                                       details={"meta": payload})])  # fmt: skip


def test_a_journaled_write_reads_back_as_it_was_written():
    for payload in (ODD, {"note": "plain", "n": 3}):
        body = encode(_change(payload))
        again = decode(body)
        assert again.fact_points[0].payload == payload
        assert again.fact_points[0].vector == [0.25, -1.0, 3.0]
        assert again.events[0].details == {"meta": payload}
        assert [f.id for f in again.graph[0][1].facts] == [f.id for f in world().facts]
        json.loads(body)  # plain JSON, whichever encoder wrote it


def test_metadata_with_an_integer_past_64_bits_is_stored_and_searchable(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        added = m.add("Ada keeps a very large counter.", user_id="u", infer=False,
                      metadata=ODD)  # fmt: skip
        stored = m.get(added.facts[0].id, user_id="u")
        assert stored.metadata == ODD
        hits = m.search("large counter", user_id="u")
        assert [(h.memory_id, h.metadata) for h in hits] == [(stored.id, ODD)]
        assert not any(m.verify().drift.values())
