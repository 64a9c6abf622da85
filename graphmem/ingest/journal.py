"""Writes that survive ``kill -9``: each one is journaled as data before a store is touched.

A ``Change`` is everything one write does to the three stores, computed before the first
of them is touched: graph statements (named queries, or a ``GraphBatch`` upsert), vector
upserts and deletes, and the history events. It is committed to the history database as
an *intent* first. Then the graph and the vectors are written, the events are recorded
together with a mark on the intent (one SQLite transaction), and the intent is closed.

Every step is idempotent (upserts by id, deletes of what may be gone, absolute values
rather than increments), so a process killed at any instruction leaves an intent that
``roll_forward`` finishes when the data directory is next opened: the graph and vector
steps are run again, and the events are recorded unless the mark says they were.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from ..models import GraphBatch, HistoryEvent, Scope
from ..stores.base import VectorPoint
from ..stores.rows import (
    entity_from_row,
    entity_row,
    fact_from_graph_row,
    fact_row,
    relation_from_row,
    relation_row,
)

WRITE, PRUNE, SCOPE_ENTITIES = "@write", "@prune", "@scope_entities"


@dataclass
class Change:
    """One write, as data. ``graph`` holds ``(query name, params)`` steps run in order in
    one transaction; ``(WRITE, batch)`` is a ``GraphStore.write``. ``prune`` names entities
    whose vectors go if the graph no longer has them once the graph steps ran (orphans of
    a delete). ``scope_entities`` drops every entity vector and source message of a scope
    (``delete_all``).
    A fact point with ``vector=None`` keeps the vector it has (a payload change)."""

    kind: str
    graph: list[tuple[str, Any]] = field(default_factory=list)
    fact_points: list[VectorPoint] = field(default_factory=list)
    entity_points: list[VectorPoint] = field(default_factory=list)
    fact_deletes: list[str] = field(default_factory=list)
    entity_deletes: list[str] = field(default_factory=list)
    prune: list[str] = field(default_factory=list)
    scope_entities: Scope | None = None
    events: list[HistoryEvent] = field(default_factory=list)
    # The messages an add split into facts ("sources"); and [origin, scope] pairs whose
    # message goes once no fact of it is left (a delete).
    source_points: list[VectorPoint] = field(default_factory=list)
    prune_sources: list[list[Any]] = field(default_factory=list)
    # The graph part may run on its own thread alongside the vectors: only when no
    # vector step depends on what the graph steps did (prune does).
    parallel: bool = False


# -- encoding: JSON, vectors as base64 float32 (1.5 KB per 384-d vector) ----------------------


def encode(change: Change) -> bytes:
    body = {
        "kind": change.kind,
        "graph": [[name, _batch_out(p) if name == WRITE else p] for name, p in change.graph],
        "fact_points": [_point_out(p) for p in change.fact_points],
        "entity_points": [_point_out(p) for p in change.entity_points],
        "fact_deletes": change.fact_deletes,
        "entity_deletes": change.entity_deletes,
        "prune": change.prune,
        "scope_entities": None if change.scope_entities is None else change.scope_entities.params(),
        "events": [_event_out(e) for e in change.events],
        "source_points": [_point_out(p) for p in change.source_points],
        "prune_sources": change.prune_sources,
    }
    try:
        # ~6 ms for a 1,000-memory batch's ~5 MB body, where json.dumps took ~45 ms.
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # an int past 64 bits, a float subclass
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def decode(data: bytes) -> Change:
    body = json.loads(data)
    scope = body["scope_entities"]
    return Change(
        kind=body["kind"],
        graph=[(name, _batch_in(p) if name == WRITE else p) for name, p in body["graph"]],
        fact_points=[_point_in(p) for p in body["fact_points"]],
        entity_points=[_point_in(p) for p in body["entity_points"]],
        fact_deletes=body["fact_deletes"],
        entity_deletes=body["entity_deletes"],
        prune=body["prune"],
        scope_entities=None if scope is None else Scope.from_row(scope),
        events=[_event_in(e) for e in body["events"]],
        source_points=[_point_in(p) for p in body.get("source_points", [])],
        prune_sources=body.get("prune_sources", []),
    )


def pack_vector(vector: Any) -> str | None:
    """A vector as text: base64 of little-endian float32 (a quarter of JSON's size)."""
    if vector is None:
        return None
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()


def unpack_vector(text: str | None) -> list[float] | None:
    if text is None:
        return None
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(float).tolist()


def _point_out(p: VectorPoint) -> dict[str, Any]:
    return {"id": p.id, "payload": p.payload, "vector": pack_vector(p.vector)}


def _point_in(d: dict[str, Any]) -> VectorPoint:
    return VectorPoint(d["id"], unpack_vector(d["vector"]), d["payload"])  # type: ignore[arg-type]


def _batch_out(batch: GraphBatch) -> dict[str, Any]:
    return {"facts": [fact_row(f) for f in batch.facts],
            "entities": [entity_row(e) for e in batch.entities],
            "relations": [relation_row(r) for r in batch.relations],
            "mentions": [list(m) for m in batch.mentions]}  # fmt: skip


def _batch_in(d: dict[str, Any]) -> GraphBatch:
    return GraphBatch(facts=[fact_from_graph_row(r) for r in d["facts"]],
                      entities=[entity_from_row(r) for r in d["entities"]],
                      relations=[relation_from_row(r) for r in d["relations"]],
                      mentions=[(f, e) for f, e in d["mentions"]])  # fmt: skip


def _event_out(e: HistoryEvent) -> dict[str, Any]:
    return {"event": e.event, "target_id": e.target_id, "scope": e.scope.params(),
            "target_kind": e.target_kind, "old_value": e.old_value, "new_value": e.new_value,
            "actor": e.actor, "role": e.role, "details": e.details,
            "created_at": e.created_at}  # fmt: skip


def _event_in(d: dict[str, Any]) -> HistoryEvent:
    scope = Scope.from_row(d.pop("scope"))
    return HistoryEvent(scope=scope, **d)


# -- applying: the same steps for a fresh write and for a roll-forward -------------------------


def run_graph(graph: Any, tx: Any, change: Change) -> list[str]:
    """The graph steps of ``change`` inside ``tx``; returns the pruned entity ids (those
    of ``change.prune`` the graph no longer holds, read inside the same transaction)."""
    for name, params in change.graph:
        if name == WRITE:
            graph.write(params)
        else:
            tx.run(name, params)
    if not change.prune:
        return []
    orphans = [r["id"] for r in tx.run("entity_orphans", {"ids": sorted(change.prune)})]
    if orphans:
        tx.run("entity_delete", {"ids": orphans})
    left = {r["id"] for r in tx.run("entity_existing", {"ids": sorted(change.prune)})}
    return sorted(set(change.prune) - left)


def journal(history: Any) -> bool:
    """Whether this history store keeps intents (a custom one may not)."""
    return hasattr(history, "begin_intent")


# The note a write's error carries when a store could not be put back: its journal entry
# then stays open for the next open (or the next write) to finish.
UNDO_FAILED = "graphmem could not undo every step: "


def undo_failed(exc: BaseException) -> bool:
    """Whether ``exc`` carries the ``UNDO_FAILED`` note."""
    return any(n.startswith(UNDO_FAILED) for n in getattr(exc, "__notes__", ()))
