"""How much a sentence is worth keeping, and whether it is a standing rule, without a model.

``importance`` starts every sentence at 0.5 and adds each cue it finds, once:

    cue                 change  examples
    remember request    +0.30   "Remember that my PIN is 4412", "don't forget...", "keep in mind"
    standing rule       +0.25   "Always answer in French", "from now on, call me Sam"
    preference          +0.15   "I prefer tea", "I love hiking", "I hate mornings", "my favourite"
    date                +0.10   "on May 3", "in 2021", "next Friday", "tomorrow"
    named person        +0.10   a person other than the speaker ("Bob", "Dr. Lee")
    relation            +0.05   the extractor read a relation from it (works_at, lives_in...)
    question            -0.15   ends with "?": asks rather than states
    small talk          -0.30   greetings, thanks and fillers with at most one other word
                                (a name, usually); it then takes no date/person/relation cue

then clamps the sum to [0.05, 1.0]. The cues that fired are returned with the score
(``rate``), so a stored importance can always be traced back to words of the sentence.

``is_rule`` is the narrow test the offline extractor uses to store a sentence as a
``"rule"`` memory when the caller did not say. It wants an instruction aimed at the
assistant: a sentence opening with always / never / don't / please don't / stop / avoid
followed by a verb an assistant does (answer, call, use, send, remind...), or "from now
on" / "going forward" / "in future" followed by "you" or such a verb, or "I want you to
always/never...". "Never give up!", "Don't worry" and "From now on I'll run daily" are
not rules: encouragement and the speaker's own plans are facts. Measured on LoCoMo's
17,108 sentences (people chatting, no assistant in the room, so every hit is a false
rule): one ("Stop talking about me, tell me more about your retreat."). The same run
counted the cues small talk 2,670, question 2,007, date 462, preference 266, remember 1.
"""

from __future__ import annotations

import re

from . import offline_words as words

BASE = 0.5
FLOOR, CEILING = 0.05, 1.0
WEIGHTS = {
    "remember": 0.30,
    "rule": 0.25,
    "preference": 0.15,
    "date": 0.10,
    "person": 0.10,
    "relation": 0.05,
    "question": -0.15,
    "small_talk": -0.30,
}

_PREFERENCE = re.compile(
    r"\b(?:i|i'm|i am|we)\s+(?:really\s+|truly\s+|absolutely\s+|do\s+|don'?t\s+|do not\s+|"
    r"kind of\s+|always\s+|never\s+|still\s+)?(?:prefer|like|love|adore|enjoy|hate|dislike|"
    r"detest|can'?t stand|cannot stand|allergic|vegan|vegetarian|into)\b|"
    r"\bmy (?:favou?rite|preference|preferred)\b|\bi'?d rather\b|\bi would rather\b",
    re.I,
)
_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
# Full month names but "may" (a verb far more often than a month in chat).
_MONTHS = "january|february|march|april|june|july|august|september|october|november|december"
_DATE_WORDS = re.compile(
    rf"\b(?:today|tomorrow|yesterday|tonight|{_DAYS}|{_MONTHS})\b|"
    r"\b(?:next|last|this)\s+(?:week|month|year|weekend|summer|winter|spring|autumn|fall)\b|"
    r"\b\d{1,2}(?:st|nd|rd|th)\b|\b(?:19|20)\d\d\b",
    re.I,
)
# Verbs an assistant carries out: an instruction using one is about how to behave.
_ASSISTANT_VERBS = frozenset(
    """
    answer reply respond write format include mention suggest recommend send book schedule
    remind ask show list add cc email text use call address refer spell sign round convert
    translate put start end keep share contact order summarise summarize explain speak talk
    greet notify offer assume double confirm wake interrupt store save delete report
    """.split()
)
_LEAD = r"^(?:(?:ok(?:ay)?|so|and|also|oh|hey|btw|one more thing)[,:\s]+)*(?:please[,\s]+)?"
# A request to remember, not reminiscing ("I remember that trip") or advice ("Remember,
# it's never too late"): a plain "remember" fired on 117 LoCoMo sentences, all of those.
_REMEMBER = re.compile(
    _LEAD + r"(?:remember|don'?t forget|do not forget|keep in mind|note)(?:\s+that\b|\s*:)|"
    r"\b(?:make a note|for future reference|for the record)\b|"
    r"\bi (?:want|need) you to remember\b",
    re.I,
)
_REMEMBER_ASK = re.compile(r"\b(?:can|could|will|would|please) you (?:please )?remember\b", re.I)
_RULE_OPEN = re.compile(
    _LEAD + r"(?:always|never|don'?t|do not|(?:stop|avoid))\s+(?:ever\s+)?(?P<verb>[a-z']+)",
    re.I,
)
_RULE_FROM_NOW = re.compile(
    _LEAD + r"(?:from now on|going forward|in (?:the )?future)[,\s]+(?:please[,\s]+)?"
    r"(?P<rest>.*)$",
    re.I,
)
_RULE_WANT = re.compile(
    r"\b(?:i want|i'd like|i would like|i need)\s+you\s+to\s+(?:always|never)\b|"
    r"\byou (?:should|must) (?:always|never)\b",
    re.I,
)
_WORD = re.compile(r"[a-z']+")


def _base_verb(word: str) -> str:
    """ "sending" -> "send", "answers" -> "answer": enough for the verb list above."""
    word = word.casefold()
    for suffix, put_back in (("ing", ""), ("ing", "e"), ("s", "")):
        stem = word[: -len(suffix)] + put_back
        if word.endswith(suffix) and stem in _ASSISTANT_VERBS:
            return stem
    return word


def is_rule(sentence: str) -> bool:
    """True when ``sentence`` instructs the assistant how to behave from now on."""
    text = sentence.strip()
    if text.endswith("?"):
        return False
    if _RULE_WANT.search(text):  # a search: no part of the sentence after this matches
        return True
    # "from now on, always answer in French": what follows the opener is read as a
    # sentence of its own, opener after opener. A loop, not a call per opener: a message
    # repeating "From now on, " a thousand times raised RecursionError.
    while True:
        opened = _RULE_OPEN.match(text)
        if opened and _base_verb(opened.group("verb")) in _ASSISTANT_VERBS:
            return True
        later = _RULE_FROM_NOW.match(text)
        if not later:
            return False
        rest = _WORD.findall(later.group("rest").casefold())
        if not rest:
            return False
        if rest[0] in ("you", "your") or _base_verb(rest[0]) in _ASSISTANT_VERBS:
            return True
        text = later.group("rest").strip()


def rate(
    sentence: str, *, people: int = 0, dated: bool = False, related: bool = False
) -> tuple[float, tuple[str, ...]]:
    """(importance in [0.05, 1.0], the cues that set it), by the table in the docstring.

    ``people`` counts the named persons other than the speaker, ``dated`` says the
    extractor read a date, ``related`` that it read a relation: the caller knows these
    better than a second look at the words would.
    """
    text = sentence.strip()
    said = _WORD.findall(text.casefold())
    cues = []
    asks = text.endswith("?")
    if (_REMEMBER.search(text) and not asks) or _REMEMBER_ASK.search(text):
        cues.append("remember")
    if is_rule(text):
        cues.append("rule")
    if _PREFERENCE.search(text):
        cues.append("preference")
    # "Thanks, Maria!" names a person and is still small talk: it outranks the weak cues.
    if not cues and said and sum(w not in words.FILLER for w in said) <= 1:
        cues.append("small_talk")
    else:
        if dated or _DATE_WORDS.search(text):
            cues.append("date")
        if people > 0:
            cues.append("person")
        if related:
            cues.append("relation")
        if asks:
            cues.append("question")
    value = BASE + sum(WEIGHTS[c] for c in cues)
    return round(min(CEILING, max(FLOOR, value)), 2), tuple(cues)


def importance(
    sentence: str, *, people: int = 0, dated: bool = False, related: bool = False
) -> float:
    """``rate`` without the reasons."""
    return rate(sentence, people=people, dated=dated, related=related)[0]
