"""Qdrant as graphmem's ``VectorStore``: in memory, embedded on a data directory, or a server.

This is the only module that imports ``qdrant_client``; its exceptions are translated here
into graphmem's error tree, so nothing above sees a driver type.

Three modes, one per constructor argument (exactly one must be given)::

    QdrantVectorStore(":memory:")                       # tests, throw-away sessions
    QdrantVectorStore(path="data/qdrant")               # embedded, persistent (the default setup)
    QdrantVectorStore(url="http://qdrant:6333", api_key=...)   # a Qdrant server

Local mode (the first two) is exact brute force in Python and holds an exclusive lock on
its directory, even against a second client inside the same process: share one store.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from ..errors import BackendUnavailableError, ConfigError, GraphMemError, ValidationError
from ..models import SCOPE_FIELDS, Scope
from .base import VectorHit, VectorPoint, iter_batches
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

# One fixed point id in the metadata collection, so "read the metadata" is one retrieve.
_META_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "graphmem:vector-store-metadata"))
_UPSERT_BATCH = 256  # keeps a server request well under its default 32 MB body limit
_SCROLL_PAGE = 1024
_LOCK_TEXT = "already accessed by another instance"


class QdrantVectorStore:
    """Named collections (``f"{prefix}_{name}"``, cosine distance) plus one metadata collection.

    Call ``open(dim, embedder)`` before anything else; it creates the collections on first
    use and refuses a store that was filled by another embedder or dimension.
    ``Scope()`` with no field set matches every point (``Scope.matches`` semantics); the
    engine only ever passes validated scopes built with ``Scope.of``.
    """

    def __init__(
        self,
        location: str | None = None,
        *,
        path: str | Path | None = None,
        url: str | None = None,
        api_key: str | None = None,
        prefix: str = "graphmem",
        timeout: int = 10,
        collections: Sequence[str] = DEFAULT_COLLECTIONS,
    ) -> None:
        if location not in (None, ":memory:"):
            raise ConfigError(
                f"location={location!r}: only ':memory:' goes there; pass a data directory "
                "as path=... and a server as url=..."
            )
        given = [k for k, v in (("location", location), ("path", path), ("url", url)) if v]
        if len(given) != 1:
            raise ConfigError(
                "QdrantVectorStore needs exactly one of location=':memory:', path=<data dir> "
                f"or url=<server URL>; got {given or 'none'}"
            )
        if api_key and url is None:
            raise ConfigError("api_key= only applies to a Qdrant server (url=...)")
        names = check_names(prefix, collections)
        self.prefix = prefix
        self.collections = names
        self._url = url
        self._where = f"url {url}" if url else (f"path {path}" if path else "memory")
        # Local mode keeps its state in Python objects and SQLite: serialise calls so the
        # store can be shared by threads (check_same_thread is disabled for that reason).
        self._lock: Any = nullcontext() if url else threading.RLock()
        self._dim: int | None = None  # set by open(); None means "not open"
        self._closed = False
        self._client = self._connect(location, path, url, api_key, timeout)

    def _connect(
        self,
        location: str | None,
        path: str | Path | None,
        url: str | None,
        api_key: str | None,
        timeout: int,
    ) -> QdrantClient:
        try:
            if url:
                # The version check would warn "failed to obtain server version" before
                # our own error for an unreachable URL; version trouble surfaces in open().
                return QdrantClient(
                    url=url, api_key=api_key, timeout=timeout, check_compatibility=False
                )
            return QdrantClient(
                location=location,
                path=None if path is None else str(path),
                force_disable_check_same_thread=True,
            )
        except RuntimeError as exc:
            if _LOCK_TEXT in str(exc):
                raise BackendUnavailableError(
                    f"the Qdrant data directory {path} is in use by another process or store "
                    "(local mode allows one client per directory): close the other one, share "
                    "a single QdrantVectorStore, or run a Qdrant server and pass url=..."
                ) from None
            raise BackendUnavailableError(f"cannot open Qdrant at {self._where}: {exc}") from exc
        except ValueError as exc:  # a malformed URL, or an unreadable local meta.json
            raise ConfigError(f"cannot open Qdrant at {self._where}: {exc}") from exc

    # --- lifecycle ----------------------------------------------------------------------

    def open(self, dim: int, embedder: str) -> None:
        check_open_args(dim, embedder)
        meta = f"{self.prefix}__meta"
        with self._call("open the collections"):
            # Everything is checked before anything is created, so a refused open leaves
            # the store exactly as it was.
            has_meta = self._client.collection_exists(meta)
            found = self._client.retrieve(meta, [_META_ID], with_payload=True) if has_meta else []
            if found:
                stored = found[0].payload or {}
                if stored.get("embedder") != embedder or stored.get("dim") != dim:
                    raise mismatch(
                        self.prefix,
                        self._where,
                        f"embedder {stored.get('embedder')!r} (dim {stored.get('dim')})",
                        embedder,
                        dim,
                    )
            missing = []
            for full in map(self._full, self.collections):
                if not self._client.collection_exists(full):
                    missing.append(full)
                    continue
                vectors = self._client.get_collection(full).config.params.vectors
                size = getattr(vectors, "size", None)
                if size != dim:
                    raise mismatch(
                        self.prefix,
                        self._where,
                        f"an unrecorded embedder (dim {size}, collection {full})",
                        embedder,
                        dim,
                    )
            # Kept in a collection rather than a side file so a server store carries it too.
            if not has_meta:
                self._client.create_collection(
                    meta, vectors_config=qm.VectorParams(size=1, distance=qm.Distance.COSINE)
                )
            if not found:
                record = {"embedder": embedder, "dim": dim}
                self._client.upsert(
                    meta, [qm.PointStruct(id=_META_ID, vector=[1.0], payload=record)]
                )
            for full in missing:
                self._client.create_collection(
                    full, vectors_config=qm.VectorParams(size=dim, distance=qm.Distance.COSINE)
                )
                # Local mode ignores payload indexes (and warns); a server needs them to
                # keep scope-filtered search fast.
                if self._url:
                    for key in SCOPE_FIELDS:
                        self._client.create_payload_index(
                            full, key, field_schema=qm.PayloadSchemaType.KEYWORD
                        )
        self._tune_local_storage()
        self._dim = dim

    def _tune_local_storage(self) -> None:
        """Stop local ``path=`` mode from syncing the disk once per point.

        qdrant-client persists each point in its own SQLite transaction; with the default
        rollback journal every one waits for an fsync (~5 ms measured here: ~200 points/s).
        WAL with synchronous=NORMAL keeps every commit across a crash of this process and
        can lose only the last commits on an OS crash or power cut, for ~20x the speed.
        """
        local = getattr(self._client, "_client", None)
        for collection in getattr(local, "collections", {}).values():
            conn = getattr(getattr(collection, "storage", None), "storage", None)
            if conn is not None:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")

    def reset(self) -> None:
        """Drop this prefix's collections and metadata; the next ``open`` recreates them."""
        with self._call("reset"):
            for full in [self._full(n) for n in self.collections] + [f"{self.prefix}__meta"]:
                if self._client.collection_exists(full):
                    self._client.delete_collection(full)
        self._dim = None

    def close(self) -> None:
        """Release the client (and, in path mode, the directory lock). Safe to call twice."""
        if self._closed:
            return
        with self._lock:
            self._closed = True
            self._client.close()

    def __enter__(self) -> QdrantVectorStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writes -------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None:
        full = self._collection(collection)
        # Every point is checked before the first one is sent: bad input writes nothing.
        vectors = checked_vectors(points, self._dim)
        structs = [self._point_struct(p, v) for p, v in zip(points, vectors, strict=True)]
        with self._call(f"upsert into {collection}"), self._one_commit(full):
            for batch in iter_batches(structs, _UPSERT_BATCH):
                self._client.upsert(full, points=list(batch), wait=True)

    @contextmanager
    def _one_commit(self, full: str) -> Iterator[None]:
        """Local ``path=`` mode: persist a whole upsert in one SQLite transaction.

        qdrant-client commits once per point. Holding the commits back to the end of the
        call (with the one-pass vector check) took upserts from 3.2 to 2.0 s for 5k
        memories. On an error what was persisted is still committed, so the disk keeps
        matching the client's in-memory state, as with per-point commits.
        """
        persistence = getattr(getattr(self._client, "_client", None), "collections", {})
        persistence = getattr(persistence.get(full), "storage", None)
        conn = getattr(persistence, "storage", None)
        if not isinstance(conn, sqlite3.Connection):
            yield
            return
        persistence.storage = _HeldCommits(conn)
        try:
            yield
        finally:
            persistence.storage = conn
            conn.commit()

    def overwrite_payloads(self, collection: str, points: Sequence[VectorPoint]) -> None:
        full = self._collection(collection)
        wanted = point_ids([p.id for p in points])  # checked before any is written
        payloads = [scoped_payload(p) for p in points]
        if not wanted:
            return
        with self._call(f"payload update in {collection}"), self._one_commit(full):
            held = {str(r.id) for r in self._client.retrieve(full, wanted, with_payload=False,
                                                              with_vectors=False)}  # fmt: skip
            ops = [qm.OverwritePayloadOperation(overwrite_payload=qm.SetPayload(
                       payload=payload, points=[i]))
                   for i, payload in zip(wanted, payloads, strict=True) if i in held]  # fmt: skip
            if ops:
                self._client.batch_update_points(full, ops, wait=True)

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        full = self._collection(collection)
        wanted = point_ids(ids)
        if not wanted:
            return
        with self._call(f"delete from {collection}"), self._one_commit(full):
            self._client.delete(full, points_selector=qm.PointIdsList(points=wanted), wait=True)

    # --- reads --------------------------------------------------------------------------

    def search(
        self,
        collection: str,
        vector: Sequence[float],
        scope: Scope,
        limit: int = 10,
        filters: Mapping[str, Any] | None = None,
    ) -> list[VectorHit]:
        full = self._collection(collection)
        check_count("limit", limit, 1)
        query = check_vector(vector, self._dim, "vector")
        must = _must(conditions(check_scope(scope), filters))
        if must is None:
            return []
        with self._call(f"search {collection}"):
            found = self._client.query_points(
                full,
                query=query,
                query_filter=_filter(must),
                limit=limit,
                with_payload=True,
            )
        return [_hit(p.id, float(p.score), p.payload) for p in found.points]

    def get(
        self, collection: str, ids: Sequence[str], *, with_vectors: bool = False
    ) -> list[VectorHit]:
        """Points by id in the order asked (missing ids left out), score 1.0, unfiltered.

        With ``with_vectors`` the vectors come back unit-length: Qdrant normalises vectors
        of a cosine collection on upsert, which changes no similarity.
        """
        full = self._collection(collection)
        wanted = point_ids(ids)
        if not wanted:
            return []
        with self._call(f"get from {collection}"):
            records = self._client.retrieve(
                full, wanted, with_payload=True, with_vectors=bool(with_vectors)
            )
        by_id = {str(r.id): r for r in records}
        hits = [_hit(i, 1.0, by_id[i].payload) for i in wanted if i in by_id]
        if with_vectors:
            for hit in hits:
                vector = by_id[hit.id].vector
                hit.vector = [float(x) for x in vector] if isinstance(vector, list) else None
        return hits

    def scroll(
        self,
        collection: str,
        scope: Scope,
        limit: int = 100,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
    ) -> list[VectorHit]:
        """Points of a scope ordered by ``created_at`` then id, ``limit`` from ``offset``.

        Qdrant scrolls in id order only; its ``order_by`` cannot skip by offset nor break
        ties by id. So the ids and ``created_at`` of the whole scope are read (payload
        trimmed to that one key), sorted here and only the page is fetched in full: one
        pass over the scope per call, in local and server mode alike.
        """
        full = self._collection(collection)
        check_count("limit", limit, 1)
        check_count("offset", offset, 0)
        must = _must(conditions(check_scope(scope), filters))
        if must is None:
            return []
        with self._call(f"scroll {collection}"):
            keys = [
                (str((r.payload or {}).get("created_at", "")), str(r.id))
                for r in self._records(
                    full, must, with_payload=qm.PayloadSelectorInclude(include=["created_at"])
                )
            ]
        page = page_by_created(keys, limit, offset)
        return self.get(collection, page)

    def scan(self, collection: str, scope: Scope) -> list[VectorHit]:
        """Every point of a scope with payload and unit vector, in no particular order.

        For building in-process indexes (20k points: 2.3 s in local mode, where paging
        through ``scroll`` and then ``get`` took 8.9 s).
        """
        full = self._collection(collection)
        must = _must(conditions(check_scope(scope), None))
        hits: list[VectorHit] = []
        with self._call(f"scan {collection}"):
            for r in self._records(full, must, with_payload=True, with_vectors=True):
                hit = _hit(r.id, 1.0, r.payload)
                hit.vector = [float(x) for x in r.vector] if isinstance(r.vector, list) else None
                hits.append(hit)
        return hits

    def _records(self, full: str, must: list[qm.FieldCondition], **select: Any) -> Iterator[Any]:
        """Every point matching ``must``. Local mode filters the whole collection in Python
        on every scroll call, so paging a scope there is quadratic: it gets one call."""
        page = _SCROLL_PAGE if self._url else 2**31 - 1
        cursor: Any = None
        while True:
            records, cursor = self._client.scroll(
                full, scroll_filter=_filter(must), limit=page, offset=cursor, **select
            )
            yield from records
            if cursor is None:
                return

    def count(self, collection: str, scope: Scope | None = None) -> int:
        full = self._collection(collection)
        must = _must(conditions(None if scope is None else check_scope(scope), None))
        with self._call(f"count {collection}"):
            return self._client.count(full, count_filter=_filter(must), exact=True).count

    # --- helpers ------------------------------------------------------------------------

    def _full(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def _collection(self, name: str) -> str:
        if name not in self.collections:
            raise ValidationError(
                "collection", f"unknown collection {name!r}; this store has {self.collections}"
            )
        if self._dim is None:
            raise ConfigError(
                f"the vector store at {self._where} is not open: call open(dim, embedder) first"
            )
        return self._full(name)

    def _point_struct(self, point: VectorPoint, vector: list[float]) -> qm.PointStruct:
        # Built without pydantic's validation pass: id, vector and scope were checked,
        # and the client validates the point again itself (then converts the payload).
        return qm.PointStruct.model_construct(
            id=point_id(point.id), vector=vector, payload=scoped_payload(point)
        )

    @contextmanager
    def _call(self, action: str) -> Iterator[None]:
        """Serialise local-mode calls and translate client errors into graphmem's."""
        if self._closed:
            raise BackendUnavailableError(
                f"the vector store at {self._where} is closed: create a new QdrantVectorStore"
            )
        with self._lock:
            try:
                yield
            except GraphMemError:
                raise
            except ResponseHandlingException as exc:
                raise BackendUnavailableError(
                    f"cannot reach the Qdrant server at {self._url} to {action} "
                    f"({exc.source!r}): is it running, and is the URL right?"
                ) from exc
            except UnexpectedResponse as exc:
                raise self._from_response(exc, action) from exc
            except ValueError as exc:  # local mode reports rejected requests this way
                raise ValidationError("request", f"Qdrant refused to {action}: {exc}") from exc
            except RuntimeError as exc:  # local mode: storage closed or unwritable
                raise BackendUnavailableError(
                    f"Qdrant at {self._where} failed to {action}: {exc}"
                ) from exc

    def _from_response(self, exc: UnexpectedResponse, action: str) -> GraphMemError:
        code = exc.status_code
        detail = exc.content[:300].decode("utf-8", "replace")
        if code in (401, 403):
            return BackendUnavailableError(
                f"the Qdrant server at {self._url} refused the credentials (HTTP {code}): "
                "check api_key"
            )
        if code == 404:
            return ConfigError(
                f"a collection needed to {action} is missing at {self._url} (deleted outside "
                "graphmem?): call open(dim, embedder) again to recreate it"
            )
        if code in (400, 422):
            return ValidationError("request", f"Qdrant rejected the request to {action}: {detail}")
        return BackendUnavailableError(
            f"the Qdrant server at {self._url} failed to {action} (HTTP {code}): {detail}; "
            "retry later or check the server's logs"
        )


class _HeldCommits:
    """Stands in for a local collection's SQLite connection: its ``with`` blocks run their
    statements but leave the commit to ``QdrantVectorStore._one_commit``."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> _HeldCommits:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def execute(self, *args: Any) -> sqlite3.Cursor:
        return self._conn.execute(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _filter(must: list[qm.FieldCondition]) -> qm.Filter | None:
    # No filter at all rather than an empty one: local mode checks even an empty filter
    # against every point in Python, which made unfiltered search several times slower.
    return qm.Filter(must=must) if must else None


def _hit(point_id: Any, score: float, payload: Mapping[str, Any] | None) -> VectorHit:
    return VectorHit(id=str(point_id), score=score, payload=dict(payload or {}))


def _must(found: list[Condition] | None) -> list[qm.FieldCondition] | None:
    """Shared equality conditions as Qdrant ``must`` clauses (None: nothing can match)."""
    if found is None:
        return None
    return [
        qm.FieldCondition(
            key=key,
            match=qm.MatchAny(any=value) if isinstance(value, list) else qm.MatchValue(value=value),
        )
        for key, value in found
    ]
