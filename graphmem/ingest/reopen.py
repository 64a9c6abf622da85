"""What a deleted memory had closed, opened again.

"I live in Paris", then "I moved to Berlin": the resolver ends the Paris relation where
Berlin starts, and the Paris fact, left with no relation that holds, is invalidated.
Deleting "I moved to Berlin" (a mistake, a test, a memory the user takes back) removed
the Berlin relation but left Paris closed, so "Where do I live?" had no answer the user
had not withdrawn. The same held for an end: deleting "I quit my job at Google" left the
job ended.

A delete (or an expiry: what lapsed no longer stands either) now undoes what it caused,
and only that:
- a relation whose last ``INVALIDATE`` names a deleted relation (``replaced_by``, the
  single-valued rule) or a deleted fact (``ended_by``, an end said) is reopened;
- a single-valued one ends again where the next of its kind still stored begins
  (Paris, Berlin, London with Berlin deleted: Paris ends where London begins); any other
  is current again;
- a fact invalidated because all its relations ended (``reason: superseded``) is valid
  again once one of them holds, and so is one a model's decision said a deleted memory
  replaced ("likes tea" merged into "likes tea and coffee", the merge then deleted);
- each is logged as ``REOPEN``, in the same journaled change as the delete.

The history says which closing came from which statement, so a relation that ended by
its own dates ("worked at Google until 2019") or by something still stored stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ..models import Fact, HistoryEvent, Relation, Scope
from ..stores.base import HistoryStore
from ..stores.graph_ops import GraphOps, Removal


@dataclass
class Reopening:
    relations: list[Relation] = field(default_factory=list)  # with their new invalid_at
    facts: list[Fact] = field(default_factory=list)  # with their new invalid_at
    events: list[HistoryEvent] = field(default_factory=list)


def plan_reopening(
    ops: GraphOps,
    history: HistoryStore,
    removal: Removal,
    facts: Sequence[Fact],
    load: Callable[[Sequence[str]], list[Fact]],
    now: str,
    single: Callable[[str], bool] | None = None,
) -> Reopening:
    """What deleting ``facts`` (``removal``, their plan) reopens. ``load`` reads stored
    facts by id; ``single`` says which relation keys hold one value at a time."""
    out = Reopening()
    deleted = {r.id for r in removal.relations_deleted}
    gone = set(removal.facts)
    # An end names entities the deleted fact mentioned; a supersession, the deleted
    # relation's source. Only relations of those entities can have been closed by them,
    # and only in the deleted facts' own scopes.
    around: dict[Scope, set[str]] = {}
    for fact in facts:
        around.setdefault(fact.scope, set()).update(removal.mentions.get(fact.id, ()))
    for rel in removal.relations_deleted:
        around.setdefault(rel.scope, set()).add(rel.source_id)
    # A relation that also loses a deleted fact's support is taken as the removal left it.
    updated = {r.id: r for r in removal.relations_updated}
    stored: dict[str, Relation] = {}
    for scope, ids in around.items():
        for r in ops.relations_touching(sorted(ids), scope, include_invalid=True) if ids else ():
            if r.id not in deleted:
                stored.setdefault(r.id, updated.get(r.id, r))
    groups: dict[tuple[str, str], list[Relation]] = {}
    for r in stored.values():
        groups.setdefault((r.source_id, r.key), []).append(r)
    # Before the history is read: what a deleted relation superseded ended where it began,
    # and what a deleted fact ended joins two entities it named. A hub's other closed
    # relations (a user's every former job) are not looked up one by one.
    began = {(r.source_id, r.key, when) for r in removal.relations_deleted
             for when in (r.valid_at, r.created_at)}  # an undated one closed "now"  # fmt: skip
    pairs = {(a, b) for f in facts for ids in [removal.mentions.get(f.id, ())]
             for a in ids for b in ids}  # fmt: skip
    for rel in stored.values():
        if not rel.invalid_at:
            continue
        if (rel.source_id, rel.key, rel.invalid_at) not in began and (
            (rel.source_id, rel.target_id) not in pairs
        ):
            continue
        if not _closed_by(history, rel, deleted, gone):
            continue
        one_at_a_time = single is not None and single(rel.key)
        end = _next_start(rel, groups[(rel.source_id, rel.key)]) if one_at_a_time else ""
        if end == rel.invalid_at:
            continue
        was, rel.invalid_at = rel.invalid_at, end
        out.relations.append(rel)
        out.events.append(HistoryEvent(
            "REOPEN", rel.id, rel.scope, target_kind="relation",
            old_value=f"{rel.source_name} {rel.name} {rel.target_name}",
            details={"reason": "cause_deleted", "deleted": sorted(gone),
                     "invalid_at_was": was, "invalid_at": end},
        ))  # fmt: skip
    out.facts = _revalidated(ops, history, out, gone, load, now)
    return out


def _closed_by(history: HistoryStore, rel: Relation, deleted: set[str], gone: set[str]) -> bool:
    """Whether the event that set ``rel``'s present end came from what is being deleted."""
    causes = _since_reopened(history.for_target(rel.id))
    if not causes:
        return False
    details = causes[-1].details or {}
    if details.get("invalid_at", rel.invalid_at) != rel.invalid_at:
        return False  # ended since by something else
    return details.get("replaced_by") in deleted or details.get("ended_by") in gone


def _next_start(rel: Relation, group: Sequence[Relation]) -> str:
    """Where a single-valued ``rel`` ends once what closed it is gone: where the next of
    its kind that is still stored began, else nowhere."""
    later = [r.valid_at for r in group
             if r.id != rel.id and r.valid_at and r.valid_at > (rel.valid_at or "")]  # fmt: skip
    return min(later, default="")


def _revalidated(
    ops: GraphOps,
    history: HistoryStore,
    out: Reopening,
    gone: set[str],
    load: Callable[[Sequence[str]], list[Fact]],
    now: str,
) -> list[Fact]:
    """The facts invalidated only by what is deleted, valid again (or ending later, as
    their relations now do): those a reopened relation rests on, invalidated because every
    relation of theirs had ended, and those a model's decision said a deleted memory
    replaced (named in its ADD)."""
    reopened = {r.id: r for r in out.relations}
    wanted = {f for r in out.relations for f in r.fact_ids}
    for fact_id in gone:
        for e in history.for_target(fact_id):
            if e.event == "ADD":
                wanted.update((e.details or {}).get("replaces") or ())
    wanted = sorted(wanted - gone)
    if not wanted:
        return []
    by_fact: dict[str, dict[str, Relation]] = {}
    for fact_id, rel in ops.supported_by(wanted):
        by_fact.setdefault(fact_id, {})[rel.id] = reopened.get(rel.id, rel)
    changed: list[Fact] = []
    for fact in load(wanted):
        causes = _since_reopened(history.for_target(fact.id)) if fact.invalid_at else []
        if not causes or not all(_undone(e, gone) for e in causes):
            continue
        rels = list(by_fact.get(fact.id, {}).values())
        by_relations = any(e.details.get("reason") == "superseded" for e in causes)
        ended = by_relations and rels and all(r.invalid_at for r in rels)
        end = max(r.invalid_at for r in rels) if ended else ""
        if end == fact.invalid_at:
            continue
        changed.append(replace(fact, invalid_at=end, updated_at=now))
        out.events.append(HistoryEvent(
            "REOPEN", fact.id, fact.scope, old_value=fact.text,
            details={"reason": "cause_deleted", "deleted": sorted(gone),
                     "invalid_at_was": fact.invalid_at, "invalid_at": end},
        ))  # fmt: skip
    return changed


def _since_reopened(events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """The INVALIDATE events that keep a memory invalid: those since its last REOPEN."""
    causes: list[HistoryEvent] = []
    for e in events:
        if e.event == "REOPEN":
            causes = []
        elif e.event == "INVALIDATE":
            causes.append(e)
    return causes


def _undone(event: HistoryEvent, gone: set[str]) -> bool:
    """Whether an invalidation no longer stands once ``gone`` is deleted: its relations'
    ending is weighed again (``superseded``), or the model said a deleted memory replaced
    it (``llm_update``, ``llm_delete``)."""
    details = event.details or {}
    reason = details.get("reason", "")
    return reason == "superseded" or (
        reason.startswith("llm_") and details.get("replaced_by") in gone
    )
