"""Kuzu graph store: the embedded default, and the only module that imports ``kuzu``.

User Cypher and its guards are ``kuzu_user.py`` (a mixin of this class); opening a graph
file that was not closed cleanly is ``kuzu_file.py``.

Measured traps this module works around (see shared/design/environment.md):
- ``UNWIND $rows ... MATCH (a {id: r.x}), (b {id: r.y})`` is planned as the cross product
  of both node tables (quadratic in entities); one end per MATCH, joined on a plain
  variable, is a hash join instead (cypher/kuzu/relation_create.cypher).
- A list of maps as a parameter costs ~50 ms per 500 rows to convert, a pyarrow Table read
  with ``LOAD FROM $rows`` ~3 ms: ``write()`` creates what is new from tables and merges
  only what already exists (measured on 0.11.3).
- Kuzu rejects parameters a statement does not use, and cannot see parameters inside
  lambdas; queries therefore get exactly their declared parameters (``Query.bind``).
- Errors are plain ``RuntimeError``s: they are classified by message here, at the edge.
- Every unprepared ``execute`` of a statement that matches a relationship leaks memory
  inside Kuzu 0.11.3 (measured: ~50-175 KB per call, +53 MB per 300 ``relations_touching``
  calls; a search runs several), and a prepared statement holding ``UNION ALL`` crashes
  the process on execution. Read-only named queries are therefore prepared once and
  reused, and a ``UNION ALL`` query runs as its branches, each prepared on its own:
  no leak, no crash, and each call skips Kuzu's planner.
- Writes cannot all be prepared (their ``$rows`` change shape), and a connection keeps
  what its unprepared statements leave behind, every pyarrow Table a ``LOAD FROM`` read
  included, until it is closed (measured: 10 tables of 0.8 MB, 8.1 MB still allocated
  once the statements and the Python references were gone, 0 after the close; ~400 MB
  held after a 300k-memory bulk load, ~227 KB per ``add`` of one memory). The store
  therefore opens a new connection between transactions once the old one is thought to
  hold ``RENEW_AFTER_BYTES`` (``_renew``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import kuzu
import pyarrow as pa

from ..cypher_lexer import union_branches
from ..errors import (
    BackendUnavailableError,
    CommitUncertainError,
    QueryError,
    ReadOnlyError,
    StorageError,
    ValidationError,
)
from ..models import GraphBatch
from ..querylib import Query, QueryLibrary, used_params
from . import kuzu_lists
from .base import Row, Tracer
from .kuzu_file import CLEAN_MARK, check_graph_file, mark_clean
from .kuzu_user import POOL_FULL, WRITE_REFUSED, KuzuUserCypher, param_error
from .kuzu_values import clean
from .rows import (
    ENTITY_COLUMNS,
    FACT_COLUMNS,
    LIST_COLUMNS,
    RELATION_COLUMNS,
    entity_row,
    fact_row,
    relation_row,
    summed_counts,
)

SCHEMA = ("schema_fact", "schema_entity", "schema_relates", "schema_mentions")
# Named writes with a one-row form: that form runs once per row when there are at most
# ROW_FORM_MAX rows. On Kuzu 0.11.3 a list of rows is joined against a scan of the
# whole table (relation_set: the cross product with every relationship), which grows with
# the data dir; a one-row statement finds its row by primary key, 0.25 ms (a fact) to
# 1.5 ms (a relation, among its source's) at 300k memories. A 1,000-memory batch updates
# a few (2-12) stored facts and relations.
ROW_FORMS = {"fact_set": "fact_set_row", "relation_set": "relation_set_row"}
ROW_FORM_MAX = 64
# Above ROW_FORM_MAX rows, the one-row form still runs while the rows are fewer than the
# table's count over this share: the scan grows with the table, the lookups do not.
# Measured at 1M memories: a fact by key 0.36 ms, fact_set's scan of 1M facts 2.3-4.7 s
# (crossing at ~1/120 of the table); a relation 1.6 ms, the scan of 713k 3.0-3.8 s
# (~1/350). Re-adding 1,000 memories of which 772 were stored spent 12.2 s in the scans.
ROW_FORM_SHARE = {"fact_set": ("facts", 150), "relation_set": ("relations", 400)}
# The table counts that choose between the two forms are read again once this old: they
# choose between two plans that write the same, and reading them cost 8-25 ms a batch
# at 1M memories (twice in a batch that supersedes facts: ~3% of its time).
COUNTS_FRESH_S = 30.0
# What one connection may hold of what its statements leave behind before it is
# replaced (see the module's docstring): the tables ``LOAD FROM`` read, and
# ``STATEMENT_BYTES`` for each unprepared statement. Measured on 0.11.3: a 1,000-memory
# batch's tables ~1.5 MB; one ``add`` of one memory left ~227 KB a call on one
# connection, ~7 KB with a new connection after each. A renewal costs ~0.2 ms and the
# read-only statements prepared again: 1,500 adds took 11.18 s renewing after each, 10.82 s
# never renewing.
RENEW_AFTER_BYTES = 32 * 2**20
STATEMENT_BYTES = 64 * 2**10
log = logging.getLogger(__name__)
_LOCKED = re.compile(r"lock|could not set lock|already (open|in use)", re.IGNORECASE)
# Kuzu refuses a second read-write open from another process, but not from this one, where
# it is unsafe (environment.md): keep our own registry of open paths.
_OPEN_PATHS: set[Path] = set()
_OPEN_LOCK = threading.Lock()


class _Tx:
    def __init__(self, store: KuzuGraphStore) -> None:
        self._store = store

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        return self._store._run_named(name, params)


class KuzuGraphStore(KuzuUserCypher):
    """Graph store on a Kuzu database directory (``None`` = in memory, for sandboxes)."""

    dialect = "kuzu"
    # exclusive_writer: only this process can change the database (one read-write open per
    # directory), so Memory may keep an in-process copy of the topology (graph_index.py).
    capabilities = frozenset({"bulk_copy", "read_only_transactions", "exclusive_writer"})

    def __init__(
        self,
        path: str | Path | None,
        *,
        tracer: Tracer | None = None,
        buffer_pool_mb: int = 0,
        checkpoint_mb: int = 0,
    ) -> None:
        """``buffer_pool_mb``: Kuzu's page cache (0: its default, 80% of the memory);
        ``checkpoint_mb``: the log size that starts a checkpoint (0: its default, 16 MB)."""
        self.tracer = tracer
        self.path = Path(path) if path is not None else None
        self.queries = QueryLibrary(self.dialect)
        self._lock = threading.RLock()
        self._in_tx = False
        self._counts: tuple[float, dict[str, int]] | None = None  # (read at, counts)
        self._prepared: dict[str, list[tuple[Any, tuple[str, ...]]] | None] = {}
        self._held = 0  # what the connection is thought to hold (RENEW_AFTER_BYTES)
        self._registered: Path | None = None
        self._packed = False  # fact_ids as JSON text: read from the schema below
        self._lists = LIST_COLUMNS
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)
            key = self.path.resolve()
            with _OPEN_LOCK:
                if key in _OPEN_PATHS:
                    raise BackendUnavailableError(
                        f"the Kuzu graph at {self.path} is already open in this process; "
                        "share that Memory/KuzuGraphStore or close it first"
                    )
                _OPEN_PATHS.add(key)
            self._registered = key
        self._pool = (f"graph_buffer_pool_mb={buffer_pool_mb}" if buffer_pool_mb > 0
                      else "Kuzu's default, 80% of the memory")  # fmt: skip
        try:
            sizes = {"buffer_pool_size": max(0, int(buffer_pool_mb)) * 2**20}
            if checkpoint_mb > 0:
                sizes["checkpoint_threshold"] = int(checkpoint_mb) * 2**20
            self._sizes = sizes  # release_caches opens the database again with these
            if self.path is None:
                self._db = kuzu.Database(**sizes)
            else:
                check_graph_file(self.path / "graph.kuzu")
                self._db = kuzu.Database(str(self.path / "graph.kuzu"), **sizes)
                (self.path / CLEAN_MARK).unlink(missing_ok=True)  # written again on close
            self._conn = kuzu.Connection(self._db)
        except StorageError:
            self._unregister()
            raise
        except MemoryError as exc:  # Kuzu reserves the whole page cache when it opens
            self._unregister()
            size = (f"of {buffer_pool_mb} MB" if buffer_pool_mb > 0
                    else "(Kuzu's default, 80% of the memory)")  # fmt: skip
            raise BackendUnavailableError(
                f"cannot open the Kuzu graph at {self.path}: its page cache {size} could not be "
                f"reserved ({exc}); set graph_buffer_pool_mb (GRAPHMEM_GRAPH_BUFFER_POOL_MB) to "
                "a size this machine can map, such as 1024"
            ) from exc
        except RuntimeError as exc:
            self._unregister()
            if _LOCKED.search(str(exc)):
                raise BackendUnavailableError(
                    f"the Kuzu graph at {self.path} is open in another process; close that "
                    "process or move to the Neo4j backend for several writers"
                ) from exc
            raise BackendUnavailableError(
                f"cannot open the Kuzu graph at {self.path}: {exc}"
            ) from exc
        for name in SCHEMA:
            self._run_named(name, {})
        # A database from before keeps fact_ids as a list column (kuzu_lists.py).
        info = self._conn.execute("CALL table_info('RELATES') RETURN *")
        columns = info.get_column_names()
        self._packed = kuzu_lists.packed(dict(zip(columns, r, strict=True))
                                         for r in info.get_all())  # fmt: skip
        self._lists = LIST_COLUMNS - {kuzu_lists.FIELD} if self._packed else LIST_COLUMNS

    # -- execution -------------------------------------------------------------------

    def _plan(
        self, query: Query, *, writes: bool = False
    ) -> list[tuple[Any, tuple[str, ...]]] | None:
        """Prepared branches of a read-only named query, or with ``writes`` of a write
        whose parameters are scalars (a one-row form, ``_run_rows``); None: run it as
        plain text. Other writes stay unprepared: their $rows change shape."""
        name = query.name
        if query.writes and not writes:
            return None
        if name in self._prepared:
            return self._prepared[name]
        # Left unprepared too: a plain UNION.
        branches, plain_union = union_branches(query.text)
        if plain_union:
            self._prepared[name] = None
            return None
        plan = []
        with warnings.catch_warnings():  # Kuzu calls prepare() deprecated; it still works
            warnings.simplefilter("ignore", DeprecationWarning)
            for branch in branches:
                try:
                    plan.append((self._conn.prepare(branch), tuple(used_params(branch))))
                except RuntimeError:  # let the plain execution report the error
                    plan = None
                    break
        self._prepared[name] = plan
        return plan

    def _check_open(self) -> None:
        if getattr(self, "_conn", None) is None:  # close() ran: no raw AttributeError
            raise BackendUnavailableError(
                f"the graph store at {self.path or 'memory'} is closed: open the Memory again"
            )

    def _execute(
        self,
        name: str,
        text: str,
        params: Mapping[str, Any],
        *,
        query: Query | None = None,
        plan: list[tuple[Any, tuple[str, ...]]] | None = None,
    ) -> list[Row]:
        if self.tracer is not None:
            self.tracer(name, text, params)
        with self._lock:
            self._check_open()
            if plan is None:
                plan = self._plan(query) if query is not None and params else None
            # An empty list parameter is typed differently from a full one: run as text.
            if plan is not None and any(v == [] for v in params.values()):
                plan = None
            try:
                if plan is not None:
                    result = [
                        self._conn.execute(prepared, {k: params[k] for k in wanted})
                        for prepared, wanted in plan
                    ]
                elif params:
                    self._held += STATEMENT_BYTES + sum(
                        v.nbytes for v in params.values() if isinstance(v, pa.Table)
                    )
                    result = self._conn.execute(text, dict(params))
                else:
                    result = self._conn.execute(text)
            except RuntimeError as exc:
                message = str(exc)
                if WRITE_REFUSED.search(message):
                    raise ReadOnlyError(
                        f"{name}: refused, the statement writes ({message})", query_name=name
                    ) from exc
                if POOL_FULL.search(message):
                    # Measured after one such failure in a checkpoint: 112k of 160k fact
                    # texts read back empty; `graphmem doctor --repair` restored them.
                    message += (f"; Kuzu's page cache ({self._pool}) is too small for this "
                                "statement: raise graph_buffer_pool_mb "
                                "(GRAPHMEM_GRAPH_BUFFER_POOL_MB), such as to 1024, then run "
                                "`graphmem doctor`, since Kuzu can lose data in this failure "
                                "(`graphmem doctor --repair` mends it from the other stores)")  # fmt: skip
                raise QueryError(f"{name}: {message}", query_name=name) from exc
            except (ValueError, TypeError) as exc:
                raise param_error(name, exc) from exc
            results = result if isinstance(result, list) else [result]
            rows: list[Row] = []
            for res in results:
                columns = res.get_column_names()
                if kuzu_lists.FIELD in columns:
                    rows.extend(_unpacked(res, columns))
                    continue
                # Only nodes, relationships and nested lists need cleaning; building the
                # in-process graph index reads every row, and cleaning every value was
                # 40% of that time (measured at 100k relations).
                rows.extend(
                    dict(zip(columns, [clean(v) if isinstance(v, dict | list) else v for v in r],
                             strict=True))
                    for r in res.get_all()
                )  # fmt: skip
            return rows

    def _run_named(self, name: str, params: Mapping[str, Any] | None) -> list[Row]:
        query = self.queries.get(name)
        bound = query.bind(dict(params or {}))
        # Kuzu's binder types an empty list parameter as STRING and then rejects
        # ``UNWIND $rows AS r ... r.id``; unwinding nothing returns nothing anyway.
        # A statement that reads its rows from one parameter: empty rows mean nothing to
        # do, and LOAD FROM takes them as a pyarrow Table.
        if query.rows:
            clause, param = query.rows
            rows = bound[param]
            if not len(rows):
                return []
            if self._packed and isinstance(rows, list):
                rows = bound[param] = kuzu_lists.pack_rows(rows)
            if name in ROW_FORMS and isinstance(rows, list) and self._row_by_row(name, rows):
                return self._run_rows(ROW_FORMS[name], rows)
            if clause.upper() != "UNWIND" and not isinstance(rows, pa.Table):
                bound[param] = _table(rows, tuple(rows[0]), lists=self._lists)
        elif self._packed and isinstance(bound.get(kuzu_lists.FIELD), list):
            bound[kuzu_lists.FIELD] = kuzu_lists.pack(bound[kuzu_lists.FIELD])  # a one-row form
        return self._execute(name, query.text, bound, query=query)

    def _row_by_row(self, name: str, rows: list) -> bool:
        """Whether ``rows`` of a ``ROW_FORMS`` write cost less one by one (``ROW_FORM_SHARE``)."""
        if len(rows) <= ROW_FORM_MAX:
            return True
        kind, share = ROW_FORM_SHARE[name]
        now = time.monotonic()
        if self._counts is None or now - self._counts[0] > COUNTS_FRESH_S:
            self._counts = (now, summed_counts(self._run_named("graph_counts_all", {})))
        return len(rows) <= self._counts[1][kind] // share

    def _run_rows(self, name: str, rows: list[Mapping[str, Any]]) -> list[Row]:
        """A one-row write once per row, prepared once per store (an unprepared statement
        that matches a relationship leaks memory: see the module's docstring)."""
        query = self.queries.get(name)
        wanted = tuple(used_params(query.text))
        with self._lock:
            plan = self._plan(query, writes=True)  # None: each row runs as plain text
            # Outside a transaction the rows run inside one of their own: a named write is
            # all or nothing, as the single statement it stands for was under auto-commit.
            with self.transaction() if not self._in_tx and len(rows) > 1 else nullcontext():
                for row in rows:
                    missing = [k for k in wanted if k not in row]
                    if missing:
                        raise ValidationError("rows", f"{name}: a row lacks {', '.join(missing)}")
                    self._execute(name, query.text, {k: row[k] for k in wanted}, plan=plan)
        return []

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        # One statement is atomic under Kuzu's auto-commit; an explicit BEGIN/COMMIT pair
        # around it cost ~4 ms per call (measured), more than most reads themselves.
        with self._lock:
            try:
                return self._run_named(name, params)
            finally:
                self._renew()

    def _renew(self) -> None:
        """A new connection in place of one thought to hold ``RENEW_AFTER_BYTES``; only
        between transactions, whose statements must share one connection."""
        if self._held < RENEW_AFTER_BYTES or self._in_tx or self._conn is None:
            return
        # It runs after statements that took effect: a failure here must not read as
        # theirs (a committed write reported failed would be written again). The old
        # connection then serves on, and the next statement tries again.
        try:
            fresh = kuzu.Connection(self._db)
        except (RuntimeError, MemoryError) as exc:
            log.warning("graphmem: Kuzu connection not renewed, the old one kept: %s", exc)
            return
        old, self._conn = self._conn, fresh
        self._prepared.clear()  # prepared statements belong to the connection closed
        self._held = 0
        with contextlib.suppress(RuntimeError):
            old.close()
        # pyarrow's allocator (mimalloc) keeps the pages of freed tables until asked.
        pa.default_memory_pool().release_unused()

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        with self._lock:
            if self._in_tx:  # nested use joins the outer transaction
                yield _Tx(self)
                return
            self._execute("begin", "BEGIN TRANSACTION", {})
            self._in_tx = True
            try:
                yield _Tx(self)
            except BaseException:
                self._in_tx = False
                self._rollback()
                self._renew()
                raise
            self._in_tx = False
            try:
                self._execute("commit", "COMMIT", {})
            except QueryError as exc:
                # Kuzu may raise here after the commit is in its log (measured: "Buffer
                # manager exception: Unable to allocate memory" from the checkpoint that
                # follows a commit, with a 128 MB page cache at 160k memories). Whether
                # it applied is unknown: end the transaction if it is still open, and
                # let the writer finish the write from its journal (ingest/write.py).
                with contextlib.suppress(QueryError):
                    self._rollback()
                raise CommitUncertainError(
                    f"{exc}; the graph may or may not hold this write", query_name="commit"
                ) from exc
            self._renew()  # outside the commit's handler: what fails here is not the commit

    def _rollback(self) -> None:
        # A failed statement makes Kuzu abort the transaction itself; then there is
        # nothing left to roll back and that is fine.
        try:
            self._execute("rollback", "ROLLBACK", {})
        except QueryError as exc:
            if "no active transaction" not in str(exc).lower():
                raise

    # -- bulk writes -----------------------------------------------------------------

    def _copy(self, table: str, data: pa.Table) -> None:
        if data.num_rows:
            self._execute(f"copy_{table.lower()}", f"COPY {table} FROM $data", {"data": data})

    def write(self, batch: GraphBatch) -> None:
        if not batch:
            return
        facts = [fact_row(f) for f in batch.facts]
        entities = [entity_row(e) for e in batch.entities]
        # One edge per relation id: a later row of the same id replaces an earlier one.
        relations = list({r.id: relation_row(r) for r in batch.relations}.values())
        with self.transaction() as tx:
            # A fresh batch's facts and relations are new (``GraphBatch.fresh``): were one
            # stored after all, its fact_create would fail on the primary key, loudly.
            old_facts = set() if batch.fresh else {
                r["id"] for r in tx.run("fact_existing", {"ids": [f["id"] for f in facts]})
            }  # fmt: skip
            # Likewise its entities: those it did not make are stored ones (an entity taken
            # for new wrongly fails entity_create on the primary key; one taken for stored
            # wrongly is still created by entity_upsert's MERGE). The look-up joins the ids
            # against a scan of every entity: per 1,000-memory batch 6 ms in a new data
            # dir, 31-35 ms at 300k memories (measured side by side), growing with it.
            old_ents = {e["id"] for e in entities if e["id"] not in batch.new_entities} \
                if batch.fresh else {
                r["id"] for r in tx.run("entity_existing", {"ids": [e["id"] for e in entities]})
            }  # fmt: skip
            new_facts = [f for f in facts if f["id"] not in old_facts]
            if len(new_facts) < len(facts):
                tx.run("fact_upsert", {"rows": [f for f in facts if f["id"] in old_facts]})
            # New nodes are CREATEd, not COPY'd: measured on Kuzu 0.11.3, a transaction that
            # COPYs forces a checkpoint at COMMIT (~150-400 ms per batch, growing with the
            # database: 5k memories ingested at 460/s). Mentions of new facts are created in
            # the same statement, by primary-key match per fact, which stays ~100 ms per
            # 1,000 facts at 100k (a separate UNWIND ... MATCH (f), (e) CREATE scans: 2 s).
            # Relations are never COPY'd: rolling back a transaction that copied into a REL
            # table also dropped relationships committed before it
            # (tests/test_memory.py::test_failed_history_write...). New ones are CREATEd,
            # the rest merged; the MERGE still matches an id by its ends, as before.
            tx.run("entity_create", {"rows": [e for e in entities if e["id"] not in old_ents]})
            if old_ents:
                tx.run("entity_upsert", {"rows": [e for e in entities if e["id"] in old_ents]})
            fresh = {f["id"] for f in new_facts}
            mentions = sorted(set(batch.mentions))
            named: dict[str, list[str]] = {}
            for fact_id, entity_id in mentions:
                if fact_id in fresh:
                    named.setdefault(fact_id, []).append(entity_id)
            tx.run("fact_create", {"rows": [f | {"entity_ids": named.get(f["id"], [])}
                                            for f in new_facts]})  # fmt: skip
            old_rels = set() if batch.fresh else {
                r["id"] for r in tx.run("relation_existing", {"ids": [r["id"] for r in relations]})
            }  # fmt: skip
            if old_rels:  # replaced, not merged: a SET on a relationship (relation_set.cypher)
                tx.run("relation_delete", {"rows": [r for r in relations if r["id"] in old_rels]})
            tx.run("relation_create", {"rows": relations})
            merged = [{"fact_id": f, "entity_id": e} for f, e in mentions if f not in fresh]
            if merged:
                tx.run("mention_merge", {"rows": merged})

    def load(self, batch: GraphBatch) -> None:
        """COPY a whole batch into a fresh, empty store: no upsert checks, one transaction.

        For throwaway databases such as the scoped Cypher sandbox (``sandbox.py``):
        ``write()``'s existence checks and relationship merges cost 14 s for a 10k-memory
        scope (measured), COPY well under one. Relationships are COPY'd here because the
        rollback trap ``write()`` avoids cannot hurt a database nobody keeps.
        """
        relations = [relation_row(r) for r in batch.relations]
        mentions = sorted(set(batch.mentions))
        with self.transaction():
            self._copy("Fact", _table([fact_row(f) for f in batch.facts], FACT_COLUMNS))
            self._copy("Entity", _table([entity_row(e) for e in batch.entities], ENTITY_COLUMNS))
            if self._packed:
                relations = kuzu_lists.pack_rows(relations)
            self._copy("RELATES", _table(relations, RELATION_COLUMNS, ("source_id", "target_id"),
                                         lists=self._lists))  # fmt: skip
            self._copy(
                "MENTIONS",
                pa.table({"from": [m[0] for m in mentions], "to": [m[1] for m in mentions]}),
            )

    def reset(self) -> None:
        self.run("reset_all", {})

    def release_caches(self) -> bool:
        """Close the database and open it again, between transactions: the pages a bulk
        load's writes read stay in Kuzu's page cache until it is full (462 MB at 1M
        memories), and reads need few of them. False for an in-memory graph (closing it
        would lose it) or a closed store. If the open fails, the store is closed and says
        so on its next call; what was written is on disk."""
        with self._lock:
            if self.path is None or self._in_tx or self._db is None:
                return False
            conn, db = self._conn, self._db
            self._conn = self._db = None
            self._prepared.clear()  # prepared statements belong to the closed connection
            try:
                conn.close()
                db.close()
                self._db = kuzu.Database(str(self.path / "graph.kuzu"), **self._sizes)
                self._conn = kuzu.Connection(self._db)
            except (RuntimeError, MemoryError) as exc:
                self._db = self._conn = None
                raise BackendUnavailableError(
                    f"the Kuzu graph at {self.path} could not be opened again after handing "
                    f"back its page cache ({exc}); every write before is on disk: open the "
                    "Memory again"
                ) from exc
            self._held = 0
            pa.default_memory_pool().release_unused()
            return True

    def close(self) -> None:
        with self._lock:
            conn, db = getattr(self, "_conn", None), getattr(self, "_db", None)
            self._conn = self._db = None
            self._prepared.clear()  # prepared statements belong to the closed connection
            if conn is not None:
                conn.close()
            if db is not None:
                db.close()
                if self.path is not None:
                    mark_clean(self.path / "graph.kuzu")
            self._unregister()

    def _unregister(self) -> None:
        if self._registered is not None:
            with _OPEN_LOCK:
                _OPEN_PATHS.discard(self._registered)
            self._registered = None


def _table(
    rows: list[dict],
    columns: tuple[str, ...],
    ends: tuple[str, ...] = (),
    lists: frozenset[str] = LIST_COLUMNS,
) -> pa.Table:
    """Column order must match the table's; rel tables take ``from``/``to`` first.

    Also what ``LOAD FROM $rows`` reads: a column holding lists (or named in ``lists``,
    for when every value is null) is a string list.
    """
    data: dict[str, pa.Array] = {}
    if ends:
        data["from"] = pa.array([r[ends[0]] for r in rows], pa.string())
        data["to"] = pa.array([r[ends[1]] for r in rows], pa.string())
    for col in columns:
        listed = col in lists or any(isinstance(r[col], list) for r in rows)
        kind = pa.list_(pa.string()) if listed else pa.string()
        data[col] = pa.array([r[col] for r in rows], kind)
    return pa.table(data)


def _unpacked(result: Any, columns: list[str]) -> Iterator[Row]:
    """Rows of a result with a ``fact_ids`` column, that column as a list again."""
    for r in result.get_all():
        row = dict(zip(columns, [clean(v) if isinstance(v, dict | list) else v for v in r],
                       strict=True))  # fmt: skip
        row[kuzu_lists.FIELD] = kuzu_lists.unpack(row[kuzu_lists.FIELD])
        yield row
