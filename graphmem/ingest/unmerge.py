"""Undo an entity merge recorded by the resolver (what-to-beat.md item 6: reversible).

A MERGE event records the mention that was folded into a stored entity and the facts of
that write that used the mention (``Pipeline.prepare``). Undoing it recreates the mention
as its own entity and moves to it what those facts contributed: their MENTIONS links and
the relations they support, keeping relation ids. The aliases the merge added are taken
back. Logged as an UNMERGE event. A MERGE recorded before 2026-11-30 lists every fact of
its write, so undoing one made by ``add_many`` moves the batch's other facts too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import NotFoundError, ValidationError
from ..models import Entity, GraphBatch, HistoryEvent, Scope, name_key, new_id, now_iso
from ..stores.base import VectorPoint
from ..stores.rows import relation_row
from .journal import WRITE, Change
from .write import Writer


def merge_event(history: Any, event_id: Any, scope: Scope) -> HistoryEvent:
    """The history event ``event_id`` if ``scope`` covers it (``undo_merge`` checks that it
    is a MERGE); NotFoundError otherwise, as for an event that does not exist."""
    if isinstance(event_id, bool) or not isinstance(event_id, int) or not 0 < event_id < 2**63:
        raise ValidationError("event_id", "must be a history event's id, a positive "
                              f"integer (history() shows it on each MERGE), got {event_id!r}")  # fmt: skip
    one = getattr(history, "event", None)  # a history store of your own may not have it
    found = one(event_id) if one else next((e for e in history.events(
        scope, limit=1_000_000) if e.id == event_id), None)  # fmt: skip
    if found is None or not scope.covers(found.scope):
        raise NotFoundError(f"no history event {event_id!r} in scope {scope}")
    return found


def undo_merge(writer: Writer, embedder, event: HistoryEvent) -> Entity:
    if event.event != "MERGE" or event.target_kind != "entity":
        raise ValidationError("event", f"event {event.id} is a {event.event}, not an entity MERGE")
    scope = event.scope
    found = writer.ops.entities([event.target_id], scope)
    if not found:
        raise NotFoundError(f"entity {event.target_id} of that merge no longer exists")
    winner = found[0]
    facts = set(event.details.get("fact_ids") or [])
    mention = event.details.get("mention") or event.old_value or ""
    split = Entity(new_id(), mention, event.details.get("mention_type") or "other", scope,
                   created_at=now_iso())  # fmt: skip
    taken = {name_key(a) for a in event.details.get("added_aliases") or []}
    winner = replace(winner, aliases=[a for a in winner.aliases if name_key(a) not in taken])
    moved = []
    for rel in writer.ops.relations_touching([winner.id], scope, include_invalid=True):
        if rel.scope == scope and facts & set(rel.fact_ids):
            new = replace(rel, source_id=split.id if rel.source_id == winner.id else rel.source_id,
                          target_id=split.id if rel.target_id == winner.id else rel.target_id)  # fmt: skip
            moved.append((rel, new))
    links = [(f, winner.id) for f in sorted(facts)]
    vector = embedder.embed([split.name])[0]
    payload = {"entity_id": split.id, "name": split.name, "type": split.type,
               **scope.params(), "created_at": split.created_at}  # fmt: skip

    graph: list = []
    if moved:
        graph.append(("relation_delete", {"rows": [relation_row(old) for old, _ in moved]}))
    graph.append(("mention_delete", {"rows": [{"fact_id": f, "entity_id": e} for f, e in links]}))
    graph.append((WRITE, GraphBatch(entities=[winner, split], relations=[new for _, new in moved],
                                    mentions=[(f, split.id) for f, _ in links])))  # fmt: skip
    event = HistoryEvent(
        "UNMERGE", winner.id, scope, target_kind="entity", old_value=winner.name,
        new_value=split.name, details={"merge_event": event.id, "new_entity_id": split.id,
                                       "relations_moved": [n.id for _, n in moved]},
    )  # fmt: skip
    writer.commit(Change("undo_merge", graph,
                         entity_points=[VectorPoint(split.id, vector, payload)], events=[event]))  # fmt: skip
    return split
