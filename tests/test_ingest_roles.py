"""Issue 22: an assistant quoting the user must not rewrite the user's graph."""

from __future__ import annotations

import pytest

from graphmem import Memory

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
