"""Foundation behaviour of Memory on the embedded stores (Kuzu, Qdrant, SQLite).

The ``mem`` tests run on both embedded vector stores: Qdrant Edge (the default) and
qdrant-client's local mode (kept for data directories it already wrote).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from graphmem import (
    BackendUnavailableError,
    ConfigError,
    GraphMemError,
    Memory,
    NotFoundError,
    ScopeError,
    ValidationError,
)
from graphmem.embed.local import HashingEmbedder
from graphmem.stores.qdrant_edge import EdgeVectorStore


@pytest.fixture(params=["edge", "local"])
def mem(tmp_path, request):
    with Memory.open(
        tmp_path / "data", embedder="hash", extractor="offline", vectors=request.param
    ) as m:
        yield m


def snapshot(m: Memory, **scope) -> dict:
    """Everything a user could read back from the three stores for a scope."""
    stats = m.stats(**scope)
    return {
        "graph": (stats["entities"], stats["relations"], stats["facts"]),
        "memories": stats["memories"],
        "entity_vectors": m.vectors.count("entities"),
        "history": len(m.history_store.events()),
    }


def test_add_get_list_for_two_users(mem):
    a = mem.add("Alice works at Acme.", user_id="alice", infer=False)
    mem.add("Dave lives in Rome.", user_id="dave", infer=False)
    assert [f.text for f in mem.get_all(user_id="alice")] == ["Alice works at Acme."]
    assert [f.text for f in mem.get_all(user_id="dave")] == ["Dave lives in Rome."]
    assert mem.get(a.facts[0].id, user_id="alice").text == "Alice works at Acme."


def test_scope_isolation_get_and_delete_by_id(mem):
    fact = mem.add("Alice works at Acme.", user_id="alice", infer=False).facts[0]
    with pytest.raises(NotFoundError):
        mem.get(fact.id, user_id="mallory")
    with pytest.raises(NotFoundError):
        mem.delete(fact.id, user_id="mallory")
    with pytest.raises(NotFoundError):
        mem.history(fact.id, user_id="mallory")
    assert mem.get(fact.id, user_id="alice").text == "Alice works at Acme."
    assert mem.get_all(user_id="mallory") == []


def test_partial_scope_sees_union_and_narrow_scope_does_not(mem):
    mem.add("Alice likes tea.", user_id="alice", run_id="r1", infer=False)
    mem.add("Alice likes jazz.", user_id="alice", run_id="r2", infer=False)
    assert len(mem.get_all(user_id="alice")) == 2
    assert [f.text for f in mem.get_all(user_id="alice", run_id="r1")] == ["Alice likes tea."]


def test_delete_leaves_no_orphans(mem):
    first = mem.add("Alice works at Acme.", user_id="alice").facts[0]
    second = mem.add("Bob works at Acme.", user_id="alice").facts[0]
    before = mem.stats(user_id="alice")
    assert before["entities"] == 3 and before["relations"] == 2
    mem.delete(first.id, user_id="alice")
    after = mem.stats(user_id="alice")
    # Alice only appeared in the deleted memory; Acme is still supported by Bob's.
    assert (after["entities"], after["relations"], after["facts"]) == (2, 1, 1)
    names = {r["name"] for r in mem.graph_store.cypher("MATCH (e:Entity) RETURN e.name AS name")}
    assert names == {"Bob", "Acme"}
    fact_ids = mem.graph_store.cypher("MATCH ()-[r:RELATES]->() RETURN r.fact_ids AS ids")
    assert fact_ids == [{"ids": [second.id]}]
    assert mem.vectors.count("entities") == 2
    mem.delete(second.id, user_id="alice")
    assert snapshot(mem, user_id="alice")["graph"] == (0, 0, 0)
    assert mem.vectors.count("facts") == 0 and mem.vectors.count("entities") == 0
    events = [e.event for e in mem.history(first.id, user_id="alice")]
    assert events == ["ADD", "DELETE"]


def test_delete_all_only_touches_its_scope(mem):
    mem.add("Alice works at Acme.", user_id="alice")
    mem.add("Dave works at Initech.", user_id="dave")
    assert mem.delete_all(user_id="alice") == 1
    assert mem.stats(user_id="alice")["entities"] == 0
    assert mem.stats(user_id="dave") == {"entities": 2, "facts": 1, "relations": 1, "memories": 1,
                                         "memory_types": {"semantic": 1, "episodic": 0,
                                                          "procedural": 0, "rule": 0}}  # fmt: skip


def test_reset_empties_every_store(mem):
    mem.add("Alice works at Acme.", user_id="alice")
    mem.reset()
    assert snapshot(mem, user_id="alice") == {
        "graph": (0, 0, 0), "memories": 0, "entity_vectors": 0, "history": 0,
    }  # fmt: skip
    mem.add("Alice works at Acme.", user_id="alice")  # still usable after reset
    assert mem.stats(user_id="alice")["memories"] == 1


@pytest.mark.parametrize("vectors", ["edge", "local"])
def test_reopen_returns_same_data(tmp_path, vectors):
    with Memory.open(tmp_path, embedder="hash", vectors=vectors) as m:
        fact = m.add("Alice works at Acme.", user_id="alice").facts[0]
    with Memory.open(tmp_path, embedder="hash") as m:  # "auto" finds the store it wrote
        assert type(m.vectors.inner).__name__ == {
            "edge": "EdgeVectorStore", "local": "QdrantVectorStore"
        }[vectors]  # fmt: skip
        assert m.get(fact.id, user_id="alice").text == "Alice works at Acme."
        assert m.stats(user_id="alice")["relations"] == 1
        assert [e.event for e in m.history(fact.id, user_id="alice")] == ["ADD"]


class _StoreWithoutOverwrites:
    """A vector store of the caller's own, written before ``overwrite_payloads``."""

    def __init__(self, inner: EdgeVectorStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str):
        if name == "overwrite_payloads":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_store_of_your_own_without_payload_overwrites_still_archives_and_counts(tmp_path):
    store = _StoreWithoutOverwrites(EdgeVectorStore(tmp_path / "vectors"))
    with Memory.open(tmp_path / "data", embedder="hash", vectors=store) as m:
        fact = m.add("Alice works at Acme.", user_id="alice").facts[0]
        m.archive(fact.id, user_id="alice")
        assert m.search("Alice Acme", user_id="alice") == []
        m.restore(fact.id, user_id="alice")
        assert [h.memory_ids for h in m.search("Alice Acme", user_id="alice")] == [[fact.id]]
        m.access.flush()  # the read count, written the way the store can
        assert m.get(fact.id, user_id="alice").access_count == 1
        assert m.verify().ok
    store.close()


def test_other_embedder_dimension_is_refused(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add("Alice works at Acme.", user_id="alice")
    with pytest.raises(ConfigError, match="384|128"):
        Memory.open(tmp_path, embedder=HashingEmbedder(dim=128))
    # the refused open released everything: the right embedder still opens
    with Memory.open(tmp_path, embedder="hash") as m:
        assert m.stats(user_id="alice")["memories"] == 1


def test_second_process_gets_clear_error(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add("Alice works at Acme.", user_id="alice")
        code = textwrap.dedent(f"""
            from graphmem import Memory, BackendUnavailableError
            try:
                Memory.open({str(tmp_path)!r}, embedder="hash")
            except BackendUnavailableError as exc:
                print("REFUSED", exc)
        """)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
        )
        assert "REFUSED" in out.stdout and "in use by another" in out.stdout, out.stderr[-2000:]
        assert m.stats(user_id="alice")["memories"] == 1  # the first process is unharmed


def test_second_open_in_same_process_is_refused(tmp_path, mem):
    with pytest.raises(BackendUnavailableError):
        Memory.open(mem.config.data_dir, embedder="hash")


A = {"user_id": "a"}
BAD_INPUT = [
    ("", A, "messages"),
    ("   \n\t", A, "messages"),
    (42, A, "messages"),
    ([{"role": "user", "content": None}], A, "messages[0].content"),
    ([{"role": "wizard", "content": "hi"}], A, "messages[0].role"),
    ("x" * 20_001, A, "messages"),
    ("fine text", {"user_id": ""}, "user_id"),
    ("fine text", {"user_id": "   "}, "user_id"),
    ("fine text", {"user_id": 7}, "user_id"),
    ("fine text", {}, "scope"),
    ("fine text", {"user_id": "a", "metadata": {"user_id": "b"}}, "metadata"),
    # Stored, then no filter could reach it: "metadata.a.b" reads as a path.
    ("fine text", {"user_id": "a", "metadata": {"a.b": 1}}, "metadata"),
    ("fine text", {"user_id": "a", "metadata": {"a": {"b.c": 1}}}, "metadata"),
    ("fine text", {"user_id": "a", "timestamp": "yesterday-ish"}, "timestamp"),
    ("\u200b\u2060\ufeff \u200d", {"user_id": "a"}, "messages"),  # nothing visible
]


@pytest.mark.parametrize(("text", "kwargs", "field"), BAD_INPUT, ids=[b[2] for b in BAD_INPUT])
def test_bad_input_is_refused_and_nothing_written(mem, text, kwargs, field):
    mem.add("Alice works at Acme.", user_id="a")
    before = snapshot(mem, user_id="a")
    with pytest.raises(ValidationError) as err:
        mem.add(text, **kwargs)
    assert err.value.field == field
    assert field in str(err.value)
    assert snapshot(mem, user_id="a") == before


BAD_ITEMS = [
    ({"text": "Bob is here.", "metdata": {"k": 1}}, "items[1].metdata", "unknown key"),
    ({"text": "Bob is here.", "user_id": "b"}, "items[1].user_id", "user_id= per call"),
    ({"text": "Bob is here.", "messages": [{"role": "user", "content": "x y z"}]},
     "items[1]", "both text and messages"),
    ({"text": "\u200b\u200b"}, "items[1]", "invisible"),
    ({1: "Bob is here."}, "items[1]", "unknown key"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "field", "says"), BAD_ITEMS, ids=[b[1] for b in BAD_ITEMS])
def test_add_many_refuses_an_item_it_would_misread_and_writes_nothing(mem, item, field, says):
    """A key an item cannot hold was dropped silently: a misspelt ``metdata`` lost the
    metadata, and an item's own ``user_id`` was stored in the call's scope."""
    mem.add("Alice works at Acme.", user_id="a")
    before = snapshot(mem, user_id="a")
    with pytest.raises(ValidationError) as err:
        mem.add_many([{"text": "Carol lives in Oslo."}, item], user_id="a")
    assert err.value.field.startswith(field) and says in str(err.value)
    assert snapshot(mem, user_id="a") == before
    assert mem.get_all(user_id="b") == []


HOSTILE = ["}) DETACH DELETE n //", "works_at`]->(x) DELETE x", "knows' OR 1=1", 'a"b', "", "  "]


@pytest.mark.parametrize("relation", HOSTILE)
def test_injection_relation_names_are_refused(mem, relation):
    mem.add_triples([("Alice", "works_at", "Acme")], user_id="a")
    before = snapshot(mem, user_id="a")
    with pytest.raises(ValidationError) as err:
        mem.add_triples([("Alice", "knows", "Bob"), ("Bob", relation, "Carol")], user_id="a")
    assert err.value.field == "triples[1].relation"
    assert snapshot(mem, user_id="a") == before


@pytest.mark.parametrize(
    "relation", ["works-at", "vit_à", "住んでいる", "reports.to", "is part of"]
)
def test_natural_relation_names_round_trip(mem, relation):
    mem.add_triples([("Alice", relation, "Zoë 'Z' O\"Neil")], user_id="a")
    rows = mem.graph_store.cypher("MATCH (a)-[r:RELATES]->(b) RETURN r.name AS rel, b.name AS b")
    assert rows == [{"rel": relation, "b": "Zoë 'Z' O\"Neil"}]


def test_limit_and_scope_types_checked(mem):
    with pytest.raises(ValidationError, match="limit"):
        mem.get_all(user_id="a", limit=0)
    with pytest.raises(ScopeError):
        mem.get_all()


@pytest.mark.parametrize(
    ("user_id", "said"),
    [
        ("ann\nlee", "holds the unprintable '\\n' at position 3"),
        ("\u202eevil", "holds the unprintable '\\u202e' at position 0"),
        ("zero\u200bwidth", "holds the unprintable '\\u200b' at position 4"),
        ("x" * 201, "is 201 characters; an id may have at most 200"),
    ],
)
def test_a_scope_id_that_cannot_be_one_is_refused_naming_why(mem, user_id, said):
    """A seven-character id with a newline was refused as "must be at most 200 printable
    characters", which sent the caller to count its length."""
    with pytest.raises(ScopeError) as info:
        mem.add("Alice works at Acme.", user_id=user_id)
    assert info.value.field == "user_id" and said in str(info.value), str(info.value)
    assert mem.get_all(user_id="ann") == []


def test_failed_history_write_leaves_stores_unchanged(mem, monkeypatch):
    mem.add("Alice works at Acme.", user_id="a")
    before = snapshot(mem, user_id="a")

    def broken(events, **kwargs):
        raise GraphMemError("history store is down")

    monkeypatch.setattr(mem.history_store, "record", broken)
    with pytest.raises(GraphMemError, match="history store is down"):
        mem.add("Bob works at Initech. Alice moved from Acme to Globex.", user_id="a")
    monkeypatch.undo()
    assert snapshot(mem, user_id="a") == before
    assert [f.text for f in mem.get_all(user_id="a")] == ["Alice works at Acme."]


def test_failed_graph_write_leaves_stores_unchanged(mem, monkeypatch):
    """The graph part of a batch runs on its own thread: its failure must still undo the
    vectors and history written meanwhile on the caller's thread."""
    mem.add("Alice works at Acme.", user_id="a")
    before = snapshot(mem, user_id="a")
    real_write = mem.graph_store.write

    def broken(batch):
        real_write(batch)  # the rows are in the open transaction when it fails
        raise BackendUnavailableError("graph store went away")

    monkeypatch.setattr(mem.graph_store, "write", broken)
    with pytest.raises(BackendUnavailableError, match="graph store went away"):
        mem.add_many([{"text": "Bob works at Initech."}, {"text": "Carol lives in Oslo."}],
                     user_id="a")  # fmt: skip
    monkeypatch.undo()
    assert snapshot(mem, user_id="a") == before
    assert [f.text for f in mem.get_all(user_id="a")] == ["Alice works at Acme."]
    mem.add("Bob works at Initech.", user_id="a")  # the store is usable afterwards
    assert snapshot(mem, user_id="a")["graph"] == (4, 2, 2)


def test_a_failed_journal_write_leaves_stores_unchanged_though_the_graph_ran_alongside(
    mem, monkeypatch
):
    """A batch's graph statements run while its journal entry is written (they no longer
    wait for it); the graph commits only once the entry is, so a journal that cannot be
    written leaves every store as it was, the graph included."""
    import threading

    mem.add("Alice works at Acme.", user_id="a")
    before = snapshot(mem, user_id="a")
    real_write, ran = mem.graph_store.write, threading.Event()

    def write(batch):
        real_write(batch)
        ran.set()

    def journal_down(kind, body):
        # The graph's rows are in its open transaction by now (waited for, not assumed).
        assert ran.wait(10), "the graph write waited for the journal"
        raise GraphMemError("history store is down")

    monkeypatch.setattr(mem.graph_store, "write", write)
    monkeypatch.setattr(mem.history_store, "begin_intent", journal_down)
    with pytest.raises(GraphMemError, match="history store is down"):
        mem.add_many([{"text": "Bob works at Initech."}, {"text": "Carol lives in Oslo."}],
                     user_id="a")  # fmt: skip
    monkeypatch.undo()
    assert snapshot(mem, user_id="a") == before
    assert mem.history_store.open_intents() == []
    mem.add("Bob works at Initech.", user_id="a")  # the store is usable afterwards
    assert snapshot(mem, user_id="a")["graph"] == (4, 2, 2)


def test_when_both_sides_of_a_write_fail_the_error_names_both(mem, monkeypatch):
    mem.add("Alice works at Acme.", user_id="a")
    before = snapshot(mem, user_id="a")
    real_write = mem.graph_store.write

    def graph_down(batch):
        real_write(batch)
        raise BackendUnavailableError("graph store went away")

    def history_down(events, **kwargs):
        raise BackendUnavailableError("history disk is full")

    monkeypatch.setattr(mem.graph_store, "write", graph_down)
    monkeypatch.setattr(mem.history_store, "record", history_down)
    with pytest.raises(BackendUnavailableError, match="history disk is full") as caught:
        mem.add_many([{"text": "Bob works at Initech."}], user_id="a")
    assert any("graph store went away" in note for note in caught.value.__notes__)
    monkeypatch.undo()
    assert snapshot(mem, user_id="a") == before


def test_transient_conflict_is_replayed_once_and_recorded_once(mem, monkeypatch):
    from graphmem import ConflictError

    real_record = mem.history_store.record
    calls = []

    def conflict_once(events, **kwargs):
        calls.append(len(events))
        if len(calls) == 1:
            raise ConflictError("DeadlockDetected (transient)")
        return real_record(events, **kwargs)

    monkeypatch.setattr(mem.history_store, "record", conflict_once)
    fact = mem.add("Alice works at Acme.", user_id="a").facts[0]
    assert len(calls) == 2  # the whole write ran again after the conflict
    assert [e.event for e in mem.history(fact.id, user_id="a")] == ["ADD"]
    assert snapshot(mem, user_id="a")["graph"] == (2, 1, 1)
    assert mem.vectors.count("facts") == 1


@pytest.mark.parametrize("infer", [False, True])
def test_the_old_text_of_an_updated_memory_added_again_is_a_new_memory(tmp_path, infer):
    """A content id names the text a memory was added with; ``update`` keeps the id. The
    old text added again is a new memory under the next free id, not a copy of the
    updated one; the old text added a third time is a copy of that one."""
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        old = "Dana keeps bees on the roof."
        first = m.add(old, user_id="u", infer=infer).facts[0]
        m.update(first.id, "Dana keeps hens in the yard.", user_id="u")
        again = m.add(old, user_id="u", infer=infer).facts
        assert [f.text for f in again] == [old] and again[0].id != first.id
        assert m.get(first.id, user_id="u").text == "Dana keeps hens in the yard."
        assert m.add(old, user_id="u", infer=infer).facts == []
        texts = sorted(f.text for f in m.get_all(user_id="u"))
        assert texts == ["Dana keeps bees on the roof.", "Dana keeps hens in the yard."]
        assert m.verify().ok


def test_an_add_said_again_reports_what_was_already_stored(mem):
    first = mem.add("Dana keeps bees in Ghent.", user_id="a", infer=False)
    again = mem.add("Dana keeps bees in Ghent.", user_id="a", infer=False)
    assert first.facts and not first.unchanged
    assert again.facts == [] and again.unchanged == [f.id for f in first.facts]
    many = mem.add_many([{"text": "Dana keeps bees in Ghent."}, {"text": "Eli rows at dawn."}],
                        user_id="a")  # fmt: skip
    assert [f.text for f in many.facts] == ["Eli rows at dawn."]
    assert many.unchanged == again.unchanged
    assert len(mem.get_all(user_id="a")) == 2  # nothing was written twice


def test_every_call_on_a_closed_memory_says_it_is_closed(tmp_path):
    """The Kuzu store did not check: add, stats, cypher and the graph reads raised a raw
    AttributeError ('NoneType' object has no attribute 'execute')."""
    from graphmem.errors import BackendUnavailableError

    m = Memory.open(tmp_path / "d", embedder="hash", extractor="offline")
    fact = m.add("Alice works at Acme.", user_id="u").facts[0]
    m.close()
    calls = [lambda: m.add("Bob lives in Rome.", user_id="u"),
             lambda: m.stats(user_id="u"),
             lambda: m.cypher("RETURN 1 AS x"),
             lambda: m.cypher("MATCH (e:Entity) RETURN e.name AS n", user_id="u"),
             lambda: m.graph.relations("Alice", user_id="u"),
             lambda: m.graph.neighbours("Alice", user_id="u"),
             lambda: m.search("Alice", user_id="u")]  # fmt: skip
    for call in calls:
        with pytest.raises(BackendUnavailableError, match="closed"):
            call()
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline") as again:
        assert [f.id for f in again.get_all(user_id="u")] == [fact.id]  # nothing written


def test_an_update_withdraws_what_the_old_text_claimed_in_every_store(tmp_path):
    """update() rewrote the text only: the relation the old words made still cited the
    memory, and a fact split from a message stayed a keyword document by the message's
    words (search by the new word found nothing, by the old one the updated memory)."""
    from graphmem.errors import NotFoundError

    path = tmp_path / "d"
    with Memory.open(path, embedder="hash", extractor="offline") as m:
        split = m.add("Alice works at Acme. Bob lives in Paris.", user_id="u").facts[0]
        alone = m.add("Carol lives in Rome.", user_id="u").facts[0]
        assert [r.name for r in m.graph.relations("Carol", user_id="u")] == ["lives_in"]
        m.update(split.id, "Alice works at Globex.", user_id="u")
        m.update(alone.id, "Dave likes tea.", user_id="u")
        event = m.history(alone.id, user_id="u")[-1]
        assert event.event == "UPDATE" and len(event.details["relations_deleted"]) == 1
    with Memory.open(path, embedder="hash", extractor="offline") as m:  # and after reopen
        words = {q: [h.text for h in m.search(q, user_id="u", recipe="keyword", collapse=False)]
                 for q in ("Globex", "Acme", "Rome")}  # fmt: skip
        assert words["Globex"] == ["Alice works at Globex."]
        assert "Alice works at Globex." not in words["Acme"]
        assert words["Rome"] == []
        with pytest.raises(NotFoundError):  # no fact names Carol any more
            m.graph.relations("Carol", user_id="u")
        hits = m.search("Where does Carol live?", user_id="u")
        assert all("lives_in" not in str(h.path) for h in hits if h.memory_id == alone.id)
        assert [r.name for r in m.graph.relations("Bob", user_id="u")] == ["lives_in"]
        assert not any(m.verify().drift.values())


@pytest.mark.parametrize("graph", ["kuzu", "bolt"])
def test_an_update_puts_what_the_new_text_claims_in_the_graph(tmp_path, request, graph):
    """update() withdrew the old claims but never read the new words: "Alice works at
    Acme." reworded to "Alice works at Globex." left no Globex and no works_at, so a
    relationship query or a graph path could not find the new employer."""
    path, options = tmp_path / "d", {"embedder": "hash", "extractor": "offline"}
    if graph == "bolt":  # the same write on the Bolt backend, in one server transaction
        server = request.getfixturevalue("bolt_server")
        options |= {"graph": "neo4j", "neo4j_uri": server.uri, "neo4j_user": server.user,
                    "neo4j_password": server.password, "neo4j_database": server.database}  # fmt: skip
    with Memory.open(path, **options) as m:
        m.graph_store.reset()  # a Bolt server outlives the test
        fact = m.add("Alice works at Acme.", user_id="u", timestamp="2024-01-10").facts[0]
        paris = m.add("Bob lives in Paris.", user_id="u", timestamp="2024-02-01").facts[0]
        tea = m.add("Dana likes tea.", user_id="u", timestamp="2024-03-01").facts[0]
        m.update(fact.id, "Alice works at Globex.", user_id="u")
        m.update(tea.id, "Bob lives in Rome.", user_id="u")  # supersedes Paris, as add does
        m.update(paris.id, "Bob lives in Paris.", user_id="u")  # same words: nothing moves
        hits = m.search("Where does Alice work?", user_id="u", limit=3)  # in this process
        assert hits[0].memory_id == fact.id and "Globex" in str(hits[0].path)
        event = m.history(fact.id, user_id="u")[-1]
        assert event.event == "UPDATE" and len(event.details["relations_added"]) == 1
    with Memory.open(path, **options) as m:  # and after reopen
        alice = [
            (r.name, r.target_name, r.fact_ids) for r in m.graph.relations("Alice", user_id="u")
        ]
        assert alice == [("works_at", "Globex", [fact.id])]
        with pytest.raises(NotFoundError):  # Acme was named by the old words only
            m.graph.relations("Acme", user_id="u")
        bob = {r.target_name: r.invalid_at[:10] for r in m.graph.relations(
            "Bob", user_id="u", include_invalid=True)}  # fmt: skip
        assert bob == {"Rome": "", "Paris": "2024-03-01"}
        assert m.get(paris.id, user_id="u").invalid_at.startswith("2024-03-01")
        assert m.get(tea.id, user_id="u").invalid_at == ""
        hits = m.search("Where does Alice work?", user_id="u", limit=3)
        assert hits[0].memory_id == fact.id and "Globex" in str(hits[0].path)
        assert not any(m.verify().drift.values())
        m.graph_store.reset()  # the Bolt server is shared by the session's tests


def test_an_update_that_restates_a_claim_keeps_one_relation_citing_it(tmp_path):
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline") as m:
        first = m.add("Carol lives in Rome.", user_id="u").facts[0]
        second = m.add("Carol lives in Rome, as she said.", user_id="u").facts[0]
        m.update(first.id, "Carol lives in Rome!", user_id="u")
        rels = m.graph.relations("Carol", user_id="u", include_invalid=True)
        assert [(r.name, r.target_name) for r in rels] == [("lives_in", "Rome")]
        assert sorted(rels[0].fact_ids) == sorted([first.id, second.id])
        assert not any(m.verify().drift.values())
