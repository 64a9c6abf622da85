"""Issue 22: a long message is found by what any part of it says, not by one blurred vector.

One vector per message reads a long text as a blur of all it says (and an embedder reads
only its first window). With ``long_parts`` (a share), a message of more than ``LONG_WORDS``
words moves that share of the way from its own cosine up to its best fact's, in the
vector channel.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory
from graphmem.index import scope as scope_module
from graphmem.search import recipes

CHATTER = " ".join(
    f"We talked about the garden plans and the weather for week {i}." for i in range(18)
)
DETAIL = "Oh and the lighthouse keeper Ramon repaired the foghorn on Tuesday."
LONG = f"Dana: {CHATTER} {DETAIL}"
SHORT = [
    "Dana: the lighthouse in town is pretty.",
    "Dana: Ramon is my cousin.",
    "Dana: the foghorn was loud.",
    "Dana: I like Tuesday mornings.",
]
QUESTION = "who repaired the foghorn at the lighthouse?"
PARTS = replace(recipes.VECTOR, name="vector_parts", long_parts=1.0)
WHOLE = replace(recipes.VECTOR, name="vector_whole", long_parts=0.0)


@pytest.fixture
def mem(tmp_path):
    with Memory.open(tmp_path / "data", embedder="hash", extractor="offline") as m:
        yield m


def _texts(mem, recipe, **options):
    return [h.text for h in mem.search(QUESTION, user_id="u", limit=5, recipe=recipe, **options)]


def test_a_detail_late_in_a_long_message_finds_the_message(mem):
    assert len(LONG.split()) > scope_module.LONG_WORDS
    added = mem.add(LONG, user_id="u", source_ids=["D1"])
    for text in SHORT:
        mem.add(text, user_id="u")
    # One vector for the whole message: the short messages that share a word beat it.
    assert _texts(mem, WHOLE).index(LONG) >= 2
    hits = mem.search(QUESTION, user_id="u", limit=5, recipe=PARTS)
    assert hits[0].text == LONG  # the message comes back whole, not the fact that matched
    assert sorted(hits[0].memory_ids) == sorted(f.id for f in added.facts)
    assert hits[0].source_ids == ["D1"]
    # It says why: the cosine it ranked by is a part's, above the whole message's own.
    assert hits[0].score_parts["cosine_whole"] < hits[0].score_parts["cosine"]
    assert all("cosine_whole" not in h.score_parts for h in hits[1:])
    # The default recipes go half of the way: it ranks first by vector, and scores more
    # in hybrid than without the lift.
    assert recipes.VECTOR.long_parts == recipes.HYBRID.long_parts == 0.5
    assert _texts(mem, "vector")[0] == LONG

    def score(recipe):
        found = mem.search(QUESTION, user_id="u", limit=5, recipe=recipe)
        return next(h.score for h in found if h.text == LONG)

    assert score("hybrid") > score(replace(recipes.HYBRID, name="h", long_parts=0.0))


def test_short_messages_are_scored_by_their_own_vector(mem):
    # Each has two facts, one of which matches the question better than the message.
    for text in ("Dana: the foghorn was loud. The bakery sells rye bread.",
                 "Dana: Ramon repaired a bike. We ate soup.",
                 "Dana: the lighthouse is white. My cat sleeps a lot."):  # fmt: skip
        mem.add(text, user_id="u")
    plain = mem.search(QUESTION, user_id="u", limit=5, recipe=WHOLE)
    parts = mem.search(QUESTION, user_id="u", limit=5, recipe=PARTS)
    assert [(h.text, h.score) for h in plain] == [(h.text, h.score) for h in parts]


def test_the_lift_follows_deletes_and_survives_a_reopen(tmp_path):
    with Memory.open(tmp_path / "data", embedder="hash", extractor="offline") as mem:
        for text in SHORT:
            mem.add(text, user_id="u")
        assert LONG not in _texts(mem, PARTS)  # the scope's long messages are looked up now
        added = mem.add(LONG, user_id="u")  # and kept up to date after
        assert _texts(mem, PARTS)[0] == LONG
    with Memory.open(tmp_path / "data", embedder="hash", extractor="offline") as mem:
        assert _texts(mem, PARTS)[0] == LONG  # from the snapshot, parts found again
        detail = next(f for f in added.facts if "foghorn" in f.text)
        mem.delete(detail.id, user_id="u")
        # The message still stands for its other facts, but no longer says the detail.
        texts = _texts(mem, PARTS)
        assert texts[0] != LONG
        assert _texts(mem, WHOLE) == texts


def test_facts_apart_are_not_lifted(mem):
    added = mem.add(LONG, user_id="u")
    apart = mem.search(QUESTION, user_id="u", limit=20, recipe=PARTS, collapse=False)
    plain = mem.search(QUESTION, user_id="u", limit=20, recipe=WHOLE, collapse=False)
    assert [(h.text, h.score) for h in apart] == [(h.text, h.score) for h in plain]
    assert {h.memory_id for h in apart} == {f.id for f in added.facts}


def test_a_share_of_the_way(mem):
    mem.add(LONG, user_id="u")
    for text in SHORT:
        mem.add(text, user_id="u")
    cosine = {}
    for share in (0.0, 0.5, 1.0):
        recipe = replace(recipes.VECTOR, name=f"v{share}", long_parts=share)
        hits = mem.search(QUESTION, user_id="u", limit=5, recipe=recipe)
        cosine[share] = {h.text: h.score_parts["cosine"] for h in hits}
    # The long message moves, the short ones stay where they were.
    assert cosine[0.0][LONG] < cosine[0.5][LONG] < cosine[1.0][LONG]
    half = (cosine[0.0][LONG] + cosine[1.0][LONG]) / 2
    assert cosine[0.5][LONG] == pytest.approx(half, abs=1e-6)
    for text in SHORT:
        if text in cosine[0.0]:
            assert cosine[0.0][text] == cosine[0.5][text] == cosine[1.0][text]


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_long_parts_is_a_share(share):
    with pytest.raises(Exception, match="long_parts"):
        replace(recipes.VECTOR, name="bad", long_parts=share)


def test_a_superseded_fact_no_longer_lifts_its_message(mem):
    long = f"Dana: {CHATTER} By the way, Ramon works at Acme."
    mem.add(long, user_id="u")
    mem.add("Dana: I like Tuesday mornings.", user_id="u")

    def cosine():
        hits = mem.search("where does Ramon work?", user_id="u", limit=5, recipe=PARTS)
        return next(h.score_parts for h in hits if h.text.startswith("Dana: We talked"))

    before = cosine()
    assert before["cosine"] > before["cosine_whole"]  # lifted by "Ramon works at Acme."
    mem.add("Ramon moved from Acme to Globex.", user_id="u")  # supersedes that fact
    after = cosine()
    assert after["cosine"] < before["cosine"]
