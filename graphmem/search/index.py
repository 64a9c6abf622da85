"""In-process per-scope indexes of the memories: BM25 terms, payloads and unit vectors.

Why: qdrant-client's local mode filters in Python, so one scope-filtered search costs
~90 ms at 10k points and ~1 s at 100k (environment.md); the search target is 50 ms.
The facts of one scope fit in memory easily (100k x 384 float32 = 150 MB), and an exact
cosine over them is one matrix-vector product. The vector store stays the source of
truth: an index is built from it on first use and kept in step by ``IndexedVectorStore``,
which sees every write because every write goes through it.

Several indexes may hold the same memory (one for ``user_id=u``, one for ``user_id=u,
run_id=r``); each write updates every index whose scope covers the memory's scope.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..models import SCOPE_FIELDS, Scope
from ..stores.base import VectorHit
from .filters import check_filters, matches
from .keyword import KeywordIndex
from .neighbours import NeighbourTable

FACTS, ENTITIES, SOURCES = "facts", "entities", "sources"
_PRODUCT_CELLS = 4_000_000  # 16 MB of float32 scores per chunk of a batched search
Accept = Callable[[dict[str, Any]], bool]


class ScopeIndex:
    """The facts of one scope: ids, payloads, BM25 postings and (optionally) vectors."""

    def __init__(self, scope: Scope, *, keywords: bool = True) -> None:
        self.scope = scope
        self.with_keywords = keywords
        self.ids: list[str | None] = []
        self.payloads: list[dict[str, Any] | None] = []
        self.slot_of: dict[str, int] = {}
        self.keywords = KeywordIndex()
        self.neighbours = NeighbourTable()
        self._free: list[int] = []
        self._matrix: np.ndarray | None = None
        self._alive = np.zeros(64, dtype=bool)
        self.has_vectors = True  # False once a point arrives without its vector
        # Groups: a source message and the facts extracted from it share one key (the
        # source's id); any other memory is a group of its own (search/collapse.py).
        self.group_of: dict[str, str] = {}  # point id -> group key
        self.groups: dict[str, list[str]] = {}  # group key -> its point ids
        # Counts writes, so what is derived from the scope (search's graph arrays) knows
        # when to rebuild: every graph change comes with a write of its facts or entities.
        self.revision = 0

    @property
    def dim(self) -> int | None:
        return None if self._matrix is None else int(self._matrix.shape[1])

    def __len__(self) -> int:
        return len(self.slot_of)

    def put(self, point_id: str, payload: dict[str, Any], vector: Sequence[float] | None) -> None:
        self.revision += 1
        slot = self.slot_of.get(point_id)
        if slot is None:
            slot = self._free.pop() if self._free else len(self.ids)
            if slot == len(self.ids):
                self.ids.append(None)
                self.payloads.append(None)
            self.slot_of[point_id] = slot
        self.ids[slot] = point_id
        self.payloads[slot] = payload
        self._regroup(point_id, str(payload.get("origin") or point_id))
        if slot >= len(self._alive):
            self._alive = np.concatenate([self._alive, np.zeros(len(self._alive) + slot, bool)])
        self._alive[slot] = True
        # A fact split from a source is not a document of its own: its source is, for BM25
        # and for neighbours. Indexing the fragments too tripled LoCoMo's documents and
        # shrank the average length, and BM25 of the messages themselves fell (recall@10
        # 0.633 -> 0.595 on conversations 0-2).
        if self.with_keywords and not payload.get("origin"):
            self.keywords.add(slot, str(payload.get("text", "")))
            self.neighbours.add(point_id, payload)
        if vector is None or not len(vector):
            self.has_vectors = False
            return
        row = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(row))
        if self._matrix is None:
            self._matrix = np.zeros((64, row.shape[0]), dtype=np.float32)
        if slot >= self._matrix.shape[0]:
            grown = np.zeros((max(slot + 1, 2 * self._matrix.shape[0]), row.shape[0]), np.float32)
            grown[: self._matrix.shape[0]] = self._matrix
            self._matrix = grown
        self._matrix[slot] = row / norm if norm else row

    def drop(self, point_id: str) -> None:
        slot = self.slot_of.pop(point_id, None)
        if slot is None:
            return
        self.revision += 1
        self.ids[slot] = None
        self.payloads[slot] = None
        self._alive[slot] = False
        self._regroup(point_id, None)
        self.keywords.remove(slot)
        self.neighbours.remove(point_id)
        if self._matrix is not None:
            self._matrix[slot] = 0.0  # a zero row scores 0 and is skipped as empty
        self._free.append(slot)

    def _regroup(self, point_id: str, key: str | None) -> None:
        old = self.group_of.pop(point_id, None)
        if old is not None:
            members = self.groups[old]
            members.remove(point_id)
            if not members:
                del self.groups[old]
        if key is not None:
            self.group_of[point_id] = key
            self.groups.setdefault(key, []).append(point_id)

    def containing(self, text: str) -> list[str]:
        """Ids of the memories whose text holds every (stemmed, non-stop) word of ``text``."""
        out = []
        for slot in self.keywords.containing(text):
            point_id = self.ids[slot]
            if is_source(self.payloads[slot]):  # the facts of a message holding the words
                out += [i for i in self.groups.get(point_id, ()) if i != point_id]
            else:
                out.append(point_id)
        return out

    def payload(self, point_id: str) -> dict[str, Any] | None:
        slot = self.slot_of.get(point_id)
        return None if slot is None else self.payloads[slot]

    def vector(self, point_id: str) -> np.ndarray | None:
        slot = self.slot_of.get(point_id)
        if slot is None or self._matrix is None or not self.has_vectors:
            return None
        return self._matrix[slot]

    # -- ranked reads ------------------------------------------------------------------

    def vector_scores(self, query: Sequence[float]) -> Scores:
        """Cosine of every memory of the scope to ``query``."""
        size = len(self.ids)
        if self._matrix is None or not self.slot_of:
            return Scores(self, np.empty(0, np.int64), np.empty(0), 0.0)
        values = self._matrix[:size] @ _unit(query)
        floor = float(values[self._alive[:size]].min())
        return Scores(self, np.arange(size), values.astype(np.float64), floor)

    def vector_scores_many(self, queries: Sequence[Sequence[float]]) -> list[Scores]:
        """``vector_scores`` of each query, from one matrix product per chunk of queries.

        Each cosine is within ``dim * 2**-24`` of the exact one, as ``vector_scores``'s
        is, but BLAS sums the two in different orders: they may differ in the last bits.
        """
        size = len(self.ids)
        if self._matrix is None or not self.slot_of:
            return [self.vector_scores(q) for q in queries]
        units = [_unit(query) for query in queries]  # one by one, as vector_scores does
        matrix, alive, out = self._matrix[:size], self._alive[:size], []
        step = max(1, _PRODUCT_CELLS // size)  # bounds the (queries x scope) scratch array
        for start in range(0, len(units), step):
            values = np.stack(units[start : start + step]) @ matrix.T
            floors = (values if alive.all() else values[:, alive]).min(axis=1)
            slots = np.arange(size)
            out += [Scores(self, slots, row.astype(np.float64), float(floor))
                    for row, floor in zip(values, floors, strict=True)]  # fmt: skip
        return out

    def keyword_scores(self, query: str) -> Scores:
        """BM25 of every memory sharing a term with ``query`` (the rest score 0)."""
        slots, values = self.keywords.scores(query)
        return Scores(self, slots, values, 0.0)


class Scores:
    """One channel's scores over a scope: ranked reads and look-ups by id.

    ``floor`` is what an unrelated memory scores (0 for BM25, the scope's lowest cosine),
    which weighted fusion normalises from.
    """

    def __init__(self, index: ScopeIndex, slots: np.ndarray, values: np.ndarray, floor: float):
        self.index, self.slots, self.values, self.floor = index, slots, values, floor
        self._by_slot: np.ndarray | None = None

    def median(self) -> float:
        """The score of a typical memory of the scope: where "unrelated" sits for cosines."""
        alive = self.index._alive[: len(self.values)]
        values = self.values if len(self.values) != len(alive) else self.values[alive]
        return float(np.median(values)) if len(values) else self.floor

    def of(self, point_id: str) -> float:
        slot = self.index.slot_of.get(point_id)
        if slot is None:
            return self.floor
        if self._by_slot is None:
            if len(self.slots) == len(self.index.ids):  # dense: position == slot
                return float(self.values[slot])
            # Scattered into an array, not a dict: a common word gives BM25 scores for
            # most of the scope: a dict of 53k took 13.7 ms to build, this array 0.14 ms.
            self._by_slot = np.full(len(self.index.ids), self.floor)
            self._by_slot[self.slots] = self.values
        return float(self._by_slot[slot]) if slot < len(self._by_slot) else self.floor

    def top(self, limit: int, accept: Accept) -> list[tuple[str, float]]:
        """Walk candidates in score order, in growing chunks, until ``limit`` are accepted.

        A chunk is cut with ``argpartition`` so the common case (few rejections) sorts only
        about ``2 * limit`` scores, not the whole scope.
        """
        slots, scores, index = self.slots, self.values, self.index
        out: list[tuple[str, float]] = []
        done = 0
        chunk = max(2 * limit, 32)
        while len(out) < limit and done < len(slots):
            end = min(done + chunk, len(slots))
            if end < len(slots):
                part = np.argpartition(-scores, end - 1)[:end]
            else:
                part = np.arange(len(slots))
            order = part[np.argsort(-scores[part], kind="stable")][done:end]
            for i in order:
                slot = int(slots[i])
                payload = index.payloads[slot]
                if payload is not None and accept(payload):
                    out.append((index.ids[slot], float(scores[i])))
                    if len(out) == limit:
                        break
            done, chunk = end, chunk * 4
        return out


class IndexedVectorStore:
    """A ``VectorStore`` that forwards every call and keeps per-scope indexes in step.

    It also answers ``search`` on the indexed collections from memory: an exact cosine
    like local mode's, but a numpy product instead of a Python filter over every point.
    That matters beyond search: entity resolution asks for similar entities once per new
    name, and at ~1.5k entity points each local-mode search took 0.3 s (measured), so a
    1,000-memory batch spent six minutes there.

    ``max_scopes`` bounds memory per collection: the least recently used index is dropped
    and rebuilt from the store when it is needed again.
    """

    def __init__(self, inner: Any, *, max_scopes: int = 16, collections=(FACTS, ENTITIES)) -> None:
        self.inner = inner
        self.max_scopes = max_scopes
        self.indexed = frozenset(collections)
        self._indexes: OrderedDict[tuple[str, Scope], ScopeIndex] = OrderedDict()
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:  # backend extras (prefix, collections, ...)
        return getattr(self.inner, name)

    # -- the VectorStore protocol ----------------------------------------------------------

    def open(self, dim: int, embedder: str) -> None:
        self.inner.open(dim, embedder)

    def upsert(self, collection: str, points: Sequence[Any]) -> None:
        self.inner.upsert(collection, points)
        target = FACTS if collection == SOURCES else collection  # sources are searched too
        with self._lock:
            for (name, scope), index in self._indexes.items():
                if name == target:
                    for p in points:
                        if scope.covers(Scope.from_row(p.payload)):
                            # The store fills unset scope fields with "": so does the copy.
                            payload = {**dict.fromkeys(SCOPE_FIELDS, ""), **p.payload}
                            index.put(p.id, payload, p.vector)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self.inner.delete(collection, ids)
        target = FACTS if collection == SOURCES else collection
        with self._lock:
            for (name, _scope), index in self._indexes.items():
                if name == target:
                    for point_id in ids:
                        index.drop(point_id)

    def search(self, collection, vector, scope, limit=10, filters=None):
        index = self._index_for(collection, scope, limit)
        query = _query(vector, index) if index is not None else None
        if query is None:
            # Anything unusual (bad input, no vectors kept) goes to the store, which
            # answers or raises exactly as it always did.
            return self.inner.search(collection, vector, scope, limit, filters)
        return _hits(index, index.vector_scores(query).top(limit, _acceptor(scope, filters)))

    def search_many(self, collection, vectors, scope, limit=10, filters=None, *, exact_from=None):
        """``search`` for each of ``vectors``, from one matrix product over the index.

        Entity resolution asks for one search per new name, ~2,300 per 10k memories.
        BLAS sums a matrix product in another order than a matrix-vector product, so a
        score may differ from ``search``'s in the last float32 bits (measured: up to 4e-6;
        the bound is ``dim * 2**-23``), and hits that close may swap places. A vector whose
        best hit scores ``exact_from`` or more (less twice the bound) is searched alone, so every
        hit from there up is exactly ``search``'s. So is any vector the index cannot take.
        """
        vectors = list(vectors)
        index = self._index_for(collection, scope, limit) if vectors else None
        queries = [_query(v, index) for v in vectors] if index is not None else []
        usable = [j for j, q in enumerate(queries) if q is not None]
        out: list[list[VectorHit] | None] = [None] * len(vectors)
        if usable:
            accept = _acceptor(scope, filters)
            floor = None if exact_from is None else exact_from - (index.dim or 0) * 2.0**-22
            scores = index.vector_scores_many([queries[j] for j in usable])
            for j, each in zip(usable, scores, strict=True):
                found = each.top(limit, accept)
                if floor is None or not found or found[0][1] < floor:
                    out[j] = _hits(index, found)
        return [hits if hits is not None else self.search(collection, vectors[j], scope,
                limit, filters) for j, hits in enumerate(out)]  # fmt: skip

    def _index_for(self, collection, scope, limit) -> ScopeIndex | None:
        """The index that can answer a search with these arguments, or None."""
        usable = (
            collection in self.indexed
            and isinstance(scope, Scope)
            and isinstance(limit, int)
            and not isinstance(limit, bool)
            and limit >= 1
        )
        index = self.index(scope, collection) if usable else None
        return index if index is not None and index.has_vectors else None

    def get(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False):
        if with_vectors:
            return self.inner.get(collection, ids, with_vectors=True)
        return self.inner.get(collection, ids)

    def scroll(self, collection, scope, limit=100, offset=0, filters=None):
        return self.inner.scroll(collection, scope, limit, offset, filters)

    def scan(self, collection: str, scope: Scope) -> list[VectorHit]:
        return self.inner.scan(collection, scope)

    def count(self, collection: str, scope: Scope | None = None) -> int:
        return self.inner.count(collection, scope)

    def reset(self) -> None:
        with self._lock:
            self._indexes.clear()
            self.inner.reset()

    def close(self) -> None:
        with self._lock:
            self._indexes.clear()
        self.inner.close()

    # -- indexes ---------------------------------------------------------------------------

    def index(self, scope: Scope, collection: str = FACTS) -> ScopeIndex:
        """The scope's index, built from the store on first use (one full read of it)."""
        key = (collection, scope)
        with self._lock:
            found = self._indexes.get(key)
            if found is not None:
                self._indexes.move_to_end(key)
                return found
            # Built under the lock: a write either lands before the read below (and is
            # read) or waits for the lock and is applied to the finished index.
            index = ScopeIndex(scope, keywords=collection == FACTS)
            # Slots in (created_at, id) order, as memories arrive: ties rank the same
            # whether the index was built from the store or grew with the writes.
            hits = self.inner.scan(collection, scope)
            if collection == FACTS and SOURCES in getattr(self.inner, "collections", ()):
                hits += self.inner.scan(SOURCES, scope)
            hits.sort(key=lambda h: (str(h.payload.get("created_at", "")), h.id))
            for hit in hits:
                index.put(hit.id, dict(hit.payload), hit.vector)
            self._indexes[key] = index
            kept = [k for k in self._indexes if k[0] == collection]
            for stale in kept[: max(0, len(kept) - self.max_scopes)]:
                del self._indexes[stale]
            return index

    def cached_scopes(self, collection: str = FACTS) -> list[Scope]:
        with self._lock:
            return [scope for name, scope in self._indexes if name == collection]


def _unit(query: Sequence[float]) -> np.ndarray:
    """A query as a float32 unit vector (left as is when it is all zeros)."""
    q = np.asarray(query, dtype=np.float32)
    return q / (float(np.linalg.norm(q)) or 1.0)


def _query(vector, index: ScopeIndex) -> np.ndarray | None:
    """``vector`` as an array if ``index`` can score it: finite, not all zero, its size."""
    query = np.asarray(vector, dtype=np.float64)
    if query.ndim != 1 or not bool(np.isfinite(query).all() and query.any()):
        return None
    return query if index.dim in (None, len(query)) else None


def is_source(payload: Mapping[str, Any] | None) -> bool:
    """A message kept whole for search beside the facts split from it (not a memory)."""
    return payload is not None and payload.get("kind") == "source"


def _acceptor(scope: Scope, filters) -> Accept:
    wanted = check_filters(filters)

    def accept(payload: Mapping[str, Any]) -> bool:
        # The facts index also holds sources: a search of the facts never returns one.
        return (scope.matches(payload) and not is_source(payload)
                and (not wanted or matches(payload, wanted)))  # fmt: skip

    return accept


def _hits(index: ScopeIndex, found: list[tuple[str, float]]) -> list[VectorHit]:
    return [VectorHit(i, score, dict(index.payload(i) or {})) for i, score in found]
