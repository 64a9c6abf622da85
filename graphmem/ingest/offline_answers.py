"""Short answers to a question about oneself: "Where do you live?" / "Berlin, for now."

An assistant asks and the user answers with a name alone: "Where are you based?" /
"Lisbon!", "Who do you work for?" / "Stripe, on the payments team." The answer says
neither who nor what; the question says both. ``AskedAbout`` keeps the question a turn
asked, and reads the next turn's first two sentences, by someone else, as the answer
when one opens with a name and says no more of it ("At Google, in ads" is Google; "Bob's
bakery" or "Bob asked me that too" is not read). A question with no such answer after it
is forgotten. Carried from turn to turn with ``offline_pronouns.Antecedents``, as pets are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .offline_mentions import Mention
from .offline_patterns import ENTITY, PLACEHOLDER
from .offline_ties import Found

_P, _ORG, _LOC = "person", "organization", "location"
# What a question asks of the one it is put to, and the relation its answer gives.
_QUESTIONS = (
    (r"where\s+(?:do|did)\s+you\s+(?:live|stay)|where\s+are\s+you\s+(?:living|based|staying"
     r"|located)|where(?:'s|\s+is)\s+home\s+for\s+you", "lives_in", _LOC),
    (r"where\s+(?:do|did)\s+you\s+work|where\s+are\s+you\s+working|who\s+do\s+you\s+work\s+for"
     r"|what\s+company\s+(?:do|are)\s+you", "works_at", _ORG),
    (r"where\s+are\s+you\s+from|where\s+do\s+you\s+come\s+from|where\s+were\s+you\s+born",
     "comes_from", _LOC),
    (r"where\s+did\s+you\s+grow\s+up", "grew_up_in", _LOC),
    (r"where\s+(?:do|did)\s+you\s+(?:study|go\s+to\s+(?:school|college|university|uni))",
     "studies_at", _ORG),
)  # fmt: skip
_ASKED = [(re.compile(rf"\b(?:{q})\b"), relation, kind) for q, relation, kind in _QUESTIONS]
# The answer opens with the name (after an "oh", a "well" or a preposition) and leaves it
# there: punctuation, the end, or a word that says no more of it.
_ANSWER = re.compile(
    r"^\s*(?:(?:oh|well|um|uh|so|haha|yeah|yes|currently|now)\b[\s,!.]*)?"
    r"(?:(?:in|at|for|from|near|with|just\s+outside(?:\s+of)?|outside(?:\s+of)?)\s+)?"
    rf"(?:the\s+)?(?P<b>{ENTITY})"
    r"(?=\s*(?:[,.!;:)]|$)|\s+(?:for\s+now|now|currently|these\s+days|actually|mostly|"
    r"originally|right\s+now|area|though|haha)\b)"
)


class AskedAbout:
    """A question about the one it is put to, waiting a turn for its short answer."""

    def __init__(self) -> None:
        self.pending: tuple[str, str] | None = None  # (relation, target type) asked
        self.asker = ""  # who asked: never the one who answers
        self.answerer = ""  # who speaks the turn that may answer
        self.turns = 0  # turns the question waits
        self.left = 0  # sentences of this turn that may answer
        self.speaker = ""

    def begin(self, speaker: str) -> None:
        """A new turn by ``speaker``: the one after a question may answer it."""
        self.speaker, self.answerer, self.left = speaker, "", 0
        if self.pending is None:
            return
        if self.turns <= 0:
            self.pending = None
            return
        self.turns -= 1
        if speaker and speaker != self.asker:
            self.answerer, self.left = speaker, 2  # "Oh! Berlin."

    def heard(self, lowered: str) -> None:
        """Any sentence: a question about the one it is put to waits for its answer."""
        if "?" not in lowered or "you" not in lowered:
            return
        for question, relation, kind in _ASKED:
            if question.search(lowered):
                self.pending, self.asker, self.turns = (relation, kind), self.speaker, 1
                return

    def read(self, template: str, mentions: Sequence[Mention]) -> list[Found]:
        """The relation this sentence's short answer gives, if it is one."""
        if self.pending is None or not self.answerer or self.left <= 0:
            return []
        self.left -= 1
        match = _ANSWER.match(template)
        target = mentions[int(PLACEHOLDER.match(match.group("b")).group(1))] if match else None
        if target is None or target.kind in ("speaker", "concept"):
            return []
        relation, kind = self.pending
        self.pending = None
        source = Mention(0, 0, self.answerer, "speaker")
        return [Found(relation, source, target, _P, kind)]
