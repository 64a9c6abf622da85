"""One add holding a user's and an assistant's turns: whose "I" is whose (ingest/turns.py)."""

from __future__ import annotations

import pytest

from graphmem import Memory, ValidationError
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import LLMExtractor
from graphmem.testing import OpenAIServer, ok_tool_call

CHAT = [
    {"role": "user", "content": "I just got back from Lisbon."},
    {"role": "assistant", "content": "Welcome back! I live in Berlin and I work at Globex."},
    {"role": "user", "content": "My sister Maria lives in Porto."},
]


def _relations(m: Memory, user: str = "u") -> set[tuple[str, str, str]]:
    return {(r.source_name, r.key, r.target_name) for r in m.graph.relations(user, user_id=user)}


@pytest.mark.parametrize("infer", [True, False])
def test_an_assistants_first_person_is_not_the_users(tmp_path, infer):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(CHAT, user_id="kim", infer=infer)  # a name no text holds: "I" links the speaker
        said = {f.text: f.role for f in m.get_all(user_id="kim")}
        relations = _relations(m, "kim")
        about_user = {r["text"] for r in m.cypher(
            "MATCH (f:Fact)-[:MENTIONS]->(e:Entity {name: 'kim'}) RETURN f.text AS text",
            user_id="kim")}  # fmt: skip
    # The assistant's home and employer are not the user's, nor are its words about them.
    assert not {key for _, key, target in relations if target in ("Berlin", "Globex")}
    assert ("kim", "sister", "Maria") in relations
    users = {t["content"] for t in CHAT if t["role"] == "user"}
    assert about_user == ({"I just got back from Lisbon.", "My sister Maria lives in Porto."}
                          if infer else users)  # fmt: skip
    # Both sides are remembered, each under its own role.
    assert {text: role for text, role in said.items() if role == "user"} == dict.fromkeys(
        about_user, "user"
    )
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
        assert m.stats(user_id="u")["relations"] == 0


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


def _answer(facts: list[dict]):
    """A model that extracts ``facts`` from any conversation, and a relation from each
    fact that mentions Berlin or Porto (the assistant's home and the user's sister's)."""

    def reply(request):
        relations = [{"source": "u", "relation": "lives_in", "target": city, "fact": i}
                     for i, f in enumerate(facts) for city in ("Berlin", "Porto")
                     if city in f["text"]]  # fmt: skip
        entities = [{"name": n, "type": t} for n, t in
                    (("u", "person"), ("Berlin", "place"), ("Porto", "place"))]  # fmt: skip
        return ok_tool_call({"facts": facts, "entities": entities, "relations": relations})

    return reply


def test_each_fact_of_a_conversation_keeps_the_role_of_the_turn_it_came_from(tmp_path):
    facts = [
        {"text": "u just got back from Lisbon.", "said_by": "user"},
        {"text": "The assistant lives in Berlin.", "said_by": "[assistant]", "rule": True},
        # No said_by: the turn whose words it shares decides ("Maria", "Porto", "sister").
        {"text": "u's sister Maria lives in Porto."},
        # A role no turn has: mapped the same way, never stored as given.
        {"text": "The assistant works at Globex.", "said_by": "narrator"},
    ]
    with OpenAIServer(_answer(facts)) as server:
        chat = OpenAIChat("test-model", base_url=server.base_url, api_key="test-key",
                          backoff=Backoff(0.01, 0.02))  # fmt: skip
        with Memory.open(tmp_path, embedder="hash", extractor=LLMExtractor(chat)) as m:
            m.add(CHAT, user_id="u")
            roles = {f.text: (f.role, f.memory_type) for f in m.get_all(user_id="u")}
            relations = _relations(m)
    assert {text: role for text, (role, _) in roles.items()} == {
        "u just got back from Lisbon.": "user",
        "The assistant lives in Berlin.": "assistant",
        "u's sister Maria lives in Porto.": "user",
        "The assistant works at Globex.": "assistant",
    }
    # The assistant's words are no standing rule of the user's and give no relation.
    assert roles["The assistant lives in Berlin."][1] != "rule"
    assert ("u", "lives_in", "Porto") in relations
    assert not any(target == "Berlin" for _, _, target in relations)


def _long_chat(turns: int) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant",
             "content": f"Turn {i}: I tried recipe number {i} and it tasted of saffron."}
            for i in range(turns)]  # fmt: skip


def test_a_chat_longer_than_the_text_limit_is_read_in_windows(tmp_path):
    chat = _long_chat(40)  # ~2,400 characters against a limit of 400
    with Memory.open(tmp_path, embedder="hash", extractor="offline", max_text_chars=400) as m:
        added = m.add(chat, user_id="u")
        texts = {f.text: f.role for f in m.get_all(user_id="u")}
        found = [h.text for h in m.search("recipe number 37", user_id="u", limit=3)]
    # Every turn is remembered, under its own role; none was refused or lost.
    assert len(added.facts) == 40
    assert {text.split(":")[0]: role for text, role in texts.items()} == {
        f"Turn {i}": "user" if i % 2 == 0 else "assistant" for i in range(40)
    }
    assert any("recipe number 37 " in t for t in found)


def test_one_message_over_the_limit_is_still_refused_and_nothing_is_written(tmp_path):
    chat = [*_long_chat(3), {"role": "user", "content": "x" * 500}]
    with Memory.open(tmp_path, embedder="hash", extractor="offline", max_text_chars=400) as m:
        with pytest.raises(ValidationError, match=r"messages\[3\]\.content.*max_text_chars"):
            m.add(chat, user_id="u")
        with pytest.raises(ValidationError, match=r"total .* max_text_chars"):
            m.add(_long_chat(40), user_id="u", memory_type="procedural")  # one memory
        assert m.get_all(user_id="u") == []


def test_add_many_keeps_a_long_items_windows_in_its_batch(tmp_path):
    items = [{"messages": _long_chat(40)}, {"text": "I live in Lyon."}]
    done: list[int] = []
    with Memory.open(tmp_path, embedder="hash", extractor="offline", max_text_chars=400) as m:
        added = m.add_many(items, user_id="u", infer=True, batch_size=1, progress=done.append)
    assert done == [1, 1]  # progress counts the items given, not their windows
    assert len(added.facts) == 41
