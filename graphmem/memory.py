"""``Memory``: the one object users hold. Wiring and orchestration only.

Follow ``add()`` into ``ingest/`` (validate -> extract -> resolve -> write) and
``search()`` into ``search/`` (retrieve -> fuse -> rerank).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .collector import collector_paused, give_back_heap
from .config import Config
from .datadir import check_room
from .embed.checked import CheckedEmbedder
from .errors import NotFoundError, ValidationError
from .factory import build_all, configured, release, saved_paths
from .index import IndexedVectorStore
from .index.filters import live
from .index.names import NameVectors
from .index.persist import attach_snapshots
from .ingest.pipeline import Pipeline, Unit
from .ingest.procedural import as_procedure
from .ingest.resolve import Resolver
from .ingest.result import AddResult, usage_of, usage_since
from .ingest.reword import plan_claims, read_claims
from .ingest.triples import triples_unit
from .ingest.units import copies_of, units_of, units_of_items
from .ingest.unmerge import merge_event, undo_merge
from .ingest.validate import (
    canonical_id,
    check_limit,
    check_text,
    uuid_like,
)
from .ingest.write import Writer, fact_from_payload
from .lifecycle import check_clock, check_life, check_memory_types, now_text
from .lifecycle.access import AccessLog
from .lifecycle.clock import check_now
from .lifecycle.clock import read as read_clock
from .lifecycle.fields import default_expiry
from .lifecycle.maintain import MaintainReport, maintain, set_archived, write_access
from .lifecycle.reads import scroll_visible, type_counts
from .locks import ReadWriteLock, reads
from .maintenance.agreement import check_on_open
from .maintenance.settle import release_caches, release_or_warn
from .maintenance.verify import VerifyReport, verify
from .models import (
    Entity,
    Fact,
    HistoryEvent,
    Hit,
    Scope,
    now_iso,
    to_iso,
)
from .relations import Relations
from .sandbox import run_cypher
from .search import Recipe, Searcher
from .stores.base import FACTS, Embedder, Extractor, GraphStore, HistoryStore, Tracer, VectorStore
from .stores.graph_ops import GraphOps
from .stores.indexed_graph import IndexedGraphStore

_TRIM_EVERY_S = 10.0  # add_many hands freed heap back at most this often (collector.py)


class Memory:
    """Long-term memory over a graph store, a vector store and a history log.

    >>> with Memory.open("./data", embedder="hash") as m:       # doctest: +SKIP
    ...     m.add("Alice works at Acme.", user_id="alice")
    """

    def __init__(
        self,
        *,
        graph: GraphStore,
        vectors: VectorStore,
        history: HistoryStore,
        embedder: Embedder,
        extractor: Extractor | None = None,
        config: Config | None = None,
        lock: Any = None,
        clock: Callable[[], Any] | None = None,
        snapshots: Path | None = None,
        names_file: Path | None = None,
    ) -> None:
        from .ingest.offline import OfflineExtractor

        self.config = config or Config()
        # Lifecycle time (expiry, archival, promotion) is read only here: lifecycle/clock.py.
        self.clock = check_clock(clock)
        # Every write to the vector store goes through this wrapper, which keeps the
        # in-process per-scope indexes (BM25, vectors) in step: index/store.py.
        vectors = IndexedVectorStore(vectors, max_scopes=self.config.index_max_scopes)
        # Likewise the graph, where no other process can write to it: stores/graph_index.py.
        if "exclusive_writer" in getattr(graph, "capabilities", ()):
            graph = IndexedGraphStore(graph)
        self.graph_store, self.vectors, self.history_store = graph, vectors, history
        # Every vector graphmem uses goes through this check (embed/checked.py).
        embedder = CheckedEmbedder(embedder)
        self.embedder = embedder
        self.linker = OfflineExtractor()
        self.extractor = extractor or self.linker
        self._lock = lock
        # Writes run one at a time: each write reads the stores to plan its change, and
        # two plans made from the same state would both apply (issue 20: two adders and a
        # deleter left facts with no vector and no history). Reads run side by side, never
        # during a write: they read in-process indexes a write changes (locks.py).
        self._rw = ReadWriteLock()
        self._writing, self._reading = self._rw.writing, self._rw.reading
        self._written = 0  # memories written since the stores opened or settled (settle)
        self.vectors.open(embedder.dim, embedder.name)
        # Indexes saved by the last close, trusted only while they match the stores; set
        # up before recovery below, whose writes must make them untrusted (index/persist.py).
        self.snapshots = None
        if snapshots is not None:  # without persist_indexes, writes still untrust them
            self.snapshots = attach_snapshots(snapshots, vectors, graph, history, embedder,
                                              self.config.persist_indexes)  # fmt: skip
        self.ops = GraphOps(graph)
        # Relation names' vectors: ingest embeds them, search reads them, close saves them.
        self.names = NameVectors(embedder, names_file)
        self.writer = Writer(graph, vectors, history)
        if self.config.data_dir is not None and Path(self.config.data_dir).is_dir():
            self.writer.room = functools.partial(check_room, Path(self.config.data_dir),
                                                 self.config.min_free_disk_mb)  # fmt: skip
        # Writes a killed process left half done are finished before anything else runs.
        self.recovered = self.writer.recover()
        self.resolver = Resolver(
            self.ops, vectors, embedder,
            threshold=self.config.resolve_threshold, single_valued=self.config.single_valued,
        )  # fmt: skip
        self.writer.single = self.resolver.single  # where a reopened relation ends again
        self.pipeline = Pipeline(
            self.ops, vectors, embedder, self.resolver, self.linker,
            update_threshold=self.config.update_threshold,
            max_text_chars=self.config.max_text_chars,
            max_items=self.config.max_extracted_items, names=self.names,
        )  # fmt: skip
        self.searcher = Searcher(self.ops, vectors, embedder, self.names)
        # Reads returned by search/get, counted off the hot path (lifecycle/access.py);
        # ``track_access = False`` stops counting in this process.
        self.access = AccessLog(lambda taken: write_access(self, taken),
                                self.config.access_flush_s)  # fmt: skip
        self.track_access = self.config.track_access
        self.graph = Relations(self)

    # -- construction ----------------------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: str | Path | None = None,
        *,
        tracer: Tracer | None = None,
        config: Config | None = None,
        check_stores: bool = True,
        clock: Callable[[], Any] | None = None,
        **settings: Any,
    ) -> Memory:
        """Embedded defaults under ``data_dir``; ``settings`` override ``Config`` fields.

        ``clock`` returns the current time as an aware UTC ``datetime`` for expiry,
        archival and promotion (default: real time); tests pass one they can move.

        Store objects may be passed too (``graph=``, ``vectors=``, ``embedder=``...), and
        ``embedder``/``extractor`` accept either a name or an object. Stores that disagree
        (a store folder deleted or emptied) raise ``StoreDriftError`` unless
        ``check_stores=False``, which is how ``graphmem doctor --repair`` opens them.
        """
        config, objects = configured(config, data_dir, tracer, settings)
        clock = check_clock(clock)
        parts = build_all(config, tracer, **objects)
        snapshots, names_file = saved_paths(config, objects)
        try:
            memory = cls(config=config, clock=clock, snapshots=snapshots,
                         names_file=names_file, **parts)  # fmt: skip
            if check_stores:
                try:
                    check_on_open(memory)
                except BaseException:
                    memory._lock = None  # released below, with what build_all opened
                    raise
            return memory
        except BaseException:  # e.g. the stored embedder differs: leave nothing open
            release(parts, objects)
            raise

    @classmethod
    def from_env(
        cls, *, tracer: Tracer | None = None, check_stores: bool = True, **overrides: Any
    ) -> Memory:
        return cls.open(config=Config.from_env(**overrides), tracer=tracer,
                        check_stores=check_stores)  # fmt: skip

    def close(self) -> None:
        try:
            self.access.close()  # the reads noted since the last flush (it takes the write)
        finally:
            with self._writing:  # after the reads and writes in flight
                try:
                    if self.snapshots is not None:
                        self.snapshots.save()  # the indexes, for the next open
                    self.names.save()
                finally:
                    for store in (self.graph_store, self.vectors, self.history_store):
                        store.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------

    def add(
        self,
        messages: str | Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool = True,
        source_ids: Sequence[str] | None = None,
        timestamp: Any = None,
        memory_type: str | None = None,
        importance: float | None = None,
        ttl: Any = None,
        expires_at: Any = None,
    ) -> AddResult:
        """Remember ``messages`` (a string, a ``{role, content}`` dict or a list of them).

        ``infer=True`` extracts facts, entities and relations (LLM when configured, else
        the offline extractor); ``infer=False`` stores each message as one memory and still
        links the entities it names. ``timestamp`` is when the conversation happened.
        ``memory_type`` ("semantic" with infer, "episodic" without, "procedural", "rule"),
        ``importance`` (0-1) and ``ttl`` ("7d", seconds, a timedelta) or ``expires_at``
        set the lifecycle fields (``graphmem/lifecycle/fields.py``).
        """
        scope = Scope.of(user_id, agent_id, run_id)
        now = read_clock(self.clock)
        life = check_life(memory_type, importance, ttl, expires_at, now=now)
        units = units_of(messages, metadata, source_ids, timestamp, life,
                         limit=self.config.max_text_chars, infer=infer)  # fmt: skip
        return self._ingest(units, scope, infer, now)

    def add_many(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        infer: bool = False,
        batch_size: int = 500,
        progress: Callable[[int], Any] | None = None,
        memory_type: str | None = None,
        importance: float | None = None,
        ttl: Any = None,
        expires_at: Any = None,
    ) -> AddResult:
        """Ingest many items (``{"text" | "messages", "metadata", "source_ids", "timestamp"}``)
        with batched embeddings and store writes. Each batch is atomic. Every item is
        checked before the first batch is written; ``progress(n)`` is called after each
        batch with the number of items it held. The lifecycle arguments apply to every
        item; an item's own ``memory_type``/``importance``/``ttl``/``expires_at`` win."""
        scope = Scope.of(user_id, agent_id, run_id)
        if isinstance(items, str | bytes) or not isinstance(items, Sequence):
            raise ValidationError("items", "must be a list of dicts")  # before batch_size
        check_limit(batch_size, "batch_size")
        if progress is not None and not callable(progress):
            # Else it failed as a TypeError once the first batch was written.
            raise ValidationError("progress", f"must be a function called with each batch's "
                                  f"item count, or None; got {type(progress).__name__}")  # fmt: skip
        base = {"memory_type": memory_type, "importance": importance, "ttl": ttl,
                "expires_at": expires_at}  # fmt: skip
        now = read_clock(self.clock)
        check_life(**base, now=now)  # a bad call-level value is named as such
        units = units_of_items(items, base, now, limit=self.config.max_text_chars, infer=infer)
        total = AddResult()
        for start in range(0, len(units), batch_size):
            batch = [unit for windows in units[start : start + batch_size] for unit in windows]
            with collector_paused():
                total.extend(self._ingest(batch, scope, infer, now))
            if progress is not None:
                progress(len(units[start : start + batch_size]))
        give_back_heap(every=_TRIM_EVERY_S)  # a bulk load's transients, ~0.5% of its time
        return total

    def add_triples(
        self,
        triples: Sequence[Mapping[str, Any] | Sequence[str]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        fact: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        source_ids: Sequence[str] | None = None,
        timestamp: Any = None,
    ) -> AddResult:
        """Bring your own graph: ``(source, relation, target)`` triples, no model involved.

        Triples may be tuples or dicts with ``source``, ``relation``, ``target`` and optional
        ``source_type``, ``target_type``, ``valid_at``. Each triple is supported by ``fact``
        when given, else by a memory reading "source relation target".
        """
        scope = Scope.of(user_id, agent_id, run_id)
        unit, extraction = triples_unit(
            triples, fact, metadata, source_ids, timestamp, self.config.max_text_chars
        )
        return self._write([unit], [extraction], scope, infer=True, decide=None, strict=True)

    def _ingest(self, units: list[Unit], scope: Scope, infer: bool, said: Any = None) -> AddResult:
        """``said``: when the units with no timestamp were said (the clock's time, read by
        the caller once for the whole call; else read here)."""
        if not isinstance(infer, bool):
            raise ValidationError("infer", "must be True or False")
        before = usage_of(self.extractor)
        if any(u.life.memory_type == "procedural" for u in units):
            if len(units) > 1:
                raise ValidationError("memory_type", "procedural memories are added one "
                                      "trace at a time: call add() for each")  # fmt: skip
            # ingest/procedural.py: one model call (infer with a model) or verbatim steps.
            stored, found = as_procedure(units[0], scope, self.extractor if infer else None,
                                         self.pipeline, self.config.max_extracted_items,
                                         self.config.max_text_chars)  # fmt: skip
            return self._write([stored], [found], scope, False, None, before)
        extractor = self.extractor if infer else self.linker
        said = to_iso(said if said is not None else read_clock(self.clock))
        extractions = self.pipeline.extract_all(units, scope, extractor, infer, said)
        decide = getattr(self.extractor, "decide", None) if infer else None
        return self._write(units, extractions, scope, infer, decide, before)

    def _write(
        self, units, extractions, scope, infer, decide, before=None, strict=False
    ) -> AddResult:
        before = before if before is not None else usage_of(self.extractor)
        with self._writing:
            when = read_clock(self.clock)
            now = to_iso(when)
            prepared = self.pipeline.prepare(units, extractions, scope, infer, decide, now)
            for f in prepared.facts:  # the config's default time to live, unless one was given
                f.expires_at = f.expires_at or default_expiry(f.memory_type, scope, self.config,
                                                              when)  # fmt: skip
            if strict and prepared.plan.skipped:  # add_triples: the caller named each one
                index, reason = prepared.plan.skipped[0]
                rel = extractions[0].relations[index]
                raise ValidationError(
                    f"triples[{index}]",
                    f"{rel.source} -[{rel.relation}]-> {rel.target} cannot be stored: {reason} "
                    "(a relation joins two different entities); nothing was written",
                )
            self.writer.apply(prepared.plan, prepared.facts, prepared.vectors, prepared.sources)
            self._written += len(prepared.facts)
        return AddResult.of(prepared, usage_since(self.extractor, before))

    def update(
        self, memory_id: str, text: str, *, infer: bool = True, **scope_ids: str | None
    ) -> Fact:
        """Replace one memory's text, keeping its id (an UPDATE history event). What the
        old text claimed is withdrawn (the relations only it supported, its mentions,
        entities left with nothing, and what it alone had closed reopened, as ``delete``
        does) and the new text is read as ``add`` reads a message:
        its entities and relations go into the graph, citing this memory, and may
        supersede others. ``infer`` picks the reader as ``add`` does (False: the offline
        one, no model call). A memory split from a message stands alone after it."""
        if not isinstance(infer, bool):
            raise ValidationError("infer", "must be True or False")
        scope = Scope.from_kwargs(scope_ids)
        text = check_text(text, "text", self.config.max_text_chars)
        seen = self._fetch(memory_id, scope.params_or_none())
        # The model call (if any) before the lock, as add() does; the graph is read under it.
        reader = self.extractor if infer else self.linker
        found = read_claims(self.pipeline, seen, text, reader, infer) if text != seen.text else None
        vector = self.embedder.embed([text])[0]
        with self._writing:
            old = self._fetch(memory_id, scope.params_or_none())
            # Reworded, a fact split from a message no longer says what the message said.
            origin = old.origin if text == old.text else ""
            now = now_iso()
            new = replace(old, text=text, updated_at=now, origin=origin)
            event = HistoryEvent("UPDATE", old.id, old.scope, old_value=old.text, new_value=text)
            withdrawn = claims = reopened = None
            if text != old.text:
                # What the old words alone had closed is reopened first, and the new words'
                # claims are planned against that (they may close it again).
                withdrawn, reopened = self.writer.withdraw([old])
                found = found or read_claims(self.pipeline, old, text, self.linker, False)
                claims = plan_claims(self.pipeline, new, found, withdrawn, now)
            self.writer.update_fact(old, new, vector, event, withdrawn, claims, reopened)
        return new

    def delete(self, memory_id: str, **scope_ids: str | None) -> None:
        """Delete one memory and exactly the graph data that only it supported; what it
        alone had closed (a home it superseded, a job it said was over) holds again
        (``ingest/reopen.py``)."""
        with self._writing:
            fact = self._fetch(memory_id, scope_ids)
            self.writer.remove([fact])

    def delete_all(self, **scope_ids: str | None) -> int:
        """Delete every memory of a scope (invalidated ones too). Returns how many."""
        scope = Scope.from_kwargs(scope_ids)
        with self._writing:
            return self.writer.remove_scope(scope)

    def undo_merge(self, event_id: int, **scope_ids: str | None) -> Entity:
        """Split an entity merge (a MERGE history event) back into two entities."""
        found = merge_event(self.history_store, event_id, Scope.from_kwargs(scope_ids))
        with self._writing:
            return undo_merge(self.writer, self.embedder, found)

    def verify(self, *, repair: bool = False) -> VerifyReport:
        """Check that the graph, the vectors and the history agree, every memory, entity and
        relation (``graphmem/maintenance/verify.py``): counts per kind of drift.
        ``repair=True`` mends it (nothing a store still knows is dropped) and logs REPAIR
        events; the report then holds what remains (nothing, normally)."""
        return verify(self, repair=repair)

    # -- lifecycle (graphmem/lifecycle) -----------------------------------------------

    def archive(self, memory_id: str, **scope_ids: str | None) -> Fact:
        """Hide a memory from reads until ``restore()`` (``include_archived=True`` still
        finds it; ``get`` always does). Logged as ARCHIVE."""
        return set_archived(self, memory_id, scope_ids, archived=True)

    def restore(self, memory_id: str, **scope_ids: str | None) -> Fact:
        """Undo ``archive()``. Logged as RESTORE."""
        return set_archived(self, memory_id, scope_ids, archived=False)

    def maintain(self, now: Any = None, **scope_ids: str | None) -> MaintainReport:
        """Apply expiry, the archival policy and promotion (``lifecycle/maintain.py``) in
        a scope, or in every scope when none is given, as of ``now`` (default: the clock)."""
        scope = Scope.from_kwargs(scope_ids) if scope_ids else Scope()
        when = read_clock(self.clock) if now is None else check_now(now)
        return maintain(self, when, scope)

    def _promote(self, originals: Sequence[Fact], target: Scope) -> list[Fact]:
        """Copies of run-scoped memories in ``target``, born by PROMOTE events."""
        units = copies_of(originals, self.config.max_text_chars)
        return self._ingest(units, target, infer=False).facts

    def reset(self) -> None:
        """Delete everything in every store (all scopes)."""
        with self._writing:
            self.graph_store.reset()
            self.vectors.reset()
            self.vectors.open(self.embedder.dim, self.embedder.name)
            self.history_store.reset()

    # -- reading ---------------------------------------------------------------------

    @reads
    def get(self, memory_id: str, **scope_ids: str | None) -> Fact:
        """One memory by id; an id from another scope, or an expired one, is reported as
        not found. An archived memory is returned (``archived_at`` says so)."""
        fact = self._fetch(memory_id, scope_ids)
        if self.track_access:
            self.access.note([fact.id], now_text(self.clock))
        return fact

    def _fetch(self, memory_id: str, scope_ids: Mapping[str, str | None]) -> Fact:
        """``get`` without counting a read (what update, delete and archive look up)."""
        scope = Scope.from_kwargs(scope_ids)
        memory_id = canonical_id(memory_id)
        hits = self.vectors.get(FACTS, [memory_id]) if uuid_like(memory_id) else []
        if (
            not hits
            or not scope.matches(hits[0].payload)
            or not live(hits[0].payload, now_text(self.clock), include_archived=True)
        ):
            raise NotFoundError(f"no memory {memory_id!r} in scope {scope}")
        return fact_from_payload(hits[0])

    @reads
    def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        include_invalid: bool = False,
        memory_types: Sequence[str] | None = None,
        include_archived: bool = False,
    ) -> list[Fact]:
        """A scope's memories in stored order: current, unexpired and unarchived ones
        unless ``include_invalid``/``include_archived``; ``memory_types`` narrows them."""
        scope = Scope.of(user_id, agent_id, run_id)
        check_limit(limit)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValidationError("offset", "must be an integer >= 0")
        if not isinstance(include_archived, bool):
            raise ValidationError("include_archived", "must be True or False")
        types, now = check_memory_types(memory_types), now_text(self.clock)
        filters = None if include_invalid else {"invalid_at": ""}
        hits = scroll_visible(self.vectors, scope, limit=limit, offset=offset, filters=filters,
                              keep=lambda p: live(p, now, include_archived, types))  # fmt: skip
        return [fact_from_payload(h) for h in hits]

    @reads
    def rules(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 100,
    ) -> list[Fact]:
        """The scope's standing rules, most important first: for a system prompt.

        Current, unexpired, unarchived memories of type "rule" (``add(...,
        memory_type="rule")``, or instructions the offline extractor recognised, such as
        "Always answer in French": ``ingest/offline_importance.py``). Scope works as
        everywhere: ``user_id`` alone includes that user's agent- and run-level rules.
        """
        check_limit(limit)
        found = self.get_all(user_id=user_id, agent_id=agent_id, run_id=run_id,
                             limit=10_000, memory_types=["rule"])  # fmt: skip
        return sorted(found, key=lambda f: (-f.importance, f.created_at, f.id))[:limit]

    def settle(self) -> dict[str, bool]:
        """Hand back what writes left in memory that reads do not need: Kuzu's page cache
        (its database closed and opened again) and Qdrant Edge's loaded shards (each loads
        again on its next use). What each store did, by name. It waits for the writes and
        reads in flight; the next search does it on its own once
        ``config.settle_after_writes`` memories were written since the last time
        (``maintenance/settle.py``)."""
        with self._writing:
            self._written = 0
            return release_caches(self._cache_holders())

    def _settle_if_due(self) -> None:
        due = self.config.settle_after_writes
        if not due or self._written < due:
            return
        with self._writing:
            if self._written >= due:  # not settled by another search meanwhile
                self._written = 0
                release_or_warn(self._cache_holders())

    def _cache_holders(self) -> dict[str, Any]:
        """The stores a settle asks, by the names it reports them under."""
        return {"graph": self.graph_store, "vectors": self.vectors}

    def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        limit: int = 10,
        filters: Mapping[str, Any] | None = None,
        recipe: str | Recipe = "hybrid",
        as_of: Any = None,
        include_invalid: bool = False,
        collapse: bool = True,
        memory_types: Sequence[str] | None = None,
        include_archived: bool = False,
    ) -> list[Hit]:
        """Memories relevant to ``query``, best first, each explaining why (``Hit.explain``).

        ``recipe`` names the channels and fusion (``graphmem/search/recipes.py``:
        "hybrid", "vector", "keyword", "graph", ...). Current memories only, unless
        ``as_of`` (what was valid then) or ``include_invalid=True``. ``filters`` is a flat
        payload equality map (``{"metadata.topic": "work"}``; a list means any of).
        Facts extracted from one message come back as one hit showing the message
        (``Hit.memory_ids`` lists them); ``collapse=False`` returns each fact on its own.
        Expired memories never come back; archived ones only with ``include_archived``;
        ``memory_types=["rule", ...]`` keeps those types only.
        """
        scope, now = Scope.of(user_id, agent_id, run_id), now_text(self.clock)
        self._settle_if_due()  # a bulk load, then reads: a few seconds, once
        # The collector paused: what a search builds and drops is freed by reference
        # counting, and none of it is promoted to the oldest generation, whose growth
        # starts the full passes (~7,500 objects a hybrid search on the Bolt backend at
        # 100k memories, a 170-270 ms pass every ~16 searches; collector.py).
        with self._reading, collector_paused():
            hits = self.searcher.search(
                query, scope, limit=limit, filters=filters, recipe=recipe, as_of=as_of,
                include_invalid=include_invalid, collapse=collapse, memory_types=memory_types,
                include_archived=include_archived, now=now,
            )  # fmt: skip
            if self.track_access:
                self.access.note([i for h in hits for i in h.memory_ids], now)
        return hits

    def cypher(
        self,
        query: str,
        params: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        write: bool = False,
    ) -> list[dict[str, Any]]:
        """Run your own Cypher and get rows back (see ``graphmem/sandbox.py``).

        With a scope, the statement runs read-only on a private copy of that scope's graph
        (it cannot see other scopes, aggregates included). Without one it runs read-only
        on the whole graph. Anything but one statement of read clauses (writes, files,
        other databases, procedures) raises ``ReadOnlyError``; malformed Cypher, or a
        statement past ``config.cypher_timeout`` seconds or ``config.cypher_max_rows`` rows
        (or, scoped, ``config.cypher_max_memory_mb``), raises ``QueryError``.
        ``write=True`` (no scope allowed) runs on the real store: the change bypasses the
        history log and the vector store, so the stores can drift.
        """
        given = (user_id, agent_id, run_id)
        scope = Scope.of(*given) if any(v is not None for v in given) else None
        with self._writing if write is True else self._reading:
            return run_cypher(
                self.graph_store, self.ops, query, params, scope=scope, write=write,
                timeout=self.config.cypher_timeout, max_rows=self.config.cypher_max_rows,
                max_memory_mb=self.config.cypher_max_memory_mb,
            )  # fmt: skip

    @reads
    def history(self, memory_id: str, **scope_ids: str | None) -> list[HistoryEvent]:
        """Every change to one memory (or entity/relation id), oldest first, in scope."""
        scope = Scope.from_kwargs(scope_ids)
        memory_id = canonical_id(memory_id, "memory_id")
        events = [e for e in self.history_store.for_target(memory_id) if scope.covers(e.scope)]
        if not events:
            raise NotFoundError(f"no history for {memory_id!r} in scope {scope}")
        return events

    @reads
    def stats(self, **scope_ids: str | None) -> dict[str, Any]:
        """Counts of the scope's graph and memories; ``memory_types`` splits ``memories``
        (every stored one, as ``memories`` counts them) by type."""
        scope = Scope.from_kwargs(scope_ids)
        counts: dict[str, Any] = self.ops.counts(scope)
        counts["memories"] = self.vectors.count(FACTS, scope)
        counts["memory_types"] = type_counts(self.vectors, scope)
        return counts
