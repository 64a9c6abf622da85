"""Relation names are embedded by ingest, once, and a search reads their vectors.

The graph walk weighs every relation it meets by how close its name is to the query. When
search embedded the names it met, a hybrid search on a model's graph (thousands of
distinct names) spent most of its time embedding them (index/names.py). A user would see
that as hybrid search several times slower than vector search; these tests check that the
names are embedded with the facts that state them, kept across a reopen, and give the same
ranking whichever way they were embedded.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from embed_helpers import Recording

from graphmem import Memory
from graphmem.embed.local import HashingEmbedder
from graphmem.index.names import FILE, NameVectors, text_of

U = "names"
TEXTS = ("Alice works at Acme.", "Bob lives in Paris.", "Acme is based in Berlin.")
QUERY = "Where is the company Alice works for based?"


def _open(path, embedder):
    return Memory.open(path, embedder=embedder, extractor="offline")


def _names(memory) -> set[str]:
    return {r.name for who in ("Alice", "Bob", "Acme")
            for r in memory.graph.relations(who, user_id=U)}  # fmt: skip


def _ranking(memory):
    hits = memory.search(QUERY, user_id=U, recipe="hybrid", limit=5)
    return [(h.text, round(h.score, 6), h.explain()) for h in hits]


def test_ingest_embeds_relation_names_with_the_facts_and_search_does_not_again(tmp_path):
    embedder = Recording()
    with _open(tmp_path, embedder) as memory:
        memory.add_many([{"text": t} for t in TEXTS], user_id=U)
        names = _names(memory)
        assert {"works_at", "lives_in"} <= names
        # One embedding call held the facts and the names of the relations they state.
        (call,) = [c for c in embedder.calls if "Alice works at Acme." in c]
        assert {text_of(n) for n in names} <= set(call)
        embedder.calls.clear()
        hits = memory.search(QUERY, user_id=U, recipe="hybrid", limit=5)
        assert any(step.relation == "works_at" for hit in hits for step in hit.path)
        assert not {text_of(n) for n in names} & embedder.texts()
    assert (tmp_path / FILE).is_file()
    # After a reopen the names come from the file: still not embedded by a search.
    embedder = Recording()
    with _open(tmp_path, embedder) as memory:
        memory.search(QUERY, user_id=U, recipe="hybrid", limit=5)
        assert embedder.calls and not {text_of(n) for n in _names(memory)} & embedder.texts()


def test_names_embedded_by_a_search_rank_as_those_embedded_by_ingest(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    with _open(first, HashingEmbedder()) as memory:
        memory.add_many([{"text": t} for t in TEXTS], user_id=U)
    shutil.copytree(first, second)
    (second / FILE).unlink()  # a data dir written before names were kept, or a crash
    with _open(first, HashingEmbedder()) as memory:
        kept = _ranking(memory)
    embedder = Recording()
    with _open(second, embedder) as memory:
        assert _ranking(memory) == kept
        assert text_of("works_at") in embedder.texts()  # embedded on demand, this once
    assert (second / FILE).is_file()  # and saved for the next open


@pytest.mark.parametrize("damage", ["garbage", "empty", "other embedder"])
def test_a_names_file_that_cannot_be_used_costs_embedding_not_results(tmp_path, damage):
    good, bad = tmp_path / "good", tmp_path / "bad"
    with _open(good, HashingEmbedder()) as memory:
        memory.add_many([{"text": t} for t in TEXTS], user_id=U)
    shutil.copytree(good, bad)
    if damage == "garbage":
        (bad / FILE).write_bytes(b"not a numpy archive")
    elif damage == "empty":
        (bad / FILE).write_bytes(b"")
    else:  # the same names, saved as another embedder's (vectors of another space)
        other = NameVectors(HashingEmbedder(dim=64), bad / FILE)
        other.put(["works_at", "lives_in"], np.ones((2, 64)))
        other.save()
    with _open(good, HashingEmbedder()) as memory:
        kept = _ranking(memory)
    embedder = Recording()
    with _open(bad, embedder) as memory:
        assert _ranking(memory) == kept
        assert text_of("works_at") in embedder.texts()
    # Rewritten on close with what the search embedded: the next open reads it.
    again = NameVectors(HashingEmbedder(), bad / FILE)
    assert not again.missing(["works_at"])


def test_names_held_are_bounded_and_a_dropped_one_is_embedded_again(tmp_path):
    embedder = Recording()
    names = NameVectors(embedder, tmp_path / FILE, limit=2)
    found = names.vectors(["works_at", "lives_in", "based_in"])
    assert len(names) == 2 and set(found) == {"works_at", "lives_in", "based_in"}
    for name, row in found.items():
        assert np.isclose(np.linalg.norm(row), 1.0)
        assert np.allclose(row, np.asarray(HashingEmbedder().embed([text_of(name)])[0]))
    assert names.missing(["works_at", "lives_in", "based_in"]) == ["works_at"]
    embedder.calls.clear()
    assert np.allclose(names.vectors(["works_at"])["works_at"], found["works_at"])
    assert embedder.calls == [["works at"]]


def test_only_valid_relation_names_are_embedded_ahead(tmp_path):
    """A custom extractor's junk (Cypher, a paragraph) is refused later by the resolver;
    it must not be embedded, kept and saved on the way."""
    names = NameVectors(HashingEmbedder(), tmp_path / FILE)
    junk = ["MATCH (n) DETACH DELETE n", "x" * 200, "", " works_at "]
    assert names.missing([*junk, "works_at", "lives in"]) == ["lives in", "works_at"]


def test_a_names_file_that_cannot_be_written_is_logged_and_close_still_closes(tmp_path, caplog):
    (tmp_path / FILE).mkdir(parents=True)  # where the file goes, a folder: it cannot be written
    with _open(tmp_path, HashingEmbedder()) as memory:
        memory.add_many([{"text": t} for t in TEXTS], user_id=U)
        kept = _ranking(memory)
    assert "relation name vectors not saved" in caplog.text
    assert not (tmp_path / (FILE + ".part")).exists()
    with _open(tmp_path, HashingEmbedder()) as memory:  # the stores were closed cleanly
        assert _ranking(memory) == kept


def test_persist_indexes_off_writes_no_names_file(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline",
                     persist_indexes=False) as memory:  # fmt: skip
        memory.add_many([{"text": t} for t in TEXTS], user_id=U)
        assert memory.search(QUERY, user_id=U, recipe="hybrid", limit=1)
    assert not (tmp_path / FILE).exists()


def test_a_search_embeds_every_name_it_meets_in_one_call_whatever_its_spelling(tmp_path):
    """A name already in the graph (a custom extractor's "worked for (2020)") is one the
    walk must weigh: it is embedded with the others, not in a call of its own."""
    embedder = Recording()
    names = NameVectors(embedder, tmp_path / FILE)
    found = names.vectors(["works_at", "worked for (2020)", "lives_in"])
    assert set(found) == {"works_at", "worked for (2020)", "lives_in"}
    assert len(embedder.calls) == 1
    assert sorted(embedder.calls[0]) == ["lives in", "worked for (2020)", "works at"]
