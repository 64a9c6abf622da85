"""An in-process copy of the graph's topology that answers the hot named reads from memory.

Why: Kuzu 0.11.3 has no secondary index and plans a list of ids as a filtered scan plus
a hash join against the whole node table, so each ``relations_touching`` cost ~10-30 ms
at 10k memories and grows with the graph, ``entities_by_key`` scans every entity, and
``fact_mentions`` for five facts took ~40 ms (measured, tests at 10k memories). A search
runs several of them, a 2-hop ``neighbours`` three to four. From a dict each is a few
microseconds per id, whatever the graph's size.

Only for a store whose capabilities include ``exclusive_writer`` (Kuzu: one read-write
process per database), so nothing can change the graph behind this copy. The store stays
the source of truth: the copy is read from it on first use (or, where the last close
saved it, from its parts by scope as reads and writes need them: ``index/graph_parts.py``)
and kept in step by ``IndexedGraphStore`` (``indexed_graph.py``), which sees every write
because every write goes through it.
Known named writes are applied to the copy when their transaction commits; anything else
(user Cypher that writes, scope deletion, reset, a rolled-back transaction) drops the
copy, and the next read builds it again.
"""

from __future__ import annotations

import sys
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..models import GraphBatch, Relation, Scope
from .base import Row
from .entity_pages import EntityPages
from .rows import entity_row, relation_row

ENTITY_FIELDS = ("id", "name", "type", "aliases", "user_id", "agent_id", "run_id",
                 "created_at", "valid_at", "invalid_at")  # fmt: skip
RELATION_FIELDS = ("id", "source_id", "target_id", "name", "fact_ids", "user_id", "agent_id",
                   "run_id", "created_at", "valid_at", "invalid_at")  # fmt: skip
# Writes that change nothing this copy holds (fact properties only).
_NEUTRAL = frozenset({"fact_set", "fact_upsert"})
SNAPSHOT_KEY = ("graph",)  # this copy's key among saved snapshots (index/persist.py)
_MODELS_HELD = 65_536  # relation models kept for ``fanned`` (~25 MB at most)


def same_text(value: Any) -> Any:
    """One string object per distinct id, scope and time held here: rows read back from a
    store or a snapshot carry a fresh copy of each (an id is ~85 bytes, in several maps)."""
    return sys.intern(value) if type(value) is str else value


class _Held:
    """An entity or relation as this copy holds it: a named tuple, not a dict (~460 bytes
    a row less; ~700k relations at 1M memories; built from a snapshot's columns without a
    Python call per row), read as a mapping where a caller wants one (``accept``,
    ``Scope.from_row``)."""

    __slots__ = ()
    _fields: tuple[str, ...]
    _at: dict[str, int]  # field name -> position, set on each subclass

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._at = {name: i for i, name in enumerate(getattr(cls, "_fields", ()))}

    def get(self, key: str, default: Any = None) -> Any:
        # By position: a search's walk reads ~5 fields of each of ~800 relations, and a
        # scan of the field names then ``getattr`` was a tenth of it (measured at 1M).
        at = self._at.get(key)
        return default if at is None else self[at]  # type: ignore[index]

    def row(self) -> dict[str, Any]:
        return dict(zip(self._fields, self, strict=True))  # type: ignore[call-overload]


class HeldEntity(_Held, namedtuple("HeldEntity", (*ENTITY_FIELDS, "keys"))):
    __slots__ = ()

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> HeldEntity:
        # Tuples, never lists: a tuple of texts is one object the cycle collector stops
        # tracking, a list one it walks on every full pass (~330k lists at 300k memories).
        # Rows handed out get lists again (``_entity``, ``_relation``).
        return cls._make([tuple(row.get(name) or ()) if name == "aliases"
                          else same_text(row.get(name)) for name in ENTITY_FIELDS]
                         + [tuple(same_text(k) for k in row.get("keys") or ())])  # fmt: skip


class HeldRelation(_Held, namedtuple("HeldRelation", RELATION_FIELDS)):
    __slots__ = ()

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> HeldRelation:
        return cls._make([tuple(same_text(f) for f in row.get("fact_ids") or ())
                          if name == "fact_ids" else same_text(row.get(name))
                          for name in RELATION_FIELDS])  # fmt: skip


class PartUnreadable(ValueError):
    """A part of a saved copy failed to load (``index/graph_parts.py``): the copy is read
    from the store instead."""


class GraphIndex:
    """Entities (with their name/alias keys), relations by endpoint, mentions by fact.

    ``parts``, on a copy loaded from a snapshot, holds the scopes' parts still on disk
    (``index/graph_parts.py``); ``need`` loads the ones a read may see, ``need_all`` all.
    """

    parts: Any = None

    def __init__(self, entities: Iterable[Row], relations: Iterable[Row], mentions) -> None:
        self.entities: dict[str, HeldEntity] = {}
        self.by_key: dict[str, set[str]] = {}
        self.relations: dict[str, HeldRelation] = {}
        self.touching: dict[str, set[str]] = {}  # entity id -> ids of relations touching it
        # fact id -> the entity ids it mentions: a tuple (a fact names one to three; a set
        # of three costs 216 bytes, the tuple 64)
        self.mentions: dict[str, tuple[str, ...]] = {}
        self.mentioned: dict[str, set[str]] = {}  # entity id -> fact ids
        # entity id -> relation name -> its relations in (first fact id, id) order, built on
        # first read, dropped when a relation of the entity changes (``fanned``).
        self._fans: dict[str, dict[str, list[str]]] = {}
        # relation id -> (its held row, its two entities, the model ``fanned`` returns),
        # reused while those three are the objects held: every change replaces them.
        self._models: dict[str, tuple[HeldRelation, HeldEntity, HeldEntity, Relation]] = {}
        # fact id -> ids of the relations whose fact_ids hold it: built on the first
        # ``relations_by_fact`` (each ingest batch asks it), kept in step after that.
        self._supports: dict[str, tuple[str, ...]] | None = None
        self.pages = EntityPages()  # scopes' entities in name order (entities_in_scope)
        for row in entities:
            self.put_entity(row)
        for row in relations:  # rows straight from index_relations
            self.put_relation(row)
        for fact_id, entity_id in mentions:
            self.link(fact_id, entity_id)

    # -- parts still on disk -------------------------------------------------------------

    def need(self, scope: Scope | None = None, ids: Iterable[str] = ()) -> None:
        """Load the parts a read in ``scope``, or by these entity or fact ids, may see. An
        id this copy holds (an entity, or a fact that mentions one) has its part loaded."""
        parts = self.parts
        if parts is None or not parts.pending:
            return
        wanted = set(parts.covering(scope)) if scope is not None else set()
        missing = {i for i in ids if i not in self.entities and i not in self.mentions}
        wanted.update(parts.holding(missing))
        for part in sorted(wanted):
            parts.load(self, part)

    def need_all(self) -> None:
        parts = self.parts
        for part in sorted(parts.pending) if parts is not None else ():
            parts.load(self, part)

    # -- changes -----------------------------------------------------------------------

    def put_entity(self, row: Mapping[str, Any]) -> None:
        entity = HeldEntity.of(row)
        self.pages.put(entity, self.entities.get(entity.id))
        self._unkey(entity.id)
        self.entities[entity.id] = entity
        for key in entity.keys:
            self.by_key.setdefault(key, set()).add(entity.id)

    def _unkey(self, entity_id: str) -> None:
        old = self.entities.get(entity_id)
        for key in old.keys if old else ():
            self.by_key.get(key, set()).discard(entity_id)

    def drop_entity(self, entity_id: str) -> None:  # DETACH DELETE
        for rel_id in list(self.touching.get(entity_id, ())):
            self.drop_relation(rel_id)
        for fact_id in self.mentioned.pop(entity_id, set()):
            self._unmention(fact_id, entity_id)
        self._unkey(entity_id)
        self.pages.drop(self.entities.pop(entity_id, None))
        self.touching.pop(entity_id, None)
        self._fans.pop(entity_id, None)

    def put_relation(self, row: Mapping[str, Any]) -> None:
        """Create or overwrite by id, between two existing entities (as the MERGE does)."""
        rel = HeldRelation.of(row)
        if rel.source_id not in self.entities or rel.target_id not in self.entities:
            return
        self.drop_relation(rel.id)
        self.relations[rel.id] = rel
        self._support(rel, True)
        for end in (rel.source_id, rel.target_id):
            self.touching.setdefault(end, set()).add(rel.id)
            self._fans.pop(end, None)

    def set_relation(self, row: Mapping[str, Any]) -> None:
        rel = self._same(row)
        if rel is not None:
            self._support(rel, False)
            self.relations[rel.id] = rel = rel._replace(
                fact_ids=tuple(same_text(f) for f in row.get("fact_ids") or ()),
                valid_at=same_text(row.get("valid_at")),
                invalid_at=same_text(row.get("invalid_at")),
            )
            self._support(rel, True)
            self._fans.pop(rel.source_id, None)
            self._fans.pop(rel.target_id, None)

    def delete_relation(self, row: Mapping[str, Any]) -> None:
        if self._same(row) is not None:
            self.drop_relation(row["id"])

    def _same(self, row: Mapping[str, Any]) -> HeldRelation | None:
        """The relation with this id and these endpoints (how set/delete match it)."""
        rel = self.relations.get(row["id"])
        if rel and (rel.source_id, rel.target_id) == (row["source_id"], row["target_id"]):
            return rel
        return None

    def drop_relation(self, rel_id: str) -> None:
        rel = self.relations.pop(rel_id, None)
        if rel is not None:
            self._support(rel, False)
            for end in (rel.source_id, rel.target_id):
                self.touching.get(end, set()).discard(rel_id)
                self._fans.pop(end, None)

    def _support(self, rel: HeldRelation, held: bool) -> None:
        supports = self._supports
        if supports is None:
            return
        # Tuples, not sets: a fact supports one to three relations, and the cycle collector
        # stops tracking a tuple of texts, where it walks every set on each full pass. After
        # a 300k-memory ingest: 215k entries, tracked objects 713k -> 498k, a full
        # collection 353 -> 262 ms (measured side by side).
        for fact_id in rel.fact_ids:
            found = supports.get(fact_id, ())
            if held and rel.id not in found:
                supports[fact_id] = (*found, rel.id)
            elif not held and rel.id in found:
                kept = tuple(r for r in found if r != rel.id)
                if kept:
                    supports[fact_id] = kept
                else:
                    del supports[fact_id]

    def relations_loaded(self) -> None:
        """Relations were added in bulk (a part loaded): what is derived from them all is
        rebuilt on its next read."""
        self._supports = None

    def link(self, fact_id: str, entity_id: str) -> None:
        if entity_id in self.entities:
            fact_id, entity_id = same_text(fact_id), same_text(entity_id)
            named = self.mentions.get(fact_id, ())
            if entity_id not in named:
                self.mentions[fact_id] = (*named, entity_id)
            self.mentioned.setdefault(entity_id, set()).add(fact_id)

    def unlink(self, fact_id: str, entity_id: str) -> None:
        self._unmention(fact_id, entity_id)
        self.mentioned.get(entity_id, set()).discard(fact_id)

    def _unmention(self, fact_id: str, entity_id: str) -> None:
        named = self.mentions.get(fact_id)
        if named is not None and entity_id in named:
            self.mentions[fact_id] = tuple(e for e in named if e != entity_id)

    def drop_fact(self, fact_id: str) -> None:  # DETACH DELETE: its mentions go with it
        for entity_id in self.mentions.pop(fact_id, ()):
            self.mentioned.get(entity_id, set()).discard(fact_id)

    def apply(self, name: str, params: Mapping[str, Any]) -> bool:
        """Apply one named write; False when this copy cannot follow it."""
        if name in _NEUTRAL:
            return True
        step = FOLLOWED.get(name)
        if step is None:
            return False
        step(self, params.get("rows") or [], params.get("ids") or [])
        return True

    def write(self, batch: GraphBatch) -> None:
        """What ``GraphStore.write`` does: upsert entities and relations, link mentions."""
        for entity in batch.entities:
            self.put_entity(entity_row(entity))
        for rel in batch.relations:
            self.put_relation(relation_row(rel))
        for fact_id, entity_id in batch.mentions:
            self.link(fact_id, entity_id)

    # -- the named reads it answers --------------------------------------------------------

    def answer(self, name: str, params: Mapping[str, Any]) -> list[Row] | None:
        """Rows of a named read, exactly as the store returns them, or None."""
        if name == "entities_by_key":
            scope = Scope.from_row(params)
            return [{"matched_key": key, **self._entity(e)}
                    for key in params["keys"] for e in sorted(self.by_key.get(key, ()))
                    if scope.matches(self.entities[e])]  # fmt: skip
        if name == "entities_in_scope":
            scope = Scope.from_row(params)
            ids = self.pages.page(scope, self.entities, int(params["skip"]), int(params["limit"]))
            return [self._entity(i) for i in ids]
        if name == "entities_get":
            scope = Scope.from_row(params)
            return [self._entity(i) for i in params["ids"]
                    if i in self.entities and scope.matches(self.entities[i])]  # fmt: skip
        if name == "relations_touching":
            found = {r for i in params["ids"] for r in self.touching.get(i, ())}
            return [self._relation(r) for r in sorted(found)]
        if name == "fact_mentions":
            return [{"fact_id": f, "entity_id": e}
                    for f in params["ids"] for e in sorted(self.mentions.get(f, ()))]  # fmt: skip
        if name == "relations_by_fact":
            return [{"fact_id": f, **self._relation(r)}
                    for f in params["ids"] for r in self._supported(f)]  # fmt: skip
        return None

    def _supported(self, fact_id: str) -> list[str]:
        """What ``relations_by_fact`` matches, less the candidates its caller drops: the
        relations leaving an entity the fact mentions whose ``fact_ids`` hold it. On Kuzu
        that query scanned the whole fact and relation tables per call; ingest spent 73%
        of its time there at 600k memories (each batch checks what it supersedes). Read
        from the fact's supported relations: walking the relations touching each entity
        it names cost a hub's thousands per fact (0.54 ms a fact at 100k memories)."""
        if self._supports is None:
            self._supports = {}
            for rel in self.relations.values():
                self._support(rel, True)
        named = self.mentions.get(fact_id, ())
        return sorted(r for r in self._supports.get(fact_id, ())
                      if self.relations[r].source_id in named)  # fmt: skip

    def naming(self, ids: Iterable[str], most: int) -> dict[str, tuple[int, list[str]]]:
        """Per entity of ``ids``: how many facts mention it, and their ids when no more
        than ``most`` (a hub's thousands are counted, never listed)."""
        out = {}
        for entity_id in ids:
            facts = self.mentioned.get(entity_id, set())
            out[entity_id] = (len(facts), sorted(facts) if len(facts) <= most else [])
        return out

    def supporting(self, fact_ids: Iterable[str], most: int) -> dict[str, list[str]]:
        """Per fact: the ids of the relations it supports. Both ends of a relation are
        mentioned by the facts supporting it (``ingest/resolve.py``), so they are found
        among the relations touching the fact's entities, read only for entities that no
        more than ``most`` facts mention: a relation between two hubs is left out, and
        a fact naming a country costs no scan of the country's ten thousand relations."""
        out: dict[str, list[str]] = {}
        for fact_id in fact_ids:
            found: set[str] = set()
            named = self.mentions.get(fact_id, ())
            entities = sorted((e for e in named if len(self.mentioned.get(e, ())) <= most),
                              key=lambda e: len(self.touching.get(e, ())))  # fmt: skip
            if len(entities) == len(named):
                # Both ends of each of its relations are among them: the busiest entity's
                # relations are all found at their other end (one from an entity to
                # itself aside), and a fact naming a city reads the city's thousands none.
                entities = entities[:-1]
            for entity_id in entities:
                for rel_id in self.touching.get(entity_id, ()):
                    if fact_id in self.relations[rel_id].fact_ids:
                        found.add(rel_id)
            out[fact_id] = sorted(found)
        return out

    def fanned(self, ids: Iterable[str], limit: int, accept: Callable[[Row], bool],
               keep: Iterable[str] = ()) -> list[Relation]:  # fmt: skip
        """``relations_touching`` with at most ``limit`` accepted relations per entity of
        ``ids`` and relation name, the ones whose first fact id sorts lowest (search ranks
        equal scores by fact id), plus every accepted relation joining ``ids`` to ``keep``.

        A hub (a city ten thousand people live in) then costs ``limit`` rows per name, not
        ten thousand: the order lists are built once per entity and kept until one of its
        relations changes. The models returned are shared from one call to the next (a
        search's walk only reads them): do not change them.
        """
        wanted = set(ids)
        found: set[str] = set()
        for entity_id in wanted:
            for ordered in self._fan(entity_id).values():
                taken = 0
                for rel_id in ordered:
                    if accept(self.relations[rel_id]):
                        found.add(rel_id)
                        taken += 1
                        if taken == limit:
                            break
        for other in keep:
            for rel_id in self.touching.get(other, ()):
                rel = self.relations[rel_id]
                if (rel.source_id in wanted or rel.target_id in wanted) and accept(rel):
                    found.add(rel_id)
        return [self._model(r) for r in sorted(found)]

    def _fan(self, entity_id: str) -> dict[str, list[str]]:
        fan = self._fans.get(entity_id)
        if fan is None:
            fan = {}
            for rel_id in self.touching.get(entity_id, ()):
                fan.setdefault(self.relations[rel_id].name, []).append(rel_id)
            for ordered in fan.values():
                ordered.sort(key=lambda r: (min(self.relations[r].fact_ids or [""]), r))
            self._fans[entity_id] = fan
        return fan

    # Rows are fresh dicts with fresh lists: a caller may change what it gets.
    def _entity(self, entity_id: str) -> Row:
        row = self.entities[entity_id].row()
        del row["keys"]
        row["aliases"] = list(row["aliases"] or [])
        return row

    def relation(self, rel_id: str) -> Row:
        """One relation's row, as ``relations_touching`` returns it."""
        return self._relation(rel_id)

    def _model(self, rel_id: str) -> Relation:
        """``relation_from_row(self._relation(rel_id))`` without the row between, made once
        per version of the relation and its two entities: a walk reads ~700 relations a
        search on hub-heavy data (100k memories in a scope), mostly the same hubs' from
        one search to the next, and building them was a quarter of the graph channel."""
        rel = self.relations[rel_id]
        source, target = self.entities[rel.source_id], self.entities[rel.target_id]
        held = self._models.get(rel_id)
        if held is not None and held[0] is rel and held[1] is source and held[2] is target:
            return held[3]
        model = Relation(rel.id, rel.source_id, rel.target_id, rel.name, Scope.from_row(rel),
                         list(rel.fact_ids), rel.created_at or "", rel.valid_at or "",
                         rel.invalid_at or "", source.name or "", target.name or "")  # fmt: skip
        if len(self._models) >= _MODELS_HELD:
            self._models.clear()
        self._models[rel_id] = (rel, source, target, model)
        return model

    def _relation(self, rel_id: str) -> Row:
        rel = self.relations[rel_id]
        out = rel.row()
        out["fact_ids"] = list(rel.fact_ids)
        out["source_name"] = self.entities[rel.source_id].name
        out["target_name"] = self.entities[rel.target_id].name
        return out


# The named writes ``GraphIndex.apply`` follows, beside ``_NEUTRAL``: (copy, rows, ids).
FOLLOWED: dict[str, Callable[[GraphIndex, list, list], object]] = {
    "entity_upsert": lambda g, rows, ids: [g.put_entity(r) for r in rows],
    "relation_upsert": lambda g, rows, ids: [g.put_relation(r) for r in rows],
    # Only ever given ids that are not stored (KuzuGraphStore.write checks first, or
    # the batch is fresh: GraphBatch.fresh).
    "relation_create": lambda g, rows, ids: [g.put_relation(r) for r in rows],
    "relation_set": lambda g, rows, ids: [g.set_relation(r) for r in rows],
    "relation_delete": lambda g, rows, ids: [g.delete_relation(r) for r in rows],
    "mention_merge": lambda g, rows, ids: [g.link(r["fact_id"], r["entity_id"]) for r in rows],
    "mention_delete": lambda g, rows, ids: [g.unlink(r["fact_id"], r["entity_id"]) for r in rows],
    "fact_delete": lambda g, rows, ids: [g.drop_fact(i) for i in ids],
    "entity_delete": lambda g, rows, ids: [g.drop_entity(i) for i in ids],
}
