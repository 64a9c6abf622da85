"""``IndexedVectorStore``: a vector store that keeps per-scope in-process indexes in step.

Both pipelines use it: ingest writes through it (and entity resolution asks it for
similar entities, many names at once), search reads the indexes it keeps. It lives
beside the stores, not in ``search/``, so the write path never goes through search.

Several indexes may hold the same memory (one for ``user_id=u``, one for ``user_id=u,
run_id=r``); each write updates every index whose scope covers the memory's scope.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..collector import give_back_heap
from ..models import SCOPE_FIELDS, Scope
from ..stores.base import ENTITIES, FACTS, SOURCES, VectorHit
from .dots import coded
from .filters import check_filters, matches
from .payload_rows import encode_json
from .scope import ScopeIndex, is_source
from .scores import Accept
from .snapshot import compacted

_REPACK_FROM = 4_096  # rows put since: below, not worth a copy
_TRIM_FROM = 2_000  # memories built: below, the build freed too little to give back


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
        self.snapshots: Any = None  # persist.Snapshots, where indexes outlive the process

    def __getattr__(self, name: str) -> Any:  # backend extras (prefix, collections, ...)
        return getattr(self.inner, name)

    # -- the VectorStore protocol ----------------------------------------------------------

    def open(self, dim: int, embedder: str) -> None:
        self.inner.open(dim, embedder)

    def upsert(self, collection: str, points: Sequence[Any]) -> None:
        self._follow(collection, points, self.inner.upsert,
                     lambda index, p, payload: index.put(p.id, payload, p.vector))  # fmt: skip

    @property
    def overwrites_payloads(self) -> bool:
        """Whether the store rewrites payloads alone: a store object of the caller's own
        (``Memory.open(vectors=...)``) may predate ``overwrite_payloads``."""
        return callable(getattr(self.inner, "overwrite_payloads", None))

    def overwrite_payloads(self, collection: str, points: Sequence[Any]) -> None:
        self._follow(collection, points, self.inner.overwrite_payloads,
                     lambda index, p, payload: index.restamp(p.id, payload))  # fmt: skip

    def _follow(self, collection: str, points: Sequence[Any], step, apply) -> None:
        """Write ``points`` with the store's ``step``, then ``apply(index, point, payload)``
        to every held index of the collection whose scope covers the point."""
        target = FACTS if collection == SOURCES else collection  # sources are searched too
        rows = [Scope.from_row(p.payload) for p in points]  # read once, for every index
        self._write(_touching(target, lambda: rows), step, collection, points)
        # Points by their scope: a batch has one, and the data dir holds an index per
        # scope written, so each index asks once whether it covers the batch, not once
        # a point (a 1M-memory ingest held ten entities indexes).
        by_scope: dict[Scope, list[Any]] = {}
        for p, row in zip(points, rows, strict=True):
            by_scope.setdefault(row, []).append(p)
        with self._lock:
            for (name, scope), index in self._indexes.items():
                if name != target:
                    continue
                for row, held in by_scope.items():
                    if scope.covers(row):
                        for p in held:
                            # The store fills unset scope fields with "": so does the copy.
                            apply(index, p, {**dict.fromkeys(SCOPE_FIELDS, ""), **p.payload})
            for key, index in list(self._indexes.items()):
                if index.grown >= max(_REPACK_FROM, len(index.ids) // 2):
                    # Grown by half since built or loaded: held compact again (~7 us a
                    # memory, so ~14 us a write amortised). An entities index grown by
                    # 20k names held ~55 MB, twice its loaded size (issue 16). Not
                    # consumed: a caller may still hold the grown one.
                    self._indexes[key] = compacted(index, consume=False)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        target = FACTS if collection == SOURCES else collection
        # Which scopes lose a point is read from the store, and only while some snapshot
        # of the collection is still trusted (persist.py).
        scopes = lambda: [Scope.from_row(h.payload) for h in self.inner.get(collection, ids)]  # noqa: E731
        self._write(_touching(target, scopes), self.inner.delete, collection, ids)
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
        """``search`` for each of ``vectors``, hits from ``exact_from`` up exactly ``search``'s.

        Entity resolution asks once per batch for every new name, ~2,300 per 10k memories.
        Without ``exact_from`` it is one matrix product over the whole index: BLAS sums a
        matrix product in another order than a matrix-vector product, so a score may
        differ from ``search``'s in the last float32 bits (measured: up to 4e-6; the
        bound is ``dim * 2**-23``), and hits that close may swap places; a vector whose
        best hit scores ``exact_from`` or more (less twice the bound) is searched alone,
        so every hit from there up is exactly ``search``'s. So is any vector the index
        cannot take.

        With ``exact_from``, once the scope is big (``nearest.py``), each vector is scored
        against its approximate neighbourhood only, and not searched alone: the cost grows
        with the square root of the scope. Its hits from ``exact_from`` up are then
        ``search``'s, with scores within the bound above (so near ties may swap), unless
        one sits outside the clusters probed (measured: none at cosine >= 0.9 over 22k
        and 44k names; tests/test_nearest.py).
        """
        vectors = list(vectors)
        index = self._index_for(collection, scope, limit) if vectors else None
        queries = [_query(v, index) for v in vectors] if index is not None else []
        usable = [j for j, q in enumerate(queries) if q is not None]
        out: list[list[VectorHit] | None] = [None] * len(vectors)
        if usable:
            accept = _acceptor(scope, filters)
            floor = None if exact_from is None else exact_from - (index.dim or 0) * 2.0**-22
            wanted = [queries[j] for j in usable]
            scores = (index.vector_scores_many(wanted) if exact_from is None
                      else index.nearest_scores_many(wanted))  # fmt: skip
            alike = exact_from is not None and index.clustered()  # no search alone
            for j, each in zip(usable, scores, strict=True):
                found = each.top(limit, accept)
                if alike or floor is None or not found or found[0][1] < floor:
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
        if self.snapshots is not None:
            self.snapshots.writing()
        with self._lock:
            self._indexes.clear()
            self.inner.reset()

    def _write(self, touched: Callable[[tuple], bool], step, *args: Any) -> None:
        """Run a store write: the saved snapshots it ``touched`` stop being trusted first
        (``persist.py``), and one that fails may leave the indexes apart from the store,
        so none is saved."""
        if self.snapshots is None:
            step(*args)
            return
        self.snapshots.writing(touched)
        try:
            step(*args)
        except BaseException:
            self.snapshots.write_failed()
            raise

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
            saved = self.snapshots.take(("scope", *key)) if self.snapshots else None
            if saved is None:
                # Held as a snapshot's load gives it (~7 us a memory, ~5% of the build),
                # so a process holds the same compact form whether it built or loaded.
                saved = compacted(self._build(collection, scope))
                if len(saved.ids) >= _TRIM_FROM:
                    give_back_heap()
            index = saved
            self._keep(key, index)
            return index

    def _build(self, collection: str, scope: Scope) -> ScopeIndex:
        index = ScopeIndex(scope, keywords=collection == FACTS)
        names = [collection]
        if collection == FACTS and SOURCES in getattr(self.inner, "collections", ()):
            names.append(SOURCES)
        # Read a page at a time where the store can, each vector coded as the index holds
        # it (``dots.coded``: ~0.5 KB for 384-d with its array, where float32 took 1.6 KB
        # and Python floats ~12 KB): reading a 100k scope whole raised the first search's
        # peak RSS by ~1.6 GB (issue 16). Payloads wait as JSON (~0.5 KB,
        # not a ~2.4 KB dict) until their turn: ~190 MB less at the peak of a 100k build,
        # for ~1 s of its ~14 s.
        keys, payloads, rows = [], [], []
        for name in names:
            pages = (self.inner.scan_pages(name, scope) if hasattr(self.inner, "scan_pages")
                     else [self.inner.scan(name, scope)])  # fmt: skip
            for page in pages:
                for hit in page:
                    keys.append((str(hit.payload.get("created_at", "")), hit.id))
                    payloads.append(encode_json(hit.payload))
                    rows.append(coded(hit.vector))
        first = next((row for row in rows if row is not None), None)
        if first is not None:
            index.reserve(len(rows), len(first[0]))
        # Slots in (created_at, id) order, as memories arrive: ties rank the same
        # whether the index was built from the store or grew with the writes.
        for at in sorted(range(len(keys)), key=keys.__getitem__):
            index.place(keys[at][1], json.loads(payloads[at]), rows[at])
            payloads[at] = rows[at] = None  # released as they are taken
        return index

    def _keep(self, key: tuple[str, Scope], index: ScopeIndex) -> None:
        self._indexes[key] = index
        kept = [k for k in self._indexes if k[0] == key[0]]
        for stale in kept[: max(0, len(kept) - self.max_scopes)]:
            del self._indexes[stale]

    # -- snapshots (persist.py): keys are ("scope", collection, scope) ----------------------

    def adopt(self, key: tuple, index: Any) -> None:
        """Take an index loaded from a snapshot, unless one is held for its key already."""
        if key[0] == "scope":
            with self._lock:
                if key[1:] not in self._indexes:
                    self._keep(key[1:], index)

    def held(self) -> dict[tuple, ScopeIndex]:
        with self._lock:
            return {("scope", *key): index for key, index in self._indexes.items()}

    def let_go(self, key: tuple) -> None:
        """Drop an index its snapshot has just saved, as the Memory closes."""
        if key[0] == "scope":
            with self._lock:
                self._indexes.pop(key[1:], None)

    def cached_scopes(self, collection: str = FACTS) -> list[Scope]:
        with self._lock:
            return [scope for name, scope in self._indexes if name == collection]


def _query(vector, index: ScopeIndex) -> np.ndarray | None:
    """``vector`` as an array if ``index`` can score it: finite, not all zero, its size."""
    query = np.asarray(vector, dtype=np.float64)
    if query.ndim != 1 or not bool(np.isfinite(query).all() and query.any()):
        return None
    return query if index.dim in (None, len(query)) else None


def _acceptor(scope: Scope, filters) -> Accept:
    wanted = check_filters(filters)

    def accept(payload: Mapping[str, Any]) -> bool:
        # The facts index also holds sources: a search of the facts never returns one.
        return (scope.matches(payload) and not is_source(payload)
                and (not wanted or matches(payload, wanted)))  # fmt: skip

    return accept


def _hits(index: ScopeIndex, found: list[tuple[str, float]]) -> list[VectorHit]:
    return [VectorHit(i, score, dict(index.payload(i) or {})) for i, score in found]


def _touching(collection: str, scopes: Callable[[], list[Scope]]) -> Callable[[tuple], bool]:
    """Whether a snapshot key names an index of ``collection`` covering one of the scopes a
    write changes; ``scopes`` is read once, on the first key of that collection. A point
    never changes scope: its id is made from its scope (``content_id``) or is random."""
    found: list[set[Scope]] = []

    def touched(key: tuple) -> bool:
        if key[0] != "scope" or key[1] != collection:
            return False
        if not found:
            found.append(set(scopes()))  # a batch is mostly one scope
        return any(key[2].covers(scope) for scope in found[0])

    return touched
