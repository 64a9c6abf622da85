"""Resolve extracted names to stored entities and decide what relations change.

Order of evidence, cheapest and surest first (what-to-beat.md item 6):
1. exact key: the normalised name or an alias equals a stored name or alias;
2. embedding similarity of the name to stored entity names, only within the same scope
   and only between compatible types ("Apple" the organization never absorbs "apple" the
   object), above ``resolve_threshold``. A name with no letter or digit ("?!", an emoji)
   has no meaning to compare and skips this step (``wordless``).
Every match that is not the identical name is logged as a MERGE event with its method
and score, so it can be measured and undone.

Contradictions (item 2): a relation declared single-valued (``works_at``, ``lives_in``...)
supersedes the current one from the same source: the old edge gets ``invalid_at``, never
deleted; a fact whose every relation is now invalid is invalidated with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..models import (
    SAME_TIES,
    Entity,
    ExtractedEntity,
    Extraction,
    GraphBatch,
    HistoryEvent,
    Relation,
    Scope,
    name_key,
    new_id,
    relation_key,
    visible_at,
)
from ..stores.base import ENTITIES, Embedder, SearchMany, VectorPoint, VectorStore
from ..stores.graph_ops import GraphOps, Removal
from .offline_words import category

VAGUE_TYPES = frozenset({"", "other", "thing", "unknown", "concept"})


def types_compatible(a: str, b: str) -> bool:
    return a == b or a.lower() in VAGUE_TYPES or b.lower() in VAGUE_TYPES


@dataclass
class Plan:
    """Everything one ``add`` will change, computed before any store is touched."""

    scope: Scope
    batch: GraphBatch = field(default_factory=GraphBatch)
    relation_updates: list[Relation] = field(default_factory=list)
    invalidated_fact_ids: dict[str, str] = field(default_factory=dict)  # id -> invalid_at
    entity_points: list[VectorPoint] = field(default_factory=list)
    events: list[HistoryEvent] = field(default_factory=list)
    # Relations left out, with why: ``add_triples`` refuses rather than drop one.
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (relation index, reason)


# "moved to X" says what changed once X is known: a stored place or employer. The offline
# extractor only sees the entities the pipeline lists for it (a capped page), so in a big
# scope "moved from Lyon to Porto" reached here as moved_to and superseded nothing.
_MOVED = {"location": "lives_in", "organization": "works_at"}


def wordless(name: str) -> bool:
    """A name with no letter or digit in any script ("?!", "...", an emoji): its vector says
    nothing of it (the hashing embedder gives all of them one direction), so it is matched
    only exactly, and never absorbs or is absorbed by another name."""
    return not any(ch.isalnum() for ch in name)


def moved_relation(name: str, target: Entity) -> str:
    if relation_key(name) != "moved_to":
        return name
    return _MOVED.get(category(target.type), name)


class Resolver:
    def __init__(
        self,
        ops: GraphOps,
        vectors: VectorStore,
        embedder: Embedder,
        *,
        threshold: float,
        single_valued: Sequence[str],
    ) -> None:
        self.ops = ops
        self.vectors = vectors
        self.embedder = embedder
        self.threshold = threshold
        # "favorite_*": every relation named so holds one value at a time.
        self.single_valued = frozenset(relation_key(s) for s in single_valued if s[-1:] != "*")
        self.single_prefixes = tuple(
            relation_key(s[:-1]) + "_" for s in single_valued if s[-1:] == "*"
        )

    def single(self, key: str) -> bool:
        """Whether a relation of this key holds one value at a time (``lives_in``)."""
        return key in self.single_valued or key.startswith(self.single_prefixes)

    # -- entities --------------------------------------------------------------------

    def resolve_entities(
        self, wanted: Sequence[ExtractedEntity], scope: Scope, now: str, plan: Plan
    ) -> dict[str, Entity]:
        """Map each wanted entity's name key (and alias keys) to a stored or new Entity."""
        by_key: dict[str, Entity] = {}
        merged: dict[str, ExtractedEntity] = {}
        for item in wanted:  # identical names within one add are one entity
            key = name_key(item.name)
            same = merged.get(key)
            if same is None:
                merged[key] = ExtractedEntity(item.name, item.type or "other", list(item.aliases))
            else:
                same.aliases += [a for a in item.aliases if a not in same.aliases]
                if same.type.lower() in VAGUE_TYPES and item.type:
                    same.type = item.type
        keys = {k for m in merged.values() for k in [name_key(m.name), *map(name_key, m.aliases)]}
        stored = self.ops.entities_by_keys(keys, scope)
        pending: list[ExtractedEntity] = []
        own: dict[str, Entity] = {}  # each listed name's own entity
        for item in merged.values():
            entity, method = self._exact(item, stored, scope)
            if entity is None:
                pending.append(item)
                continue
            self._absorb(entity, item, method, 1.0, plan, by_key)
            own[name_key(item.name)] = entity
        if pending:
            vectors = self.embedder.embed([p.name for p in pending])
            # Searched all at once: this loop writes nothing to the vector store (new
            # entities' points wait in the plan), so no name can find one created here.
            # exact_from: a name that may reach the threshold gets its own exact search,
            # so merges, their order and their logged scores do not depend on batching.
            if isinstance(self.vectors, SearchMany):
                found = self.vectors.search_many(
                    ENTITIES, vectors, scope, limit=5, exact_from=self.threshold
                )
            else:
                found = [self.vectors.search(ENTITIES, v, scope, limit=5) for v in vectors]
            for item, vector, hits in zip(pending, vectors, found, strict=True):
                entity, score = self._similar(item, hits, scope)
                if entity is not None:
                    self._absorb(entity, item, "embedding", score, plan, by_key)
                    own[name_key(item.name)] = entity
                    continue
                entity = Entity(new_id(), item.name, item.type or "other", scope,
                                aliases=list(item.aliases), created_at=now)  # fmt: skip
                plan.batch.entities.append(entity)
                payload = {"entity_id": entity.id, "name": entity.name, "type": entity.type,
                           **scope.params(), "created_at": now}  # fmt: skip
                plan.entity_points.append(VectorPoint(entity.id, vector, payload))
                for k in entity.match_keys():
                    by_key.setdefault(k, entity)
                own[name_key(item.name)] = entity
        # A name the answer lists is that entity's, whatever alias another one claimed
        # first: "Dana (alias Sam)" took Sam's key, and "Dana mentors Sam" became a loop
        # that was dropped (extract.py: aliases never shadow a listed name).
        by_key.update(own)
        return by_key

    def _exact(self, item: ExtractedEntity, stored, scope: Scope) -> tuple[Entity | None, str]:
        for key in [name_key(item.name), *map(name_key, item.aliases)]:
            for entity in stored.get(key, []):
                if entity.scope == scope and types_compatible(entity.type, item.type):
                    same_name = entity.name == item.name
                    return entity, "identical" if same_name else "alias"
        return None, ""

    def _similar(self, item: ExtractedEntity, hits, scope: Scope) -> tuple[Entity | None, float]:
        """The stored entity ``hits`` name closest to ``item`` above the threshold, in its
        scope and of a compatible type; none for a ``wordless`` name, on either side."""
        if wordless(item.name):
            return None, 0.0
        for hit in hits:
            if hit.score < self.threshold:
                break
            p = hit.payload
            if Scope(p["user_id"], p["agent_id"], p["run_id"]) != scope or wordless(p["name"]):
                continue
            if types_compatible(p.get("type", ""), item.type):
                found = self.ops.entities([p["entity_id"]], scope)
                if found:
                    return found[0], hit.score
        return None, 0.0

    def _absorb(self, entity: Entity, item, method: str, score: float, plan: Plan, by_key) -> None:
        new_aliases = [a for a in [item.name, *item.aliases]
                       if name_key(a) not in entity.match_keys() and a != entity.name]  # fmt: skip
        if new_aliases:
            entity.aliases = [*entity.aliases, *new_aliases]
        retyped = entity.type.lower() in VAGUE_TYPES and item.type.lower() not in VAGUE_TYPES
        if retyped:
            entity.type = item.type
        if (new_aliases or retyped) and entity not in plan.batch.entities:
            plan.batch.entities.append(entity)
        if method != "identical":
            plan.events.append(HistoryEvent(
                "MERGE", entity.id, entity.scope, target_kind="entity", old_value=item.name,
                new_value=entity.name,
                details={"method": method, "score": round(score, 4), "mention": item.name,
                         "mention_type": item.type, "added_aliases": new_aliases},
            ))  # fmt: skip
        for k in [name_key(item.name), *entity.match_keys()]:
            by_key.setdefault(k, entity)

    # -- relations -------------------------------------------------------------------

    def resolve_relations(
        self,
        extraction: Extraction,
        fact_ids: Sequence[str],
        fact_times: Sequence[str],
        entities: dict[str, Entity],
        scope: Scope,
        now: str,
        plan: Plan,
        withdrawn: Removal | None = None,
    ) -> None:
        """Place each extracted relation among the stored ones: support added to the same
        statement, a new relation, or one that closes a single-valued one. ``withdrawn``
        (``update``): what the same write takes back, read as already gone."""
        sources = {entities[name_key(r.source)].id for r in extraction.relations
                   if name_key(r.source) in entities}  # fmt: skip
        gone = {r.id for r in withdrawn.relations_deleted} if withdrawn else set()
        left = {r.id: r for r in withdrawn.relations_updated} if withdrawn else {}
        # The relations of each (source, relation key), in the order the graph returned
        # them: one scan over a shared list per extracted relation made a 1,000-memory
        # batch quadratic.
        current: dict[tuple[str, str], list[Relation]] = {}
        # Closed ones too: a statement added again, or older than the stored ones, is
        # placed among them by its time.
        for r in self.ops.relations_touching(sorted(sources), scope, include_invalid=True):
            if r.scope == scope and r.id not in gone:
                r = replace(left[r.id], fact_ids=list(left[r.id].fact_ids)) if r.id in left else r
                current.setdefault((r.source_id, r.key), []).append(r)
        updated: dict[str, Relation] = {}
        superseded: list[Relation] = []  # new relations that end where a stored one starts
        for index, ex in enumerate(extraction.relations):
            src, dst = entities.get(name_key(ex.source)), entities.get(name_key(ex.target))
            if src is None or dst is None:
                plan.skipped.append((index, "one of its ends is not a known entity"))
                continue
            if src.id == dst.id:
                plan.skipped.append((index, f"it links {src.name!r} to itself"))
                continue
            name = moved_relation(ex.relation.strip(), dst)
            fact_id, key = fact_ids[ex.fact], relation_key(name)
            said = fact_times[ex.fact]
            valid_at = ex.valid_at or said
            group = current.setdefault((src.id, key), [])
            to_target = [r for r in group if r.target_id == dst.id]
            if ex.invalid_at:
                # A statement that the relation ended ("retired from Boeing in 2019", "I quit
                # my job at Acme") closes the one that holds rather than standing beside it,
                # and the ties that said the same ("my husband Tom" when the marriage ends).
                for tie in SAME_TIES.get(key, ()):
                    tied = [r for r in current.get((src.id, tie), []) if r.target_id == dst.id]
                    held = _ends(tied, ex, said)
                    if held is not None and not held.invalid_at:
                        self._close(held, ex, fact_id, plan, updated, scope)
                ended = _ends(to_target, ex, said)
                if ended is not None:
                    if not ended.invalid_at:  # a closed one keeps its end
                        self._close(ended, ex, fact_id, plan, updated, scope)
                    plan.batch.mentions += [(fact_id, src.id), (fact_id, dst.id)]
                    continue
                # An end with no start: when it began is not known (not when it was said).
                valid_at = ex.valid_at
            if ex.invalid_at:  # a past period is the same statement only where it held then
                same = next((r for r in to_target if valid_at and _holds_at(r, valid_at)), None)
            else:
                same = next((r for r in to_target if _holds(r, valid_at)), None)
            if same is not None:
                if fact_id not in same.fact_ids:
                    same.fact_ids.append(fact_id)
                    updated[same.id] = same
                plan.batch.mentions += [(fact_id, src.id), (fact_id, dst.id)]
                continue
            rel = Relation(new_id(), src.id, dst.id, name, scope, [fact_id],
                           created_at=now, valid_at=valid_at, invalid_at=ex.invalid_at,
                           source_name=src.name, target_name=dst.name)  # fmt: skip
            # A relation known only to have ended supersedes nothing that holds now.
            ends_only = bool(ex.invalid_at and not ex.valid_at)
            if not ends_only and self.single(key):
                # Time order, not the order of adding: a statement older than one stored
                # (an imported backlog) ends where the next one starts and closes none
                # made after it, as it would have had it come first.
                after = [r.valid_at for r in group if _started_after(r, valid_at)]
                if after and (not rel.invalid_at or min(after) < rel.invalid_at):
                    rel.invalid_at = min(after)
                    superseded.append(rel)
                for old in group:
                    if _holds_at(old, valid_at):
                        old.invalid_at = valid_at or now
                        updated[old.id] = old
                        plan.events.append(HistoryEvent(
                            "INVALIDATE", old.id, scope, target_kind="relation",
                            old_value=f"{old.source_name} {old.name} {old.target_name}",
                            new_value=f"{src.name} {rel.name} {dst.name}",
                            details={"reason": "single_valued", "replaced_by": rel.id,
                                     "invalid_at": old.invalid_at},
                        ))  # fmt: skip
            group.append(rel)
            plan.batch.relations.append(rel)
            plan.batch.mentions += [(fact_id, src.id), (fact_id, dst.id)]
        new_ids = {r.id for r in plan.batch.relations}
        plan.relation_updates = [r for r in updated.values() if r.id not in new_ids]
        superseded += [r for r in updated.values() if r.invalid_at]
        self._invalidate_facts(plan, superseded, scope)

    @staticmethod
    def _close(stored: Relation, ex, fact_id: str, plan: Plan, updated, scope: Scope) -> None:
        """End ``stored`` where ``ex`` says it ended: never before it started, so a later
        "I quit" of a job stated as current closes it where it was stated."""
        stored.invalid_at = max(ex.invalid_at, stored.valid_at or ex.invalid_at)
        updated[stored.id] = stored
        plan.events.append(HistoryEvent(
            "INVALIDATE", stored.id, scope, target_kind="relation",
            old_value=f"{stored.source_name} {stored.name} {stored.target_name}",
            details={"reason": "ended", "ended_by": fact_id, "invalid_at": stored.invalid_at},
        ))  # fmt: skip

    def _invalidate_facts(self, plan: Plan, superseded: list[Relation], scope: Scope) -> None:
        """A fact whose every relation is now invalid is itself invalidated.

        The superseded relation may be stored already or new in this same batch (an
        ``add_many`` holding both "lives in Lyon" and "moved from Lyon to Porto"); so may
        the facts it rests on.
        """
        changed = {r.id: r for r in superseded}
        candidates = sorted({f for r in changed.values() for f in r.fact_ids})
        if not candidates:
            return
        status: dict[str, dict[str, Relation]] = {}
        for fact_id, found in self.ops.supported_by(candidates):
            status.setdefault(fact_id, {})[found.id] = changed.get(found.id) or found
        wanted = set(candidates)
        for rel in plan.batch.relations:  # support that only exists in this plan so far
            for fact_id in wanted.intersection(rel.fact_ids):
                status.setdefault(fact_id, {})[rel.id] = rel
        new_facts = {f.id: f for f in plan.batch.facts}
        for fact_id, by_id in status.items():
            rels = list(by_id.values())
            if not rels or not all(r.invalid_at for r in rels):
                continue
            when = max(r.invalid_at for r in rels)
            if fact_id in new_facts:
                new_facts[fact_id].invalid_at = when
            else:
                plan.invalidated_fact_ids[fact_id] = when
            plan.events.append(HistoryEvent(
                "INVALIDATE", fact_id, scope, details={"reason": "superseded",
                "invalid_at": when, "relations": [r.id for r in rels]},
            ))  # fmt: skip


def _ends(to_target: list[Relation], ex, said: str) -> Relation | None:
    """Of the stored relations to the statement's target, the one a statement with an
    end is about: the open one, when its stint takes in that end; else, for an end with
    no start, the last closed one (the same end said again). None: a period of its own
    ("worked at Google from 2015 to 2019" beside a job there stated in 2023; an old "I
    quit" imported after a newer "I work there")."""
    for r in to_target:
        if r.invalid_at:
            continue
        began = r.valid_at
        if not began or ex.invalid_at > began or (not ex.valid_at and said >= began):
            return r
    if ex.valid_at:
        return None
    closed = [r for r in to_target if r.invalid_at and r.invalid_at <= ex.invalid_at]
    return max(closed, key=lambda r: r.invalid_at, default=None)


def _holds(relation: Relation, when: str) -> bool:
    """Whether a stored relation already says what a statement made at ``when`` says:
    it is current, or it held then (a statement added again, or an older one restated)."""
    return not relation.invalid_at or _holds_at(relation, when)


def _started_after(relation: Relation, when: str) -> bool:
    """Whether a relation was stated for a time after ``when`` (both times known)."""
    return bool(when and relation.valid_at and relation.valid_at > when)


def _holds_at(relation: Relation, when: str) -> bool:
    """Whether a relation held at ``when`` (when that is known; else, whether it is
    current): a statement made then ends it there."""
    if not when:
        return not relation.invalid_at
    return visible_at(relation.valid_at, relation.invalid_at, when)
