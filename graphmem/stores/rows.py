"""Model <-> row conversion shared by every graph backend.

Rows are what the named queries in ``cypher/`` take as ``$rows`` and return: flat dicts
of strings and string lists, the only types every backend stores the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models import Entity, Fact, Relation, Scope, relation_key

FACT_COLUMNS = (
    "id",
    "text",
    "user_id",
    "agent_id",
    "run_id",
    "created_at",
    "valid_at",
    "invalid_at",
)
ENTITY_COLUMNS = (
    "id",
    "name",
    "type",
    "aliases",
    "keys",
    "user_id",
    "agent_id",
    "run_id",
    "created_at",
    "valid_at",
    "invalid_at",
)
RELATION_COLUMNS = (
    "id",
    "name",
    "rel_type",
    "fact_ids",
    "user_id",
    "agent_id",
    "run_id",
    "created_at",
    "valid_at",
    "invalid_at",
)
LIST_COLUMNS = frozenset({"aliases", "keys", "fact_ids"})


def fact_row(f: Fact) -> dict[str, Any]:
    row = {
        "id": f.id,
        "text": f.text,
        "created_at": f.created_at,
        "valid_at": f.valid_at,
        "invalid_at": f.invalid_at,
    }
    row.update(f.scope.params())
    return row


def entity_row(e: Entity) -> dict[str, Any]:
    row = {
        "id": e.id,
        "name": e.name,
        "type": e.type,
        "aliases": list(e.aliases),
        "keys": e.match_keys(),
        "created_at": e.created_at,
        "valid_at": e.valid_at,
        "invalid_at": e.invalid_at,
    }
    row.update(e.scope.params())
    return row


def relation_row(r: Relation) -> dict[str, Any]:
    row = {
        "id": r.id,
        "source_id": r.source_id,
        "target_id": r.target_id,
        "name": r.name,
        "rel_type": relation_key(r.name),
        "fact_ids": list(r.fact_ids),
        "created_at": r.created_at,
        "valid_at": r.valid_at,
        "invalid_at": r.invalid_at,
    }
    row.update(r.scope.params())
    return row


def entity_from_row(row: dict[str, Any]) -> Entity:
    return Entity(
        id=row["id"],
        name=row["name"],
        type=row.get("type") or "other",
        scope=Scope.from_row(row),
        aliases=list(row.get("aliases") or []),
        created_at=row.get("created_at") or "",
        valid_at=row.get("valid_at") or "",
        invalid_at=row.get("invalid_at") or "",
    )


def relation_from_row(row: dict[str, Any]) -> Relation:
    return Relation(
        id=row["id"],
        source_id=row["source_id"],
        target_id=row["target_id"],
        name=row["name"],
        scope=Scope.from_row(row),
        fact_ids=list(row.get("fact_ids") or []),
        created_at=row.get("created_at") or "",
        valid_at=row.get("valid_at") or "",
        invalid_at=row.get("invalid_at") or "",
        source_name=row.get("source_name") or "",
        target_name=row.get("target_name") or "",
    )


def fact_from_graph_row(row: dict[str, Any]) -> Fact:
    return Fact(
        id=row["id"],
        text=row.get("text") or "",
        scope=Scope.from_row(row),
        created_at=row.get("created_at") or "",
        valid_at=row.get("valid_at") or "",
        invalid_at=row.get("invalid_at") or "",
    )


def summed_counts(rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """``graph_counts``' rows as one ``{entities, facts, relations}``: one row on most
    stores, a row per kind on Kuzu (``cypher/kuzu/graph_counts_all.cypher``)."""
    kinds = ("entities", "facts", "relations")
    return {kind: sum(int(row.get(kind) or 0) for row in rows) for kind in kinds}
