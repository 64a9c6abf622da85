"""Qdrant Edge as graphmem's embedded ``VectorStore``: the Qdrant engine inside this process.

This is the only module that imports ``qdrant_edge``. Where qdrant-client's local mode is
brute force in Python (a point costs ~0.3 ms to write, a scope-filtered search at 100k
points 1.8 s, measured here), Edge runs Qdrant's own storage, write-ahead log and payload
indexes in Rust. Each collection is one shard directory under ``path``::

    path/.lock                      one store per directory, across processes too
    path/{prefix}.meta.json         the embedder and dimension the vectors came from
    path/{prefix}.counts.json       each shard's count, written by a clean close
    path/{prefix}_{collection}/     an Edge shard (segments + WAL)

A shard that exists is loaded on first use, not by ``open``: graphmem reads its own copy
of the vectors, and an unfiltered count is answered from ``{prefix}.counts.json`` while
the shard's files are as the last close left them (``edge_counts.py``).

Writes go to the shard's WAL before ``update`` returns, so they survive this process
being killed; ``close`` flushes the segments. Searches are exact on fresh segments and use
HNSW once ``optimize()`` has built it.

Payloads are stored packed (``edge_payload.py``): only the non-empty values of the keys
reads filter on stay Qdrant payload fields, the rest travels as one JSON string.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from ..errors import BackendUnavailableError, ConfigError, GraphMemError, ValidationError
from ..models import Scope
from . import edge_counts
from .base import VectorHit, VectorPoint
from .edge_payload import INDEXED_KEYS, pack, passes, split, unpack
from .mapped_pages import PageReleaser
from .vector_checks import (
    DEFAULT_COLLECTIONS,
    Condition,
    check_count,
    check_names,
    check_open_args,
    check_scope,
    check_vector,
    checked_vectors,
    conditions,
    mismatch,
    page_by_created,
    point_id,
    point_ids,
    scoped_payload,
)

log = logging.getLogger(__name__)

_PAGE = 10_000
_SCAN_PAGE = 1_000  # points with vectors per page (scan_pages)


class EdgeVectorStore:
    """Named collections (cosine) in Qdrant Edge shards under one directory.

    Same contract as ``QdrantVectorStore`` (``stores/base.py::VectorStore``): ``open(dim,
    embedder)`` first; a store filled by another embedder or dimension is refused.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        prefix: str = "graphmem",
        collections: Sequence[str] = DEFAULT_COLLECTIONS,
    ) -> None:
        if not isinstance(path, str | Path) or not str(path):
            raise ConfigError(f"path={path!r}: give the directory the vectors live in")
        self.collections = check_names(prefix, collections)
        self.prefix = prefix
        self.path = Path(path)
        self._where = f"path {self.path}"
        self._lock = threading.RLock()
        self._shards: dict[str, Any] = {}
        self._pending: set[str] = set()  # shards that exist and are not loaded yet
        self._counts: dict[str, int] = {}  # their counts, from the last clean close
        self._dim: int | None = None
        self._closed = False
        # The segment files' pages a call touched stay in this process's RSS (2.4 GB at 1M
        # memories); they are handed back once calls have moved enough points (mapped_pages.py).
        self._pages = PageReleaser(self._mapped_folders)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise BackendUnavailableError(
                f"the Qdrant Edge directory {self.path} is in use by another process or store "
                "(one store per directory): close the other one, share a single "
                "EdgeVectorStore, or run a Qdrant server and pass url=..."
            ) from None

    # --- lifecycle ----------------------------------------------------------------------

    def open(self, dim: int, embedder: str) -> None:
        check_open_args(dim, embedder)
        meta_path = self.path / f"{self.prefix}.meta.json"
        with self._call("open the collections"):
            # Everything is checked before anything is created: a refused open changes nothing.
            stored = json.loads(meta_path.read_text()) if meta_path.exists() else None
            if stored is not None and (stored.get("embedder"), stored.get("dim")) != (
                embedder,
                dim,
            ):
                raise mismatch(
                    self.prefix,
                    self._where,
                    f"embedder {stored.get('embedder')!r} (dim {stored.get('dim')})",
                    embedder,
                    dim,
                )
            existing = [n for n in self.collections if self._shard_dir(n).exists()]
            if stored is None and existing:
                self._drop_unrecorded(existing, embedder, dim)
            if stored is None:
                # Recorded before any shard is made: a shard on disk is then always one of
                # this embedder's. Written after them, a kill in between (the first open of
                # a data dir) left shards no open would take.
                tmp = meta_path.with_suffix(".tmp")
                tmp.write_text(json.dumps({"embedder": embedder, "dim": dim}))
                os.replace(tmp, meta_path)
            self._counts = edge_counts.read(self._counts_path, self._folders())
            for name in self.collections:
                if name in self._shards or name in self._pending:
                    continue
                if self._shard_dir(name).exists():
                    self._pending.add(name)  # loaded by _shard, on first use
                else:
                    self._shards[name] = self._create(name, dim)
        self._dim = dim

    def _drop_unrecorded(self, existing: list[str], embedder: str, dim: int) -> None:
        """Shards on disk with no record of their embedder. graphmem records it before it
        makes a shard (and, before 2026-11-29, after it made them all, before any write):
        so an empty shard, or one a kill cut short that does not load, holds nothing
        anyone wrote, and is made again. One holding points came from elsewhere."""
        for name in existing:
            where = self._shard_dir(name)
            try:
                shard = qe.EdgeShard.load(str(where))
                points = shard.count(qe.CountRequest(exact=True))
                shard.close()
            except Exception:  # noqa: BLE001 - a shard cut short by a kill: no write reached it
                points = 0
            if points:
                raise mismatch(self.prefix, self._where, f"an unrecorded embedder ({existing})",
                               embedder, dim)  # fmt: skip
        for name in existing:
            log.warning("removing the unfinished vector shard %s (no embedder recorded, no "
                        "points): its data dir's first open was cut short", self._shard_dir(name))  # fmt: skip
            shutil.rmtree(self._shard_dir(name))

    def _create(self, name: str, dim: int) -> Any:
        edge_counts.forget(self._counts_path)  # a new shard is counted on the next close
        where = str(self._shard_dir(name))
        # Vectors cold (memory-mapped, paged in when read): graphmem searches its own
        # in-process copy (index/store.py), so Qdrant's vectors are read only on a fallback
        # or an index rebuild. The default holds them in RAM, read whole on every load:
        # at 1M memories 1.8 s of a 3.1 s open and 1.6 GB of RSS (measured; at 100k, 0.19
        # s and 219 MB against 0.08 s and 59 MB cold). A shard created before keeps its
        # segments as they were.
        params = qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, memory=qe.Memory.Cold)
        config = qe.EdgeConfig(vectors=params)
        # Made aside and moved into place whole: a kill part-way leaves only the aside.
        partial = Path(f"{where}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shard = qe.EdgeShard.create(str(partial), config)
        for key in INDEXED_KEYS:
            shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword))
        shard.close()
        os.replace(partial, where)
        return qe.EdgeShard.load(where)

    def optimize(self) -> None:
        """Build HNSW and merge segments (minutes at 100k points); searches stay exact
        without it, and slower at scale."""
        for name in self.collections:
            self._shard(name)
        with self._call("optimize"):
            for shard in self._shards.values():
                shard.optimize()

    def reset(self) -> None:
        """Drop this prefix's collections and metadata; the next ``open`` recreates them."""
        with self._call("reset"):
            self._close_shards(flush=False)
            for name in self.collections:
                shutil.rmtree(self._shard_dir(name), ignore_errors=True)
            (self.path / f"{self.prefix}.meta.json").unlink(missing_ok=True)
            edge_counts.forget(self._counts_path)
        self._dim = None

    def close(self) -> None:
        """Flush and release the shards and the directory lock. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._close_and_count()
            finally:
                if self._lock_fd is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                    os.close(self._lock_fd)
                    self._lock_fd = None

    def release_caches(self) -> bool:
        """Flush and close the loaded shards, each counted first; each loads again on its
        next use. What a shard holds for its writes goes with it (~0.5 GB at 1M points,
        where a shard loaded fresh holds ~0.17 GB). False if none was loaded."""
        with self._call("hand back the loaded collections"):
            if not self._shards:
                return False
            self._counts.update(self._loaded_counts())  # as the close counts them
            names = set(self._shards) | self._pending
            try:
                self._close_shards(flush=True)
            finally:
                self._pending = names  # loaded again on use, even after a failed close
            return True

    def _close_and_count(self) -> None:
        """Close the shards, then save every collection's count for the next open."""
        counts = {n: self._counts[n] for n in self._pending if n in self._counts}
        try:
            counts.update(self._loaded_counts())
        finally:
            self._close_shards(flush=True)
        if self._dim is None or set(counts) != set(self.collections):
            return
        try:
            edge_counts.write(self._counts_path, counts, self._folders())
        except OSError as exc:  # the next open counts the shards itself
            log.warning("graphmem: shard counts not saved in %s: %s", self.path, exc)

    def _loaded_counts(self) -> dict[str, int]:
        """Each loaded shard's exact count: what a close saves and a settle keeps."""
        return {name: int(shard.count(qe.CountRequest(exact=True)))
                for name, shard in self._shards.items()}  # fmt: skip

    def _close_shards(self, *, flush: bool) -> None:
        shards, self._shards = self._shards, {}
        self._pending.clear()
        for shard in shards.values():
            if flush:
                shard.flush()
            shard.close()

    def __enter__(self) -> EdgeVectorStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writes -------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None:
        shard = self._shard(collection)
        # Every point is checked before any is written: bad input writes nothing.
        vectors = checked_vectors(points, self._dim)
        built = [
            qe.Point(point_id(p.id), v, pack(scoped_payload(p)))
            for p, v in zip(points, vectors, strict=True)
        ]
        if built:
            with self._call(f"upsert into {collection}"):
                shard.update(qe.UpdateOperation.upsert_points(built))
                self._pages.moved(len(built))  # under the lock: no call can unmap meanwhile

    def overwrite_payloads(self, collection: str, points: Sequence[VectorPoint]) -> None:
        shard = self._shard(collection)
        # Checked and packed before any is written: bad input writes nothing.
        wanted = point_ids([p.id for p in points])
        payloads = [pack(scoped_payload(p)) for p in points]
        if not wanted:
            return
        with self._call(f"payload update in {collection}"):
            # Edge refuses an id it does not hold, after writing the ones before it.
            held = {str(r.id) for r in shard.retrieve(wanted, with_payload=False,
                                                       with_vector=False)}  # fmt: skip
            for i, payload in zip(wanted, payloads, strict=True):
                if i in held:
                    shard.update(qe.UpdateOperation.overwrite_payload([i], payload))
            # Read counts land here: each touches its payload's pages, and a process
            # serving searches held ~210 MB of them at 1M memories (section 27).
            self._pages.moved(len(held))

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        shard = self._shard(collection)
        wanted = point_ids(ids)
        if wanted:
            with self._call(f"delete from {collection}"):
                shard.update(qe.UpdateOperation.delete_points(wanted))

    # --- reads --------------------------------------------------------------------------

    def search(
        self,
        collection: str,
        vector: Sequence[float],
        scope: Scope,
        limit: int = 10,
        filters: Mapping[str, Any] | None = None,
    ) -> list[VectorHit]:
        shard = self._shard(collection)
        check_count("limit", limit, 1)
        query = check_vector(vector, self._dim, "vector")
        must = conditions(check_scope(scope), filters)
        if must is None:
            return []
        indexed, packed = split(must)
        if packed:
            return self._search_packed(collection, query, indexed, packed, limit)
        with self._call(f"search {collection}"):
            found = shard.query(
                qe.QueryRequest(
                    limit=limit,
                    query=qe.Query.Nearest(query),
                    filter=_filter(indexed),
                    with_payload=True,
                )
            )
        return [VectorHit(str(p.id), float(p.score), unpack(p.payload)) for p in found]

    def _search_packed(self, collection, query, indexed, packed, limit) -> list[VectorHit]:
        """A search filtered on packed keys: exact cosine over the points that pass."""
        hits = [
            hit
            for hit in map(_hit_with_vector, self._records(collection, indexed, with_payload=True,
                                                            with_vector=True))
            if passes(hit.payload, packed)
        ]  # fmt: skip
        if not hits:
            return []
        scores = np.asarray([h.vector for h in hits]) @ _unit(query)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [VectorHit(hits[i].id, float(scores[i]), hits[i].payload) for i in order]

    def get(
        self, collection: str, ids: Sequence[str], *, with_vectors: bool = False
    ) -> list[VectorHit]:
        """Points by id in the order asked (missing ids left out), score 1.0, unfiltered;
        vectors come back unit-length (cosine collections store them normalised)."""
        shard = self._shard(collection)
        wanted = point_ids(ids)
        if not wanted:
            return []
        with self._call(f"get from {collection}"):
            records = shard.retrieve(wanted, with_payload=True, with_vector=bool(with_vectors))
        by_id = {str(r.id): r for r in records}
        return [_record(by_id[i], with_vectors) for i in wanted if i in by_id]

    def scroll(
        self,
        collection: str,
        scope: Scope,
        limit: int = 100,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
    ) -> list[VectorHit]:
        """Points of a scope ordered by ``created_at`` then id, ``limit`` from ``offset``."""
        self._shard(collection)
        check_count("limit", limit, 1)
        check_count("offset", offset, 0)
        must = conditions(check_scope(scope), filters)
        if must is None:
            return []
        indexed, packed = split(must)
        keys = []
        for record in self._records(collection, indexed, with_payload=True):
            payload = unpack(record.payload)
            if passes(payload, packed):
                keys.append((str(payload.get("created_at", "")), str(record.id)))
        return self.get(collection, page_by_created(keys, limit, offset))

    def scan(self, collection: str, scope: Scope) -> list[VectorHit]:
        """Every point of a scope with payload and unit vector, in no particular order."""
        return [hit for page in self.scan_pages(collection, scope) for hit in page]

    def scan_pages(self, collection: str, scope: Scope) -> Iterator[list[VectorHit]]:
        """``scan`` a page at a time, so a caller can keep each vector compactly before
        the next page is read: as Python floats a 384-d vector takes ~12 KB, and a whole
        100k scope read at once raised the first search's peak RSS by ~1.6 GB (measured,
        issue 16)."""
        self._shard(collection)
        must = conditions(check_scope(scope), None) or []
        records = self._records(collection, must, with_payload=True, with_vector=True)
        page: list[VectorHit] = []
        for record in records:
            page.append(_hit_with_vector(record))
            if len(page) == _SCAN_PAGE:
                yield page
                page = []
        if page:
            yield page

    def _records(self, collection: str, must: list[Condition], **select: Any) -> Iterator[Any]:
        shard = self._shard(collection)
        cursor: Any = None
        # Records with vectors are read in smaller pages: the binding builds each page's
        # vectors as lists of Python floats.
        size = _SCAN_PAGE if select.get("with_vector") else _PAGE
        while True:
            with self._call(f"scroll {collection}"):
                records, cursor = shard.scroll(
                    qe.ScrollRequest(offset=cursor, limit=size, filter=_filter(must), **select)
                )
                self._pages.moved(len(records))
            yield from records
            if cursor is None:
                return

    def count(self, collection: str, scope: Scope | None = None) -> int:
        self._check(collection)
        if scope is None and collection in self._pending and collection in self._counts:
            return self._counts[collection]  # as the last close counted it (edge_counts.py)
        shard = self._shard(collection)
        must = conditions(None if scope is None else check_scope(scope), None) or []
        with self._call(f"count {collection}"):
            return int(shard.count(qe.CountRequest(exact=True, filter=_filter(must))))

    # --- helpers ------------------------------------------------------------------------

    def _shard_dir(self, name: str) -> Path:
        return self.path / f"{self.prefix}_{name}"

    @property
    def _counts_path(self) -> Path:
        return self.path / f"{self.prefix}.counts.json"

    def _folders(self) -> dict[str, Path]:
        return {n: self._shard_dir(n) for n in self.collections}

    def _mapped_folders(self) -> list[Path]:
        # The write-ahead log's files too: Edge writes each through a map of 32 MB, and an
        # open reads the last ones back. They were left out as few and short-lived, but two
        # or three stay resident per shard: 63 MB of a process serving the 1M dir, all of
        # it pages that only a recovery reads (benchmarks/results/speed/1m, section 26).
        return [self._shard_dir(n) / part for n in self._shards for part in ("segments", "wal")]

    def _shard(self, name: str) -> Any:
        """The open shard of collection ``name``, loaded now if it has not been yet."""
        self._check(name)
        if name in self._pending:
            with self._call(f"load the collection {name}"):
                if name in self._pending:
                    # The saved counts stop being believed before a shard can change.
                    edge_counts.forget(self._counts_path)
                    self._shards[name] = qe.EdgeShard.load(str(self._shard_dir(name)))
                    self._pending.discard(name)
        return self._shards[name]

    def _check(self, name: str) -> None:
        if self._closed:
            raise BackendUnavailableError(
                f"the vector store at {self._where} is closed: create a new EdgeVectorStore"
            )
        if name not in self.collections:
            raise ValidationError(
                "collection", f"unknown collection {name!r}; this store has {self.collections}"
            )
        if self._dim is None or (name not in self._shards and name not in self._pending):
            raise ConfigError(
                f"the vector store at {self._where} is not open: call open(dim, embedder) first"
            )

    @contextmanager
    def _call(self, action: str) -> Iterator[None]:
        """Serialise calls and translate Edge's errors (plain exceptions) into graphmem's."""
        if self._closed:
            raise BackendUnavailableError(
                f"the vector store at {self._where} is closed: create a new EdgeVectorStore"
            )
        with self._lock:
            try:
                yield
            except GraphMemError:
                raise
            except (OSError, ValueError) as exc:  # the metadata file
                raise BackendUnavailableError(
                    f"Qdrant Edge at {self._where} failed to {action}: {exc}"
                ) from exc
            except Exception as exc:  # Edge raises plain Exception; classified by message
                raise _translate(exc, action, self._where) from exc


def _translate(exc: Exception, action: str, where: str) -> GraphMemError:
    message = str(exc)
    if "WouldBlock" in message or "lock" in message.lower():
        return BackendUnavailableError(
            f"the Qdrant Edge data at {where} is in use by another process: close it first"
        )
    if "Wrong input" in message or "Bad input" in message or "Bad request" in message:
        return ValidationError("request", f"Qdrant Edge refused to {action}: {message}")
    return BackendUnavailableError(f"Qdrant Edge at {where} failed to {action}: {message}")


def _filter(must: list[Condition]) -> Any:
    if not must:
        return None
    return qe.Filter(must=[_condition(key, value) for key, value in must])


def _condition(key: str, value: Any) -> Any:
    if value == "":  # empty values are not stored (edge_payload.py): "" means absent
        return qe.IsEmptyCondition(key)
    match = qe.MatchAny(value) if isinstance(value, list) else qe.MatchValue(value)
    return qe.FieldCondition(key=key, match=match)


def _unit(vector: list[float]) -> np.ndarray:
    arr = np.asarray(vector, dtype=np.float64)
    return arr / np.linalg.norm(arr)


def _hit_with_vector(record: Any) -> VectorHit:
    return _record(record, True)


def _record(record: Any, with_vectors: bool) -> VectorHit:
    hit = VectorHit(str(record.id), 1.0, unpack(record.payload))
    if with_vectors:
        vector = record.vector  # a fresh list of Python floats, built by the binding
        hit.vector = vector if isinstance(vector, list) else None
    return hit
