"""Apply a change to the three stores together, or to none of them.

The graph transaction stays open while the vectors and the history are written; if any
step fails, the steps already done are undone in reverse order and the graph transaction
rolls back, so the stores never disagree (what-to-beat.md item 1). Undo failures are
attached to the raised error instead of being swallowed.

A batch of new memories writes its graph part on a second thread while this one writes
its journal entry, the vectors and the history: Kuzu runs a statement without holding the
GIL, so the two overlap on a second core. The graph transaction then waits, still open,
for the verdict, so it never commits before the journal entry is written.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from ..errors import CommitUncertainError, ConflictError, GraphMemError
from ..interrupts import held_back
from ..models import Fact, HistoryEvent, Scope, now_iso
from ..stores.base import (
    ENTITIES,
    FACTS,
    SOURCES,
    GraphStore,
    GraphTx,
    HistoryStore,
    VectorHit,
    VectorPoint,
    VectorStore,
)
from ..stores.graph_ops import GraphOps, Removal
from ..stores.rows import fact_row, relation_row
from .journal import UNDO_FAILED, WRITE, Change, decode, encode, journal, run_graph, undo_failed
from .reopen import Reopening, plan_reopening
from .resolve import Plan
from .scope_delete import DELETE_SCOPE, ScopeDeletes

CONFLICT_RETRIES = 4
log = logging.getLogger(__name__)


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
        self.scopes = ScopeDeletes(self)
        self.room: Callable[[], None] | None = None  # raises when the disk is too full to write
        # Which relation keys hold one value at a time (the resolver's rule); None: none.
        self.single: Callable[[str], bool] | None = None

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
            if isinstance(exc, CommitUncertainError) and journal(self.history):
                # The graph may hold the write: undoing the other stores could leave it
                # the only one that does. ``commit`` finishes it from the journal instead.
                raise
            problems = []
            for step in reversed(undo):
                try:
                    step()
                except GraphMemError as undo_exc:  # keep going: undo as much as possible
                    problems.append(str(undo_exc))
            if problems:
                exc.add_note(UNDO_FAILED + "; ".join(problems))
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

    # -- journaled writes: every change goes through commit() ------------------------

    def commit(self, change: Change, intent: int | None = None) -> list[str]:
        """Journal ``change``, write it to every store, close the journal entry.

        Returns the entity ids a delete pruned. An intent whose undo failed stays open, so
        the next open finishes the write rather than leave the stores apart; so does one
        a second Ctrl-C cut short (``interrupts.py`` holds the first back until the write
        has ended)."""
        with held_back():
            return self._commit(change, intent)

    def _commit(self, change: Change, intent: int | None) -> list[str]:
        if self.room is not None:
            self.room()
        self.scopes.finish()  # a delete_all that stopped part-way goes first
        to_journal = journal(self.history) and intent is None
        if to_journal and not change.parallel:
            intent = self.history.begin_intent(change.kind, encode(change))
        pruned: list[str] = []

        def vectors_and_history(undo: list[Callable[[], None]]) -> None:
            nonlocal intent
            if to_journal and intent is None:
                # A parallel write journals here, while the graph worker runs its
                # statements: it commits only once this has returned, and nothing else is
                # written before the intent is, so a crash still leaves either nothing or
                # an intent to finish. The graph's statements no longer wait for the
                # encoding (at 1M memories the graph side is what a batch waits for).
                intent = self.history.begin_intent(change.kind, encode(change))
            self._vectors(undo, change, pruned)
            self.record(undo, _with_pruned(change, pruned), intent)

        def sequential(undo: list[Callable[[], None]]) -> None:
            with self.graph.transaction() as tx:
                pruned[:] = run_graph(self.graph, tx, change)
            vectors_and_history(undo)

        try:
            if change.parallel:
                self.atomic(vectors_and_history, lambda tx: run_graph(self.graph, tx, change))
            else:
                self.atomic(sequential)
        except CommitUncertainError as exc:
            if intent is None:
                raise
            return self._finish(intent, exc)
        except BaseException as exc:
            # An interrupt (not an Exception) may have stopped the undo part-way.
            if intent is not None and not undo_failed(exc) and isinstance(exc, Exception):
                self.history.end_intent(intent)
            raise
        if intent is not None:
            self.history.end_intent(intent)
        return pruned

    def _finish(self, intent: int, uncertain: CommitUncertainError) -> list[str]:
        """Roll an intent forward now, as the next open would: the graph's commit failed
        with its outcome unknown, and the other stores were left as they were. Returns
        the pruned entity ids. If that fails too, the intent stays open for the next open
        and the error says so."""
        log.warning("graphmem: %s; finishing the write from its journal", uncertain)
        try:
            for found, _kind, body, recorded in self.history.open_intents():
                if found == intent:
                    return self._roll_forward(intent, decode(body), recorded)
        except GraphMemError as exc:
            exc.add_note(f"{UNDO_FAILED}after {uncertain}, the write stays journaled and "
                         "is finished when the data directory is next opened")  # fmt: skip
            raise
        raise uncertain  # no such intent (a store of the caller's own): as it was

    def _roll_forward(self, intent: int, change: Change, recorded: bool) -> list[str]:
        with self.graph.transaction() as tx:
            pruned = run_graph(self.graph, tx, change)
        self._vectors([], change, pruned)
        if not recorded:
            self.history.record(_with_pruned(change, pruned), intent=intent)
        self.history.end_intent(intent)
        return pruned

    def recover(self) -> int:
        """Finish every journaled write a killed process left open; returns how many.

        Each is rolled forward: its graph and vector steps run again (all idempotent) and
        its events are recorded unless they were. A ``delete_all`` resumes where it was.
        """
        if not journal(self.history):
            return 0
        found = self.history.open_intents()
        scopes = []
        for intent, kind, body, recorded in found:
            change = decode(body)
            if kind == DELETE_SCOPE:  # after the page it was in the middle of, below
                scopes.append((intent, change.scope_entities))
                continue
            self._roll_forward(intent, change, recorded)
        for intent, scope in scopes:
            self.remove_scope(scope, intent=intent)
        return len(found)

    def _vectors(self, undo: list[Callable[[], None]], change: Change, pruned) -> None:
        """The vector steps, undoable: what the ids held before is read first."""
        overwrites = _overwrites_payloads(self.vectors)
        for collection, points, deletes in (
            (FACTS, change.fact_points, change.fact_deletes),
            (ENTITIES, change.entity_points, [*change.entity_deletes, *pruned]),
        ):
            if points and not deletes and overwrites and all(p.vector is None for p in points):
                self._restamp(undo, collection, points)
                continue
            ids = [p.id for p in points] + list(deletes)
            if not ids:
                continue
            before = self.vectors.get(collection, ids, with_vectors=True)
            held = {h.id: h for h in before}
            fresh = [p.id for p in points if p.id not in held]
            undo.append(lambda c=collection, b=before, f=fresh: (
                self.vectors.delete(c, f), self.vectors.upsert(c, _points(b))))  # fmt: skip
            # A point without a vector changes its payload only; one that is gone by now
            # (a roll-forward after its delete) stays gone.
            ready = [p if p.vector is not None else VectorPoint(p.id, held[p.id].vector or [],
                                                                p.payload)
                     for p in points if p.vector is not None or p.id in held]  # fmt: skip
            if ready:
                self.vectors.upsert(collection, ready)
            if deletes:
                self.vectors.delete(collection, list(deletes))
        self._sources(undo, change)
        if change.scope_entities is not None:  # entities and the messages facts came from
            for collection in (ENTITIES, SOURCES):
                while left := self.vectors.scroll(collection, change.scope_entities, limit=500):
                    self.vectors.delete(collection, [h.id for h in left])

    def _restamp(self, undo: list[Callable[[], None]], collection: str,
                 points: Sequence[VectorPoint]) -> None:  # fmt: skip
        """New payloads for stored points, their vectors kept: what they held before is
        read (payloads only) for the undo; a point gone by now stays gone. An access
        count flush (lifecycle/access.py) rewrote each vector too, and read it first:
        ~2.5x the time, with searches waiting (measured at 100k memories a scope)."""
        before = self.vectors.get(collection, [p.id for p in points])
        undo.append(lambda: self.vectors.overwrite_payloads(
            collection, [VectorPoint(h.id, None, h.payload) for h in before]))  # type: ignore[arg-type]  # fmt: skip
        self.vectors.overwrite_payloads(collection, points)

    def _sources(self, undo: list[Callable[[], None]], change: Change) -> None:
        """Upsert the messages an add split; delete those whose last fact went."""
        if change.source_points:
            ids = [p.id for p in change.source_points]
            before = self.vectors.get(SOURCES, ids, with_vectors=True)
            fresh = sorted(set(ids) - {h.id for h in before})
            undo.append(lambda: (self.vectors.delete(SOURCES, fresh),
                                 self.vectors.upsert(SOURCES, _points(before))))  # fmt: skip
            self.vectors.upsert(SOURCES, list(change.source_points))
        orphans = [origin for origin, params in change.prune_sources
                   if not self.vectors.scroll(FACTS, Scope.from_row(params), limit=1,
                                              filters={"origin": origin})]  # fmt: skip
        if orphans:
            old = self.vectors.get(SOURCES, orphans, with_vectors=True)
            undo.append(lambda: self.vectors.upsert(SOURCES, _points(old)))
            self.vectors.delete(SOURCES, orphans)

    def apply(
        self,
        plan: Plan,
        facts: Sequence[Fact],
        vectors: Sequence[Sequence[float]],
        sources: Sequence[VectorPoint] = (),
    ) -> None:
        """Write new facts (with their vectors), the messages they were split from
        (``sources``), the plan's graph changes and its events."""
        graph, changed, events = self._planned(plan)
        points = [VectorPoint(f.id, v, _payload(f)) for f, v in zip(facts, vectors, strict=True)]
        self.commit(Change("add", graph, points + changed, list(plan.entity_points),
                           source_points=list(sources), events=events, parallel=True))  # fmt: skip

    def _planned(self, plan: Plan) -> tuple[list, list[VectorPoint], list[HistoryEvent]]:
        """A plan's graph steps, the payloads of the stored facts it invalidates, and its
        events with the ADD of each entity and relation it makes."""
        now = now_iso()
        invalidated = self._load(list(plan.invalidated_fact_ids))
        changed = [replace(f, invalid_at=plan.invalidated_fact_ids[f.id], updated_at=now)
                   for f in invalidated]  # fmt: skip
        graph: list = [(WRITE, plan.batch)]
        if plan.relation_updates:
            graph.append(
                ("relation_set", {"rows": [relation_row(r) for r in plan.relation_updates]})
            )
        steps, points = _restated(changed)
        graph += steps
        scope = plan.scope
        born = [HistoryEvent("ADD", p.id, scope, target_kind="entity",
                             new_value=p.payload.get("name"), details={"type": p.payload.get("type")})
                for p in plan.entity_points]  # fmt: skip
        born += [HistoryEvent("ADD", r.id, scope, target_kind="relation",
                              new_value=f"{r.source_name} {r.name} {r.target_name}",
                              details={"fact_ids": list(r.fact_ids), "valid_at": r.valid_at})
                 for r in plan.batch.relations]  # fmt: skip
        return graph, points, [*plan.events, *born]

    def update_fact(
        self,
        old: Fact,
        new: Fact,
        vector: Sequence[float],
        event: HistoryEvent,
        withdrawn: Removal | None = None,
        claims: Plan | None = None,
        reopened: Reopening | None = None,
    ) -> None:
        """New text for a stored fact, in one journaled change. What the old text said is
        no longer claimed in its name (``withdrawn``, from ``plan_removal``): the relations
        it alone supported go, the others lose it from their support, its mentions go, and
        entities left with nothing go, as ``remove`` does. What the new text says
        (``claims``, ``reword.plan_claims``) is written after that: its entities,
        relations and mentions, and what they supersede."""
        graph: list = []
        prune: list[str] = []
        points = [VectorPoint(new.id, vector, _payload(new))]
        entity_points: list[VectorPoint] = []
        events = [event]
        if withdrawn is not None:
            graph += _relation_steps(withdrawn)
            named = withdrawn.mentions.get(old.id, [])
            if named:
                graph.append(("mention_delete",
                              {"rows": [{"fact_id": old.id, "entity_id": e} for e in named]}))  # fmt: skip
            prune = sorted(withdrawn.touched)
            event.details = {**event.details,
                             "relations_deleted": [r.id for r in withdrawn.relations_deleted]}  # fmt: skip
        if reopened is not None:  # before the claims, which may close it all again
            steps, valid_again = _restated(reopened.facts)
            graph += steps
            points += valid_again
            events += reopened.events
        if claims is not None:
            steps, changed, made = self._planned(claims)
            graph += steps
            again = {p.id for p in changed}  # a payload written once, as the claims leave it
            points = [p for p in points if p.id not in again] + changed
            entity_points = list(claims.entity_points)
            events += made
            event.details = {**event.details,
                             "relations_added": [r.id for r in claims.batch.relations]}  # fmt: skip
        graph.append(("fact_set", {"rows": [fact_row(new)]}))
        # A fact split from a message and then reworded stands alone: its own words are
        # its keyword document, and the message goes once no fact of it is left.
        gone = [[old.origin, old.scope.params()]] if old.origin and not new.origin else []
        self.commit(Change("update", graph, points, entity_points, prune=prune,
                           prune_sources=gone, events=events))  # fmt: skip

    def recount(self, points: Sequence[VectorPoint]) -> None:
        """Payloads whose read counts alone changed (``lifecycle/access.py``), written to
        the vector store without the journal, graph transaction and undo of ``commit``:
        no other store holds these fields (the graph none, the history no reads), so none
        can disagree with a flush cut short, and counts are a hint a kill may lose anyway.
        On musique-dev a flush of 4,256 reads took 2.1 s that way, with searches sharing
        the processor with it; a store without ``overwrite_payloads`` still commits."""
        if self.room is not None:
            self.room()
        if _overwrites_payloads(self.vectors):
            self.vectors.overwrite_payloads(FACTS, points)
        else:
            self.commit(Change("access", fact_points=list(points)))

    def restamp(self, facts: Sequence[Fact], events: Sequence[HistoryEvent], kind: str) -> None:
        """Rewrite facts' payloads only (lifecycle fields: archive, restore, access
        counts), each keeping its vector; the graph holds none of these fields."""
        points = [VectorPoint(f.id, None, _payload(f)) for f in facts]  # type: ignore[arg-type]
        self.commit(Change(kind, fact_points=points, events=list(events)))

    def withdraw(self, facts: Sequence[Fact]) -> tuple[Removal, Reopening]:
        """What taking ``facts``' words back changes (a delete, an expiry, an update's old
        text): the relations only they supported, and what they alone had closed, reopened
        (``reopen.py``). A reopened relation is put among the removal's updated relations,
        so one graph step writes it and an update's new claims are planned against it."""
        removal = self.ops.plan_removal([f.id for f in facts])
        found = plan_reopening(self.ops, self.history, removal, facts, self._load, now_iso(),
                               self.single)  # fmt: skip
        listed = {r.id for r in removal.relations_updated}
        removal.relations_updated += [r for r in found.relations if r.id not in listed]
        return removal, found

    def remove(self, facts: Sequence[Fact], event_name: str = "DELETE") -> Removal:
        """Delete facts and exactly the graph data only they supported, and reopen what
        they alone had closed (``reopen.py``): deleted or expired, what they said no
        longer stands, and neither do its effects."""
        ids = [f.id for f in facts]
        removal, found = self.withdraw(facts)
        steps, points = _restated(found.facts)
        graph: list = _relation_steps(removal) + steps
        graph.append(("fact_delete", {"ids": ids}))
        gone = [r.id for r in removal.relations_deleted]
        events = [HistoryEvent(event_name, f.id, f.scope, old_value=f.text,
                               details={"relations_deleted": gone, "entities_deleted": []})
                  for f in facts]  # fmt: skip
        events += [HistoryEvent(event_name, r.id, r.scope, target_kind="relation",
                                old_value=f"{r.source_name} {r.name} {r.target_name}")
                   for r in removal.relations_deleted]  # fmt: skip
        events += found.events
        origins = sorted({(f.origin, f.scope) for f in facts if f.origin}, key=str)
        change = Change("delete", graph, fact_points=points, fact_deletes=ids,
                        prune=sorted(removal.touched),
                        prune_sources=[[o, s.params()] for o, s in origins], events=events)  # fmt: skip
        removal.entities_deleted = self.commit(change)
        return removal

    def remove_scope(self, scope: Scope, page: int = 500, intent: int | None = None) -> int:
        """Delete every memory of a scope, then what they leave behind; returns how many
        (``scope_delete.py``)."""
        return self.scopes.remove(scope, page, intent)

    fact_of = staticmethod(fact_from_payload)

    # -- helpers ---------------------------------------------------------------------

    def _load(self, ids: Sequence[str]) -> list[Fact]:
        return [fact_from_payload(h) for h in self.vectors.get(FACTS, list(ids))] if ids else []

    def record(self, undo, events: Sequence[HistoryEvent], intent: int | None = None) -> None:
        if not events and intent is None:
            return
        recorded = (self.history.record(list(events), intent=intent) if intent is not None
                    else self.history.record(list(events)))  # fmt: skip
        undo.append(lambda: self.history.delete_ids([e.id for e in recorded if e.id is not None]))


class _Abandoned(Exception):
    """Raised inside the graph worker's transaction to roll it back on purpose."""


def _with_pruned(change: Change, pruned: Sequence[str]) -> list[HistoryEvent]:
    """The change's events, plus a DELETE per entity a delete left without support."""
    events = list(change.events)
    if pruned and events:
        for e in events:
            if "entities_deleted" in e.details:
                e.details["entities_deleted"] = list(pruned)
        scope = events[0].scope
        events += [HistoryEvent("DELETE", i, scope, target_kind="entity") for i in pruned]
    return events


def _overwrites_payloads(vectors: VectorStore) -> bool:
    """Whether the store rewrites payloads alone (``IndexedVectorStore`` says whether its
    inner store can; a store of the caller's own may predate the method)."""
    return getattr(vectors, "overwrites_payloads",
                   callable(getattr(vectors, "overwrite_payloads", None)))  # fmt: skip


def _payload(fact: Fact) -> dict:
    return fact.to_dict() | {"id": fact.id}


def _restated(facts: Sequence[Fact]) -> tuple[list, list[VectorPoint]]:
    """Stored facts whose fields changed (invalidated, valid again): their graph row, and
    their payload with the vector they have."""
    if not facts:
        return [], []
    points = [VectorPoint(f.id, None, _payload(f)) for f in facts]  # type: ignore[arg-type]
    return [("fact_set", {"rows": [fact_row(f) for f in facts]})], points


def _points(hits: Sequence[VectorHit]) -> list[VectorPoint]:
    return [VectorPoint(h.id, h.vector or [], h.payload) for h in hits]


def _relation_steps(removal: Removal) -> list:
    """The graph steps that take removed facts out of the relations they supported."""
    steps: list = []
    if removal.relations_deleted:
        steps.append(("relation_delete",
                      {"rows": [relation_row(r) for r in removal.relations_deleted]}))  # fmt: skip
    if removal.relations_updated:
        steps.append(("relation_set",
                      {"rows": [relation_row(r) for r in removal.relations_updated]}))  # fmt: skip
    return steps
