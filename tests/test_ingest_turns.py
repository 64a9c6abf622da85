"""One add holding a user's and an assistant's turns: whose "I" is whose (ingest/turns.py)."""

from __future__ import annotations

import pytest

from graphmem import Memory
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import LLMExtractor
from graphmem.testing import OpenAIServer, ok_tool_call

CHAT = [
    {"role": "user", "content": "I just got back from Lisbon."},
    {"role": "assistant", "content": "Welcome back! I live in Berlin and I work at Globex."},
    {"role": "user", "content": "My sister Maria lives in Porto."},
]


def _relations(m: Memory) -> set[tuple[str, str, str]]:
    return {(r.source_name, r.key, r.target_name) for r in m.graph.relations("u", user_id="u")}


def test_an_assistants_first_person_is_not_the_users(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(CHAT, user_id="u")
        said = {f.text: f.role for f in m.get_all(user_id="u")}
        relations = _relations(m)
    # The assistant's home and employer are not the user's.
    assert not {key for _, key, target in relations if target in ("Berlin", "Globex")}
    assert ("u", "sister", "Maria") in relations
    # Both sides are remembered, each under its own role.
    assert said["My sister Maria lives in Porto."] == "user"
    assert said["I just got back from Lisbon."] == "user"
    assert [role for text, role in said.items() if "Berlin" in text] == ["assistant"]


def test_the_same_turns_added_one_by_one_give_the_same_graph(tmp_path):
    """Read turn by turn, a conversation gives what its messages give added apart."""
    with Memory.open(tmp_path / "whole", embedder="hash", extractor="offline") as m:
        m.add(CHAT, user_id="u")
        whole = _relations(m), {(f.text, f.role) for f in m.get_all(user_id="u")}
    with Memory.open(tmp_path / "apart", embedder="hash", extractor="offline") as m:
        for turn in CHAT:
            m.add([turn], user_id="u")
        apart = _relations(m), {(f.text, f.role) for f in m.get_all(user_id="u")}
    assert whole == apart


@pytest.mark.parametrize("infer", [True, False])
def test_an_assistant_only_add_keeps_the_assistant_role(tmp_path, infer):
    reply = [{"role": "assistant", "content": "I work at Globex and I always back up files."}]
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(reply, user_id="u", infer=infer)
        facts = m.get_all(user_id="u")
        assert {f.role for f in facts} == {"assistant"}
        assert {f.memory_type for f in facts} != {"rule"}
        assert not _relations(m)


class _Model:
    """Answers every extraction with one fact; records what it was asked."""

    def __init__(self):
        self.prompts: list[str] = []

    def __call__(self, request):
        prompt = request["messages"][-1]["content"]
        self.prompts.append(prompt)
        fact = "Maria is u's sister." if "Maria" in prompt else "u went to Lisbon."
        return ok_tool_call({"facts": [{"text": fact}], "entities": [], "relations": []})


def test_a_model_reads_the_turns_labelled_in_one_call(tmp_path):
    model = _Model()
    with OpenAIServer(model) as server:
        chat = OpenAIChat("test-model", base_url=server.base_url, api_key="test-key",
                          backoff=Backoff(0.01, 0.02))  # fmt: skip
        with Memory.open(tmp_path, embedder="hash", extractor=LLMExtractor(chat)) as m:
            m.add(CHAT, user_id="u")
            m.add("Maria visited me.", user_id="u")
            texts = {f.text for f in m.get_all(user_id="u")}
    conversation, single = model.prompts
    # One call for the three turns, each line led by who said it, and the note on "I".
    assert "[user] I just got back from Lisbon." in conversation
    assert "[assistant] Welcome back! I live in Berlin" in conversation
    assert "[user] My sister Maria lives in Porto." in conversation
    assert '"I", "me" and "my" mean whoever said that line' in conversation
    # An add of one role is asked as before: no labels, no note.
    assert "[user]" not in single and "whoever said that line" not in single
    assert "Maria visited me." in single
    assert texts >= {"Maria is u's sister."}
