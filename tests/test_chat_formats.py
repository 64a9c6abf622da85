"""A model's chat history passed to add() as it is: turns that only call a tool, content
given as parts, images beside text. What says something in words is kept; the rest is
passed over rather than refusing the whole conversation."""

from __future__ import annotations

import pytest

from graphmem import Memory
from graphmem.errors import ValidationError

TOOL_CALL = {"id": "call_1", "type": "function",
             "function": {"name": "weather", "arguments": "{\"city\": \"Porto\"}"}}  # fmt: skip


@pytest.fixture
def mem(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        yield m


def _texts(m: Memory) -> list[str]:
    return sorted(f.text for f in m.get_all(user_id="u", limit=100))


def test_a_history_with_a_tool_call_turn_is_stored_without_it(mem):
    """The assistant's tool-call turn has content None: it refused the whole add."""
    history = [
        {"role": "system", "content": "You are a helpful travel assistant."},
        {"role": "user", "content": "I moved to Porto last May."},
        {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Porto: sunny, 24 C"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "My sister Ines lives in Braga."},
    ]
    mem.add(history, user_id="u", infer=False)
    texts = _texts(mem)
    assert "I moved to Porto last May." in texts and "My sister Ines lives in Braga." in texts
    assert "" not in texts and len(texts) == 4  # system, two user turns, the tool's answer
    hits = mem.search("Where does my sister live?", user_id="u", limit=1)
    assert hits[0].text == "My sister Ines lives in Braga."


def test_content_parts_give_their_text_and_pass_over_images(mem):
    mem.add([{"role": "user", "content": [
        {"type": "text", "text": "I adopted a grey cat named Miso."},
        {"type": "image_url", "image_url": {"url": "https://example.org/miso.jpg"}},
        {"type": "text", "text": "She sleeps on the piano."},
    ]}], user_id="u", infer=False)  # fmt: skip
    assert _texts(mem) == ["I adopted a grey cat named Miso.\nShe sleeps on the piano."]


@pytest.mark.parametrize(("messages", "field"), [
    ([{"role": "user", "content": [{"type": "text", "text": 5}]}], "messages[0].content[0].text"),
    ([{"role": "user", "content": ["just a string"]}], "messages[0].content[0]"),
    ([{"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
      {"role": "user", "content": "  "}], "messages"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
     "messages[0].content"),
], ids=["text-not-a-string", "part-not-a-dict", "no-turn-has-text", "image-only"])  # fmt: skip
def test_a_conversation_with_nothing_usable_is_refused_by_name(mem, messages, field):
    mem.add("Ana likes tea.", user_id="u")
    with pytest.raises(ValidationError) as info:
        mem.add(messages, user_id="u")
    assert info.value.field == field, str(info.value)
    assert _texts(mem) == ["Ana likes tea."]


def test_per_message_ids_stay_with_their_turns_when_one_is_passed_over(tmp_path):
    """One source id per message, and a long chat read in windows (each window keeps its
    messages' ids): the tool-call turn's id is dropped with it. Left in, the ids no longer
    lined up with the messages, and every window was given all six."""
    turns = [{"role": "user", "content": f"Turn {k}: I visited museum number {k} today."}
             for k in range(6)]  # fmt: skip
    turns[2] = {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}
    ids = [f"m{k}" for k in range(6)]
    with Memory.open(tmp_path, embedder="hash", max_text_chars=120) as m:
        m.add(turns, user_id="u", source_ids=ids, infer=False)
        stored = {f.text: f.source_ids for f in m.get_all(user_id="u", limit=100)}
    assert len(stored) == 5
    windows = {tuple(source_ids) for source_ids in stored.values()}
    assert len(windows) > 1  # read in windows, each with its own ids
    assert sorted(i for window in windows for i in window) == ["m0", "m1", "m3", "m4", "m5"]
    for text, source_ids in stored.items():
        assert f"m{text.split(':')[0].split()[1]}" in source_ids, (text, source_ids)


def test_developer_and_function_roles_are_read_as_system_and_tool(mem):
    """Newer OpenAI models take a "developer" message where others take "system", and
    legacy histories answer function calls with role "function": both were refused."""
    mem.add([
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": "I work at Acme in Lyon."},
        {"role": "function", "name": "lookup", "content": "Acme: a maker of anvils"},
    ], user_id="u", infer=False)  # fmt: skip
    found = {f.text: f.role for f in mem.get_all(user_id="u", limit=10)}
    assert found == {"Answer briefly.": "system", "I work at Acme in Lyon.": "user",
                     "Acme: a maker of anvils": "tool"}  # fmt: skip
    with pytest.raises(ValidationError, match="'wizard' is not one of"):
        mem.add([{"role": "wizard", "content": "hi"}], user_id="u")
