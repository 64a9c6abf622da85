"""The recall suite's question sets: what each keeps is what it claims to test."""

from __future__ import annotations

from benchmarks.locomo import Conversation, EvidenceAudit, LocomoData, Question, Turn
from benchmarks.suites.recall import distant, implicit


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
