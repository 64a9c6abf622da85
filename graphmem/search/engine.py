"""``search()``: retrieve from each channel, fuse, rerank, explain.

    query ─┬─ vector  (cosine over the scope's fact embeddings) ─┐
           ├─ keyword (BM25 over the scope's fact texts)      ───┼─ fuse ─ rerank ─ hits
           ├─ graph   (entities linked from the query and from  ─┤
           │           the best hits of the two above, walked 1-2 hops)
           └─ bridge  (from the best text hits' facts to the  ──┘
                       memories about what they name; bridge.py)

Every channel applies the same admission rule (scope, time, payload filters) from
``index/filters.py``, so a memory a channel may not return can never reach a hit through
another one.
The channels besides BM25 are in ``channels.py``; the steps around the fusion in
``adjust.py``, fusion itself in ``fuse.py``, reranking in ``rerank.py``, and the hits built
from what is left in ``results.py``.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..index import ENTITIES, FACTS, IndexedVectorStore, ScopeIndex, Scores
from ..index.filters import check_as_of, check_filters, live, matches, visible
from ..index.names import NameVectors
from ..lifecycle.fields import check_memory_types
from ..models import Entity, Hit, PathStep, Scope, check_unicode
from . import recipes as recipe_book
from .adjust import Adjust
from .boost import boost, speakers
from .channels import Channels
from .collapse import Groups
from .focus import likely_focus
from .fuse import fuse
from .graph import GraphResult, capitalised_spans
from .neighbours import smooth
from .ppr import EntityFactGraph, build_graph
from .recipes import Recipe
from .rerank import rerank_mmr, rerank_pagerank
from .results import Results
from .roles import asks_assistant, assistant_part

MAX_LIMIT = 1000
MAX_QUERY_CHARS = 4000
_NAME_CACHE = 4096
_GRAPH_SCOPES = 8  # scopes whose graph arrays are kept (least recently used dropped)


def _time_of(now: str) -> datetime:
    """The search's ``now`` (the Memory's clock, as text), or the real time when not given."""
    return datetime.fromisoformat(now.replace("Z", "+00:00")) if now else datetime.now(UTC)


def check_query(query: object) -> str:
    if not isinstance(query, str):
        raise ValidationError("query", f"must be a string, got {type(query).__name__}")
    if not query.strip():
        raise ValidationError("query", "must not be empty or whitespace")
    if len(query) > MAX_QUERY_CHARS:
        raise ValidationError(
            "query",
            f"is {len(query):,} characters, over the limit of "
            f"{MAX_QUERY_CHARS:,}; search with the question, not a whole text",
        )
    check_unicode(query, "query")
    return query.strip()


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be an integer from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


class _Bounded(OrderedDict):
    """A dict that drops its least recently used keys past ``limit``; searches on several
    threads read and set it side by side."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self._lock = threading.Lock()

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            super().__setitem__(key, value)
            self.move_to_end(key)
            while len(self) > self.limit:
                self.popitem(last=False)

    def used(self, key: Any) -> Any:
        """The value of ``key`` (None if absent), now the most recently used."""
        with self._lock:
            found = self.get(key)
            if found is not None:
                self.move_to_end(key)
            return found


class Searcher:
    """Runs searches for one ``Memory`` (its graph ops, vector store and embedder)."""

    def __init__(self, ops: Any, vectors: Any, embedder: Any,
                 names: NameVectors | None = None) -> None:  # fmt: skip
        self.ops, self.vectors, self.embedder = ops, vectors, embedder
        # Relation names' vectors, which ingest fills as it writes (index/names.py).
        self.names = names if names is not None else NameVectors(embedder)
        # No more scopes' graphs than the vector store keeps indexes for
        # (Config.index_max_scopes): an evicted scope's arrays would outlive its index.
        kept = min(_GRAPH_SCOPES, getattr(vectors, "max_scopes", _GRAPH_SCOPES))
        self._graphs: _Bounded[Scope, tuple[tuple, EntityFactGraph]] = _Bounded(kept)
        self._containing: _Bounded[tuple, tuple[int, tuple[str, ...]]] = _Bounded(_NAME_CACHE)
        # Per scope: whether its last focus search found speakers among the candidates
        # (``_Run.vector`` guesses the focus text only then). A hint: a stale one costs
        # one embedding row or call, never a result.
        self.voiced: _Bounded[Scope, bool] = _Bounded(_NAME_CACHE)

    def graph_of(self, scope: Scope, index: ScopeIndex) -> EntityFactGraph:
        """The scope's entity-fact graph as arrays, rebuilt after any write to the scope."""
        entities = (self.vectors.index(scope, ENTITIES)
                    if isinstance(self.vectors, IndexedVectorStore) else None)  # fmt: skip
        key = (index.generation, index.revision, getattr(entities, "generation", 0),
               getattr(entities, "revision", 0))  # fmt: skip
        found = self._graphs.used(scope)
        if found is not None and found[0] == key:
            return found[1]
        ids = [i for i in index.ids if i is not None]
        graph = build_graph(ids, [index.gate(i) or {} for i in ids], self.ops, scope)
        self._graphs[scope] = (key, graph)
        return graph

    def containing(self, index: ScopeIndex, name: str, limit: int) -> tuple[int, tuple[str, ...]]:
        """How many memories of the scope hold every word of ``name``, and the ``limit``
        lowest of their ids; kept until the scope's next write (bounded LRU).

        A hub's name is in thousands of memories (a city at 1M: ~10k); listing them took a
        fifth of a hybrid search at 100k (measured), and the graph walk uses ``limit``.
        """
        key = (index.generation, index.revision, name, limit)
        found = self._containing.used(key)
        if found is None:
            ids = index.containing(name)
            found = (len(ids), tuple(heapq.nsmallest(limit, ids)))
            self._containing[key] = found
        return found

    def name_vectors(self, names: list[str]) -> dict[str, np.ndarray]:
        """Unit vectors of relation names (``index/names.py``): embedded only where ingest
        did not embed them already."""
        return self.names.vectors(names)

    def search(
        self,
        query: object,
        scope: Scope,
        *,
        limit: object = 10,
        filters: object = None,
        recipe: str | Recipe = "hybrid",
        as_of: object = None,
        include_invalid: object = False,
        collapse: object = True,
        memory_types: object = None,
        include_archived: object = False,
        now: str = "",
    ) -> list[Hit]:
        """``now`` (graphmem's time text) hides what expired by then; the caller's clock
        gives it (``Memory.search``); "" hides nothing by expiry."""
        text = check_query(query)
        limit = check_limit(limit)
        wanted = check_filters(filters)
        when = check_as_of(as_of)
        if not isinstance(include_invalid, bool):
            raise ValidationError("include_invalid", "must be True or False")
        if not isinstance(collapse, bool):
            raise ValidationError("collapse", "must be True or False")
        if not isinstance(include_archived, bool):
            raise ValidationError("include_archived", "must be True or False")
        types = check_memory_types(memory_types)
        plan = recipe_book.get(recipe)

        def accept(payload: Mapping[str, Any]) -> bool:
            return (
                scope.matches(payload)
                and visible(payload, when, include_invalid)
                and live(payload, now, include_archived, types)
                and (not wanted or matches(payload, wanted))
            )

        accept.gated = not wanted  # type: ignore[attr-defined]  # filters read whole payloads
        run = _Run(self, text, scope, plan, accept, when, include_invalid, collapse)
        run.now = now
        with self.ops.reading():
            return run.hits(limit)

    def scope_index(self, scope: Scope, names: bool = False) -> ScopeIndex:
        """The scope's facts index; with ``names``, its entities' index is loaded too
        (``similar_entities`` reads it), so a scope's first search pays every load its
        later searches could meet: at 1M memories, 5 of the speed suite's 200 hybrid
        searches after one search per scope each loaded an entities index (~15 ms)."""
        if isinstance(self.vectors, IndexedVectorStore):
            if names and ENTITIES in self.vectors.indexed:
                self.vectors.index(scope, ENTITIES)
            return self.vectors.index(scope)
        # A plain store (someone built Memory by hand): index this search only. Slow at
        # scale, but the same answers.
        index = ScopeIndex(scope)
        hits = self.vectors.scroll(FACTS, scope, limit=2**31 - 1)
        for hit in self.vectors.get(FACTS, [h.id for h in hits], with_vectors=True):
            index.put(hit.id, dict(hit.payload), hit.vector)
        return index


class _Run(Channels, Adjust, Results):
    """One search: the state the channels share (query vector, index, seeds)."""

    def __init__(self, owner, text, scope, recipe, accept, as_of, include_invalid, collapse):
        self.owner, self.text, self.scope, self.recipe = owner, text, scope, recipe
        self.accept, self.as_of, self.include_invalid = accept, as_of, include_invalid
        self.index = owner.scope_index(scope, names=recipe.uses("graph"))
        self.groups = Groups(self.index, accept, collapse)
        self._vector: np.ndarray | None = None
        self.span_vectors: dict[str, Any] = {}
        self.graph = GraphResult()
        self.ppr: tuple[EntityFactGraph, np.ndarray, set[int]] | None = None
        self.seeds: dict[str, float] = {}
        self.scores: dict[str, Scores] = {}  # full per-channel scores, where kept in memory
        self.fanout = recipe.fanout
        self.mention_degree: dict[str, int] = {}  # entity id -> facts naming it (name_mentions)
        self.found: dict[str, set[str]] = {}  # channel -> ids in its own top candidates
        self.now = ""  # the Memory's clock as text, for the recency part (boost.py)
        self.standing: float | None = None  # set when the standout rule lowered weights
        self.bridged: dict[str, list[PathStep]] = {}  # bridge channel: unit -> its step
        self._linked: dict[str, tuple[Entity, float, str]] | None = None
        self.user_ids: set[str] = set()  # the scope's user entity, found by ``linked``
        self.whole: Scores | None = None  # cosines before long messages took their parts'

    @property
    def vector(self) -> np.ndarray:
        """The query's embedding, computed on first use (a keyword search needs none)."""
        if self._vector is None:
            # The graph channel looks the query's capitalised spans up by embedding: one
            # model call for the query and its spans costs about what one for the query
            # alone does, and a second call would be most of a search's time.
            spans = capitalised_spans(self.text) if self.recipe.uses("graph") else []
            spans = [s for s in dict.fromkeys(spans) if s != self.text]
            # Likewise the focus text a question naming a speaker will most likely have,
            # where the scope's last search found speakers (elsewhere it is never used).
            guess = likely_focus(self.text) if self.recipe.focus_weight > 0 \
                and self.owner.voiced.get(self.scope) else ""  # fmt: skip
            extra = [guess] if guess and guess != self.text and guess not in spans else []
            rows = self.owner.embedder.embed([self.text, *spans, *extra])
            self._vector = np.asarray(rows[0], np.float32)
            self.span_vectors = dict(zip([*spans, *extra], rows[1:], strict=True))
        return self._vector

    def hits(self, limit: int) -> list[Hit]:
        recipe = self.recipe
        # Each channel proposes the recipe's ``candidates`` for every page that fits in
        # them, so a page of 25 starts with the page of 10 (a deeper pool re-fuses and can
        # reorder its top). A page larger than that gets twice its size.
        depth = recipe.candidates if limit <= recipe.candidates else 2 * limit
        lists: dict[str, list[tuple[str, float]]] = {}
        if recipe.uses("vector"):
            lists["vector"] = self.vector_channel(depth)
        if recipe.uses("keyword"):
            self.scores["keyword"] = self.index.keyword_scores(self.text)
            lists["keyword"] = self.groups.ranked(self.scores["keyword"], depth)
        # What an unrelated memory scores: 0 for BM25 and the graph (see fuse.py).
        floors = {"keyword": 0.0, "graph": 0.0, "bridge": 0.0}
        floors.update({c: s.floor for c, s in self.scores.items()})
        if "vector" in self.scores and recipe.vector_floor == "median":
            floors["vector"] = self.scores["vector"].median()
        fusion = {"method": recipe.fusion, "rrf_k": recipe.rrf_k,
                  "floors": floors if recipe.anchored else None,
                  "ceilings": {"graph": 1.0, "bridge": 1.0} if recipe.anchored
                  else None}  # fmt: skip
        weights = self.weights(lists)
        if recipe.uses("graph") or recipe.uses("bridge"):
            seeding_lists = lists
            if recipe.fact_seed_channel in lists:
                seeding_lists = {recipe.fact_seed_channel: lists[recipe.fact_seed_channel]}
            first = fuse(self.complete(seeding_lists), weights, **fusion)
            if recipe.uses("bridge"):
                lists["bridge"] = self.bridge_channel(first[: recipe.bridge_sources], depth)
            if recipe.uses("graph"):
                seeding = (
                    recipe.fact_seeds if recipe.graph_walk == "ppr" else recipe.seeds_from_hits
                )
                lists["graph"] = self.graph_channel(first[:seeding], depth)
        self.found = {channel: {i for i, _ in ranked} for channel, ranked in lists.items()}
        context = self.neighbours(lists) if recipe.neighbour_weight > 0 else {}
        fused = fuse(self.complete(lists, set(context)), weights, **fusion)
        if (recipe.keyword_gate > 0 or recipe.graph_gate > 0) and "vector" in self.scores \
                and lists.get("vector"):  # fmt: skip
            fused = self.gated(fused, lists["vector"][0][1])
        fused = smooth(fused, lambda i: context.get(i, ()), recipe.neighbour_weight)
        fused = speakers(fused, self.member_payloads, self.text, recipe.speaker_weight)
        if recipe.assistant_weight > 0 and asks_assistant(self.text):
            fused = assistant_part(fused, self.role_of, recipe.assistant_weight)
        if recipe.focus_weight > 0:
            fused = self.focus(fused)
        if recipe.recency_weight > 0 or recipe.importance_weight > 0:
            fused = boost(fused, self.member_payloads, recency_weight=recipe.recency_weight,
                          importance_weight=recipe.importance_weight,
                          half_life_days=recipe.recency_half_life,
                          now=_time_of(self.now))  # fmt: skip
        for step in recipe.rerank:
            if step == "pagerank" and self.seeds:
                ids = [f.memory_id for f in fused]
                links = self.owner.ops.mentions_of(ids)
                fused = rerank_pagerank(
                    fused, self.graph, self.seeds, links, recipe.pagerank_weight
                )
            elif step == "mmr":
                fused = rerank_mmr(fused, self.vectors_of, recipe.mmr_lambda, limit)
        return [self.hit(f) for f in fused[:limit]]
