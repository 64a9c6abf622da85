"""Issue 22's fusion options: a query whose words match nothing barely moves BM25's weight."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory
from graphmem.errors import ValidationError
from graphmem.search import recipes
from graphmem.search.fuse import Fused, coverage_weight, gate, min_max, standout_weight


def test_coverage_weight_keeps_a_full_match_and_drops_a_stray_word():
    assert coverage_weight(0.5, 9.0, 10.0, 0.25) == 0.5
    assert coverage_weight(0.5, 1.0, 10.0, 0.25) == pytest.approx(0.2)
    assert coverage_weight(0.5, 0.0, 0.0, 0.25) == 0.0


def test_scores_below_the_floor_count_as_unrelated():
    assert min_max([0.9, 0.5, 0.1], floor=0.3) == pytest.approx([1.0, 1 / 3, 0.0])


def test_a_list_all_at_its_floor_gives_no_share():
    assert min_max([0.0, 0.0, 0.0], floor=0.0) == [0.0, 0.0, 0.0]
    assert min_max([0.2, 0.2], floor=0.3) == [0.0, 0.0]
    assert min_max([0.4, 0.4], floor=0.3) == [1.0, 1.0]  # found, just not told apart


def test_a_query_sharing_no_word_with_any_memory_explains_no_keyword_match(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": "Priya is allergic to shellfish."},
                    {"text": "I have been a vegetarian since college."}],
                   user_id="u", infer=False)  # fmt: skip
        for recipe in ("text", "hybrid"):
            hits = m.search("What should we cook tonight?", user_id="u", recipe=recipe)
            assert hits, recipe
            assert all(h.score_parts.get("keyword", 0.0) == 0.0 for h in hits), recipe
            assert all("keyword=" not in h.explain() or "keyword=0.000" in h.explain()
                       for h in hits)  # fmt: skip


def test_keyword_coverage_lets_meaning_win_when_words_barely_match(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": "the weather report for Oslo said rain all week"},
                    {"text": "report"}], user_id="u")  # fmt: skip
        strict = replace(recipes.TEXT, name="strict", keyword_coverage=1.0)
        query = "weather forecast Oslo rain week report"
        plain = m.search(query, user_id="u", recipe="text")
        adapted = m.search(query, user_id="u", recipe=strict)
        assert adapted[0].text.startswith("the weather report")
        assert adapted[0].score_parts["keyword"] <= plain[0].score_parts["keyword"]


def test_bad_fusion_options_are_refused():
    with pytest.raises(ValidationError, match="vector_floor"):
        replace(recipes.TEXT, vector_floor="mean")
    with pytest.raises(ValidationError, match="keyword_coverage"):
        replace(recipes.TEXT, keyword_coverage=2.0)
    with pytest.raises(ValidationError, match="keyword_gate"):
        replace(recipes.TEXT, keyword_gate=-1.0)
    with pytest.raises(ValidationError, match="gate_low, gate_high"):
        replace(recipes.TEXT, gate_low=0.5, gate_high=0.5)
    with pytest.raises(ValidationError, match="gate_spare"):
        replace(recipes.TEXT, gate_spare=1.5)


def test_gate_keeps_words_where_the_meaning_is_close_and_drops_them_where_it_is_not():
    hits = [Fused("near", 0.9, {"vector": 0.5, "keyword": 0.4}, {"vector": 0.8, "keyword": 3.0}),
            Fused("far", 0.8, {"vector": 0.3, "keyword": 0.5}, {"vector": 0.2, "keyword": 4.0})]  # fmt: skip
    out = {f.memory_id: f for f in gate(hits, 1.0, low=0.2, high=0.8)}
    assert out["near"].parts["keyword"] == pytest.approx(0.4)  # as close as the best: kept
    assert out["far"].parts["keyword"] == 0.0  # no closer than a typical memory: dropped
    assert out["far"].score == pytest.approx(0.3)  # the score adds up to its parts
    assert gate(hits, 0.0, low=0.2, high=0.8) == hits  # off


def test_gate_spares_a_memory_that_matches_most_of_the_query():
    hits = [Fused("most", 0.7, {"vector": 0.2, "keyword": 0.5}, {"vector": 0.2, "keyword": 6.0}),
            Fused("some", 0.6, {"vector": 0.2, "keyword": 0.4}, {"vector": 0.2, "keyword": 4.5}),
            Fused("one", 0.5, {"vector": 0.2, "keyword": 0.3}, {"vector": 0.2, "keyword": 2.0})]  # fmt: skip
    # Meaning no closer than a typical memory's for all three (factor 0); the query's
    # words are worth 10, and a memory covering half of that keeps its whole share.
    out = {f.memory_id: f for f in gate(hits, 1.0, low=0.2, high=0.8, ceiling=10.0, spare=0.5)}
    assert out["most"].parts["keyword"] == pytest.approx(0.5)  # covers 0.6: kept
    assert "keyword_gate" not in out["most"].raw  # nothing cut, nothing to explain
    assert out["some"].parts["keyword"] == pytest.approx(0.4 * 0.8)  # 0.45: most of it
    assert out["some"].raw["keyword_gate"] == pytest.approx(0.8)
    assert out["one"].parts["keyword"] == 0.0  # 0.2, one word of the query: dropped
    assert [f.parts["keyword"] for f in gate(hits, 1.0, low=0.2, high=0.8)] == [0.0] * 3


@pytest.mark.model
def test_keyword_gate_finds_what_the_question_means_in_other_words(tmp_path):
    pytest.importorskip("sentence_transformers")
    gold = "I adopted a little puppy from the shelter on Saturday."
    said = [gold, "I am settling the bill with the new landlord tomorrow.",
            "My new job starts next month.", "The new bakery sells bread.",
            "We had pasta for dinner.", "The train to Oslo was late again.",
            "I finished reading a novel about sailors.", "My sister plays the violin."]  # fmt: skip
    with Memory.open(tmp_path, embedder="local") as m:
        m.add_many([{"text": t} for t in said], user_id="u", infer=False)
        query = "How is my new dog settling in?"
        words = m.search(query, user_id="u", recipe="text", limit=3)
        # The gate's first form: from the median cosine to the best, sparing no one.
        gated = replace(recipes.TEXT, name="gated", keyword_gate=2.0, gate_low=0.0,
                        gate_high=0.0, gate_spare=0.0)  # fmt: skip
        meaning = m.search(query, user_id="u", recipe=gated, limit=3)
    assert words[0].text != gold  # the stray words "new" and "settling" win without it
    assert meaning[0].text == gold


def test_standout_weight_falls_from_low_to_high_and_keeps_a_share():
    assert standout_weight(0.5, 2.0, low=3.0, high=5.0, kept=0.2) == 0.5  # crowded: whole
    assert standout_weight(0.5, 4.0, low=3.0, high=5.0, kept=0.2) == pytest.approx(0.3)
    assert standout_weight(0.5, 9.0, low=3.0, high=5.0, kept=0.2) == pytest.approx(0.1)
    assert standout_weight(0.5, 9.0, low=0.0, high=0.0, kept=0.2) == 0.5  # off


_FILLER = [f"The {thing} near the {place} was {state} on {day}."
           for thing in ("bus", "bakery", "garden", "library", "bridge")
           for place in ("station", "river", "school", "market")
           for state, day in (("closed", "Monday"), ("busy", "Friday"))]  # fmt: skip


def test_a_memory_whose_meaning_stands_out_takes_the_lead_from_stray_words(tmp_path):
    """40 memories alike and one that holds the query: dense retrieval is sure of it, so
    BM25's weight falls (to ``standout_kept``) and its stray best match cannot win."""
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": t} for t in [*_FILLER, "violin lessons with Anna every Tuesday"]],
                   user_id="u", infer=False)  # fmt: skip
        query = "violin lessons with Anna"
        hits = m.search(query, user_id="u", recipe="hybrid", limit=3)
        off = replace(recipes.HYBRID, name="no-standout", standout_high=0.0)
        plain = m.search(query, user_id="u", recipe=off, limit=3)
    assert hits[0].text.startswith("violin") and plain[0].text.startswith("violin")
    assert hits[0].score_parts["keyword"] == pytest.approx(0.5 * recipes.HYBRID.standout_kept)
    assert hits[0].score_parts["standout"] >= recipes.HYBRID.standout_high  # explained
    assert "standout=" in hits[0].explain()
    assert plain[0].score_parts["keyword"] == pytest.approx(0.5)
    assert "standout" not in plain[0].score_parts


def test_memories_alike_keep_the_keyword_weight_whole(tmp_path):
    """Half the memories match the query as well as the best: nothing stands out from the
    crowd, so the default ranks exactly as without the option."""
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": t} for t in _FILLER], user_id="u", infer=False)
        hits = m.search("closed on Monday", user_id="u", recipe="hybrid", limit=5)
        off = replace(recipes.HYBRID, name="no-standout", standout_high=0.0)
        plain = m.search("closed on Monday", user_id="u", recipe=off, limit=5)
    assert hits[0].score_parts["keyword"] == pytest.approx(0.5)
    assert [(h.memory_id, h.score) for h in hits] == [(h.memory_id, h.score) for h in plain]
    assert "standout" not in hits[0].score_parts


def test_bad_standout_options_are_refused():
    with pytest.raises(ValidationError, match="standout_low"):
        replace(recipes.HYBRID, standout_low=6.0, standout_high=5.0)
    with pytest.raises(ValidationError, match="standout_kept"):
        replace(recipes.HYBRID, standout_kept=1.5)
    with pytest.raises(ValidationError, match="standout_graph"):
        replace(recipes.HYBRID, standout_graph=-0.1)


def _off_and_on(tmp_path, texts, off):
    """The top 3 for the puppy question with the option ``off`` removed, then by default."""
    with Memory.open(tmp_path, embedder="local") as m:
        m.add_many([{"text": t} for t in texts], user_id="u", infer=False)
        query = "How is my new dog settling in?"
        return (m.search(query, user_id="u", recipe=off, limit=3),
                m.search(query, user_id="u", recipe="hybrid", limit=3))  # fmt: skip


@pytest.mark.model
def test_standout_finds_what_the_question_means_in_other_words(tmp_path):
    """The stray words "new" and "settling" match a bill, not the puppy; among 40 other
    memories the puppy's meaning stands out, and the default recipe follows it."""
    pytest.importorskip("sentence_transformers")
    gold = "I adopted a little puppy from the shelter on Saturday."
    stray = "I am settling the bill with the new landlord tomorrow."
    off = replace(recipes.HYBRID, name="no-standout", standout_high=0.0)
    words, meaning = _off_and_on(tmp_path, [*_FILLER, gold, stray], off)
    assert words[0].text == stray
    assert meaning[0].text == gold


@pytest.mark.model
def test_a_word_shared_by_chance_no_longer_outranks_what_the_question_means(tmp_path):
    """Sixteen memories of one person's life, none standing out: the stray memory shares
    one word of the question ("settling") and no meaning, the puppy shares the meaning
    and no word. The default's keyword gate drops most of the stray word's share."""
    pytest.importorskip("sentence_transformers")
    gold = "I adopted a little puppy from the shelter on Saturday."
    stray = "The dust was settling over the quarry after the blast."
    life = ["My cat keeps waking me up at five in the morning.",
            "We took the kids to the zoo and saw the lions.",
            "I started running again, three times a week.",
            "My sister plays the violin in an orchestra.", "We had pasta for dinner with friends.",
            "The train to Oslo was late again.", "I finished reading a novel about sailors.",
            "My parents are visiting next weekend.", "I painted the kitchen a light green.",
            "Work has been stressful with the deadline.",
            "I went hiking by the lake with my brother.", "Our neighbour's parrot can say hello.",
            "I am learning to bake sourdough bread.", "My grandmother turned ninety last week.",
            "I fed the ducks at the park this morning.", "The vet said my old cat is healthy."]  # fmt: skip
    off = replace(recipes.HYBRID, name="no-gate", keyword_gate=0.0)
    words, meaning = _off_and_on(tmp_path, [gold, stray, *life], off)
    assert words[0].text == stray
    assert meaning[0].text == gold
    gated = next(h for h in meaning if h.text == stray)
    assert gated.score_parts["keyword"] < words[0].score_parts["keyword"] / 1.5
    assert gated.score_parts["keyword_gate"] < 0.67  # the share kept, explained
    assert "keyword_gate=" in gated.explain() and "keyword_gate" not in words[0].score_parts


def test_a_scopes_first_memory_that_matches_scores_its_vector_share(tmp_path):
    """The vector channel's floor was the scope's lowest cosine: a scope's only memory
    was its own floor and scored 0.000 however well it matched (an agent keeping hits
    above a score dropped it), and in a small scope the least related one always did.
    Cosine 0 is now the floor when every memory is above it, so a memory's score no
    longer jumps as unrelated ones are added."""
    pytest.importorskip("sentence_transformers")
    with Memory.open(tmp_path, embedder="local") as m:
        m.add("I like green tea in the morning.", user_id="u", infer=False)
        query = "What do I usually drink?"
        first = m.search(query, user_id="u", recipe="vector")
        assert first[0].score > 0.5, first[0].explain()
        alone = m.search(query, user_id="u")[0]
        assert alone.score_parts["vector"] > 0.25, alone.explain()
        m.add_many([{"text": "My sister lives in Lyon."}, {"text": "We adopted a dog."}],
                   user_id="u", infer=False)  # fmt: skip
        hits = {h.text: h for h in m.search(query, user_id="u", recipe="vector")}
        assert hits["I like green tea in the morning."].score == pytest.approx(first[0].score)
        assert all(h.score > 0.0 for h in hits.values()), [h.explain() for h in hits.values()]
