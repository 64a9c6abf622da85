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

FACTS, ENTITIES = "facts", "entities"
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
        self._free: list[int] = []
        self._matrix: np.ndarray | None = None
        self._alive = np.zeros(64, dtype=bool)
        self.has_vectors = True  # False once a point arrives without its vector

    @property
    def dim(self) -> int | None:
        return None if self._matrix is None else int(self._matrix.shape[1])

    def __len__(self) -> int:
        return len(self.slot_of)

    def put(self, point_id: str, payload: dict[str, Any], vector: Sequence[float] | None) -> None:
        slot = self.slot_of.get(point_id)
        if slot is None:
            slot = self._free.pop() if self._free else len(self.ids)
            if slot == len(self.ids):
                self.ids.append(None)
                self.payloads.append(None)
            self.slot_of[point_id] = slot
        self.ids[slot] = point_id
        self.payloads[slot] = payload
        if slot >= len(self._alive):
            self._alive = np.concatenate([self._alive, np.zeros(len(self._alive) + slot, bool)])
        self._alive[slot] = True
        if self.with_keywords:
            self.keywords.add(slot, str(payload.get("text", "")))
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
        self.ids[slot] = None
        self.payloads[slot] = None
        self._alive[slot] = False
        self.keywords.remove(slot)
        if self._matrix is not None:
            self._matrix[slot] = 0.0  # a zero row scores 0 and is skipped as empty
        self._free.append(slot)

    def containing(self, text: str) -> list[str]:
        """Ids of the memories whose text holds every (stemmed, non-stop) word of ``text``."""
        return [self.ids[s] for s in self.keywords.containing(text)]

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
        q = np.asarray(query, dtype=np.float32)
        q = q / (float(np.linalg.norm(q)) or 1.0)
        values = self._matrix[:size] @ q
        floor = float(values[self._alive[:size]].min())
        return Scores(self, np.arange(size), values.astype(np.float64), floor)

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
        with self._lock:
            for (name, scope), index in self._indexes.items():
                if name == collection:
                    for p in points:
                        if scope.covers(Scope.from_row(p.payload)):
                            # The store fills unset scope fields with "": so does the copy.
                            payload = {**dict.fromkeys(SCOPE_FIELDS, ""), **p.payload}
                            index.put(p.id, payload, p.vector)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self.inner.delete(collection, ids)
        with self._lock:
            for (name, _scope), index in self._indexes.items():
                if name == collection:
                    for point_id in ids:
                        index.drop(point_id)

    def search(self, collection, vector, scope, limit=10, filters=None):
        usable = (
            collection in self.indexed
            and isinstance(scope, Scope)
            and isinstance(limit, int)
            and not isinstance(limit, bool)
            and limit >= 1
        )
        query = np.asarray(vector, dtype=np.float64) if usable else None
        usable = usable and query.ndim == 1 and bool(np.isfinite(query).all() and query.any())
        index = self.index(scope, collection) if usable else None
        if index is None or not index.has_vectors or index.dim not in (None, len(query)):
            # Anything unusual (bad input, no vectors kept) goes to the store, which
            # answers or raises exactly as it always did.
            return self.inner.search(collection, vector, scope, limit, filters)
        wanted = check_filters(filters)

        def accept(payload: Mapping[str, Any]) -> bool:
            return scope.matches(payload) and (not wanted or matches(payload, wanted))

        found = index.vector_scores(query).top(limit, accept)
        return [VectorHit(i, score, dict(index.payload(i) or {})) for i, score in found]

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
