"""Fusion of ranked lists: pure functions, no I/O, easy to test and to swap.

Each channel gives ``[(memory_id, raw_score), ...]`` best first. A fused entry keeps, per
channel, the contribution it added, so a hit can say exactly where its score came from.

- ``weighted``: each list's scores are min-max normalised to [0, 1], then summed with the
  channel weights. Keeps score gaps; what LoCoMo rewards (see ``docs/search-recipes.md``). The low
  end of the range is the channel's *floor* when it gives one: the score of an unrelated
  memory (0 for BM25; the scope's lowest cosine, or 0 when all are above it, as in a
  small scope). Normalising a top-40 list against its own 40th score instead would
  stretch a 0.90-vs-0.89 cosine tie into 1.0 vs 0.0.
- ``gate`` (after ``weighted``, off by default): a memory's keyword share shrinks with
  the distance of its cosine from the best one, so a stray shared word cannot outrank
  what the query means; measured in ``docs/search-recipes.md`` (helps where words mislead, costs
  LoCoMo, where they lead).
- ``rrf``: reciprocal rank fusion, ``weight / (k + rank)``. Ignores scores entirely,
  which makes it robust to channels whose scores are not comparable, at the price of
  treating a clear winner and a near-tie the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

Ranked = Sequence[tuple[str, float]]


@dataclass
class Fused:
    memory_id: str
    score: float = 0.0
    parts: dict[str, float] = field(default_factory=dict)  # channel -> contribution
    raw: dict[str, float] = field(default_factory=dict)  # channel -> its own score
    ranks: dict[str, int] = field(default_factory=dict)  # channel -> 1-based rank


def min_max(
    scores: Sequence[float], floor: float | None = None, ceiling: float | None = None
) -> list[float]:
    """Scale to [0, 1] from ``floor`` (default: the lowest score) to ``ceiling`` (default:
    the highest).

    A list whose scores are all equal maps to all 1.0: the channel could not tell its
    hits apart, but it did find them, and 0 would make a single graph hit worthless. A
    list whose scores all sit at the ``floor`` maps to all 0.0 instead: nothing in it was
    found. That is a keyword list for a query whose words no memory holds, filled in with
    0s for the other channels' candidates; read as a tie, it gave every candidate a full
    keyword share, and each hit's explanation a keyword match it never had.
    """
    if not scores:
        return []
    high = max(scores) if ceiling is None else max(ceiling, max(scores))
    low = min(scores) if floor is None else floor
    if high - low <= 1e-12:
        return [0.0 if floor is not None and high <= floor else 1.0] * len(scores)
    # Below the floor is as unrelated as the floor itself: clipped at 0.
    return [max(0.0, (s - low) / (high - low)) for s in scores]


def coverage_weight(weight: float, best: float, ceiling: float, knee: float) -> float:
    """The keyword channel's weight for one query, from how much of the query it matched.

    ``best / ceiling`` is the share of the query's information (its terms' IDF) that the
    best BM25 match holds (``keyword.KeywordIndex.ceiling``). Below ``knee`` the weight
    falls linearly to 0: when the best any memory does is share a word or two of the
    query, BM25's ranking is noise, and min-max normalisation would still stretch its
    best hit to a full share. Above ``knee`` the weight stays whole: on LoCoMo a weight
    following the coverage everywhere (``weight * coverage``) cost recall@10 0.797 ->
    0.759 (conversations 0-2), since most questions match part of their words only.
    """
    if ceiling <= 0.0:
        return 0.0
    return weight * min(1.0, best / ceiling / knee)


def standout_weight(weight: float, standing: float, low: float, high: float, kept: float) -> float:
    """A word-led channel's weight (keyword, graph) for one query, from how clearly dense
    retrieval found something: ``standing`` is how many spreads the best cosine stands
    above the scope's median cosine (``Scores.standing``).

    Up to ``low`` the weight stays whole; from ``low`` to ``high`` it falls linearly to
    ``kept`` of itself. When one memory's meaning stands far out from the scope (a
    passage about the very thing asked, among passages about everything else), the dense
    ranking is the one to follow, and BM25's best stray match, stretched to a full share
    by min-max, should not outvote it. When the best cosine is barely above the crowd (short
    chat turns that all talk about the same two people), words and names are the better
    evidence, and the weights stay as the recipe set them. Measured in
    ``docs/search-recipes.md``.
    """
    if high <= low or standing <= low:
        return weight
    if standing >= high:
        return weight * kept
    return weight * (1.0 - (standing - low) / (high - low) * (1.0 - kept))


def fuse(
    lists: Mapping[str, Ranked],
    weights: Mapping[str, float],
    *,
    method: str = "weighted",
    rrf_k: int = 60,
    floors: Mapping[str, float] | None = None,
    ceilings: Mapping[str, float] | None = None,
) -> list[Fused]:
    """Merge per-channel rankings into one, best first (ties broken by id for stability).

    ``floors`` (channel -> score of an unrelated memory) anchors weighted normalisation;
    ``ceilings`` fixes the top of a channel whose scores are absolute (the graph's are
    path strengths in [0, 1]: a weak best path must stay weak, not be stretched to 1).
    """
    if method not in ("weighted", "rrf"):
        raise ValueError(f"unknown fusion method {method!r}")
    merged: dict[str, Fused] = {}
    for channel, ranked in lists.items():
        weight = float(weights.get(channel, 0.0))
        if weight <= 0.0 or not ranked:
            continue
        if method == "weighted":
            shares = min_max(
                [score for _, score in ranked],
                (floors or {}).get(channel),
                (ceilings or {}).get(channel),
            )
        else:
            shares = [1.0 / (rrf_k + rank) for rank in range(1, len(ranked) + 1)]
        for rank, ((memory_id, score), share) in enumerate(zip(ranked, shares, strict=True), 1):
            entry = merged.get(memory_id)
            if entry is None:  # not ``setdefault``: that builds a Fused for every pair
                entry = merged[memory_id] = Fused(memory_id)
            if channel in entry.parts:  # a channel listing an id twice: keep its best
                continue
            entry.parts[channel] = weight * share
            entry.raw[channel] = score
            entry.ranks[channel] = rank
            entry.score += weight * share
    return sorted(merged.values(), key=lambda f: (-f.score, f.memory_id))


def gate(
    fused: Sequence[Fused],
    power: float,
    low: float,
    high: float,
    channel: str = "keyword",
    by: str = "vector",
    ceiling: float = 0.0,
    spare: float = 0.0,
    only: Callable[[str], bool] | None = None,
) -> list[Fused]:
    """Scale each memory's ``channel`` share by how close its ``by`` score is to ``high``.

    The factor is ``((raw by score - low) / (high - low)) ** power``, clipped to [0, 1].
    With ``low`` the cosine of a typical memory of the scope (the median) and ``high``
    the best of the search, words count in full for a memory whose meaning is as close
    as the best one's and fade to nothing for one no closer than a typical memory: a
    stray word shared with an unrelated memory cannot outrank what the query means.
    The default recipes set a narrower band around the median instead (adjust.py).

    ``spare`` (with ``ceiling``, the most a memory can score in ``channel`` for this
    query, ``KeywordIndex.ceiling``): a memory whose own score covers at least ``spare``
    of the ceiling keeps its whole share, one covering half of that or less gets the
    factor alone, linearly between. Matching most of what the query says is evidence
    in itself; matching one of its words is not. A memory whose share was cut records
    the factor as ``raw["<channel>_gate"]`` (shown by ``Hit.explain``). ``only(memory
    id)``, when given, says which memories are gated; the others keep their shares.
    """
    if power <= 0.0 or high - low <= 1e-12:
        return list(fused)
    out = []
    for f in fused:
        share = f.parts.get(channel)
        if share and (only is None or only(f.memory_id)):
            closeness = (f.raw.get(by, low) - low) / (high - low)
            factor = min(1.0, max(0.0, closeness)) ** power
            if spare > 0.0 and ceiling > 0.0:
                kept = 2.0 * f.raw.get(channel, 0.0) / ceiling / spare - 1.0
                factor = max(factor, min(1.0, max(0.0, kept)))
            if factor < 1.0:  # the share kept, for the hit's explanation
                parts = {**f.parts, channel: share * factor}
                raw = {**f.raw, f"{channel}_gate": factor}
                f = Fused(f.memory_id, f.score - share + share * factor, parts, raw, f.ranks)
        out.append(f)
    return sorted(out, key=lambda f: (-f.score, f.memory_id))


def blend(
    fused: Sequence[Fused], extra: Mapping[str, float], name: str, weight: float
) -> list[Fused]:
    """Mix a reranker's scores (any scale, min-max normalised here) into fused scores.

    ``score = (1 - weight) * score + weight * normalised(extra)``; the reranker's share is
    recorded under ``name`` so the explanation still adds up.
    """
    if not fused or weight <= 0.0:
        return list(fused)
    ids = [f.memory_id for f in fused]
    normal = dict(zip(ids, min_max([extra.get(i, 0.0) for i in ids]), strict=True))
    out = []
    for f in fused:
        parts = {k: v * (1.0 - weight) for k, v in f.parts.items()}
        parts[name] = weight * normal[f.memory_id]
        out.append(
            Fused(
                f.memory_id,
                sum(parts.values()),
                parts,
                {**f.raw, name: extra.get(f.memory_id, 0.0)},
                f.ranks,
            )
        )
    return sorted(out, key=lambda f: (-f.score, f.memory_id))
