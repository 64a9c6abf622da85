"""The store Protocols. Backends implement these; nothing above them sees a driver type.

Each Protocol is deliberately small: what differs between backends is data (capability
flags, Cypher overrides in ``cypher/<dialect>/``), not methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..models import Extraction, Fact, GraphBatch, HistoryEvent, Scope

Tracer = Callable[[str, str, Mapping[str, Any]], None]
"""Called as ``tracer(query_name, cypher_text, params)`` before every statement."""

Row = dict[str, Any]

# The vector store's collections: memories (and the messages they were split from), and
# entity names. Every module that names one takes it from here.
FACTS, ENTITIES, SOURCES = "facts", "entities", "sources"


class GraphTx(Protocol):
    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run the named query from ``cypher/`` inside this transaction."""
        ...


@runtime_checkable
class GraphStore(Protocol):
    """Entities, relations and fact nodes, queried through named Cypher files.

    - ``dialect`` picks the override folder in ``cypher/`` (``"kuzu"``, ``"neo4j"``).
    - ``run(name, params)`` runs one named statement in its own transaction and returns
      plain rows (dicts of Python values; nodes/relationships come back as property dicts).
      Only the parameters the statement declares are sent; unknown names are an error.
    - ``transaction()`` yields a ``GraphTx`` whose statements commit together or not at all.
    - ``write(batch)`` applies a ``GraphBatch`` atomically and idempotently (upsert by id).
    - ``cypher(text, params, read_only=True, timeout=, max_rows=, max_memory_mb=)`` runs a
      user's statement; read-only mode refuses writes, file access and other databases with
      ``ReadOnlyError`` (vetting the engine's own plan), malformed text, a statement past
      ``timeout`` seconds or one returning more than ``max_rows`` rows raise ``QueryError``.
      An embedded engine stops a statement that grows this process by more than
      ``max_memory_mb`` (``QueryError``); a server bounds its own memory and may ignore it.
    - ``reset()`` deletes everything this store holds; ``close()`` releases files/sockets.
    """

    dialect: str
    capabilities: frozenset[str]
    tracer: Tracer | None

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    def transaction(self) -> AbstractContextManager[GraphTx]: ...

    def write(self, batch: GraphBatch) -> None: ...

    def cypher(
        self,
        text: str,
        params: Mapping[str, Any] | None = None,
        *,
        read_only: bool = True,
        timeout: float | None = None,
        max_rows: int | None = None,
        max_memory_mb: int | None = None,
    ) -> list[Row]: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class VectorPoint:
    id: str  # a UUID string
    vector: Sequence[float]
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class VectorHit:
    id: str
    score: float  # cosine similarity: higher is closer, in [-1, 1]
    payload: dict[str, Any] = field(default_factory=dict)
    vector: list[float] | None = None  # only when asked for (get(..., with_vectors=True))


@runtime_checkable
class VectorStore(Protocol):
    """Named collections of vectors with payloads; every read is scope-filtered.

    - ``open(dim, embedder)`` creates the collections on first use and records the
      embedder's name and dimension; a later open with another name or dimension raises
      ``ConfigError`` naming both (no silent re-embedding, no mixed spaces).
    - Payloads always carry ``user_id``, ``agent_id`` and ``run_id`` ("" when unset);
      ``search``/``scroll``/``count`` return only points whose set scope fields match.
    - ``upsert`` is idempotent by id; ``delete`` ignores ids that are not there.
    - ``filters`` is a flat ``{payload_key: value}`` equality map (value lists mean "any of").
    """

    def open(self, dim: int, embedder: str) -> None: ...

    def upsert(self, collection: str, points: Sequence[VectorPoint]) -> None: ...

    def overwrite_payloads(self, collection: str, points: Sequence[VectorPoint]) -> None:
        """Replace the payloads of stored points, each keeping its vector (``points``'
        vectors are ignored); an id that is not stored is left out. Cheaper than
        ``upsert``: no vector is read or indexed again."""
        ...

    def search(
        self,
        collection: str,
        vector: Sequence[float],
        scope: Scope,
        limit: int = 10,
        filters: Mapping[str, Any] | None = None,
    ) -> list[VectorHit]: ...

    def get(
        self, collection: str, ids: Sequence[str], *, with_vectors: bool = False
    ) -> list[VectorHit]:
        """Points by id (score 1.0), unfiltered: callers check the scope."""
        ...

    def scroll(
        self,
        collection: str,
        scope: Scope,
        limit: int = 100,
        offset: int = 0,
        filters: Mapping[str, Any] | None = None,
    ) -> list[VectorHit]:
        """Points of a scope in a stable order (by ``created_at`` then id)."""
        ...

    def scan(self, collection: str, scope: Scope) -> list[VectorHit]:
        """Every point of a scope with its payload and vector, in one pass, any order."""
        ...

    def count(self, collection: str, scope: Scope | None = None) -> int: ...

    def delete(self, collection: str, ids: Sequence[str]) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class SearchMany(Protocol):
    """What ingest may ask of a vector store beyond ``VectorStore``: many searches at once.

    ``search_many`` returns, for each of ``vectors``, what ``search`` with the same other
    arguments returns; hits scoring ``exact_from`` or more are ``search``'s (a batched
    product may differ from it in the last float bits), though with ``exact_from`` a
    store may search approximately and miss a neighbour (``index/`` does, in big
    scopes: ``nearest.py``). Entity resolution asks once per batch when the
    store offers it (``index/store.py`` does), else per name.
    """

    def search_many(
        self,
        collection: str,
        vectors: Sequence[Sequence[float]],
        scope: Scope,
        limit: int = 10,
        filters: Mapping[str, Any] | None = None,
        *,
        exact_from: float | None = None,
    ) -> list[list[VectorHit]]: ...


@runtime_checkable
class HistoryStore(Protocol):
    """Append-only log of every change. ``id`` and ``created_at`` are filled on record."""

    def record(self, events: Sequence[HistoryEvent]) -> list[HistoryEvent]: ...

    def for_target(self, target_id: str) -> list[HistoryEvent]:
        """Events for one memory/entity/relation id, oldest first."""
        ...

    def events(self, scope: Scope | None = None, limit: int = 1000) -> list[HistoryEvent]: ...

    def delete_ids(self, ids: Sequence[int]) -> None:
        """Remove events by row id: only for undoing a write that failed midway."""
        ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class Embedder(Protocol):
    """Text to unit-length vectors. ``name`` identifies the model and is stored with data."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


@dataclass
class KnownEntity:
    """An entity already stored in the scope, offered to extractors as context."""

    name: str
    type: str = "thing"
    aliases: list[str] = field(default_factory=list)


@runtime_checkable
class Extractor(Protocol):
    """Text to facts, entities and relations (names, not ids).

    ``speaker`` is who "I"/"me"/"my" refers to; ``known`` lists entities already in the
    scope so mentions of them can be recognised; ``reference_time`` (ISO) anchors relative
    dates. ``calls`` counts model requests made so far (0 forever for offline extractors).

    An extractor may also have ``extract_conversation(turns, *, speaker, known,
    reference_time)``, reading an add of several roles (``Message`` turns) in one go;
    without it, such an add is read message by message (``ingest/turns.py``).
    """

    name: str

    def extract(
        self,
        text: str,
        *,
        speaker: str = "user",
        known: Sequence[KnownEntity] = (),
        reference_time: str = "",
    ) -> Extraction: ...


def iter_batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fact_payload(fact: Fact) -> dict[str, Any]:
    """The vector-store payload of a fact: everything needed to rebuild a ``Fact``."""
    return fact.to_dict()
