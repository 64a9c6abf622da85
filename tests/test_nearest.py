"""Approximate neighbours for entity resolution: near duplicates are found as the exact scan
finds them, and writes (new, changed, dropped names) show in the next query."""

from __future__ import annotations

import itertools
import random

import numpy as np

from graphmem.embed.local import HashingEmbedder
from graphmem.index import IndexedVectorStore, ScopeIndex
from graphmem.index.nearest import MIN_POINTS
from graphmem.index.store import _acceptor
from graphmem.models import Scope
from graphmem.stores.base import VectorPoint
from graphmem.stores.qdrant_edge import EdgeVectorStore

FIRST = "Ann Ben Cara Dan Eva Finn Gina Hugo Ida Jon Kira Leo Mia Nils Olga Paul Rosa Sam".split()
MIDDLE = "Tara Uma Vera Will Xena Yuri Zoe Alba Bram Cleo Dirk Elin Faye Gus Hana".split()
LAST = (
    "Keller Ortiz Novak Brandt Silva Moreau Larsen Quinn Rossi Haas Duarte Weber Petrov "
    "Okafor Tanaka Varga Fischer Costa Berg Marsh Ibarra Holm Kovacs Laine"
).split()
SCOPE = Scope.of("u")
EMBED = HashingEmbedder()


def names(count: int) -> list[str]:
    every = [" ".join(p) for p in itertools.product(FIRST, MIDDLE, LAST)]
    return random.Random(7).sample(every, count)


def variants(chosen: list[str]) -> list[str]:
    rng = random.Random(3)
    shapes = (lambda n: " ".join(reversed(n.split())), lambda n: n.lower() + "s",
              lambda n: n[:-1] + "e", lambda n: n.upper())  # fmt: skip
    return [rng.choice(shapes)(n) for n in chosen]


def filled(count: int) -> tuple[ScopeIndex, list[str]]:
    index = ScopeIndex(SCOPE, keywords=False)
    stored = names(count)
    for i, (name, vector) in enumerate(zip(stored, EMBED.embed(stored), strict=True)):
        index.put(f"e{i}", {"user_id": "u", "agent_id": "", "run_id": "", "name": name}, vector)
    return index, stored


def above(found, threshold: float) -> set[tuple[int, str]]:
    return {(i, hit) for i, hits in enumerate(found) for hit, score in hits if score >= threshold}


def test_near_duplicates_are_found_as_the_exact_scan_finds_them():
    index, stored = filled(MIN_POINTS + 1000)
    queries = EMBED.embed(variants(stored[::10]))
    accept = _acceptor(SCOPE, None)
    exact = [s.top(5, accept) for s in index.vector_scores_many(queries)]
    near = [s.top(5, accept) for s in index.nearest_scores_many(queries)]
    assert index.clusters is not None and len(index.clusters.centres) > 100  # in use
    want = above(exact, 0.9)
    assert len(want) > 200  # the variants do reach the stored names
    assert above(near, 0.9) == want
    for e, n in zip(exact, near, strict=True):  # and each score is the exact cosine
        scores = dict(e)
        assert all(abs(scores[h] - s) < 1e-5 for h, s in n if h in scores)


def test_writes_after_the_clusters_are_built_show_in_the_next_query():
    index, stored = filled(MIN_POINTS + 200)
    query = EMBED.embed([stored[0].lower()])
    index.nearest_scores_many(query)  # builds the clusters
    accept = _acceptor(SCOPE, None)
    assert index.nearest_scores_many(query)[0].top(1, accept)[0][0] == "e0"
    index.drop("e0")
    assert "e0" not in dict(index.nearest_scores_many(query)[0].top(5, accept))
    payload = {"user_id": "u", "agent_id": "", "run_id": "", "name": "Zed Zulu"}
    index.put("new", payload, EMBED.embed([stored[0]])[0])  # a new name where e0 was
    top = index.nearest_scores_many(query)[0].top(1, accept)
    assert top[0][0] == "new" and top[0][1] > 0.9
    index.put("e1", payload, EMBED.embed(["Zed Zulu"])[0])  # a name changed in place
    moved = index.nearest_scores_many(EMBED.embed(["zed zulu"]))[0].top(1, accept)
    assert moved[0][0] == "e1" and moved[0][1] > 0.99


def test_batched_resolution_search_keeps_search_exact_from_the_threshold(tmp_path):
    store = IndexedVectorStore(EdgeVectorStore(tmp_path), collections=("entities",))
    store.open(EMBED.dim, EMBED.name)
    stored = names(MIN_POINTS + 500)
    vectors = EMBED.embed(stored)
    points = [VectorPoint(f"00000000-0000-0000-0000-{i:012d}", v, {"user_id": "u", "name": n})
              for i, (n, v) in enumerate(zip(stored, vectors, strict=True))]  # fmt: skip
    store.upsert("entities", points)
    queries = EMBED.embed(variants(stored[::25]))
    many = store.search_many("entities", queries, SCOPE, limit=5, exact_from=0.92)
    for query, hits in zip(queries, many, strict=True):
        alone = store.search("entities", query, SCOPE, limit=5)
        # From the threshold up: search's hits, with its scores to float32 rounding;
        # below it the neighbourhood may hold other, lesser hits.
        mine = {h.id: h.score for h in hits if h.score >= 0.92}
        theirs = {h.id: h.score for h in alone if h.score >= 0.92}
        assert mine.keys() == theirs.keys()
        assert all(abs(mine[i] - theirs[i]) < 1e-5 for i in mine)
    assert np.mean([bool(h) and h[0].score >= 0.92 for h in many]) > 0.3
    store.close()


def test_the_clusters_hold_no_copy_of_the_vectors():
    """Each entities index of a scope was held twice over by its clusters' blocks (~25
    MB a 20k-name scope, ~250 MB of RSS at 1M memories in 10 scopes): they keep slots,
    and a query reads the rows from the index's own matrix."""
    import tracemalloc

    index, stored = filled(MIN_POINTS + 1000)
    queries = EMBED.embed(variants(stored[::4]))  # ~1,300 queries: nearly every cluster
    tracemalloc.start()
    try:
        found = index.nearest_scores_many(queries)
        del found
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    probed = {c for c in range(len(index.clusters.centres)) if c in index.clusters._blocks}
    assert len(probed) > 0.8 * len(index.clusters.centres)
    assert held < 0.3 * index._matrix.nbytes  # the centres, owners and slots only (a copy: 1.0)
