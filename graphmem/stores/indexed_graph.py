"""``IndexedGraphStore``: a graph store that forwards every call to the real one and keeps
the in-process copy of its topology (``graph_index.GraphIndex``) in step.

The copy answers the hot named reads (``ANSWERED``). Every write goes through here, so
the copy can follow it: a known named write is applied when its transaction commits;
anything else (user Cypher that writes, scope deletion, reset, a rolled-back
transaction) drops the copy, and the next read builds it again. Where the last close
saved the copy by scope (``index/graph_parts.py``), a read or a write first loads the
parts it may see or change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from ..models import SCOPE_FIELDS, GraphBatch, Relation, Scope
from .base import Row
from .graph_index import FOLLOWED, SNAPSHOT_KEY, GraphIndex, PartUnreadable
from .rows import entity_row, relation_row

log = logging.getLogger(__name__)


class IndexedGraphStore:
    """A ``GraphStore`` that forwards every call and keeps a ``GraphIndex`` in step."""

    ANSWERED = frozenset({"entities_by_key", "entities_get", "relations_touching", "fact_mentions",
                          "relations_by_fact", "entities_in_scope"})  # fmt: skip

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._index: GraphIndex | None = None
        self._lock = threading.RLock()
        self._local = threading.local()  # per thread: transaction depth, pending writes
        self.snapshots: Any = None  # index/persist.py, where the copy outlives the process

    def __getattr__(self, name: str) -> Any:  # dialect, capabilities, queries, path, ...
        return getattr(self.inner, name)

    @property
    def tracer(self) -> Any:
        return self.inner.tracer

    @tracer.setter
    def tracer(self, value: Any) -> None:
        self.inner.tracer = value

    # -- reads -----------------------------------------------------------------------------

    def index(self) -> GraphIndex:
        """The copy, read from the store on first use (three full reads)."""
        with self._lock:
            if self._index is None and self.snapshots is not None:
                self._index = self.snapshots.take(SNAPSHOT_KEY)
            if self._index is None:
                run = self.inner.run
                mentions = [(r["fact_id"], r["entity_id"]) for r in run("index_mentions", {})]
                self._index = GraphIndex(run("index_entities", {}), run("index_relations", {}),
                                         mentions)  # fmt: skip
            return self._index

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        params = dict(params or {})
        if name in self.ANSWERED and not self._depth:
            # Outside a transaction only: inside one, its own writes are not applied yet.
            if self.inner.tracer is not None:
                self.inner.tracer(name, "-- answered from the in-process graph index", params)
            with self._lock:
                return self._ready(**_needs(name, params)).answer(name, params)
        self._before(name, params)
        rows = self.inner.run(name, params)
        self._wrote(name, params)
        return rows

    def fanned_relations(self, ids, limit, accept, keep=()) -> list[Relation] | None:
        """``GraphIndex.fanned`` (a capped ``relations_touching``, as ``Relation`` models),
        or None inside a transaction, whose own writes the copy has not seen yet."""
        if self._depth:
            return None
        if self.inner.tracer is not None:
            params = {"ids": list(ids), "limit": limit}
            self.inner.tracer("relations_touching", "-- fanned from the graph index", params)
        ids, keep = list(ids), list(keep)
        with self._lock:
            return self._ready(ids=ids + keep).fanned(ids, limit, accept, keep)

    def around(self, read: str, ids, most: int) -> Any:
        """``GraphIndex.naming`` or ``supporting`` (with the relations' rows), or None
        inside a transaction, whose own writes the copy has not seen yet."""
        if self._depth:
            return None
        if self.inner.tracer is not None:
            self.inner.tracer(read, "-- answered from the in-process graph index",
                              {"ids": list(ids), "most": most})  # fmt: skip
        ids = list(ids)
        with self._lock:
            index = self._ready(ids=ids)
            if read == "naming":
                return index.naming(ids, most)
            found = index.supporting(ids, most)
            return {f: [index.relation(r) for r in rels] for f, rels in found.items()}

    def _ready(self, **needs: Any) -> GraphIndex:
        """The copy, with the saved parts a read needs loaded (``GraphIndex.need``); a part
        that fails to load drops the copy, read again from the store."""
        index = self.index()
        try:
            index.need(**needs)
        except PartUnreadable as exc:
            log.warning("graphmem: graph snapshot not used, read from the store: %s", exc)
            if self.snapshots is not None:
                self.snapshots.refuse(SNAPSHOT_KEY, str(exc))
            self._index = None
            index = self.index()
        return index

    # -- writes ----------------------------------------------------------------------------

    @property
    def _depth(self) -> int:
        return getattr(self._local, "depth", 0)

    def _before(self, name: str | None = None, params: Mapping[str, Any] | None = None,
                batch: GraphBatch | None = None) -> None:  # fmt: skip
        """Saved snapshots stop being trusted before a write reaches the store, and the
        saved parts of the graph copy it touches are loaded first: each part matches the
        store until a write changes it (``_touches``)."""
        if name is None or self._writes(name):
            if self.snapshots is not None:  # the graph's snapshot only: not the vectors'
                self.snapshots.writing(lambda key: key == SNAPSHOT_KEY)
            with self._lock:
                index = self._index
                if index is not None and index.parts is not None and index.parts.pending:
                    for needs in _touches(name, params or {}, batch):
                        if self._ready(**needs) is not index:
                            break  # a part failed: the copy was read from the store

    def adopt(self, key: tuple, index: GraphIndex) -> None:
        with self._lock:
            if key == SNAPSHOT_KEY and self._index is None:
                self._index = index

    def held(self) -> dict[tuple, GraphIndex]:
        with self._lock:
            return {} if self._index is None else {SNAPSHOT_KEY: self._index}

    def let_go(self, key: tuple) -> None:
        """Drop the copy its snapshot has just saved, as the Memory closes."""
        if key == SNAPSHOT_KEY:
            self.drop()

    def _wrote(self, name: str, params: Mapping[str, Any]) -> None:
        if name in self.ANSWERED or not self._writes(name):
            return
        self._record(lambda index: index.apply(name, params))

    def _writes(self, name: str) -> bool:
        queries = getattr(self.inner, "queries", None)
        if queries is None:
            return True
        return queries.get(name).writes

    def _record(self, change) -> None:
        if self._depth:
            self._local.pending.append(change)
        else:
            self._commit([change])

    def _commit(self, changes: list) -> None:
        with self._lock:
            if self._index is None:
                return
            for change in changes:
                if change(self._index) is False:
                    self._index = None  # a write this copy cannot follow: read again
                    return

    def write(self, batch: GraphBatch) -> None:
        self._before(batch=batch)
        try:
            self.inner.write(self._unheld_mentions(batch))
        except BaseException:
            if not self._depth:  # rolled back by the store (inside ours: see transaction)
                self.drop()
            raise
        self._record(lambda index: index.write(batch))

    def _unheld_mentions(self, batch: GraphBatch) -> GraphBatch:
        """``batch`` less the mentions the copy holds, which the store holds too. Re-adding
        stored memories merges their mentions again, and Kuzu joins each MERGE's rows with
        every fact and entity: 2,000 took 18 s at 100k memories. Left whole while this
        thread's transaction holds changes the copy has not taken yet (one may have
        removed a mention that the batch adds back)."""
        if not batch.mentions or getattr(self._local, "pending", None):
            return batch
        with self._lock:
            index = self._index
            if index is None:
                return batch
            unheld = [(f, e) for f, e in batch.mentions if e not in index.mentions.get(f, ())]
        return batch if len(unheld) == len(batch.mentions) else replace(batch, mentions=unheld)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        local = self._local
        if not self._depth:
            local.pending = []
        local.depth = self._depth + 1
        try:
            with self.inner.transaction() as tx:
                yield _Tx(self, tx)
        except BaseException:
            local.depth -= 1
            if not local.depth:
                # Rolled back; on Kuzu 0.11.3 a rollback can also drop committed rows.
                local.pending = []
                self.drop()
            raise
        local.depth -= 1
        if not local.depth:
            pending, local.pending = local.pending, []
            self._commit(pending)

    def cypher(
        self, text: str, params: Mapping[str, Any] | None = None, *, read_only=True, **limits
    ):
        if not read_only:
            self._before()
        try:
            return self.inner.cypher(text, params, read_only=read_only, **limits)
        finally:
            if not read_only:
                self.drop()

    def load(self, batch: GraphBatch) -> None:
        self._before()
        try:
            self.inner.load(batch)
        finally:
            self.drop()

    def drop(self) -> None:
        with self._lock:
            self._index = None

    def reset(self) -> None:
        self._before()
        try:
            self.inner.reset()
        finally:
            self.drop()

    def close(self) -> None:
        self.drop()
        self.inner.close()


class _Tx:
    def __init__(self, owner: IndexedGraphStore, tx: Any) -> None:
        self._owner, self._tx = owner, tx

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        params = dict(params or {})
        self._owner._before(name, params)
        rows = self._tx.run(name, params)
        self._owner._wrote(name, params)
        return rows


def _needs(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What a named read may see, as ``GraphIndex.need`` takes it: a scope (keys are no
    ids), or the entity or fact ids the others read by."""
    if name in ("entities_by_key", "entities_in_scope"):
        return {"scope": Scope.from_row(params)}
    return {"ids": list(params.get("ids") or ())}


_ID_FIELDS = ("id", "source_id", "target_id", "fact_id", "entity_id")


def _touches(name: str | None, params: Mapping[str, Any], batch: GraphBatch | None) -> list:
    """The ``GraphIndex.need`` calls that load every saved part a write may change: the
    parts of its rows' scopes and of the ids it names. A write that changes nothing the
    copy holds (``_NEUTRAL``) loads none, nor one the copy cannot follow (Cypher, ``load``,
    ``reset``, a name ``GraphIndex.apply`` does not know): that one drops the copy once it
    is done, and the next read reads the store."""
    if batch is not None:
        rows = [entity_row(e) for e in batch.entities] + [relation_row(r) for r in batch.relations]
        rows += [{"fact_id": f, "entity_id": e} for f, e in batch.mentions]
        ids: list[Any] = []
    elif name in FOLLOWED:
        rows, ids = list(params.get("rows") or ()), list(params.get("ids") or ())
    else:
        return []
    ids += [row[k] for row in rows for k in _ID_FIELDS if row.get(k) is not None]
    scopes = {Scope.from_row(row) for row in rows if any(row.get(f) for f in SCOPE_FIELDS)}
    return [{"ids": ids}] + [{"scope": scope} for scope in scopes]
