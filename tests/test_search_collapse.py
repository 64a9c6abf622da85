"""Issue 21: facts split from one message come back as one hit showing the message."""

from __future__ import annotations

import pytest

from graphmem import Memory

MESSAGE = (
    "Caroline: I went to an LGBTQ support group yesterday. It was so powerful. "
    "Caroline works at Acme."
)


@pytest.fixture
def mem(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        yield m


def test_one_hit_per_message_with_its_facts(mem):
    added = mem.add(MESSAGE, user_id="u", source_ids=["D1:1"])
    assert len(added.facts) == 3  # the extractor still splits the message into facts
    hits = mem.search("support group", user_id="u", limit=5)
    assert [h.text for h in hits] == [MESSAGE]
    assert sorted(hits[0].memory_ids) == sorted(f.id for f in added.facts)
    assert hits[0].memory_id in hits[0].memory_ids
    assert hits[0].source_ids == ["D1:1"]
    # Asked for, the fragments come back one by one, and the message is not among them.
    apart = mem.search("support group", user_id="u", limit=5, collapse=False)
    assert sorted(h.text for h in apart) == sorted(f.text for f in added.facts)
    assert all(h.memory_ids == [h.memory_id] for h in apart)


def test_a_superseded_fact_is_not_shown_inside_its_message(mem):
    mem.add(MESSAGE, user_id="u")
    mem.add("Caroline moved from Acme to Globex.", user_id="u")
    texts = [h.text for h in mem.search("where does Caroline work", user_id="u", limit=5)]
    assert MESSAGE not in texts
    assert any("support group" in t and "Acme" not in t for t in texts)
    assert "Caroline moved from Acme to Globex." in texts


@pytest.mark.parametrize("change", ["update", "delete"])
def test_a_fact_reworded_or_deleted_is_not_shown_inside_its_message(tmp_path, change):
    """The message was shown whole while its remaining facts were all admitted: after an
    update or a delete of one of its facts, search still returned the old words (after a
    delete, text the user asked to forget), also in a fresh process."""
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as mem:
        added = mem.add(MESSAGE, user_id="u")
        works = next(f for f in added.facts if "Acme" in f.text)
        if change == "update":
            mem.update(works.id, "Caroline works at Globex.", user_id="u")
        else:
            mem.delete(works.id, user_id="u")
        texts = [h.text for h in mem.search("Acme support group", user_id="u", limit=5)]
        assert texts and not any("Acme" in t for t in texts), texts
        assert any("support group" in t for t in texts)
        assert any("Globex" in t for t in texts) == (change == "update")
    with Memory.open(tmp_path, embedder="hash", extractor="offline",
                     persist_indexes=False) as again:  # fmt: skip
        texts = [h.text for h in again.search("Acme support group", user_id="u", limit=5)]
        assert texts and not any("Acme" in t for t in texts), texts


def test_the_message_goes_with_its_last_fact(mem):
    added = mem.add(MESSAGE, user_id="u")
    assert mem.vectors.count("sources") == 1
    for fact in added.facts[:-1]:
        mem.delete(fact.id, user_id="u")
    assert mem.vectors.count("sources") == 1  # one fact still stands for it
    hits = mem.search("support group", user_id="u", limit=5)
    assert [h.memory_ids for h in hits] == [[added.facts[-1].id]]
    mem.delete(added.facts[-1].id, user_id="u")
    assert mem.vectors.count("sources") == 0
    assert mem.search("support group", user_id="u", limit=5) == []


def test_delete_all_takes_the_messages_too(mem):
    mem.add(MESSAGE, user_id="u")
    mem.add(MESSAGE, user_id="v")
    assert mem.delete_all(user_id="u") == 3
    assert mem.vectors.count("sources") == 1
    assert [h.text for h in mem.search("support group", user_id="v")] == [MESSAGE]


def test_grouping_survives_a_restart(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(MESSAGE, user_id="u")
        m.add("Dana lives in Oslo.", user_id="u")
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        hits = m.search("support group Acme", user_id="u", limit=5)
        assert hits[0].text == MESSAGE
        assert len(hits) == 2
        assert len(m.get_all(user_id="u")) == 4  # memories are the facts, not the message


def test_a_one_sentence_message_is_its_own_fact(mem):
    mem.add("Dana lives in Oslo.", user_id="u")
    assert mem.vectors.count("sources") == 0
    hits = mem.search("Oslo", user_id="u")
    assert [h.text for h in hits] == ["Dana lives in Oslo."]


def test_collapse_must_be_a_bool(mem):
    from graphmem.errors import ValidationError

    with pytest.raises(ValidationError, match="collapse"):
        mem.search("x", user_id="u", collapse="yes")
