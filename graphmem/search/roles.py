"""The assistant as the one a question asks about: "the restaurant you recommended".

A chat kept turn by turn (``ingest/turns.py``) stores the assistant's replies beside the
user's words, each with its ``role``. A question put in the user's voice, as an agent
passes it on, says "I" and "my" for the user (``graph.query_keys`` reads them so) and
"you" for the assistant. So when a question asks what the assistant said, suggested or
recommended, a hit that is the assistant's words gains the recipe's ``assistant_weight``
(0.25 in ``text``, ``hybrid`` and ``hybrid_ppr``), shown as the ``assistant`` part, as a
hit said by a speaker the question names gains ``speaker_weight`` (``boost.speakers``).
It is larger than the speaker's 0.1: a question naming a speaker may still be answered by
the other one (LoCoMo's adversarial questions), while one asking what the assistant
recommended is answered by what the assistant said. It still adds, so a user's turn that
matches the question far better keeps its place. No benchmark suite asks about the
assistant (LoCoMo has no assistant turns; the ``recall`` suite's replies are never the
answer), so the weight is a choice, not a measured optimum.

"You" alone is not enough: "Can you remind me what my wife is allergic to?" asks the
assistant to recall the user's own words. The question must say what the assistant did
("you recommended", "did you suggest", "you've told me"), name its words ("your
suggestion", "your advice"), or name it ("the assistant"). Asking it to remember, recall
or know ("do you remember", "did you know") is a request, not a question about its words.

An agent may search in its own voice instead: "Which restaurant did I suggest to the
user?". There "I" is the assistant, and the question names the user, so a question that
names the user and says what "I" did, or names "my" words ("my advice"), asks about the
assistant too. Without "the user" in it, "I" stays the user ("What did I tell you?").
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .boost import lift
from .fuse import Fused

ASSISTANT = "assistant"
# Past forms of what an assistant does with words; "-ed" covers the regular ones (not
# "need", "feed": no "e" before it).
_DID = (r"(?:\w+[^e\W]ed|said|told|gave|wrote|made|sent|showed|shown|brought|thought|found|chose"
        r"|chosen|meant|put|took|taken|drew|built|came)")  # fmt: skip
_WORDS = (r"(?:suggestions?|recommendations?|advice|answers?|repl(?:y|ies)|ideas?|tips?"
          r"|picks?|opinions?|explanations?|responses?|list|plan|recipes?|choices?)")  # fmt: skip
_NOT_ASKED = r"(?:remember|recall|know|mind|think|see|hear|notice|get)"


def _said_by(person: str, possessive: str) -> str:
    """What ``person`` did with words ("you recommended", "did you suggest") or their
    words ("your advice"): the assistant's, said to it as "you" or by it as "I"."""
    return (rf"\b{person}(?:'ve|'d|\s+have|\s+had)?\s+(?:\w+ly\s+|also\s+|once\s+){{0,2}}"
            rf"{_DID}\b|\bdid\s+{person}\s+(?:\w+ly\s+|also\s+|ever\s+)?(?!{_NOT_ASKED}\b)"
            rf"[a-z]+\b|\b{possessive}\s+(?:\w+\s+)?{_WORDS}\b")  # fmt: skip


_ASKS = re.compile(
    r"\b(?:the|my|our)\s+(?:ai\s+)?(?:assistant|chatbot|bot)\b|" + _said_by("you", "your"),
    re.IGNORECASE,
)
# An agent that searches in its own voice says "the user" for the user, and "I" and "my"
# for itself: "Which restaurant did I suggest to the user?". Read so only when the
# question names the user: otherwise "I" is the user, as everywhere else.
_NAMES_USER = re.compile(r"\b(?:the\s+)?user(?:'s|s')?\b", re.IGNORECASE)
_ASKS_AS_AGENT = re.compile(_said_by("I", "my"), re.IGNORECASE)
# Only the best of a search are looked at: the role is read from the stored payload.
ROLE_CANDIDATES = 100


def asks_assistant(query: str) -> bool:
    """Whether ``query`` asks about what the assistant said (see the module)."""
    if _ASKS.search(query) is not None:
        return True
    return _NAMES_USER.search(query) is not None and _ASKS_AS_AGENT.search(query) is not None


def assistant_part(fused: list[Fused], role_of: Callable[[str], str], weight: float) -> list[Fused]:
    """``fused`` with ``weight`` added to each of its first ``ROLE_CANDIDATES`` entries that
    is the assistant's words (``role_of(memory id)``), re-sorted; shown as the ``assistant`` part."""
    if weight <= 0 or not fused:
        return fused
    return lift(fused, lambda rank, f: rank < ROLE_CANDIDATES and role_of(f.memory_id) == ASSISTANT,
                weight, "assistant")  # fmt: skip


__all__ = ["ASSISTANT", "ROLE_CANDIDATES", "assistant_part", "asks_assistant"]
