"""Retrieval metrics that need no LLM judge, and seeded bootstrap intervals.

A system's answer to one question is a ranked list of *items*; each item carries the
source ids (LoCoMo turn ids, synthetic fact ids) it was built from. An item built from
several turns covers all of them, and an item built from no known turn covers nothing.
Gold is the set of source ids that answer the question.

Every metric refuses an empty gold set instead of returning 0 or 1: a question without
usable evidence must be excluded (and counted) by the caller, never scored silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

Ranking = Sequence[Iterable[str]]
DEFAULT_KS = (1, 5, 10, 20)


def _gold_set(gold: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(gold)
    if not wanted:
        raise ValueError("gold is empty: exclude the question (and count it) before scoring")
    return wanted


def _first_ranks(ranking: Ranking, gold: frozenset[str], k: int | None) -> dict[str, int]:
    """1-based rank of the first item that covers each gold id found in the top ``k``."""
    first: dict[str, int] = {}
    for rank, sources in enumerate(ranking[:k] if k is not None else ranking, start=1):
        for source in sources:
            if source in gold and source not in first:
                first[source] = rank
        if len(first) == len(gold):
            break
    return first


def recall_at_k(ranking: Ranking, gold: Iterable[str], k: int) -> float:
    """Share of the gold ids covered by the union of the top-``k`` items' sources."""
    wanted = _gold_set(gold)
    return len(_first_ranks(ranking, wanted, k)) / len(wanted)


def all_gold_at_k(ranking: Ranking, gold: Iterable[str], k: int) -> float:
    """1.0 when every gold id is covered by the top ``k`` (the strict multi-hop number)."""
    wanted = _gold_set(gold)
    return 1.0 if len(_first_ranks(ranking, wanted, k)) == len(wanted) else 0.0


def reciprocal_rank(ranking: Ranking, gold: Iterable[str], k: int | None = None) -> float:
    """1 / rank of the first item covering any gold id; 0 when none does."""
    ranks = _first_ranks(ranking, _gold_set(gold), k)
    return 1.0 / min(ranks.values()) if ranks else 0.0


def ndcg_at_k(ranking: Ranking, gold: Iterable[str], k: int = 10) -> float:
    """nDCG with a binary gain per gold id, counted once at the first rank covering it.

    The ideal puts one gold id at each of the first ``min(|gold|, k)`` ranks, which is
    what a turn-level system can best do. An item carrying several gold ids can beat that
    ideal (two ids at rank 1 gain 2.0 against 1.63), so the ratio is capped at 1.0.
    """
    wanted = _gold_set(gold)
    dcg = sum(1.0 / math.log2(rank + 1) for rank in _first_ranks(ranking, wanted, k).values())
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(wanted), k) + 1))
    return min(1.0, dcg / ideal)


def recall_within_read(ranking: Ranking, gold: Iterable[str], n: int) -> float:
    """Share of the gold ids among the first ``n`` distinct source ids the ranking shows,
    read in order: an item of four turns is four turns read.

    Recall at equal reading, fair to a system whose items hold several turns: by items,
    ten hits of whole four-turn windows count forty turns against ten single turns.
    """
    wanted = _gold_set(gold)
    read: dict[str, None] = {}
    for sources in ranking:
        for source in sources:
            read.setdefault(source, None)
            if len(read) >= n:
                return len(wanted.intersection(read)) / len(wanted)
    return len(wanted.intersection(read)) / len(wanted)


def score_ranking(
    ranking: Ranking, gold: Iterable[str], ks: Sequence[int] = DEFAULT_KS
) -> dict[str, float]:
    """All headline metrics for one question, keyed like ``recall@10`` and ``mrr``."""
    wanted = _gold_set(gold)
    scores = {f"recall@{k}": recall_at_k(ranking, wanted, k) for k in ks}
    scores["mrr"] = reciprocal_rank(ranking, wanted)
    scores["ndcg@10"] = ndcg_at_k(ranking, wanted, 10)
    scores["all_gold@10"] = all_gold_at_k(ranking, wanted, 10)
    return scores


def mean_scores(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Per-metric means over questions (every row must carry the same keys)."""
    if not rows:
        return {}
    return {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}


def _resample_means(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # One index matrix per call: the same seed gives the same resamples, so two systems
    # scored on the same questions are compared on identical bootstrap samples.
    index = rng.integers(0, len(values), size=(n_resamples, len(values)))
    return values[index].mean(axis=1)


def bootstrap_ci(
    values: Sequence[float], *, n_resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap interval of a per-question metric's mean."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("no values to bootstrap")
    means = _resample_means(data, n_resamples, seed)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(data.mean()), float(low), float(high)


def paired_bootstrap_diff(
    system_a: Sequence[float],
    system_b: Sequence[float],
    *,
    n_resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """(mean of a - b, low, high) resampling questions jointly for both systems.

    Pairing matters: both systems see the same hard and easy questions in every
    resample, so the interval reflects the difference, not each system's own spread.
    """
    first = np.asarray(system_a, dtype=float)
    second = np.asarray(system_b, dtype=float)
    if first.shape != second.shape:
        raise ValueError(f"paired samples differ in length: {first.size} vs {second.size}")
    return bootstrap_ci(first - second, n_resamples=n_resamples, seed=seed, level=level)


def percentiles_ms(seconds: Sequence[float], qs: Sequence[float] = (50, 95)) -> dict[str, float]:
    """Latency percentiles in milliseconds, keyed ``p50``, ``p95``."""
    if not seconds:
        return {f"p{int(q)}": float("nan") for q in qs}
    values = np.percentile(np.asarray(seconds, dtype=float) * 1000.0, list(qs))
    return {f"p{int(q)}": float(v) for q, v in zip(qs, values, strict=True)}


def auroc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Chance that a random positive outscores a random negative (ties count half).

    Used to ask whether a top hit's score separates answerable questions from
    unanswerable ones, i.e. whether a caller could use it to say "I don't know".
    """
    pos = np.asarray(positives, dtype=float)[:, None]
    neg = np.asarray(negatives, dtype=float)[None, :]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean())
