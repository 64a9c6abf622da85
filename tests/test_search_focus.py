"""The focus part: below the first five hits, what the question asks about comes first."""

from __future__ import annotations

from dataclasses import replace

import pytest
from embed_helpers import Recording

from graphmem import Memory
from graphmem.search import recipes
from graphmem.search.focus import FOCUS_KEEP, focus_text, focused, likely_focus
from graphmem.search.fuse import Fused

U = "chat"
# Jon's turns about his week, many saying "Jon has played", and the two that answer
# "what sports": neither repeats the question's words.
WEEK = [
    "Jon played a new song for the band on Monday.",
    "Jon has played the drums since he was twelve.",
    "Jon played cards with his cousins all evening.",
    "Jon has played that record so often it skips.",
    "Jon played a joke on his sister at lunch.",
    "Jon has played the lead in a school play.",
    "Jon played some old video games with Gina.",
    "Jon played chess against his grandfather and lost.",
    "Jon has played the piano at every family wedding.",
    "Jon played his favourite album on the long drive.",
    "Jon has played host to his friends every Friday.",
    "Jon played the villain in the class film.",
]
HOOPS = "I shoot hoops with my friends at the court every Sunday."
SPORTS = [HOOPS, "I joined a football club and we train twice a week."]
QUESTION = "What sports has Jon played?"


def test_the_first_five_keep_their_places_and_the_rest_follow_the_focus():
    fused = [Fused(f"m{i}", 1.0 - i / 10, {"vector": 1.0 - i / 10}) for i in range(9)]
    near = {"m7": 0.9, "m1": 0.0}  # m7 on the question's topic; m1 far from it
    out = focused(fused, lambda key: near.get(key, 0.2), floor=0.0, weight=0.4)
    ids = [f.memory_id for f in out]
    assert ids[:FOCUS_KEEP] == ["m0", "m1", "m2", "m3", "m4"]  # m1 stays second
    assert ids[FOCUS_KEEP] == "m7"  # from eighth to sixth
    for f in out:  # the explanation adds up
        assert f.score == pytest.approx(sum(f.parts.values()))
        assert 0.0 <= f.parts["focus"] <= 0.4
    assert focused(fused, lambda key: 1.0, 0.0, 0.0) == fused  # weight 0: off


def test_what_others_said_counts_half_of_its_closeness_to_the_focus():
    fused = [Fused(f"m{i}", 1.0 - i / 10, {"vector": 1.0 - i / 10}) for i in range(8)]
    fused[6] = Fused("m6", 0.5, {"vector": 0.4, "speaker": 0.1})  # said by the person named
    out = {f.memory_id: f for f in focused(fused, lambda key: 0.8, floor=0.0, weight=0.4)}
    assert out["m6"].parts["focus"] == pytest.approx(2 * out["m7"].parts["focus"])
    assert out["m6"].parts["focus"] == pytest.approx(0.4)  # as close as the first five


def test_the_focus_leaves_out_question_words_and_the_people_named():
    assert focus_text("Which sports has Jon played?", {"jon"}) == "sports played"
    assert focus_text("What are Jon's hobbies?", {"jon"}) == "hobbies"
    assert focus_text("Which sports has Jon played?", set()) == "sports Jon played"
    # Names in any script, and a typographic apostrophe.
    assert focus_text("What has José Álvarez cooked for Zoë?", {"josé", "álvarez", "zoë"}) \
        == "cooked"  # fmt: skip
    assert focus_text("What are Jon’s hobbies?", {"jon"}) == "hobbies"


def _chat(path, embedder):
    m = Memory.open(path, embedder=embedder)
    turns = [(t, "Gina") for t in ("Nice!", "Sounds fun.", "How was your week?")] + \
        [(t, "Jon") for t in WEEK + SPORTS]  # fmt: skip
    m.add_many([{"text": t, "metadata": {"speaker": s, "session": 1 + i},
                 "source_ids": [f"D{1 + i}:{i}"]}
                for i, (t, s) in enumerate(turns)], user_id=U, infer=False)  # fmt: skip
    return m


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    m = _chat(tmp_path_factory.mktemp("focus"), "hash")
    yield m
    m.close()


def _without_focus(recipe):
    return replace(recipes.get(recipe), name="no-focus", focus_weight=0.0)


@pytest.mark.parametrize("recipe", ["text", "hybrid"])
def test_the_focus_never_moves_the_first_five_and_explains_itself(chat, recipe):
    plain = chat.search(QUESTION, user_id=U, recipe=_without_focus(recipe), limit=10)
    hits = chat.search(QUESTION, user_id=U, recipe=recipe, limit=10)
    assert [h.memory_id for h in hits[:FOCUS_KEEP]] == [h.memory_id for h in plain[:FOCUS_KEEP]]
    assert all(h.score_parts["focus"] == 0.4 for h in hits[:FOCUS_KEEP])
    assert all(0.0 <= h.score_parts["focus"] <= 0.4 for h in hits)
    for hit in hits:  # the explanation adds up
        shares = sum(v for k, v in hit.score_parts.items()
                     if k in ("vector", "keyword", "graph", "bridge", "neighbour", "speaker",
                              "focus"))  # fmt: skip
        assert shares == pytest.approx(hit.score, abs=1e-5)


def test_a_question_naming_no_speaker_is_ranked_as_without_the_focus(chat):
    question = "What sports were played?"
    hits = chat.search(question, user_id=U, limit=10)
    plain = chat.search(question, user_id=U, recipe=_without_focus("hybrid"), limit=10)
    assert [(h.memory_id, h.score) for h in hits] == [(h.memory_id, h.score) for h in plain]
    assert all("focus" not in h.score_parts for h in hits)


@pytest.mark.model
@pytest.mark.parametrize("recipe", ["text", "hybrid"])
def test_an_answer_in_other_words_reaches_the_top_ten_by_the_focus(tmp_path, recipe):
    """Twelve turns say "Jon has played" and outrank the answer on the question's words
    and its vector; its meaning is close to "sports", the question's focus."""
    pytest.importorskip("sentence_transformers")
    m = _chat(tmp_path, "local")
    try:
        plain = m.search(QUESTION, user_id=U, recipe=_without_focus(recipe), limit=10)
        hits = m.search(QUESTION, user_id=U, recipe=recipe, limit=10)
    finally:
        m.close()
    assert HOOPS not in [h.text for h in plain]
    assert HOOPS in [h.text for h in hits]
    hoops = next(h for h in hits if h.text == HOOPS)
    assert hoops.score_parts["focus"] == max(h.score_parts["focus"] for h in hits)


def test_the_likely_focus_drops_every_capitalised_word():
    assert likely_focus("What sports has Jon played?") == "sports played"
    assert likely_focus("What are Jon's hobbies?") == "hobbies"
    assert likely_focus("Did Jon visit Paris in May?") == "visit"
    assert likely_focus("What sports were played?") == ""  # names no one: no focus to guess


@pytest.mark.parametrize("recipe", ["text", "hybrid"])
def test_a_question_naming_a_speaker_costs_one_embedding_call(tmp_path, recipe):
    """Once a search of the scope has found speakers, the focus text is embedded with the
    query when the words the question capitalises are the speakers' names, and alone, as
    a second call, when they are not."""
    embedder = Recording()
    m = _chat(tmp_path, embedder)
    try:
        embedder.calls.clear()
        m.search("Which games has Jon played?", user_id=U, recipe=recipe, limit=10)
        assert len(embedder.calls) == 2  # the scope's first search: no speakers known yet
        embedder.calls.clear()
        hits = m.search(QUESTION, user_id=U, recipe=recipe, limit=10)
        assert len(embedder.calls) == 1 and "sports played" in embedder.calls[0]
        assert any(h.score_parts.get("focus", 0) < 0.4 for h in hits)  # the focus was used
        embedder.calls.clear()
        # "Paris" is no speaker: the guess ("played") is not the focus ("played Paris").
        m.search("What has Jon played in Paris?", user_id=U, recipe=recipe, limit=10)
        assert embedder.calls[-1] == ["played Paris"] and len(embedder.calls) == 2
    finally:
        m.close()


def test_a_scope_without_speakers_embeds_no_focus_guess(tmp_path):
    """Passages with no speaker: a guess would be an embedding row no search uses."""
    embedder = Recording()
    with Memory.open(tmp_path, embedder=embedder) as m:
        m.add_many([{"text": t} for t in WEEK], user_id=U, infer=False)
        for _ in range(2):
            embedder.calls.clear()
            m.search(QUESTION, user_id=U, recipe="text", limit=10)
            assert embedder.calls == [[QUESTION]]


@pytest.mark.parametrize("recipe", ["text", "hybrid"])
def test_the_focus_ranks_alike_whether_embedded_with_the_query_or_alone(tmp_path, recipe,
                                                                         monkeypatch):  # fmt: skip
    """Hash vectors do not depend on the batch, so the row taken from the query's call
    must give exactly the hits and scores the focus embedded alone gives."""
    embedder = Recording()
    m = _chat(tmp_path, embedder)
    try:
        m.search(QUESTION, user_id=U, recipe=recipe, limit=10)  # the scope's speakers known
        embedder.calls.clear()
        batched = m.search(QUESTION, user_id=U, recipe=recipe, limit=10)
        assert len(embedder.calls) == 1  # the focus rode in the query's call
        monkeypatch.setattr("graphmem.search.engine.likely_focus", lambda query: "")
        embedder.calls.clear()
        alone = m.search(QUESTION, user_id=U, recipe=recipe, limit=10)
        assert embedder.calls[-1] == ["sports played"]
    finally:
        m.close()
    assert any("focus" in h.score_parts for h in alone)
    assert [(h.memory_id, h.score, h.score_parts) for h in batched] == \
        [(h.memory_id, h.score, h.score_parts) for h in alone]  # fmt: skip


def test_a_bad_focus_weight_is_refused():
    from graphmem import ValidationError

    with pytest.raises(ValidationError, match="focus_weight"):
        replace(recipes.HYBRID, focus_weight=1.5)
