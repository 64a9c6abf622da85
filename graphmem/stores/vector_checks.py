"""Input checks shared by the Qdrant-backed vector stores (no driver imported here).

Both ``QdrantVectorStore`` (qdrant-client: in memory, local files or a server) and
``EdgeVectorStore`` (Qdrant Edge, the engine in-process) accept the same calls and refuse
the same bad input with the same errors; the checks live here so they cannot drift apart.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, ValidationError
from ..models import SCOPE_FIELDS, Scope
from .base import ENTITIES, FACTS, SOURCES, VectorPoint

DEFAULT_COLLECTIONS = (FACTS, ENTITIES, SOURCES)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# One equality test per payload key: ("key", value) or ("key", [any, of, these]).
Condition = tuple[str, Any]


def check_names(prefix: str, collections: Sequence[str]) -> tuple[str, ...]:
    if not NAME.match(prefix or ""):
        raise ConfigError(f"prefix={prefix!r}: use 1-64 letters, digits, '_' or '-'")
    names = tuple(collections)
    bad = [n for n in names if not isinstance(n, str) or not NAME.match(n)]
    if not names or bad or len(set(names)) != len(names):
        raise ConfigError(
            f"collections={names!r}: give distinct names of letters, digits, '_' or '-'"
        )
    return names


def check_open_args(dim: object, embedder: object) -> None:
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValidationError("dim", f"must be a positive integer, got {dim!r}")
    if not isinstance(embedder, str) or not embedder.strip():
        raise ValidationError("embedder", "must be a non-empty name")


def mismatch(prefix: str, where: str, stored: str, embedder: str, dim: int) -> ConfigError:
    return ConfigError(
        f"the vector store '{prefix}' at {where} holds vectors from {stored}, "
        f"but embedder {embedder!r} (dim {dim}) was requested. "
        "Vectors of different embedders cannot be compared: use a new data directory or "
        "another prefix for this embedder, or reindex the memories into a fresh store."
    )


def point_id(value: object) -> str:
    # Qdrant stores UUIDs in canonical form; normalising here makes get/delete accept
    # any spelling of the same UUID and return the one form Qdrant gives back.
    if not isinstance(value, str):
        raise ValidationError("id", f"must be a UUID string, got {type(value).__name__}")
    if _CANONICAL_UUID.fullmatch(value):  # what graphmem's own ids look like: no parse
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValidationError("id", f"{value!r} is not a UUID") from None


def point_ids(ids: Sequence[str]) -> list[str]:
    if isinstance(ids, str):
        raise ValidationError("ids", "must be a list of ids, not one string")
    return list(dict.fromkeys(point_id(i) for i in ids))


def check_count(field: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValidationError(field, f"must be an integer >= {least}, got {value!r}")


def check_scope(scope: object) -> Scope:
    if not isinstance(scope, Scope):
        raise ValidationError("scope", f"expected a Scope, got {type(scope).__name__}")
    return scope


def check_vector(vector: Sequence[float], dim: int | None, field: str) -> list[float]:
    try:
        arr = np.asarray(vector, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(field, "must be a sequence of numbers") from None
    if arr.shape != (dim,):
        raise ValidationError(field, f"expected {dim} numbers, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValidationError(field, "contains NaN or infinity")
    # Cosine similarity of a zero vector is undefined; Qdrant would quietly score it 0.
    if not np.any(arr):
        raise ValidationError(field, "is all zeros, which has no direction")
    return arr.tolist()


def checked_vectors(points: Sequence[VectorPoint], dim: int | None) -> list[list[float]]:
    """Every point's vector as floats: one numpy pass over the batch when all are good,
    else point by point, so the error names the first bad one."""
    for point in points:
        if not isinstance(point, VectorPoint):
            raise ValidationError("points", f"expected VectorPoint, got {type(point).__name__}")
    try:
        arr = np.asarray([p.vector for p in points], dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if (
        arr is not None
        and arr.shape == (len(points), dim)
        and np.isfinite(arr).all()
        and np.any(arr, axis=1).all()
    ):
        if all(type(p.vector) is list and type(p.vector[0]) is float for p in points):
            return [p.vector for p in points]  # already lists of floats: no second copy
        return arr.tolist()
    return [check_vector(p.vector, dim, f"vector of {point_id(p.id)}") for p in points]


def scoped_payload(point: VectorPoint) -> dict[str, Any]:
    """The payload to store: scope fields present as strings ("" when unset)."""
    payload = dict(point.payload)
    for key in SCOPE_FIELDS:
        if payload.get(key) is None:
            payload[key] = ""  # scope filters match "", never a missing key or null
        elif not isinstance(payload[key], str):
            raise ValidationError(key, f"must be a string, got {type(payload[key]).__name__}")
    return payload


def conditions(scope: Scope | None, filters: Mapping[str, Any] | None) -> list[Condition] | None:
    """Equality conditions for a read; None when an empty any-of list means nothing can match."""
    must: list[Condition] = []
    if scope is not None:
        must += [(k, v) for k, v in scope.params().items() if v]
    for key, value in (filters or {}).items():
        if not isinstance(key, str) or not key:
            raise ValidationError("filters", f"keys must be non-empty strings, got {key!r}")
        if isinstance(value, (list, tuple, set, frozenset)):
            values = list(value)
            if any(isinstance(v, bool) or not isinstance(v, (str, int)) for v in values):
                raise ValidationError("filters", f"{key}: any-of lists hold strings or integers")
            if not values:
                return None
            must.append((key, values))
        elif isinstance(value, (str, int)):  # bool too: it is an int, and MatchValue takes it
            must.append((key, value))
        else:
            raise ValidationError(
                "filters",
                f"{key}: expected a string, integer, boolean or a list of them, "
                f"got {type(value).__name__}",
            )
    return must


def page_by_created(keys: list[tuple[str, str]], limit: int, offset: int) -> list[str]:
    """Ids of one ``scroll`` page: ordered by ``created_at``, then id."""
    return [pid for _, pid in sorted(keys)[offset : offset + limit]]
