"""Optional rerankers over the fused candidates.

- ``pagerank``: personalised PageRank on the retrieved subgraph (entities, the relations
  between them, and the candidate facts linked to the entities they mention or support),
  restarting at the entities the query named. A fact tied to several relevant entities
  rises; one hanging off a hub's far side sinks. A power iteration over edge arrays
  here, not networkx's, which needs scipy (not a dependency: issue 13 found
  ``hybrid_pagerank`` failing with ModuleNotFoundError on a plain install).
- ``mmr``: maximal marginal relevance, so the top of the list is not five paraphrases of
  one memory: each pick maximises ``lambda * relevance - (1 - lambda) * max similarity
  to what is already picked``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .fuse import Fused, blend, min_max
from .graph import GraphResult

_FACT = "fact:"  # fact node names, kept apart from entity ids in one graph


def pagerank_scores(
    candidates: Sequence[Fused],
    graph: GraphResult,
    seeds: Mapping[str, float],
    fact_entities: Mapping[str, Sequence[str]],
) -> dict[str, float]:
    """PageRank mass of each candidate fact, restarting at ``seeds`` (entity -> weight)."""
    edges = {tuple(sorted((r.source_id, r.target_id))) for r in graph.relations.values()}
    wanted = {c.memory_id for c in candidates}
    links = set(graph.mentions) | {(f, e) for f, ents in fact_entities.items() for e in ents}
    edges |= {(_FACT + f, e) for f, e in links if f in wanted}
    nodes = {n for edge in edges for n in edge}
    restart = {e: w for e, w in seeds.items() if e in nodes and w > 0}
    if not restart:
        return {}
    ranks = personalised_pagerank(edges, restart)
    return {c.memory_id: ranks.get(_FACT + c.memory_id, 0.0) for c in candidates}


def personalised_pagerank(
    edges: set[tuple[str, str]],
    restart: Mapping[str, float],
    alpha: float = 0.85,
    tol: float = 1e-6,
    max_iter: int = 100,
) -> dict[str, float]:
    """PageRank of an undirected, unweighted graph, teleporting to ``restart``'s nodes in
    proportion to their weights. Same fixed point and stopping rule as networkx's."""
    index: dict[str, int] = {}
    for a, b in edges:
        index.setdefault(a, len(index))
        index.setdefault(b, len(index))
    n = len(index)
    pairs = np.array([(index[a], index[b]) for a, b in edges], dtype=np.int64).reshape(-1, 2)
    loops = pairs[:, 0] == pairs[:, 1]
    # Both directions of every edge; a self-loop is one arc, as networkx counts it.
    src = np.concatenate([pairs[:, 0], pairs[~loops, 1]])
    dst = np.concatenate([pairs[:, 1], pairs[~loops, 0]])
    degree = np.bincount(src, minlength=n).astype(float)
    p = np.zeros(n)
    for node, weight in restart.items():
        p[index[node]] = weight
    p /= p.sum()
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        last = x
        x = alpha * np.bincount(dst, weights=last[src] / degree[src], minlength=n)
        x += (1 - alpha) * p
        if np.abs(x - last).sum() < n * tol:
            break
    return {node: float(x[i]) for node, i in index.items()}


def rerank_pagerank(
    candidates: Sequence[Fused],
    graph: GraphResult,
    seeds: Mapping[str, float],
    fact_entities: Mapping[str, Sequence[str]],
    weight: float,
) -> list[Fused]:
    scores = pagerank_scores(candidates, graph, seeds, fact_entities)
    if not scores:
        return list(candidates)
    return blend(candidates, scores, "pagerank", weight)


def rerank_mmr(
    candidates: Sequence[Fused],
    vector_of: Callable[[list[str]], Mapping[str, np.ndarray]],
    lam: float,
    limit: int,
) -> list[Fused]:
    """Reorder the first ``limit`` picks for diversity; the rest keep their order.

    The pick's score is left as fused (so scores may no longer be sorted) and the MMR
    value is recorded in ``raw["mmr"]``: diversity is an ordering, not more relevance.
    """
    pool = list(candidates)
    if len(pool) < 2:
        return pool
    vectors = vector_of([c.memory_id for c in pool])
    relevance = dict(
        zip((c.memory_id for c in pool), min_max([c.score for c in pool]), strict=True)
    )
    picked: list[Fused] = []
    chosen: list[np.ndarray] = []
    while pool and len(picked) < limit:
        best, best_value = None, -np.inf
        for cand in pool:
            vec = vectors.get(cand.memory_id)
            overlap = max((float(vec @ c) for c in chosen), default=0.0) if vec is not None else 0.0
            value = lam * relevance[cand.memory_id] - (1.0 - lam) * overlap
            if value > best_value:
                best, best_value = cand, value
        pool.remove(best)
        best.raw["mmr"] = best_value
        picked.append(best)
        vec = vectors.get(best.memory_id)
        if vec is not None:
            chosen.append(vec)
    return picked + pool
