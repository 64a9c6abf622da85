"""A whole chat added in one call: each turn is its own hit (ingest/sources.py)."""

from __future__ import annotations

import pytest

from graphmem import Memory
from graphmem.index.neighbours import NeighbourTable
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import LLMExtractor
from graphmem.testing import OpenAIServer, ok_tool_call

TOPICS = [
    ("Ana", "I adopted a grey cat called Pixel from the shelter on Monday."),
    ("Ben", "Nice! I spent the weekend repairing the roof of my cabin near the lake."),
    ("Ana", "My manager asked me to lead the quarterly budget review in March."),
    ("Ben", "I finally booked the train tickets to Vienna for the music festival."),
    ("Ana", "I started taking Portuguese lessons twice a week with a tutor online."),
    ("Ben", "My daughter won the regional chess tournament last Sunday afternoon."),
]
FILLER = (
    " We talked about it for a while, and it was a long and pleasant chat about many"
    " things, with plenty of small details that nobody will ask about later on."
)


def _chat(roles: tuple[str, str] = ("user", "assistant")) -> list[dict]:
    """Six turns of two speakers, ~230 words: over the length where turns are kept apart."""
    return [{"role": roles[i % 2], "name": name, "content": text + FILLER}
            for i, (name, text) in enumerate(TOPICS)]  # fmt: skip


@pytest.mark.parametrize("roles", [("user", "assistant"), ("user", "user")])
def test_a_detail_of_a_long_chat_is_found_as_its_own_turn(tmp_path, roles):
    chat = _chat(roles)
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(chat, user_id="u", source_ids=["chat-1"])
        hits = m.search("Which city are the train tickets for?", user_id="u", limit=3)
        pets = m.search("What is the name of the cat?", user_id="u", limit=3)
    # The turn that says it, not the whole chat: before, every search returned the one
    # source holding all six turns (~1,400 characters) as its only hit.
    assert hits[0].text == chat[3]["content"]
    assert pets[0].text == chat[0]["content"]
    assert all(len(h.text) < 2 * len(chat[0]["content"]) for h in [*hits, *pets])
    # The turn keeps who said it.
    assert hits[0].metadata.get("speaker") == "Ben"
    assert pets[0].metadata.get("speaker") == "Ana"


def test_a_short_chat_of_several_turns_is_kept_turn_by_turn_too(tmp_path):
    # Six turns, ~70 words: well under the length a pasted text is cut at. Before, such a
    # chat was one source, and every search of the scope returned the whole chat as its
    # one hit, whatever it asked and however many hits were asked for.
    chat = [{"role": "user" if i % 2 == 0 else "assistant", "content": text}
            for i, (_, text) in enumerate(TOPICS)]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(chat, user_id="u")
        hits = m.search("Which city are the train tickets for?", user_id="u", limit=3)
        pets = m.search("What is the name of the cat?", user_id="u", limit=3)
    assert hits[0].text == chat[3]["content"] and hits[0].role == "assistant"
    assert pets[0].text == chat[0]["content"] and pets[0].role == "user"
    assert len(hits) == 3 and all("\n" not in h.text for h in hits)


def test_a_question_and_its_answer_stay_one_memory(tmp_path):
    exchange = [{"role": "user", "content": TOPICS[0][1] + FILLER * 6},
                {"role": "assistant", "content": "Pixel is a lovely name for a grey cat."}]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(exchange, user_id="u")
        hits = m.search("What is the name of the cat?", user_id="u", limit=3)
    assert hits[0].text == "\n".join(turn["content"] for turn in exchange)
    assert hits[0].role == "" and hits[0].said_by() == ""  # both said it


def test_speakers_of_one_role_each_keep_their_own_first_person(tmp_path):
    group = [{"role": "user", "name": "Ana", "content": "I live in Porto."},
             {"role": "user", "name": "Ben", "content": "I live in Brno."}]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(group, user_id="u")
        lives = {(r.source_name, r.target_name) for r in m.graph.relations("Porto", user_id="u")}
        lives |= {(r.source_name, r.target_name) for r in m.graph.relations("Brno", user_id="u")}
    # Read joined, both "I"s were Ana's: Ana lived in Porto and in Brno.
    assert ("Ana", "Porto") in lives and ("Ben", "Brno") in lives
    assert ("Ana", "Brno") not in lives


def test_the_same_long_chat_added_twice_is_stored_once(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(_chat(), user_id="u", source_ids=["chat-1"])
        first = sorted(f.id for f in m.get_all(user_id="u"))
        m.add(_chat(), user_id="u", source_ids=["chat-1"])
        assert sorted(f.id for f in m.get_all(user_id="u")) == first
        hits = m.search("Which city are the train tickets for?", user_id="u", limit=10)
    assert [h.text for h in hits].count(_chat()[3]["content"]) == 1


def test_a_models_facts_are_grouped_under_the_turn_they_came_from(tmp_path):
    facts = [{"text": "Ana adopted a grey cat called Pixel.", "said_by": "Ana"},
             {"text": "Ben booked train tickets to Vienna.", "said_by": "Ben"},
             {"text": "Ben's daughter won a chess tournament."}]  # fmt: skip
    with OpenAIServer(lambda request: ok_tool_call({"facts": facts, "entities": [],
                                                    "relations": []})) as server:  # fmt: skip
        chat = OpenAIChat("test-model", base_url=server.base_url, api_key="test-key",
                          backoff=Backoff(0.01, 0.02))  # fmt: skip
        with Memory.open(tmp_path, embedder="hash", extractor=LLMExtractor(chat)) as m:
            m.add(_chat(), user_id="u")
            hits = m.search("Who won the chess tournament?", user_id="u", limit=2)
            vienna = m.search("train tickets to Vienna", user_id="u", limit=1)
    # Each fact is returned with its own turn as the text that says it.
    assert hits[0].text == _chat()[5]["content"]
    assert vienna[0].text == _chat()[3]["content"]


def test_turns_of_one_add_are_neighbours_in_the_order_said():
    table = NeighbourTable()
    # Added out of order, as a batch's writes may come; ids sort against the turns.
    for turn, point in [(2, "a"), (0, "c"), (1, "b"), (3, "d")]:
        table.add(point, {"source_ids": ["chat-1"], "created_at": "t", "turn": turn})
    assert table.of("b") == ("c", "a")
    assert table.of("c") == ("b",)
    assert table.of("d") == ("a",)


def test_a_chat_with_one_source_id_per_message_keeps_each_on_its_turn(tmp_path):
    ids = [f"D1:{i}" for i in range(len(TOPICS))]
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add(_chat(), user_id="u", source_ids=ids)
        hit = m.search("Which city are the train tickets for?", user_id="u", limit=1)[0]
        facts = {f.text: f.source_ids for f in m.get_all(user_id="u")}
    assert hit.source_ids == ["D1:3"]
    assert facts["I finally booked the train tickets to Vienna for the music festival."] == ["D1:3"]


def test_a_chat_read_in_windows_gives_each_window_its_own_message_ids(tmp_path):
    chat = [{"role": "user", "content": f"Turn {i}: I planted {i} tulips in the garden today."}
            for i in range(12)]  # fmt: skip
    ids = [f"m{i}" for i in range(12)]
    with Memory.open(tmp_path, embedder="hash", extractor="offline", max_text_chars=200) as m:
        m.add(chat, user_id="u", source_ids=ids)
        held = {f.text.split(":")[0]: f.source_ids for f in m.get_all(user_id="u")}
    # Each message's memory names its own id, or the ids of its window: never another
    # window's (before, every window carried all twelve).
    assert len(held) == 12
    for turn, own in held.items():
        number = int(turn.split()[1])
        assert f"m{number}" in own and len(own) < len(ids)


def test_a_long_chat_a_model_found_nothing_in_is_kept_turn_by_turn(tmp_path):
    empty = ok_tool_call({"facts": [], "entities": [], "relations": []})
    with OpenAIServer(lambda request: empty) as server:
        chat = OpenAIChat("test-model", base_url=server.base_url, api_key="test-key",
                          backoff=Backoff(0.01, 0.02))  # fmt: skip
        with Memory.open(tmp_path, embedder="hash", extractor=LLMExtractor(chat)) as m:
            m.add(_chat(), user_id="u")
            stored = {f.text: f.role for f in m.get_all(user_id="u")}
            hit = m.search("Which city are the train tickets for?", user_id="u", limit=1)[0]
    # Each message as said, under its own role; not the chat as one memory.
    assert stored == {t["content"]: t["role"] for t in _chat()}
    assert hit.text == _chat()[3]["content"]


def test_a_long_log_of_one_speaker_is_stored_by_the_offline_extractor(tmp_path):
    """300 short messages of the user in one add(): one window, read as one text, found
    more than max_extracted_items (200) facts and names, and the whole add was refused.
    That limit is for a model's answer; the offline extractor's output follows its input."""
    cities = ["Lyon", "Porto", "Oslo", "Rome", "Vienna"]
    log = [{"role": "user", "content": f"I met Dana{n} in {cities[n % 5]}."} for n in range(300)]
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        added = m.add(log, user_id="u", infer=True)
        assert len(added.facts) == 300
        hits = m.search("Where did I meet Dana123?", user_id="u", limit=3)
    assert hits[0].text == "I met Dana123 in Rome."
