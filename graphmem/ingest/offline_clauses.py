"""The simpler sentences inside one sentence, for the offline extractor's rules to read.

``variants`` gives, beside a sentence's template, the same sentence without an inserted
part ("Carol, my sister, lives in Lyon" -> "Carol lives in Lyon"), each "who" clause as a
sentence of its own ("Alice, who lives in Paris, ..." -> "Alice lives in Paris"), and
each second clause with the first one's subject ("Alice got a job at Acme and moved to
Paris" -> "Alice moved to Paris"). The verb and adverb alternations built here are read
by ``offline_dates`` (where clauses part) and ``offline_mentions`` (a left-out "I").
``negated``: whether a sentence is negated or hedged, so that no rule reads it.
"""

from __future__ import annotations

import re

from .offline_patterns import ENTITY, KIN, OPEN, name_list
from .offline_words import CLAUSE_VERBS, LEFT_OUT_ADVERBS, LEFT_OUT_VERBS

# "Carol, my sister, lives in Lyon" and "Alice, who lives in Paris, works at Acme": the
# rules also read the sentence without the inserted part, and the "who" clause alone.
_APPOSITIVE = re.compile(rf"\s*,\s*(?:who\s+is\s+)?{ENTITY}'s\s+{KIN}\s*,")
_RELATIVE = re.compile(rf"({ENTITY})\s*,\s*(?:who|which)\s+[^,]{{0,200}},")
_WHO_CLAUSE = re.compile(rf"({ENTITY})\s*,?\s+(?:who|which)\s+([^,.;!?]{{0,200}})")
# A verb a subject may be left out before, and an adverb that may precede it
# (``offline_words.LEFT_OUT_VERBS``): read here and by ``offline_mentions.left_out``.
LEFT_OUT_VERB = rf"(?:{'|'.join(LEFT_OUT_VERBS)})(?![\w'-])"
LEFT_OUT_ADVERB = rf"(?:{'|'.join(LEFT_OUT_ADVERBS)})"
# "Alice got a job at Acme and moved to Paris", "Alice works at Acme and lives in
# Paris": a second clause that leaves its subject out has the first one's, when both open
# with a verb the rules know. The first clause holds no relative clause: in "Alice worked
# with Bob, who moved to Paris and joined Acme", Bob joined Acme, not Alice (that "who"
# clause is read as Bob's below).
_ADVERBS = rf"(?:\s+{LEFT_OUT_ADVERB}){{0,2}}"
# A verb a clause with its subject may open with (``offline_dates`` reads it too).
CLAUSE_VERB = rf"(?:{'|'.join(LEFT_OUT_VERBS + CLAUSE_VERBS)})(?![\w'-])"
_NO_RELATIVE = r"(?:(?!\s(?:who|whom|whose|which|that|where)\s)[^.;!?]){0,200}?"
# The subject may be a list: "Tom and I both work at Acme and live in Denver", and come
# after an opening phrase set off by a comma: "In 2019, I moved to Paris and joined Acme".
_SUBJECTS = name_list()
# "I was born in Nairobi and grew up in London", "... and raised in London": a birth
# opens such a pair too, though "was" alone does not ("I was told Bob ... and works at").
_BORN = r"(?:was|were)\s+born(?![\w'-])"
_RAISED = r"raised\s+in(?![\w'-])"
_AND_THEN = re.compile(
    rf"^\s*(?:[^,.;!?{OPEN}]{{1,60}},\s*)?({_SUBJECTS})(?:\s+(?:both|all))?{_ADVERBS}"
    rf"\s+(?:{CLAUSE_VERB}|{_BORN}){_NO_RELATIVE}\s+(?:and|but){_ADVERBS}"
    rf"\s+((?:{CLAUSE_VERB}|{_RAISED}|{_BORN})[^.;!?]{{0,200}})"
)


def variants(template: str) -> list[str]:
    """The template, then the simpler sentences inside it, for the rules to read."""
    out = [template]
    reduced = _RELATIVE.sub(r"\1", _APPOSITIVE.sub("", template))
    if reduced != template:
        out.append(reduced)
    clauses = [f"{m.group(1)} {m.group(2)}" for m in _WHO_CLAUSE.finditer(template)]
    out += clauses
    # Each second clause of the sentence, or of a "who" clause ("Bob, who moved to Paris
    # and joined Acme" -> "Bob joined Acme").
    for text in (template, *clauses):
        out += [f"{m.group(1)} {m.group(2)}" for m in _AND_THEN.finditer(text)]
    return out


# No relations from questions, negated or hedged sentences: precision over recall.
_SKIP_RELATIONS = re.compile(
    r"\b(?:not|never|no\s+longer|neither|nor|cannot|if|unless|whether|maybe|perhaps|wish"
    r"|hope|suppose|imagine|pretend|dreamed|dreamt)\b|n't"
)
# The negations that are the statement itself, not a reason to skip: a job or a home that
# ended ("no longer works at Acme", "doesn't live in Paris anymore"), read by the ending
# rules (``@left_job``), and a dislike ("I don't like cilantro", "I can't stand country
# music", "I'm not a fan of sushi"), read by the ``dislikes`` rules.
_ENDED = re.compile(
    r"\bno\s+longer\s+(?=(?:works?|working|lives?|living)\s+(?:at|for|in)\b)"
    r"|(?:n't|\bnot)\s+(?=(?:work|working|live|living)\s+(?:at|for|in)\s[^.;!?]{0,80}?\bany\s?more\b)"
    r"|(?:n't|\bnot|\bcannot)\s+(?=(?:really\s+|much\s+|particularly\s+)?(?:like|enjoy|"
    r"stand|bear)\b)|\bnot\s+(?=(?:really\s+)?(?:an?\s+(?:big\s+|huge\s+)?fan\s+of|into)\b)"
)


def negated(lowered: str) -> bool:
    """Whether a sentence is negated or hedged, so states no relation; "no longer works at
    Acme" is not: it says a job ended."""
    if _SKIP_RELATIONS.search(lowered) is None:
        return False
    rest = _ENDED.sub(" ", lowered)  # the sentence less the ends it says
    return rest == lowered or _SKIP_RELATIONS.search(rest) is not None
