"""Score parts added after fusion: the speaker the query names, recency and importance.

**Speaker** (``speaker_weight``, 0.1 in ``text``, ``hybrid`` and ``hybrid_ppr``): a hit
said by someone the query names gains the weight, shown as the ``speaker`` part. Who said
a memory is its ``metadata.speaker``; the query names them by their first word or every
word of their name, compared as BM25 compares words (``keyword.tokenise``). A question
about a person is answered by what that person said: on LoCoMo 96% of the gold turns of
questions naming one speaker are that speaker's, yet BM25 weighs the name little (it is
in half of the turns) and MiniLM less. Memories without a speaker, or a query naming no
one (or every speaker alike), are ranked as before. Measured (MiniLM, categories 1-4,
recall@10 / multi-hop all-gold@10; ``add()`` default path / turns stored whole; the
``recall`` suite's ``replies``, conversations 0-2, turns stored whole):

    hybrid, speaker_weight            LoCoMo (1,536 q.)              replies (383 q.)
    0 (before)                        0.737 / 0.738, 0.181 / 0.184   0.703
    0.1 (the default)                 0.753 / 0.752, 0.202 / 0.202   0.762
    0.15                              0.753 / 0.754, 0.206 / 0.206   -
    score times 1.1 instead of +0.1   0.771 on conversations 0-4     0.739
      (verbatim; +0.1 there: 0.770)

Chosen on conversations 0-4 (0.760 -> 0.770, verbatim), checked on 5-9 (0.716 ->
0.735). The ``recall`` suite's ``implicit`` questions gain too (0.318 -> 0.340) and
``distant`` is unchanged (0.030; dense 0.095). Dense alone scores 0.451 on LoCoMo and
0.511 on ``replies``. The cost: LoCoMo's adversarial questions (category 5, outside the
headline), which pin what one speaker said on the other, fell 0.857 -> 0.795 recall@10
(``benchmarks/results/locomo/``): the part trusts the name the question gives.

**Recency and importance** (issue 17).

A recipe with ``recency_weight`` or ``importance_weight`` above 0 adds, to each fused
hit's score,

    importance_weight * importance                    (the memory's, 0.5 when unset)
    recency_weight    * 0.5 ** (age / recency_half_life days)

where age runs from the memory's last access (``last_accessed_at``), else its last change
(``updated_at``/``created_at``), to the search's ``now`` (the ``Memory``'s clock). A hit
standing for several memories (one message's facts) takes its best member's values.
Both parts show in ``Hit.score_parts`` and ``Hit.explain()`` as ``importance`` and
``recency``. They are 0 in every named recipe, because neither was seen to help:

- importance, LoCoMo conversations 0-2 (``add()`` with the offline extractor, MiniLM,
  categories 1-4, 383 questions, one run): ``hybrid`` recall@10 0.793, MRR 0.530; with
  ``importance_weight`` 0.05 / 0.1 / 0.2: 0.794 / 0.791 / 0.796, MRR 0.529 / 0.530 /
  0.528, all inside hybrid's 95% interval [0.756, 0.830]. The offline cues mark
  preferences, dates and people, which LoCoMo's questions ask about no more than the rest.
- recency cannot be measured on a benchmark that ingests everything at once (every
  memory is equally fresh); it is for agents whose memories age between sessions.

What they do is re-order what the channels found; they add no candidates, so a memory
no channel matched stays out however important or fresh it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from ..index.keyword import tokenise
from ..index.payload_rows import speaker_of
from ..lifecycle.fields import DEFAULT_IMPORTANCE
from .fuse import Fused

DAY = 86_400.0


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def importance_of(payload: Mapping[str, Any]) -> float:
    value = payload.get("importance")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        return DEFAULT_IMPORTANCE
    return float(value)


def freshness(payload: Mapping[str, Any], now: datetime, half_life_days: float) -> float:
    """1.0 for a memory touched at ``now``, halving every ``half_life_days``; 0 if undated."""
    touched = (
        payload.get("last_accessed_at") or payload.get("updated_at") or payload.get("created_at")
    )
    when = _time(str(touched)) if touched else None
    if when is None:
        return 0.0
    age = max(0.0, (now - when).total_seconds() / DAY)
    return 0.5 ** (age / half_life_days)


def boost(
    fused: list[Fused],
    members: Callable[[str], Iterable[Mapping[str, Any]]],
    *,
    recency_weight: float,
    importance_weight: float,
    half_life_days: float,
    now: datetime,
) -> list[Fused]:
    """``fused`` with the two parts added and re-sorted; unchanged when both weights are 0.

    ``members(memory_id)`` gives the payloads of the memories one hit stands for.
    """
    if (recency_weight <= 0 and importance_weight <= 0) or not fused:
        return fused
    out = []
    for f in fused:
        payloads = list(members(f.memory_id)) or [{}]
        parts = dict(f.parts)
        if importance_weight > 0:
            parts["importance"] = importance_weight * max(map(importance_of, payloads))
        if recency_weight > 0:
            parts["recency"] = recency_weight * max(
                freshness(p, now, half_life_days) for p in payloads
            )
        added = parts.get("importance", 0.0) + parts.get("recency", 0.0)
        out.append(Fused(f.memory_id, f.score + added, parts, dict(f.raw), dict(f.ranks)))
    return sorted(out, key=lambda f: (-f.score, f.memory_id))


def names_speaker(speaker: str, terms: set[str]) -> bool:
    """Whether a query whose keyword terms are ``terms`` names ``speaker``: by their first
    word ("Caroline" of "Caroline Smith") or every word of their name."""
    words = tokenise(speaker)
    return bool(words) and (words[0] in terms or set(words) <= terms)


def lift(
    fused: list[Fused], chosen: Callable[[int, Fused], bool], weight: float, part: str
) -> list[Fused]:
    """``fused`` with ``weight`` added, as the part ``part``, to each entry for which
    ``chosen(rank, entry)`` holds (rank from 0), re-sorted best first."""
    out = [Fused(f.memory_id, f.score + weight, {**f.parts, part: weight}, dict(f.raw),
                 dict(f.ranks)) if chosen(rank, f) else f
           for rank, f in enumerate(fused)]  # fmt: skip
    return sorted(out, key=lambda f: (-f.score, f.memory_id))


def speakers(
    fused: list[Fused],
    members: Callable[[str], Iterable[Mapping[str, Any]]],
    query: str,
    weight: float,
) -> list[Fused]:
    """``fused`` with ``weight`` added to each hit said by someone the query names (a
    member's ``metadata.speaker``), re-sorted; unchanged when the weight is 0 or the query
    names no one. Shown as the ``speaker`` part."""
    terms = set(tokenise(query))
    if weight <= 0 or not fused or not terms:
        return fused
    named: dict[str, bool] = {}

    def said_by_named(_rank: int, f: Fused) -> bool:
        return any((said := speaker_of(payload))
                   and named.setdefault(said, names_speaker(said, terms))
                   for payload in members(f.memory_id))  # fmt: skip

    return lift(fused, said_by_named, weight, "speaker")
