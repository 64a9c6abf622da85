"""``Memory.verify()``: does every store tell the same story, and ``repair=True`` to mend it.

One full read of each store (no per-id round trips), then set arithmetic; a report counts
each kind of drift and keeps a few example ids per kind.

Source of truth for a repair: nothing a store still knows is dropped. A memory that any
store holds (the vector payload first, then the graph node, then the history's last
text) is restored in the stores that lack it; a relation keeps only the supporting facts
that exist and goes when none do; every entity gets its name vector and a name vector
without an entity goes. Every mend is logged as a REPAIR event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..models import Fact, GraphBatch, HistoryEvent, Scope, now_iso
from ..stores.base import ENTITIES, FACTS, SOURCES, VectorPoint
from ..stores.rows import fact_from_graph_row, fact_row, relation_from_row, relation_row

KINDS = (
    "fact_without_vector",  # a Fact node in the graph, no point in the vector store
    "vector_without_fact",  # a fact point, no Fact node
    "memory_without_history",  # stored, but the history never added it (or deleted it)
    "history_without_memory",  # the history says it exists, no store holds it
    "fact_text_differs",  # graph text and vector payload text differ
    "history_text_differs",  # replaying the history gives another text
    "relation_unknown_fact",  # a relation's fact_ids name a fact no store holds
    "entity_without_vector",  # an entity with no name vector
    "vector_without_entity",  # a name vector with no entity
    "index_differs",  # an in-process index (graph topology, per-scope search) is stale
)
EXAMPLES = 5


@dataclass
class VerifyReport:
    """Counts per kind of drift (``drift``), what was read (``checked``), what a repair
    changed (``repaired``), and up to five example ids per kind (``examples``)."""

    drift: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    examples: dict[str, list[str]] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.drift.values())

    @property
    def ok(self) -> bool:
        return self.total == 0

    def note(self, kind: str, ids: Iterable[str]) -> None:
        ids = sorted(ids)
        self.drift[kind] += len(ids)
        if ids:
            self.examples[kind] = ids[:EXAMPLES]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "drift": dict(self.drift), "checked": dict(self.checked),
                "repaired": dict(self.repaired), "examples": dict(self.examples)}  # fmt: skip


@dataclass
class _Snapshot:
    graph_facts: dict[str, dict[str, Any]]
    vector_facts: dict[str, dict[str, Any]]
    replay: dict[str, tuple[str, Scope, str]]  # live memory id -> (text, scope, created_at)
    entities: dict[str, dict[str, Any]]
    entity_vectors: set[str]
    relations: list[dict[str, Any]]
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # split messages


def _read(memory: Any) -> _Snapshot:
    graph, vectors = memory.graph_store, memory.vectors
    everyone = Scope()
    n_facts = vectors.count(FACTS, None)
    n_entities = vectors.count(ENTITIES, None)
    vector_facts = (
        {h.id: h.payload for h in vectors.scroll(FACTS, everyone, limit=n_facts)} if n_facts else {}
    )
    entity_vectors = (
        {h.id for h in vectors.scroll(ENTITIES, everyone, limit=n_entities)}
        if n_entities
        else set()
    )
    sources = {}
    if SOURCES in getattr(vectors, "collections", ()):
        n_sources = vectors.count(SOURCES, None)
        if n_sources:
            sources = {h.id: h.payload for h in vectors.scroll(SOURCES, everyone, limit=n_sources)}
    return _Snapshot(
        sources=sources,
        graph_facts={r["id"]: r for r in graph.run("facts_all", {})},
        vector_facts=vector_facts,
        replay=replay_history(_events(memory.history_store)),
        entities={r["id"]: r for r in graph.run("index_entities", {})},
        entity_vectors=entity_vectors,
        relations=graph.run("index_relations", {}),
    )


def _events(history: Any) -> Iterable[HistoryEvent]:
    every = getattr(history, "iter_events", None)
    return every() if every is not None else history.events(None, limit=10**9)


def replay_history(events: Iterable[HistoryEvent]) -> dict[str, tuple[str, Scope, str]]:
    """The memories the history says exist now, with the text it last gave each."""
    state: dict[str, tuple[str, Scope, str]] = {}
    for e in events:
        if e.target_kind != "memory":
            continue
        if e.event in ("ADD", "PROMOTE", "REPAIR"):  # PROMOTE: a long-term copy is born
            state[e.target_id] = (e.new_value or "", e.scope, e.created_at)
        elif e.event == "UPDATE" and e.target_id in state:
            _, scope, created = state[e.target_id]
            state[e.target_id] = (e.new_value or "", scope, created)
        elif e.event in ("DELETE", "EXPIRE"):
            state.pop(e.target_id, None)
    return state


def verify(memory: Any, *, repair: bool = False) -> VerifyReport:
    """Check (and with ``repair=True`` mend) agreement of the three stores."""
    with memory._writing:
        snap = _read(memory)
        report = _check(memory, snap)
        if repair and not report.ok:
            repaired = _repair(memory, snap, report)
            report = _check(memory, _read(memory))
            report.repaired = repaired
        return report


def _check(memory: Any, snap: _Snapshot) -> VerifyReport:
    report = VerifyReport()
    graph, vec, live = set(snap.graph_facts), set(snap.vector_facts), set(snap.replay)
    stored = graph | vec
    report.checked = {"facts": len(stored), "entities": len(snap.entities),
                      "relations": len(snap.relations), "history_memories": len(live)}  # fmt: skip
    report.note("fact_without_vector", graph - vec)
    report.note("vector_without_fact", vec - graph)
    report.note("memory_without_history", stored - live)
    report.note("history_without_memory", live - stored)
    report.note("fact_text_differs", [i for i in graph & vec
                                      if snap.graph_facts[i]["text"] != _text(snap, i)])  # fmt: skip
    report.note("history_text_differs", [i for i in stored & live
                                         if snap.replay[i][0] != _text(snap, i)])  # fmt: skip
    known = stored | live
    report.note("relation_unknown_fact", [r["id"] for r in snap.relations
                                          if set(r["fact_ids"] or []) - known])  # fmt: skip
    report.note("entity_without_vector", set(snap.entities) - snap.entity_vectors)
    report.note("vector_without_entity", snap.entity_vectors - set(snap.entities))
    report.note("index_differs", _stale_indexes(memory, snap))
    return report


def _text(snap: _Snapshot, fact_id: str) -> str:
    """What a memory says now: its vector payload, else its graph node, else history."""
    if fact_id in snap.vector_facts:
        return str(snap.vector_facts[fact_id].get("text", ""))
    if fact_id in snap.graph_facts:
        return snap.graph_facts[fact_id]["text"] or ""
    return snap.replay[fact_id][0]


def _stale_indexes(memory: Any, snap: _Snapshot) -> list[str]:
    stale = []
    built = getattr(memory.graph_store, "_index", None)
    if built is not None:
        if set(built.entities) != set(snap.entities):
            stale.append("graph:entities")
        if set(built.relations) != {r["id"] for r in snap.relations}:
            stale.append("graph:relations")
    cached = getattr(memory.vectors, "_indexes", {})
    for (collection, scope), index in list(cached.items()):
        if collection != FACTS:
            continue
        # The facts' search index holds the messages they were split from too.
        want = {i for i, p in [*snap.vector_facts.items(), *snap.sources.items()]
                if scope.matches(p)}  # fmt: skip
        if set(index.slot_of) != want:
            stale.append(f"search:{scope}")
    return stale


class _Repair:
    """What one repair will change, gathered before any store is touched."""

    def __init__(self, memory: Any, snap: _Snapshot) -> None:
        from ..ingest.write import fact_from_payload

        self.memory, self.snap = memory, snap
        self.events: list[HistoryEvent] = []
        graph_ids, vec_ids = set(snap.graph_facts), set(snap.vector_facts)
        facts: dict[str, Fact] = {}
        for i in vec_ids:
            facts[i] = fact_from_payload(_Hit(i, snap.vector_facts[i]))
        for i in graph_ids - vec_ids:
            facts[i] = fact_from_graph_row(snap.graph_facts[i])
        for i, (text, scope, created) in snap.replay.items():
            if i not in facts:
                now = now_iso()
                facts[i] = Fact(i, text, scope, created_at=created or now, updated_at=now)
        self.facts = facts
        self.to_graph = [facts[i] for i in sorted(set(facts) - graph_ids)]
        self.retext = [facts[i] for i in sorted(graph_ids)
                       if snap.graph_facts[i]["text"] != facts[i].text]  # fmt: skip
        self.to_vectors = [facts[i] for i in sorted(set(facts) - vec_ids)]
        for f in self.to_graph:
            source = "vectors" if f.id in vec_ids else "history"
            kind = "vector_without_fact" if f.id in vec_ids else "history_without_memory"
            self.log(kind, f.id, f.scope, "memory", f.text, source=source)
        for f in self.to_vectors:
            if f.id in graph_ids:
                self.log("fact_without_vector", f.id, f.scope, "memory", f.text, source="graph")
        for f in self.retext:
            self.log("fact_text_differs", f.id, f.scope, "memory", f.text, source="vectors")
        for i in sorted(graph_ids | vec_ids):
            seen = snap.replay.get(i)
            if seen is None:
                self.log("memory_without_history", i, facts[i].scope, "memory", facts[i].text)
            elif seen[0] != facts[i].text:
                self.log("history_text_differs", i, facts[i].scope, "memory", facts[i].text)
        self._relations()
        self._entities()

    def log(self, kind: str, target: str, scope: Scope, target_kind: str, text=None, **details):
        self.events.append(HistoryEvent("REPAIR", target, scope, target_kind=target_kind,
                                        new_value=text, details={"drift": kind, **details}))  # fmt: skip

    def _relations(self) -> None:
        """Keep the support that exists; a relation left with none goes."""
        self.trimmed, self.dropped = [], []
        for row in self.snap.relations:
            ids = list(row["fact_ids"] or [])
            keep = [f for f in ids if f in self.facts]
            if len(keep) == len(ids):
                continue
            rel = relation_from_row(row)
            rel.fact_ids = keep
            (self.trimmed if keep else self.dropped).append(rel)
            self.log("relation_unknown_fact", rel.id, rel.scope, "relation",
                     removed=sorted(set(ids) - set(keep)), deleted=not keep)  # fmt: skip

    def _entities(self) -> None:
        snap = self.snap
        self.missing = sorted(set(snap.entities) - snap.entity_vectors)
        self.extra = sorted(snap.entity_vectors - set(snap.entities))
        for i in self.missing:
            row = snap.entities[i]
            self.log("entity_without_vector", i, Scope.from_row(row), "entity", row["name"])
        for i in self.extra:
            self.log("vector_without_entity", i, Scope(), "entity")

    def apply(self) -> None:
        """Graph first, then vectors, then the log of what was done."""
        memory, snap = self.memory, self.snap
        with memory.graph_store.transaction() as tx:
            if self.to_graph:
                memory.graph_store.write(GraphBatch(facts=self.to_graph))
            if self.retext:
                tx.run("fact_set", {"rows": [fact_row(f) for f in self.retext]})
            if self.dropped:
                tx.run("relation_delete", {"rows": [relation_row(r) for r in self.dropped]})
            if self.trimmed:
                tx.run("relation_set", {"rows": [relation_row(r) for r in self.trimmed]})
        embed = memory.embedder.embed
        if self.to_vectors:
            vectors = embed([f.text for f in self.to_vectors])
            memory.vectors.upsert(FACTS, [VectorPoint(f.id, v, f.to_dict() | {"id": f.id})
                                          for f, v in zip(self.to_vectors, vectors, strict=True)])  # fmt: skip
        if self.missing:
            names = embed([snap.entities[i]["name"] for i in self.missing])
            memory.vectors.upsert(ENTITIES, [entity_point(snap.entities[i], v)
                                             for i, v in zip(self.missing, names, strict=True)])  # fmt: skip
        if self.extra:
            memory.vectors.delete(ENTITIES, self.extra)
        drop_indexes(memory)
        if self.events:
            memory.history_store.record(self.events)


def entity_point(row: dict[str, Any], vector: Any) -> VectorPoint:
    """An entity's name vector with the payload entity resolution searches on."""
    scope = Scope.from_row(row)
    return VectorPoint(row["id"], vector, {"entity_id": row["id"], "name": row["name"],
                       "type": row["type"], **scope.params(),
                       "created_at": row.get("created_at") or ""})  # fmt: skip


def _repair(memory: Any, snap: _Snapshot, report: VerifyReport) -> dict[str, int]:
    plan = _Repair(memory, snap)
    plan.apply()
    counts: dict[str, int] = {}
    for e in plan.events:
        counts[e.details["drift"]] = counts.get(e.details["drift"], 0) + 1
    if report.drift["index_differs"]:
        counts["index_differs"] = report.drift["index_differs"]
    return counts


def drop_indexes(memory: Any) -> None:
    """Forget the in-process copies; each is read again from the stores on next use."""
    drop = getattr(memory.graph_store, "drop", None)
    if drop is not None:
        drop()
    cached = getattr(memory.vectors, "_indexes", None)
    if cached is not None:
        with memory.vectors._lock:
            cached.clear()


@dataclass
class _Hit:
    id: str
    payload: dict[str, Any]
