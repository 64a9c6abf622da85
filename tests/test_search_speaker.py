"""The speaker part: what the person a question names said ranks above what others said."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory, ValidationError
from graphmem.search import recipes
from graphmem.search.boost import names_speaker

U = "chat"
QUESTION = "Which sunset did Caroline paint?"
MELANIE = "I painted the sunset over the lake, the sunset was red and gold."
CAROLINE = "I painted a sunset last week."


def said(text: str, speaker: str, turn: str) -> dict:
    return {"text": text, "metadata": {"speaker": speaker, "session": 1}, "source_ids": [turn]}


@pytest.fixture(scope="module", params=[False, True], ids=["verbatim", "add"])
def chat(request, tmp_path_factory):
    """Melanie's turn matches the question's words better; Caroline said the answer."""
    m = Memory.open(tmp_path_factory.mktemp("chat"), embedder="hash")
    m.add_many([said(MELANIE, "Melanie", "D1:1"), said("Lovely colours.", "Caroline", "D1:2"),
                said("The weather was awful all week.", "Melanie", "D7:1"),
                said(CAROLINE, "Caroline", "D9:1")], user_id=U, infer=request.param)  # fmt: skip
    yield m
    m.close()


@pytest.mark.parametrize("recipe", ["text", "hybrid"])
def test_the_named_speakers_turn_comes_first(chat, recipe):
    hits = chat.search(QUESTION, user_id=U, recipe=recipe, limit=3)
    assert hits[0].source_ids == ["D9:1"]
    assert hits[0].score_parts["speaker"] == 0.1
    assert "speaker" not in next(h for h in hits if h.source_ids == ["D1:1"]).score_parts
    off = replace(recipes.get(recipe), name="no-speaker", speaker_weight=0.0)
    plain = chat.search(QUESTION, user_id=U, recipe=off, limit=3)
    assert plain[0].source_ids == ["D1:1"]  # the better word match wins without it
    assert all("speaker" not in h.score_parts for h in plain)


def test_a_filtered_search_weighs_the_speaker_the_same(chat):
    """A filter on a field search keeps no gate for (``index/payload_rows.py``) reads whole
    payloads instead: the speaker part, scores and order must not change with it."""
    kept = chat.search(QUESTION, user_id=U, recipe="hybrid", limit=3)
    hits = chat.search(
        QUESTION, user_id=U, recipe="hybrid", limit=3, filters={"metadata.session": 1}
    )  # every turn is in session 1
    assert [(h.memory_id, h.score, h.score_parts) for h in hits] == \
        [(h.memory_id, h.score, h.score_parts) for h in kept]  # fmt: skip
    assert hits[0].source_ids == ["D9:1"] and hits[0].score_parts["speaker"] == 0.1
    assert chat.search(QUESTION, user_id=U, limit=3, filters={"metadata.session": 2}) == []


def test_a_question_naming_no_one_ranks_as_before(chat):
    question = "Which sunset was painted?"
    off = replace(recipes.TEXT, name="no-speaker", speaker_weight=0.0)
    hits = chat.search(question, user_id=U, recipe="text", limit=4)
    plain = chat.search(question, user_id=U, recipe=off, limit=4)
    assert [(h.memory_id, h.score) for h in hits] == [(h.memory_id, h.score) for h in plain]


def test_memories_without_a_speaker_get_no_part(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": MELANIE}, {"text": CAROLINE}], user_id=U, infer=False)
        hits = m.search(QUESTION, user_id=U, recipe="text")
    assert hits and all("speaker" not in h.score_parts for h in hits)


def test_a_speaker_is_named_by_first_name_or_full_name():
    assert names_speaker("Caroline Smith", {"carolin", "paint"})
    assert names_speaker("de Boer", {"de", "boer"})
    assert not names_speaker("de Boer", {"boer"})
    assert not names_speaker("Melanie", {"carolin"})


def test_an_out_of_range_speaker_weight_is_refused():
    with pytest.raises(ValidationError, match="speaker_weight"):
        replace(recipes.TEXT, name="bad", speaker_weight=1.5)
