"""The recall suite's question sets: what each keeps is what it claims to test."""

from __future__ import annotations

from dataclasses import replace

from benchmarks.locomo import Conversation, EvidenceAudit, LocomoData, Question, Turn
from benchmarks.suites.locomo import select_conversations
from benchmarks.suites.recall import MERGED, distant, implicit, merged, with_replies


def _data() -> LocomoData:
    said = ["Ann: I adopted a puppy", "Bob: lovely, what breed", "Ann: a beagle",
            "Bob: I started painting", "Ann: watercolours or oils", "Bob: oils mostly",
            "Ann: my dog chews everything"]  # fmt: skip
    turns = [Turn(f"D1:{i}", 1, t.split(":")[0], t, "2024-01-01") for i, t in enumerate(said, 1)]
    conversation = Conversation("c", ("Ann", "Bob"), {1: "2024-01-01"}, turns)

    def ask(index: int, text: str, gold: str) -> Question:
        return Question("c", index, text, "", 1, (gold,), (gold,))

    questions = [
        ask(1, "Which pet did Ann get?", "D1:1"),  # nothing near it says "pet"
        ask(2, "What does Bob paint with?", "D1:6"),  # "paint" is two turns before
        ask(3, "Does Ann's beagle chew?", "D1:3"),  # shares "beagle": not implicit
    ]
    return LocomoData([conversation], questions, EvidenceAudit())


def test_implicit_keeps_questions_sharing_no_word_with_their_gold():
    assert [q.index for q in implicit(_data()).questions] == [1, 2]


def test_distant_also_drops_questions_whose_gold_neighbours_share_their_words():
    # Question 2's gold ("oils mostly") shares nothing, but "painting" sits two turns
    # before it: neighbour lifting can find it by its words, so it is not distant.
    assert [q.index for q in distant(_data()).questions] == [1]


def test_replies_restate_their_turn_and_distractors_never_do():
    data = _data()
    echo = [t for t in with_replies(data, 60, 0).conversations[0].turns if t.speaker == "assistant"]
    far = [t for t in with_replies(data, 60, 0, echo=False).conversations[0].turns
           if t.speaker == "assistant"]  # fmt: skip
    turns = data.conversations[0].turns
    assert len(echo) == len(far) == len(turns)  # one reply after every turn
    assert all(
        f'You said: "{t.text.split(": ", 1)[1]}"' in r.text
        for t, r in zip(turns, echo, strict=True)
    )
    assert not any("You said" in r.text for r in far)
    assert all(len(r.text.split()) >= 60 for r in far)  # long, full of other turns' words
    assert with_replies(data, 60, 0).questions == data.questions  # gold stays on the turns


def test_selecting_conversations_leaves_the_loaded_data_whole():
    """The recall suite selects twice from one load (its sets and the replies set)."""
    one = _data()
    other = replace(one.conversations[0], sample_id="d")
    data = replace(one, conversations=[one.conversations[0], other],
                   questions=[*one.questions, replace(one.questions[0], sample_id="d")])  # fmt: skip
    first = select_conversations(data, "0-0")
    assert [c.sample_id for c in first.conversations] == ["c"] and len(first.questions) == 3
    assert [c.sample_id for c in data.conversations] == ["c", "d"]
    assert len(data.questions) == 4


def test_merged_puts_every_chat_in_one_scope_and_keeps_their_sessions_apart():
    one = _data()
    other = replace(one.conversations[0], sample_id="d")
    data = replace(one, conversations=[one.conversations[0], other],
                   questions=[*one.questions, replace(one.questions[0], sample_id="d")])  # fmt: skip
    whole = merged(data)
    [chats] = whole.conversations
    assert chats.sample_id == MERGED and len(chats.turns) == 2 * len(one.conversations[0].turns)
    ids = [t.dia_id for t in chats.turns]
    assert len(set(ids)) == len(ids) and ids[0] == "c/D1:1" and "d/D1:1" in ids
    # Both chats had a session 1: merged, they stay two, so no turn neighbours the other's.
    assert {t.session for t in chats.turns if t.dia_id.startswith("c/")}.isdisjoint(
        {t.session for t in chats.turns if t.dia_id.startswith("d/")}
    )
    assert [q.gold for q in whole.questions] == [("c/D1:1",), ("c/D1:6",), ("c/D1:3",), ("d/D1:1",)]
    assert {q.sample_id for q in whole.questions} == {MERGED}
    assert len({q.index for q in whole.questions}) == 4  # still one id per question
