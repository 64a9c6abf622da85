"""Batched ingest (``add_many``) on the embedded stores, as a user of a data dir sees it.

The write path takes shortcuts for speed (new facts and entities CREATEd with their
mentions in one Kuzu statement, one SQLite commit per Qdrant upsert): these tests pin
that a batch is still all-or-nothing, survives a reopen and stays in its scope.
"""

from __future__ import annotations

import gc

import pytest

from graphmem import GraphMemError, Memory, NotFoundError
from graphmem.models import Scope

BATCH = [
    {"text": "Alice works at Acme.", "source_ids": ["s1"]},
    {"text": "Bob is Alice's brother.", "source_ids": ["s2"]},
    {"text": "Bob lives in Paris.", "source_ids": ["s3"]},
    {"text": "Carol knows Bob.", "source_ids": ["s4"]},
    {"text": "The weather was nice.", "source_ids": ["s5"]},
]


def view(m: Memory, user: str) -> dict:
    """Memories, graph and history of one user, ids left out."""
    stats = m.stats(user_id=user)
    facts = m.get_all(user_id=user, limit=1000)
    return {
        "texts": sorted(f.text for f in facts),
        "graph": (stats["entities"], stats["relations"], stats["facts"]),
        "entity_vectors": m.vectors.count("entities", Scope.of(user_id=user)),
        "history": sorted(e.event for f in facts for e in m.history(f.id, user_id=user)),
        "bob": neighbours(m, "Bob", user),
    }


def neighbours(m: Memory, name: str, user: str) -> list[str]:
    try:
        return sorted(n.entity.name for n in m.graph.neighbours(name, depth=1, user_id=user))
    except NotFoundError:
        return []


def test_a_batch_survives_reopen_whole(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many(BATCH, user_id="alice")
        before = view(m, "alice")
    assert before["texts"] == sorted(item["text"] for item in BATCH)
    assert before["graph"][2] == len(BATCH)
    assert {"Alice", "Paris"} <= set(before["bob"])
    with Memory.open(tmp_path, embedder="hash") as m:
        assert view(m, "alice") == before


def test_a_failed_batch_leaves_every_store_as_it_was_and_can_be_retried(tmp_path, monkeypatch):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many(BATCH[:1], user_id="alice")
        before = view(m, "alice")

        def down(events, **kwargs):
            raise GraphMemError("history store is down")

        monkeypatch.setattr(m.history_store, "record", down)
        with pytest.raises(GraphMemError, match="history store is down"):
            m.add_many(BATCH[1:], user_id="alice")
        monkeypatch.undo()
        assert gc.isenabled()  # paused for the batch, back on even though it failed
        assert view(m, "alice") == before
        m.add_many(BATCH[1:], user_id="alice")
        after = view(m, "alice")
    assert after["texts"] == sorted(item["text"] for item in BATCH)
    with Memory.open(tmp_path, embedder="hash") as m:
        assert view(m, "alice") == after


def test_batches_of_two_users_stay_apart_across_reopen(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many(BATCH, user_id="alice", batch_size=2)
        m.add_many([{"text": "Bob lives in Rome."}], user_id="dave")
    with Memory.open(tmp_path, embedder="hash") as m:
        assert [f.text for f in m.get_all(user_id="dave")] == ["Bob lives in Rome."]
        assert view(m, "dave")["bob"] == ["Rome"]
        assert "Rome" not in view(m, "alice")["bob"]
        assert len(m.get_all(user_id="alice")) == len(BATCH)


def test_add_many_leaves_the_cycle_collector_as_the_caller_set_it(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many(BATCH[:2], user_id="alice", batch_size=1)
        assert gc.isenabled()
        gc.disable()  # an application that manages the collector itself
        try:
            m.add_many(BATCH[2:], user_id="alice", batch_size=1)
            assert not gc.isenabled()
        finally:
            gc.enable()
        assert len(m.get_all(user_id="alice")) == len(BATCH)


def test_source_ids_holding_a_comma_are_not_taken_for_two_ids(tmp_path):
    """The memory id hashed the source ids joined by commas: the same text from
    ["chat-1,msg-7"] and from ["chat-1", "msg-7"] got one id, and the second add was
    reported unchanged and dropped, with its source ids."""
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline") as m:
        text = "Bob lives in Rome."
        first = m.add(text, user_id="u", infer=False, source_ids=["chat-1,msg-7"])
        second = m.add(text, user_id="u", infer=False, source_ids=["chat-1", "msg-7"])
        again = m.add(text, user_id="u", infer=False, source_ids=["chat-1", "msg-7"])
        ids = [r.facts[0].id for r in (first, second)]
        assert ids[0] != ids[1]
        assert again.facts == [] and ids[1] in str(again.unchanged)  # still one memory
        held = {tuple(f.source_ids) for f in m.get_all(user_id="u")}
        assert held == {("chat-1,msg-7",), ("chat-1", "msg-7")}
