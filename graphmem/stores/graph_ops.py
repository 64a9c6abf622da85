"""Domain operations over any ``GraphStore``, written once with named queries.

This is where a backend stops mattering: Kuzu and Neo4j differ only in the files under
``cypher/<dialect>/`` and in how ``write()`` moves rows, never in this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from ..models import Entity, Fact, Relation, Scope, visible_at
from .base import GraphStore, GraphTx
from .rows import (
    entity_from_row,
    fact_from_graph_row,
    relation_from_row,
    relation_row,
    summed_counts,
)

PAGE = 5000


@dataclass
class Removal:
    """What removing facts did to the graph, so it can be logged and checked."""

    facts: list[str] = field(default_factory=list)
    relations_deleted: list[Relation] = field(default_factory=list)
    relations_updated: list[Relation] = field(default_factory=list)
    entities_deleted: list[str] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)  # entities that may be left orphaned
    mentions: dict[str, list[str]] = field(default_factory=dict)  # fact id -> entity ids


class GraphOps:
    def __init__(self, store: GraphStore) -> None:
        self.store = store

    # -- reads -----------------------------------------------------------------------

    def reading(self) -> AbstractContextManager[None]:
        """A block of reads that make up one answer (a search): a server store reads its
        change token once for all of them (``Neo4jGraphStore.pinned``); elsewhere nothing."""
        pinned = getattr(self.store, "pinned", None)
        return pinned() if callable(pinned) else nullcontext()

    def entities_by_keys(self, keys: Iterable[str], scope: Scope) -> dict[str, list[Entity]]:
        """Entities whose name or alias key equals one of ``keys``, grouped by key."""
        keys = sorted(set(keys))
        out: dict[str, list[Entity]] = {}
        if not keys:
            return out
        for row in self.store.run("entities_by_key", {"keys": keys, **scope.params()}):
            out.setdefault(row["matched_key"], []).append(entity_from_row(row))
        return out

    def entities(self, ids: Sequence[str], scope: Scope) -> list[Entity]:
        if not ids:
            return []
        rows = self.store.run("entities_get", {"ids": list(ids), **scope.params()})
        return [entity_from_row(r) for r in rows]

    def all_entities(self, scope: Scope, skip: int = 0, limit: int = PAGE) -> list[Entity]:
        params = {**scope.params(), "skip": skip, "limit": limit}
        return [entity_from_row(r) for r in self.store.run("entities_in_scope", params)]

    def relations_touching(
        self,
        entity_ids: Sequence[str],
        scope: Scope,
        *,
        as_of: str = "",
        include_invalid: bool = False,
        fanout: int | None = None,
        keep: Iterable[str] = (),
    ) -> list[Relation]:
        """Visible relations of the scope touching ``entity_ids``.

        ``fanout``: at most that many per entity and relation name, those whose first fact
        id sorts lowest, plus every one joining ``entity_ids`` to ``keep``: what a walk can
        use of a hub, read without reading the whole hub where the store can
        (``fanned_relations``, the in-process graph index; ``capped_relations`` on a server).
        With ``fanout`` the models may be shared from one call to the next: read them, do
        not change them (the search walk only reads).
        """
        if not entity_ids:
            return []
        ids = sorted(set(entity_ids))
        fanned = getattr(self.store, "fanned_relations", None) if fanout else None

        def accept(row: Mapping[str, Any]) -> bool:
            # ``scope.matches`` reads the row's fields in place: called for each relation a
            # walk considers, and a Scope built per row was a quarter of the walk's time.
            get = row.get
            return scope.matches(row) and visible_at(  # type: ignore[arg-type]
                get("valid_at") or "", get("invalid_at") or "", as_of, include_invalid
            )

        found = fanned(ids, fanout, accept, keep) if fanned is not None else None
        if found is not None:
            return found
        capped = getattr(self.store, "capped_relations", None) if fanout else None
        if capped is not None:
            # A server caps a hub before shipping it (cypher/neo4j/relations_fan.cypher);
            # the rules below then keep exactly what they keep of the whole read.
            read = capped(ids, fanout, sorted(set(keep)), scope.params(), as_of, include_invalid)
        else:
            # The time and scope rules run here, not in Cypher: on Kuzu 0.11 the
            # parameterised time predicate made this query 4x slower (108 ms vs 25 ms on
            # 4k relations), and the scope predicate, evaluated on every relationship of
            # the table before the join, 5x slower (20 ms vs 3.7 ms per entity on 9k).
            read = self.store.run("relations_touching", {"ids": ids})
        seen: dict[str, Relation] = {}
        for row in read:
            if row["id"] not in seen:
                rel = relation_from_row(row)
                if scope.covers(rel.scope) and rel.visible(as_of, include_invalid):
                    seen[rel.id] = rel
        found = list(seen.values())
        return _capped(found, ids, fanout, set(keep)) if fanout else found

    def facts_mentioning(self, entity_ids: Sequence[str], scope: Scope) -> list[tuple[str, Fact]]:
        if not entity_ids:
            return []
        rows = self.store.run("facts_mentioning", {"ids": list(entity_ids), **scope.params()})
        return [(r["entity_id"], fact_from_graph_row(r)) for r in rows]

    def mentions_of(self, fact_ids: Sequence[str]) -> dict[str, list[str]]:
        return self._mentions(self.store, fact_ids) if fact_ids else {}

    def naming(self, entity_ids: Sequence[str], most: int) -> dict[str, tuple[int, list[str]]]:
        """Per entity: how many facts mention it (of any scope: the caller keeps its own),
        and their ids when no more than ``most``; an entity no fact mentions is absent."""
        ids = sorted(set(entity_ids))
        if not ids:
            return {}
        around = getattr(self.store, "around", None)
        found = around("naming", ids, most) if around is not None else None
        if found is not None:
            return {e: v for e, v in found.items() if v[0]}
        rows = self.store.run("entity_facts", {"ids": ids, "most": most})
        return {r["entity_id"]: (int(r["facts"]), sorted(r["fact_ids"] or [])) for r in rows}

    def relations_of(self, fact_ids: Sequence[str], most: int) -> dict[str, list[Relation]]:
        """Per fact: the relations it supports. Where the in-process index answers, a
        relation between two entities of more than ``most`` facts each is left out."""
        ids = sorted(set(fact_ids))
        out: dict[str, list[Relation]] = {f: [] for f in ids}
        if not ids:
            return out
        around = getattr(self.store, "around", None)
        found = around("supporting", ids, most) if around is not None else None
        if found is not None:
            return {f: [relation_from_row(r) for r in rows] for f, rows in found.items()}
        for fact_id, rel in supported_by(self.store, ids):
            out[fact_id].append(rel)
        return out

    def counts(self, scope: Scope) -> dict[str, int]:
        """Entities, facts and relations of ``scope`` (``Scope()``: the whole graph)."""
        if scope == Scope():
            rows = self.store.run("graph_counts_all", {})
        else:
            rows = self.store.run("graph_counts", scope.params())
        return summed_counts(rows)

    def export(self, scope: Scope) -> tuple[list[Fact], list[Entity], list[Relation], list]:
        """Every fact node, entity, relation and mention of a scope, paged."""
        facts = self._paged("facts_in_scope", scope, fact_from_graph_row)
        entities = self._paged("entities_in_scope", scope, entity_from_row)
        relations = self._paged("relations_in_scope", scope, relation_from_row)
        mentions = self._paged("mentions_in_scope", scope, lambda r: (r["fact_id"], r["entity_id"]))
        return facts, entities, relations, mentions

    def edges_in_scope(self, scope: Scope) -> tuple[list[Relation], list[tuple[str, str]]]:
        """Every relation and ``(fact id, entity id)`` mention of a scope: what search's
        in-memory graph is built from (``search/ppr.py``)."""
        relations = self._paged("relations_in_scope", scope, relation_from_row)
        mentions = self._paged("mentions_in_scope", scope, lambda r: (r["fact_id"], r["entity_id"]))
        return relations, mentions

    def _paged(self, name, scope, convert):
        out, skip = [], 0
        while True:
            rows = self.store.run(name, {**scope.params(), "skip": skip, "limit": PAGE})
            out.extend(convert(r) for r in rows)
            if len(rows) < PAGE:
                return out
            skip += PAGE

    # -- writes ----------------------------------------------------------------------

    def set_relations(self, tx: GraphTx, relations: Sequence[Relation]) -> None:
        if relations:
            tx.run("relation_set", {"rows": [relation_row(r) for r in relations]})

    def plan_removal(
        self, fact_ids: Sequence[str], runner: GraphStore | GraphTx | None = None
    ) -> Removal:
        """What removing these facts changes, read before anything is written: relations
        that lose their last support (deleted) or some of it (updated), and the entities
        that may be left orphaned (``touched``)."""
        runner = runner or self.store
        removal = Removal(facts=list(fact_ids))
        if not fact_ids:
            return removal
        gone = set(fact_ids)
        removal.mentions = self._mentions(runner, fact_ids)
        removal.touched = {e for ids in removal.mentions.values() for e in ids}
        by_id = {rel.id: rel for _, rel in supported_by(runner, fact_ids)}
        for rel in by_id.values():
            rel.fact_ids = [f for f in rel.fact_ids if f not in gone]
            target = removal.relations_updated if rel.fact_ids else removal.relations_deleted
            target.append(rel)
            removal.touched.update((rel.source_id, rel.target_id))
        return removal

    def remove_facts(self, fact_ids: Sequence[str]) -> Removal:
        """Delete fact nodes and exactly the graph data that only they supported.

        A relation loses these ids from its ``fact_ids`` and is deleted when none remain;
        an entity is deleted when no fact mentions it and no relation touches it. All in
        one transaction.
        """
        if not fact_ids:
            return Removal()
        with self.store.transaction() as tx:
            removal = self.plan_removal(fact_ids, tx)
            if removal.relations_deleted:
                rows = [relation_row(r) for r in removal.relations_deleted]
                tx.run("relation_delete", {"rows": rows})
            self.set_relations(tx, removal.relations_updated)
            tx.run("fact_delete", {"ids": list(fact_ids)})
            if removal.touched:
                orphans = [
                    r["id"] for r in tx.run("entity_orphans", {"ids": sorted(removal.touched)})
                ]
                if orphans:
                    tx.run("entity_delete", {"ids": orphans})
                removal.entities_deleted = orphans
        return removal

    def supported_by(self, fact_ids: Sequence[str]) -> list[tuple[str, Relation]]:
        return supported_by(self.store, fact_ids)

    @staticmethod
    def _mentions(tx: GraphStore | GraphTx, fact_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for row in tx.run("fact_mentions", {"ids": list(fact_ids)}):
            out.setdefault(row["fact_id"], []).append(row["entity_id"])
        return out

    def delete_scope(self, scope: Scope) -> None:
        with self.store.transaction() as tx:
            tx.run("scope_delete_facts", scope.params())
            tx.run("scope_delete_entities", scope.params())


def supported_by(
    runner: GraphStore | GraphTx, fact_ids: Sequence[str]
) -> list[tuple[str, Relation]]:
    """(fact_id, relation) for every relation whose support includes that fact.

    The membership test is here, not in Cypher: Kuzu 0.11.3 answers
    ``UNWIND $ids AS i ... WHERE i IN x.fact_ids`` wrongly on some graphs
    (tests/test_graph_conformance.py found it), which would leave deleted facts' ids
    behind on relations.
    """
    out = []
    for row in runner.run("relations_by_fact", {"ids": list(fact_ids)}):
        if row["fact_id"] in (row.get("fact_ids") or []):
            out.append((row["fact_id"], relation_from_row(row)))
    return out


def _capped(relations: list[Relation], ids: Sequence[str], limit: int, keep: set[str]
            ) -> list[Relation]:  # fmt: skip
    """``GraphIndex.fanned``'s rule over relations a store returned whole."""
    ordered = sorted(relations, key=lambda r: (min(r.fact_ids or [""]), r.id))
    taken: dict[tuple[str, str], int] = {}
    out: dict[str, Relation] = {}
    for rel in ordered:
        ends = (rel.source_id, rel.target_id)
        if keep.intersection(ends):
            out[rel.id] = rel
        for end in ends:
            if end in ids and taken.get((end, rel.name), 0) < limit:
                taken[end, rel.name] = taken.get((end, rel.name), 0) + 1
                out[rel.id] = rel
    return sorted(out.values(), key=lambda r: r.id)
