"""Focus: what the question asks about, without its question words and the people it names.

A list question ("What martial arts has John done?", "Which countries has James
visited?") is answered by several memories, each naming one instance ("I'm doing
kickboxing"), and none of them repeats the question. The query's embedding is pulled
towards the person named and the question's frame ("has ... done"), so the instances rank
below memories that merely talk *about* the topic near it. The focus is the query's
content words less the stopwords and the names of the speakers among the candidates
("martial arts"). Below the fusion's first ``FOCUS_KEEP`` (5), each fused candidate gains
``Recipe.focus_weight`` times its cosine to the focus (the best of its message and its
facts), min-max from the scope's lowest cosine to the best candidate's, and what someone
other than the person named said counts half its cosine above that floor (``OTHERS``):
on LoCoMo 500 of the 524 gold turns multi-hop questions missed were said by the person
the question names. The first five count as fully on focus, so the focus never changes
them: it fills the places after them. A query that names no speaker is left as it is: its
focus would be the query less its stopwords, which its own vector already weighs. The
focus text is embedded in the query's own call when the question capitalises only
speakers' names (``likely_focus``; 73% of LoCoMo's) and the scope's last search found
speakers, else in a second call. ``text`` and ``hybrid`` share it, so the graph stays
their one difference.

Measured (MiniLM, default ``add()``; LoCoMo, all ten conversations: recall@10 of
categories 1-4, 1,536 questions; multi-hop = category 1 all-gold@10, 282 questions;
adversarial = category 5 recall@10, 446, outside the headline; the ``recall`` suite's
``implicit`` (233 questions, recall@5 / @10) and ``distant`` (67) sets are subsets of the
same questions; ``replies`` (conversations 0-2 with a 250-word assistant reply after every
turn, 383 questions) is its own data; hybrid, speaker 0.1 unless said):

    hybrid variant                 LoCoMo  multi-hop   advers.  implicit       distant  replies
    no focus (before)              0.755   0.213 (60)  0.757    0.204 / 0.378  0.097    0.768
    focus 0.4 over the top 200     0.768   0.255 (72)  0.754    0.158 / 0.378  0.179    -
      (speaker 0.15)
    first 3 kept, focus 0.4        0.763   0.248 (70)  0.798    0.145 / 0.367  0.164    -
    first 5 kept, focus 0.3        0.764   0.241 (68)  0.791    0.204 / 0.382  0.142    -
    first 5 kept, focus 0.4        0.764   0.245 (69)  0.794    0.204 / 0.382  0.164    0.754
    first 5 kept, focus 0.6        0.761   0.255 (72)  0.793    0.204 / 0.362  0.172    -
    the same, others' cosine 0     0.770   0.262 (74)  0.631    0.204 / 0.401  0.187    0.778
    others' cosine half (kept)     0.771   0.259 (73)  0.678    0.204 / 0.401  0.187    0.775

Weighing every candidate alike let the assistant's replies, which restate the topic in
the question's words, take the places after the first five (``replies`` 0.768 -> 0.754,
single-hop 0.835 -> 0.800); weighing only what the person named said recovers them and
more. The cost is adversarial questions, which pin one speaker's words on the other: what
the other said is what they need, and counting it half holds part of it.

Re-scoring the whole top 200 gained most on multi-hop but cost the implicit set's
recall@5 (0.204 -> 0.158): the focus pushed the turn the question meant out of the first
five. Keeping them costs a few multi-hop questions and none of the first five anywhere; a
larger speaker part costs adversarial questions (they pin one speaker's words on the
other). Not kept, same data: query-term coverage re-ranking (xQuAD over the query's
terms, 0.1 / 0.3 of a share): 0.754 / 0.755, multi-hop unchanged (0.213): the missing gold
of multi-hop questions shares no content word with the question in 303 of 524 cases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ..index.keyword import STOPWORDS
from ..index.payload_rows import speaker_of
from .fuse import Fused

# A word starts with a letter of any script ("José", "Zoë"); "'" or "’" and "-" inside it.
_WORD = re.compile(r"[^\W\d_][\w'’\-]*")
_POSSESSIVE = re.compile(r"['’][sS]$")
FOCUS_CANDIDATES = 200  # fused candidates re-scored; the rest keep their place below
FOCUS_KEEP = 5  # the fusion's first candidates, left in their places
OTHERS = 0.5  # the cosine share of what someone other than the person named said
SPEAKERS_FROM = 60  # the speakers of this many best candidates are the names left out


def speakers_among(fused: list[Fused],
                   members: Callable[[str], Iterable[Mapping[str, Any]]]) -> set[str]:  # fmt: skip
    """Lower-cased words of the speakers of the best candidates."""
    names = set()
    for f in fused[:SPEAKERS_FROM]:
        for payload in members(f.memory_id):
            said = speaker_of(payload)
            if said:
                names.update(w.lower() for w in said.split())
    return names


def focus_text(query: str, names: set[str]) -> str:
    """The query's words less stopwords and ``names`` (a possessive "'s" dropped)."""
    kept = []
    for word in _WORD.findall(query):
        word = _POSSESSIVE.sub("", word)
        if word.lower() in STOPWORDS or word.lower() in names:
            continue
        kept.append(word)
    return " ".join(kept)


def likely_focus(query: str) -> str:
    """The focus text if every word the query capitalises is a speaker's name ("What
    martial arts has John done?": "martial arts done"), else "". Embedded with the query
    (``engine._Run.vector``), it spares the second embedding call whenever it is the
    focus ``focus_text`` makes from the speakers found; the call is made when it is not."""
    names = set()
    for word in _WORD.findall(query):
        if word[:1].isupper():
            names.add(_POSSESSIVE.sub("", word).lower())
    guess = focus_text(query, names)
    return guess if guess and guess != focus_text(query, set()) else ""


def focused(fused: list[Fused], cosines: Callable[[str], float], floor: float,
            weight: float) -> list[Fused]:  # fmt: skip
    """The best ``FOCUS_CANDIDATES`` with ``weight`` x their focus cosine (min-max from
    ``floor`` to the best of them) added as the ``focus`` part, re-sorted; the rest after.
    The first ``FOCUS_KEEP`` take the whole weight, so they keep their places; a candidate
    without the ``speaker`` part (said by no one the query names) counts ``OTHERS`` of its
    cosine above ``floor``."""
    head = fused[:FOCUS_CANDIDATES]
    if weight <= 0 or not head:
        return fused
    values = np.array([cosines(f.memory_id) for f in head])
    named = np.array(["speaker" in f.parts for f in head])
    values = np.where(named, values, floor + OTHERS * (values - floor))
    values[:FOCUS_KEEP] = values.max()  # counted as on focus: nothing passes them
    best = float(values.max())
    share = (np.clip((values - floor) / (best - floor), 0.0, 1.0) if best - floor > 1e-9
             else np.ones_like(values))  # fmt: skip
    out = [Fused(f.memory_id, f.score + weight * float(s), {**f.parts, "focus": weight * float(s)},
                 dict(f.raw), dict(f.ranks)) for f, s in zip(head, share, strict=True)]  # fmt: skip
    return sorted(out, key=lambda f: (-f.score, f.memory_id)) + fused[FOCUS_CANDIDATES:]
