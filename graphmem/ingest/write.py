"""Apply a change to the three stores together, or to none of them.

The graph transaction stays open while the vectors and the history are written; if any
step fails, the steps already done are undone in reverse order and the graph transaction
rolls back, so the stores never disagree (what-to-beat.md item 1). Undo failures are
attached to the raised error instead of being swallowed.

A batch of new memories writes its graph part on a second thread while this one writes
the vectors and the history: Kuzu runs a statement without holding the GIL, so the two
overlap on a second core. The graph transaction then waits, still open, for the verdict.
"""

from __future__ import annotations

import gc
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from ..errors import ConflictError, GraphMemError
from ..models import Fact, HistoryEvent, Scope, now_iso
from ..stores.base import GraphStore, GraphTx, HistoryStore, VectorHit, VectorPoint, VectorStore
from ..stores.graph_ops import GraphOps, Removal
from ..stores.rows import fact_row
from .resolve import Plan

FACTS, ENTITIES, SOURCES = "facts", "entities", "sources"
CONFLICT_RETRIES = 4


def fact_from_payload(hit: VectorHit) -> Fact:
    p = dict(hit.payload)
    scope = Scope(p.pop("user_id", ""), p.pop("agent_id", ""), p.pop("run_id", ""))
    known = {k: p.get(k) for k in Fact.__dataclass_fields__ if k not in ("scope", "id")}
    return Fact(id=hit.id, scope=scope, **{k: v for k, v in known.items() if v is not None})


class Writer:
    def __init__(self, graph: GraphStore, vectors: VectorStore, history: HistoryStore) -> None:
        self.graph = graph
        self.ops = GraphOps(graph)
        self.vectors = vectors
        self.history = history

    def atomic(
        self,
        steps: Callable[[list[Callable[[], None]]], None],
        graph_part: Callable[[GraphTx], None] | None = None,
    ) -> None:
        """Run ``steps`` all-or-nothing; replay it after a transient server conflict.

        ``graph_part``, when given, holds all of the graph writes and runs on its own
        thread, alongside ``steps``; then ``steps`` must not touch the graph.
        A replay is safe: every step is an upsert by id computed before the first try, and
        the failed try was fully undone.
        """
        for attempt in range(1, CONFLICT_RETRIES + 1):
            try:
                self._atomic_once(steps, graph_part)
                return
            except ConflictError:
                if attempt == CONFLICT_RETRIES:
                    raise
                time.sleep(0.05 * 2**attempt * random.random())

    def _atomic_once(self, steps, graph_part) -> None:
        undo: list[Callable[[], None]] = []
        try:
            if graph_part is None:
                with self.graph.transaction():
                    steps(undo)
            else:
                self._alongside(graph_part, steps, undo)
        except BaseException as exc:
            problems = []
            for step in reversed(undo):
                try:
                    step()
                except GraphMemError as undo_exc:  # keep going: undo as much as possible
                    problems.append(str(undo_exc))
            if problems:
                exc.add_note("graphmem could not undo every step: " + "; ".join(problems))
            raise

    def _alongside(self, graph_part, steps, undo: list[Callable[[], None]]) -> None:
        """``graph_part`` in a transaction on a worker thread, ``steps`` here; the worker
        commits only once ``steps`` succeeded, else rolls back. Raises the first failure."""
        verdict = threading.Event()
        commit = False
        failures: list[BaseException] = []

        def graph_side() -> None:
            try:
                with self.graph.transaction() as tx:
                    graph_part(tx)
                    verdict.wait()
                    if not commit:
                        raise _Abandoned
            except _Abandoned:
                pass
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                failures.append(exc)

        worker = threading.Thread(target=graph_side, name="graphmem-graph-write", daemon=True)
        worker.start()
        caller_error: BaseException | None = None
        try:
            steps(undo)
            commit = True
        except BaseException as exc:  # noqa: BLE001 - re-raised below, once the worker is done
            caller_error = exc
        finally:
            verdict.set()
            worker.join()
        if caller_error is not None:
            for failure in failures:  # both sides failed: say so, rather than lose one
                caller_error.add_note(
                    f"the graph write failed too: {type(failure).__name__}: {failure}"
                )
            raise caller_error
        if failures:
            raise failures[0]

    def apply(
        self,
        plan: Plan,
        facts: Sequence[Fact],
        vectors: Sequence[Sequence[float]],
        sources: Sequence[VectorPoint] = (),
    ) -> None:
        """Write new facts (with their vectors), the messages they were split from
        (``sources``), the plan's graph changes and its events."""
        now = now_iso()
        invalidated = self._load(list(plan.invalidated_fact_ids))
        changed = [replace(f, invalid_at=plan.invalidated_fact_ids[f.id], updated_at=now)
                   for f in invalidated]  # fmt: skip

        def graph_part(tx: GraphTx) -> None:
            self.graph.write(plan.batch)
            self.ops.set_relations(tx, plan.relation_updates)
            if changed:
                tx.run("fact_set", {"rows": [fact_row(f) for f in changed]})

        def steps(undo: list[Callable[[], None]]) -> None:
            points = [
                VectorPoint(f.id, v, _payload(f)) for f, v in zip(facts, vectors, strict=True)
            ]
            undo.append(lambda: self.vectors.delete(FACTS, [p.id for p in points]))
            self.vectors.upsert(FACTS, points)
            if sources:
                undo.append(lambda: self.vectors.delete(SOURCES, [p.id for p in sources]))
                self.vectors.upsert(SOURCES, list(sources))
            if plan.entity_points:
                undo.append(
                    lambda: self.vectors.delete(ENTITIES, [p.id for p in plan.entity_points])
                )
                self.vectors.upsert(ENTITIES, plan.entity_points)
            self._repoint(undo, invalidated, changed)
            self.record(undo, plan.events)

        self.atomic(steps, graph_part)

    def update_fact(
        self, old: Fact, new: Fact, vector: Sequence[float], event: HistoryEvent
    ) -> None:
        def steps(undo: list[Callable[[], None]]) -> None:
            with self.graph.transaction() as tx:
                tx.run("fact_set", {"rows": [fact_row(new)]})
            self._repoint(undo, [old], [new], vector)
            self.record(undo, [event])

        self.atomic(steps)

    def remove(self, facts: Sequence[Fact], event_name: str = "DELETE") -> Removal:
        """Delete facts and exactly the graph data only they supported."""
        result: list[Removal] = []

        def steps(undo: list[Callable[[], None]]) -> None:
            removal = self.ops.remove_facts([f.id for f in facts])
            result.append(removal)
            old_points = self.vectors.get(FACTS, [f.id for f in facts], with_vectors=True)
            old_entities = self.vectors.get(ENTITIES, removal.entities_deleted, with_vectors=True)
            undo.append(lambda: self.vectors.upsert(FACTS, _points(old_points)))
            self.vectors.delete(FACTS, [f.id for f in facts])
            undo.append(lambda: self.vectors.upsert(ENTITIES, _points(old_entities)))
            self.vectors.delete(ENTITIES, removal.entities_deleted)
            self._drop_orphan_sources(undo, facts)
            events = [HistoryEvent(event_name, f.id, f.scope, old_value=f.text,
                                   details={"relations_deleted": [r.id for r in removal.relations_deleted],
                                            "entities_deleted": removal.entities_deleted})
                      for f in facts]  # fmt: skip
            self.record(undo, events)

        self.atomic(steps)
        return result[0]

    def remove_scope(self, scope: Scope, page: int = 500) -> int:
        """Delete every memory of a scope, then what they leave behind; returns how many.

        Whole pages of facts go at once, with no per-fact look at the relations they
        support: the scope's relations and entities all go at the end anyway. That look
        fetched every relation of a hub entity once per fact of the page (issue 20:
        past 6 GB for one entity with 10k relations); here no statement returns rows.
        """
        count = 0
        while hits := self.vectors.scroll(FACTS, scope, limit=page):
            facts = [fact_from_payload(h) for h in hits]
            ids = [f.id for f in facts]

            def steps(undo: list[Callable[[], None]], facts=facts, ids=ids) -> None:
                with self.graph.transaction() as tx:
                    tx.run("fact_delete", {"ids": ids})
                old = self.vectors.get(FACTS, ids, with_vectors=True)
                undo.append(lambda: self.vectors.upsert(FACTS, _points(old)))
                self.vectors.delete(FACTS, ids)
                self.record(undo, [HistoryEvent("DELETE", f.id, f.scope, old_value=f.text,
                                                details={"by": "delete_all"})
                                   for f in facts])  # fmt: skip

            self.atomic(steps)
            count += len(facts)
        self.ops.delete_scope(scope)  # fact nodes with no vector too, entities, relations
        for collection in (ENTITIES, SOURCES):  # the messages the facts were split from
            while left := self.vectors.scroll(collection, scope, limit=page):
                self.vectors.delete(collection, [h.id for h in left])
        return count

    # -- helpers ---------------------------------------------------------------------

    def _drop_orphan_sources(self, undo, facts: Sequence[Fact]) -> None:
        """Delete the sources whose last fact just went (call after deleting ``facts``)."""
        orphans = []
        for origin, scope in sorted({(f.origin, f.scope) for f in facts if f.origin}, key=str):
            if not self.vectors.scroll(FACTS, scope, limit=1, filters={"origin": origin}):
                orphans.append(origin)
        if orphans:
            old = self.vectors.get(SOURCES, orphans, with_vectors=True)
            undo.append(lambda: self.vectors.upsert(SOURCES, _points(old)))
            self.vectors.delete(SOURCES, orphans)

    def _load(self, ids: Sequence[str]) -> list[Fact]:
        return [fact_from_payload(h) for h in self.vectors.get(FACTS, list(ids))] if ids else []

    def _repoint(self, undo, old: Sequence[Fact], new: Sequence[Fact], vector=None) -> None:
        """Overwrite payloads (and optionally the vector) of existing fact points."""
        if not new:
            return
        before = self.vectors.get(FACTS, [f.id for f in old], with_vectors=True)
        undo.append(lambda: self.vectors.upsert(FACTS, _points(before)))
        vecs = {h.id: h.vector for h in before}
        points = [VectorPoint(f.id, vector if vector is not None else vecs[f.id], _payload(f))
                  for f in new]  # fmt: skip
        self.vectors.upsert(FACTS, points)

    def record(self, undo, events: Sequence[HistoryEvent]) -> None:
        if events:
            recorded = self.history.record(list(events))
            undo.append(
                lambda: self.history.delete_ids([e.id for e in recorded if e.id is not None])
            )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for one batch of a bulk ingest.

    A batch allocates hundreds of thousands of short-lived objects and almost no cycles,
    so the collector ran full passes over a growing heap for nothing: 1.0-1.3 s of an
    8.7 s, 10k-memory ingest (measured). Reference counting still frees everything as
    usual; cycles made meanwhile are collected once the collector is back on.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class _Abandoned(Exception):
    """Raised inside the graph worker's transaction to roll it back on purpose."""


def _payload(fact: Fact) -> dict:
    return fact.to_dict() | {"id": fact.id}


def _points(hits: Sequence[VectorHit]) -> list[VectorPoint]:
    return [VectorPoint(h.id, h.vector or [], h.payload) for h in hits]
