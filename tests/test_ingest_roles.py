"""Issue 22: an assistant quoting the user must not rewrite the user's graph."""

from __future__ import annotations

import pytest

from graphmem import Memory, ValidationError

MOVE = "I moved from Paris to Lyon last month for my new job."


def _story(infer: bool) -> list[dict]:
    reply = (
        "Congratulations on the move! Since you said earlier: I live in Paris with my "
        "cat, I wonder how the cat likes it. I work at a bakery myself."
    )
    return [
        {"text": "I live in Paris with my cat.", "timestamp": "2024-01-01", "source_ids": ["1"]},
        {"text": MOVE, "timestamp": "2024-03-01", "source_ids": ["2"]},
        {
            "messages": [{"role": "assistant", "content": reply}],
            "timestamp": "2024-03-02",
            "source_ids": ["3"],
        },
    ]


@pytest.mark.parametrize("infer", [False, True])
def test_a_reply_quoting_an_old_statement_leaves_the_users_news_current(tmp_path, infer):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add_many(_story(infer), user_id="u", infer=infer)
        lives = {r.target_name for r in m.graph.relations("u", user_id="u") if r.key == "lives_in"}
        assert lives == {"Lyon"}
        assert not [r for r in m.graph.relations("u", user_id="u") if r.key == "works_at"]
        texts = [h.text for h in m.search("where did I move", user_id="u", limit=5)]
        assert MOVE in texts
        # The reply is still remembered, and its entities linked.
        assert any("bakery" in t for t in (f.text for f in m.get_all(user_id="u")))


def test_a_chat_history_passed_as_the_model_gave_it_is_read(tmp_path):
    # OpenAI-compatible messages carry keys graphmem does not read (tool calls, refusal):
    # they pass; a key no chat message has is refused by name, with nothing stored.
    history = [
        {"role": "user", "content": "I moved to Lyon.", "name": "ann"},
        {"role": "assistant", "content": "Lyon is lovely.", "refusal": None, "tool_calls": [],
         "annotations": []},
        {"role": "tool", "content": "weather: sunny", "tool_call_id": "call_1"},
    ]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(history, user_id="u", infer=False)
        assert {f.text for f in m.get_all(user_id="u")} >= {"I moved to Lyon."}
        with pytest.raises(ValidationError) as info:
            m.add([{"role": "user", "content": "I moved to Rome.", "speaker": "ann"}],
                  user_id="u", infer=False)  # fmt: skip
        assert info.value.field == "messages[0].speaker"
        assert "Rome" not in " ".join(f.text for f in m.get_all(user_id="u"))
