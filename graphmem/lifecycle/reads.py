"""Reads that page past hidden memories: ``get_all`` and the per-type counts of ``stats``.

The stores filter on the scope and ``invalid_at`` only (``stores/edge_payload.py``), so
expiry, archival and memory types are applied here, in Python, with the same predicate
search uses (``index/filters.py::live``), and ``offset``/``limit`` count what the caller
can see rather than what is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ..models import Scope
from ..stores.base import FACTS, VectorHit, VectorStore
from .fields import MEMORY_TYPES

_PAGE = 1000


def scroll_visible(
    vectors: VectorStore,
    scope: Scope,
    *,
    limit: int,
    offset: int,
    filters: Mapping[str, Any] | None,
    keep: Callable[[Mapping[str, Any]], bool],
) -> list[VectorHit]:
    """``limit`` hits after skipping ``offset`` visible ones, in the store's order."""
    out: list[VectorHit] = []
    skip, at, page = offset, 0, max(limit + offset, 100)
    while True:
        hits = vectors.scroll(FACTS, scope, limit=page, offset=at, filters=filters)
        for hit in hits:
            if not keep(hit.payload):
                continue
            if skip:
                skip -= 1
                continue
            out.append(hit)
            if len(out) == limit:
                return out
        if len(hits) < page:
            return out
        at += page
        page = max(page, _PAGE)


def type_counts(vectors: VectorStore, scope: Scope) -> dict[str, int]:
    """How many stored memories of each type the scope holds (every type listed)."""
    counts: Counter[str] = Counter(dict.fromkeys(MEMORY_TYPES, 0))
    at = 0
    while hits := vectors.scroll(FACTS, scope, limit=_PAGE, offset=at):
        counts.update(str(h.payload.get("memory_type") or "semantic") for h in hits)
        if len(hits) < _PAGE:
            break
        at += _PAGE
    return dict(counts)
