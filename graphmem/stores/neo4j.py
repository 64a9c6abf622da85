"""Neo4j graph store over Bolt, and the only module that imports ``neo4j``.

It runs the same named queries as Kuzu (overrides in ``cypher/neo4j/``) against Neo4j 5
(single server, cluster or Aura) and any server that speaks Bolt + Cypher to the 6.x
driver; the test suite runs it against ArcadeDB (``graphmem.testing.bolt_server``).

Measured quirks this module works around:
- ArcadeDB ignores the READ access mode: a ``CREATE`` sent in a read session commits.
  Read-only user Cypher therefore passes the lexical allow-list (``cypher_lexer``), then
  the server's EXPLAIN plan must show no file load, procedure or write step, and it runs
  in a READ transaction, is checked against the update counters and always rolled back.
- ArcadeDB reads local files with ``LOAD CSV FROM 'file:///...'`` and ignores transaction
  timeouts: the caller stops waiting for a user statement at its time limit.
- ArcadeDB's optimistic concurrency reports conflicting writers as
  ``Neo.TransientError.Transaction.DeadlockDetected`` (about half the commits of four
  threads bumping one node), so every unit of work is retried with jittered backoff.
- ArcadeDB answers unknown procedures/functions with ``DatabaseError`` where Neo4j sends
  ``ClientError``; both become ``QueryError`` here. It maps the database names ``neo4j``
  and None to its default database.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import neo4j
import tenacity
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired
from neo4j.graph import Node, Path, Relationship

from ..cypher_lexer import READ_PROCEDURES
from ..errors import (
    BackendUnavailableError,
    CommitUncertainError,
    ConfigError,
    ConflictError,
    GraphMemError,
    QueryError,
    ReadOnlyError,
)
from ..models import GraphBatch
from ..querylib import QueryLibrary
from .base import Row, Tracer, iter_batches
from .fan_cache import FanCache
from .rows import entity_row, fact_row, relation_row

T = TypeVar("T")
log = logging.getLogger(__name__)
BATCH = 2000  # rows per UNWIND: big enough to amortise a round trip, small enough for the heap
SCHEMA = ("schema_fact_id", "schema_entity_id", "schema_fact_user", "schema_entity_user",
          "schema_entity_key", "schema_entity_key_owner")  # fmt: skip
# entities_by_key reads EntityKey nodes (one per name or alias key of an entity, indexed),
# because no index serves ``k IN e.keys``. They are kept beside every named write of
# entities, in its transaction: the statement run before it and the one run after, each
# with the parameters it takes from the write's.
_BEFORE = {
    "entity_upsert": ("entity_keys_drop", lambda p: {"ids": [r["id"] for r in p["rows"]]}),
    "entity_delete": ("entity_keys_drop", lambda p: {"ids": p["ids"]}),
    "scope_delete_entities": ("scope_delete_entity_keys", lambda p: p),
}
_AFTER = {"entity_upsert": ("entity_keys_add", lambda p: {"rows": p["rows"]})}
ENTITY_KEYS = 1  # layout version of the EntityKey nodes; a database without it is rebuilt
# Capability probe; like the schema statements it exists for this dialect only.
PROBE = "server_procedures"
_DRIVER_ERRORS = (Neo4jError, DriverError)
_BOLT_URI = re.compile(r"^(bolt|neo4j)(\+s|\+ssc)?://[^/]", re.IGNORECASE)
_URI_HINT = "use bolt://host:7687 (one server) or neo4j://host:7687 (a cluster), +s for TLS"
_UNREACHABLE = (ServiceUnavailable, SessionExpired, neo4j.exceptions.ConnectionPoolError)

# Plan steps that read files, call procedures or write, in Neo4j's operator names and in
# ArcadeDB's plan text ("+ LOAD CSV ...", "+ CALL db.labels() ..."): the second guard on
# read-only user Cypher, behind the lexical allow-list (graphmem.cypher_lexer).
_PLAN_OPERATOR = re.compile(
    r"LoadCSV|ProcedureCall|Create|Merge|Set|Delete|Remove|Foreach|Transaction|Load", re.I
)
_PLAN_STEP = re.compile(r"^\s*\+\s*(.*)$", re.M)
_PLAN_REFUSED_STEP = re.compile(
    r"(LOAD|COPY|CREATE|MERGE|SET|DELETE|DETACH|REMOVE|FOREACH|USE|CALL(?!\s+SUBQUERY))\b",
    re.I,
)
_PLAN_CALL = re.compile(r"CALL\s+([\w.`]+)", re.I)
# How much longer than its own limit a statement may keep the caller waiting when the
# server does not enforce transaction timeouts (ArcadeDB ignores them; Neo4j does not).
_TIMEOUT_GRACE_S = 1.0


def _plan_refusals(plan: Mapping[str, Any] | None) -> list[str]:
    """Steps of an EXPLAIN plan that a read-only statement may not have."""
    if not plan:
        return []
    found: list[str] = []
    stack = [plan]
    while stack:
        node = stack.pop()
        operator = str(node.get("operatorType", "")).split("@")[0]
        if operator != "ArcadeDB.OpenCypher.Plan" and _PLAN_OPERATOR.search(operator):
            found.append(operator)
        text = str((node.get("args") or {}).get("string-representation", ""))
        for step in _PLAN_STEP.findall(text):
            if not _PLAN_REFUSED_STEP.match(step):
                continue
            call = _PLAN_CALL.match(step)
            if call and call.group(1).replace("`", "").lower() in READ_PROCEDURES:
                continue
            found.append(" ".join(step.split()[:3]))
        stack.extend(node.get("children") or [])
    return found


def _drained(result: Any) -> tuple[list[Row], Any]:
    """A driver result's records as plain rows, and its summary."""
    return [{k: _plain(v) for k, v in record.items()} for record in result], result.consume()


def _token_in(rows: list[Row]) -> Any:
    """``graph_token``'s answer: the token, or None where no graphmem write stamped one."""
    return rows[0]["token"] if rows else None


def _plain(value: Any) -> Any:
    """Driver values to plain Python: graph elements become their property dicts."""
    if isinstance(value, Node | Relationship):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return {
            "nodes": [_plain(n) for n in value.nodes],
            "relationships": [_plain(r) for r in value.relationships],
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "to_native"):  # neo4j.time values
        return value.to_native()
    return value


def _within(call: Callable[[], T], timeout: float) -> T:
    """``call()``, but the caller waits at most ``timeout`` (plus a grace) for it.

    The transaction carries the timeout to the server, which stops the statement (Neo4j);
    a server that ignores it (ArcadeDB) keeps computing, so the call runs on a helper
    thread that the caller leaves behind, with a clear error, when time is up.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the waiting caller below
            box["error"] = exc

    worker = threading.Thread(target=target, name="graphmem-user-cypher", daemon=True)
    worker.start()
    worker.join(timeout + _TIMEOUT_GRACE_S)
    if worker.is_alive():
        raise QueryError(
            f"cypher: the statement ran past the time limit of {timeout:g} s (the "
            "cypher_timeout setting) and was abandoned; the server may finish it on its "
            "own. Add LIMIT, anchor the MATCH on a property, or avoid a cartesian product",
            query_name="user",
        )
    if "error" in box:
        raise box["error"]
    return box["value"]


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _DRIVER_ERRORS) and exc.is_retryable()


class _Tx:
    """One open transaction. ``raw`` lets driver errors through to the retry loop."""

    def __init__(self, store: Neo4jGraphStore, tx: neo4j.Transaction, *, raw: bool) -> None:
        self._store, self._tx, self._raw = store, tx, raw
        self.wrote = False  # a writing named statement ran: the commit replaces the token

    @property
    def raw(self) -> neo4j.Transaction:
        return self._tx

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        given = dict(params or {})
        if name in _BEFORE:
            companion, take = _BEFORE[name]
            self.run(companion, take(given))
        query = self._store.queries.get(name)
        self.wrote = self.wrote or query.writes
        rows = self.execute(name, query.text, query.bind(given))[0]
        if name in _AFTER:
            companion, take = _AFTER[name]
            self.run(companion, take(given))
        return rows

    def execute(self, name: str, text: str, params: Mapping[str, Any]) -> tuple[list[Row], Any]:
        if self._store.tracer is not None:
            self._store.tracer(name, text, params)
        try:
            return _drained(self._tx.run(text, dict(params)))
        except _DRIVER_ERRORS as exc:
            if self._raw:
                raise
            raise self._store._translate(exc, name) from exc


class Neo4jGraphStore:
    """Graph store on a Neo4j (or Bolt-compatible) server; see the module docstring."""

    dialect = "neo4j"

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        *,
        database: str | None = None,
        tracer: Tracer | None = None,
        max_retries: int = 3,
        connection_timeout: float = 5.0,
    ) -> None:
        self.uri, self.user, self.database = uri, user, database
        self.tracer = tracer
        self.max_retries = max_retries
        self.connection_timeout = connection_timeout
        self.queries = QueryLibrary(self.dialect)
        self.capabilities: frozenset[str] = frozenset()
        self.server_agent = ""  # e.g. "Neo4j/5.26.0", for diagnostics only: never branch on it
        self._local = threading.local()  # the calling thread's open transaction, if any
        self._reads: dict[str, bool] = {}
        self._fans = FanCache()  # hubs' capped relations, kept while the graph is unchanged
        # Shared by every session so each statement sees the previous ones' writes even
        # when a cluster routes it to another member (causal consistency).
        self._bookmarks = neo4j.GraphDatabase.bookmark_manager()
        # The 6.x driver would also take http:// (its preview Query API, which needs
        # aiohttp and has no explicit transactions): only Bolt is supported here.
        if not isinstance(uri, str) or not _BOLT_URI.match(uri):
            raise ConfigError(f"NEO4J_URI {uri!r} is not a Bolt URI: {_URI_HINT}")
        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri, auth=(user, password), connection_timeout=connection_timeout
            )
        except (neo4j.exceptions.ConfigurationError, ValueError) as exc:
            raise ConfigError(f"NEO4J_URI {uri!r}: {exc} ({_URI_HINT})") from exc
        try:
            try:
                self._driver.verify_connectivity()
                self.server_agent = self._driver.get_server_info().agent
            except _DRIVER_ERRORS as exc:
                raise self._translate(exc, "connect") from exc
            self.run("ping")  # the server answered; now the database must (or ConfigError)
            self.capabilities = self._detect()
            for name in SCHEMA:
                self.run(name)
            self._entity_keys()
            self._stamp()
        except GraphMemError:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"Neo4jGraphStore({self.uri!r}, user={self.user!r}, database={self.database!r})"

    # -- errors ----------------------------------------------------------------------

    def _translate(self, exc: BaseException, name: str, attempts: int = 1) -> GraphMemError:
        if isinstance(exc, AuthError):
            return BackendUnavailableError(
                f"the Neo4j server at {self.uri} refused user {self.user!r} and its password: "
                "check NEO4J_USER / NEO4J_PASSWORD"
            )
        if isinstance(exc, _UNREACHABLE):
            return BackendUnavailableError(
                f"cannot reach the Neo4j server at {self.uri} (timeout "
                f"{self.connection_timeout:g} s): start it (`docker compose up -d --wait`) or "
                f"check NEO4J_URI ({' '.join(str(exc).split())})"
            )
        if isinstance(exc, Neo4jError):
            if exc.code == "Neo.ClientError.Database.DatabaseNotFound":
                return ConfigError(
                    f"database {self.database!r} does not exist on {self.uri}: create it or "
                    "check NEO4J_DATABASE"
                )
            message = exc.message or str(exc)
            if "TransactionTimedOut" in (exc.code or ""):
                return QueryError(
                    f"cypher: the statement ran past the time limit (the cypher_timeout "
                    f"setting) and the server stopped it; add LIMIT, anchor the MATCH on a "
                    f"property, or avoid a cartesian product ({message})",
                    query_name=name,
                )
            if _retryable(exc):
                message = f"{message} (transient; tried {attempts} time(s), retrying may succeed)"
                return ConflictError(f"{name}: {message}", query_name=name)
            return QueryError(f"{name}: {message}", query_name=name)
        return QueryError(f"{name}: {exc}", query_name=name)

    # -- execution -------------------------------------------------------------------

    def _unit(
        self,
        work: Callable[[_Tx], T],
        name: str,
        *,
        read: bool,
        commit: bool = True,
        timeout: float | None = None,
    ) -> T:
        """Run ``work`` in a transaction of its own, retried on transient errors; or join
        the thread's open transaction (whose owner then decides commit and retries)."""
        outer = getattr(self._local, "tx", None)
        if outer is not None:
            return work(outer)
        try:
            return self._retrying()(self._once, work, read, commit, timeout)
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, name, self.max_retries + 1) from exc

    def _retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=tenacity.wait_random_exponential(multiplier=0.05, max=2.0),
            retry=tenacity.retry_if_exception(_retryable),
            reraise=True,
        )

    def _read(self, name: str, params: Mapping[str, Any] | None) -> list[Row]:
        """A named read in an auto-commit transaction of its own, retried like ``_unit``.

        Why not ``_unit``: an explicit transaction is BEGIN, RUN and COMMIT, where an
        auto-commit one is a single exchange: 3.5 vs 1.2 ms a statement (p50) on the
        ArcadeDB test server, and a hybrid search makes ~10 of them (issue 16). A read
        changes nothing, so committing it is as good as the rollback of ``_once``."""
        query = self.queries.get(name)
        bound = query.bind(dict(params or {}))
        if self.tracer is not None:
            self.tracer(name, query.text, bound)

        def once() -> list[Row]:
            with self._session(neo4j.READ_ACCESS) as session:
                return _drained(session.run(query.text, dict(bound)))[0]

        try:
            return self._retrying()(once)
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, name, self.max_retries + 1) from exc

    def _once(self, work: Callable[[_Tx], T], read: bool, commit: bool, timeout: float | None) -> T:
        mode = neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS
        with self._session(mode) as session:
            tx = session.begin_transaction(timeout=timeout)
            self._local.tx = _Tx(self, tx, raw=True)
            try:
                out = work(self._local.tx)
                if commit:
                    if not read:
                        self._local.tx.run("graph_token_set", {"token": uuid.uuid4().hex})
                    tx.commit()
                return out
            finally:
                self._local.tx = None
                tx.close()  # rolls back unless committed

    def _session(self, mode: str) -> neo4j.Session:
        if self._driver is None:
            raise BackendUnavailableError(f"{self!r} is closed; open a new store")
        return self._driver.session(
            database=self.database, default_access_mode=mode, bookmark_manager=self._bookmarks
        )

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        if name not in self._reads:
            self._reads[name] = not self.queries.get(name).writes
        if self._reads[name] and getattr(self._local, "tx", None) is None:
            return self._read(name, params)
        return self._unit(lambda tx: tx.run(name, params), name, read=self._reads[name])

    def capped_relations(self, ids: Sequence[str], limit: int, keep: Sequence[str],
                         scope: Mapping[str, str], as_of: str = "",
                         include_invalid: bool = False) -> list[Row]:  # fmt: skip
        """``relations_touching`` capped on the server (``GraphOps.relations_touching``'s
        ``fanout`` rule, with the scope and time rules applied before the cap): a walk
        through a city's thousand residents ships ``limit`` of them, not all. Each
        entity's capped relations are kept until the graph changes (``fan_cache.py``);
        those joining ``ids`` to ``keep`` depend on the query and are read every time."""
        rules = {**scope, "as_of": as_of, "include_invalid": include_invalid}
        # Inside an open transaction the reads see its uncommitted writes: nothing is kept.
        token = None if getattr(self._local, "tx", None) is not None else self._graph_token()

        def fans_of(missing: list[str]) -> tuple[Any, list[Row]]:
            def work(tx: _Tx) -> tuple[Any, list[Row]]:
                params = {"ids": missing, "limit": limit, **rules}
                return _token_in(tx.run("graph_token")), tx.run("relations_fan", params)

            return self._unit(work, "relations_fan", read=True)

        return self._fans.capped(
            token, ids, limit, keep, tuple(sorted(rules.items())), fans_of,
            lambda hubs, named: self.run("relations_joining",
                                         {"ids": hubs, "keep": named, **rules}),
        )  # fmt: skip

    def _graph_token(self) -> Any:
        """The token the last graphmem write to this database left (None: never stamped);
        inside ``pinned()``, the one read first in the block."""
        pinned = getattr(self._local, "pinned", None)
        if pinned is None:
            return _token_in(self.run("graph_token"))
        if not pinned:
            pinned.append(_token_in(self.run("graph_token")))
        return pinned[0]

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Reads on this thread share one graph-token read until the block ends: a search
        checks its hubs' kept fans twice (one walk hop each), and each check was a round
        trip of its own (~1 ms warm, 3 ms at p95 on the ArcadeDB test server, issue 16).
        A write another process lands between two hops of one search reaches that
        search only through the hubs it had not kept (read fresh, and not kept under the
        old token); the next search reads the new token and sees all of it, as it would
        a write landing just after. Nested blocks join the outer one."""
        if getattr(self._local, "pinned", None) is not None:
            yield
            return
        self._local.pinned = []
        try:
            yield
        finally:
            self._local.pinned = None

    def _stamp(self) -> None:
        """Give a database no graphmem write has stamped yet (one written by an older
        version) its token, so hubs read from it can be kept. A user allowed only to read
        gets nothing kept, not an error."""
        if self._graph_token() is not None:
            return
        try:
            self._unit(lambda tx: None, "graph_token_set", read=False)
        except (QueryError, ReadOnlyError) as exc:
            log.info("graph token not written (%s): hubs are read anew by each search", exc)

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        """Statements commit together or not at all. A block cannot be replayed, so unlike
        ``run``/``write`` it is not retried here: a transient error reaches the caller as
        ``ConflictError``, and the engine's writer replays its whole atomic step."""
        outer = getattr(self._local, "tx", None)
        if outer is not None:  # nested use joins the outer transaction
            yield outer
            return
        try:
            session = self._session(neo4j.WRITE_ACCESS)
            tx = session.begin_transaction()
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, "begin") from exc
        self._local.tx = _Tx(self, tx, raw=False)
        try:
            yield self._local.tx
            try:
                # Only a block that wrote: an engine step that changes payloads alone (access
                # counts, every few seconds while searches run) leaves the fans kept.
                if self._local.tx.wrote:
                    self._local.tx.run("graph_token_set", {"token": uuid.uuid4().hex})
                tx.commit()
            except neo4j.exceptions.IncompleteCommit as exc:
                # The connection went during the commit: the server may have applied it.
                # The writer finishes the write from its journal (ingest/write.py).
                raise CommitUncertainError(
                    f"commit: {exc}; the graph may or may not hold this write",
                    query_name="commit",
                ) from exc
            except _DRIVER_ERRORS as exc:
                raise self._translate(exc, "commit") from exc
        finally:
            self._local.tx = None
            tx.close()
            session.close()

    def write(self, batch: GraphBatch) -> None:
        if not batch:
            return
        facts = [fact_row(f) for f in batch.facts]
        entities = [entity_row(e) for e in batch.entities]
        relations = [relation_row(r) for r in batch.relations]
        mentions = [{"fact_id": f, "entity_id": e} for f, e in sorted(set(batch.mentions))]
        steps = (
            ("fact_upsert", facts),
            ("entity_upsert", entities),
            ("relation_upsert", relations),
            ("mention_merge", mentions),
        )

        def work(tx: _Tx) -> None:
            for name, rows in steps:
                for chunk in iter_batches(rows, BATCH):
                    tx.run(name, {"rows": list(chunk)})

        self._unit(work, "write", read=False)

    # -- user Cypher -----------------------------------------------------------------

    def cypher(
        self,
        text: str,
        params: Mapping[str, Any] | None = None,
        *,
        read_only: bool = True,
        timeout: float | None = None,
        max_rows: int | None = None,
        max_memory_mb: int | None = None,  # the server bounds its own memory
    ) -> list[Row]:
        if getattr(self._local, "tx", None) is not None:
            raise QueryError("user Cypher cannot run inside an engine transaction")
        values = dict(params or {})

        def work(tx: _Tx) -> list[Row]:
            if read_only:
                self._vet_plan(tx, text, values)
            if self.tracer is not None:
                self.tracer("user", text, values)
            result = tx.raw.run(text, values)
            rows: list[Row] = []
            for record in result:
                if max_rows is not None and len(rows) >= max_rows:
                    raise QueryError(
                        f"cypher: the statement returns more than {max_rows} rows (the "
                        "cypher_max_rows setting); add LIMIT or narrow the MATCH",
                        query_name="user",
                    )
                rows.append({k: _plain(v) for k, v in record.items()})
            counters = result.consume().counters
            if read_only and (counters.contains_updates or counters.contains_system_updates):
                raise ReadOnlyError(
                    "user: refused and rolled back, the statement wrote to the graph "
                    "(pass read_only=False to allow writes)",
                    query_name="user",
                )
            return rows

        # Read-only work is rolled back, not committed: whatever slipped past the guards
        # is undone even on servers that ignore the READ access mode.
        def unit() -> list[Row]:
            return self._unit(work, "user", read=read_only, commit=not read_only, timeout=timeout)

        if not timeout:
            return unit()
        return _within(unit, timeout)

    def _vet_plan(self, tx: _Tx, text: str, values: dict[str, Any]) -> None:
        """The second guard behind the lexical allow-list: the server's own EXPLAIN of the
        statement must show no file load, procedure call or write step."""
        if self.tracer is not None:
            self.tracer("vet", "EXPLAIN " + text, values)
        result = tx.raw.run("EXPLAIN " + text, values)
        plan = result.consume().plan
        refused = ["no plan to vet"] if plan is None else _plan_refusals(plan)
        if refused:
            raise ReadOnlyError(
                f"cypher: refused by the server's plan: {', '.join(refused)}; inspection "
                "only reads this database's graph",
                query_name="user",
            )

    # -- lifecycle -------------------------------------------------------------------

    def _detect(self) -> frozenset[str]:
        """Neo4j-only features, found by asking the server instead of trusting its name."""
        try:
            names = {r["name"] for r in self.run(PROBE)}
        except QueryError:  # servers without SHOW PROCEDURES have neither feature
            return frozenset()
        found = set()
        if "db.index.vector.queryNodes" in names:
            found.add("vector_index")
        if any(n.startswith("apoc.") for n in names):
            found.add("apoc")
        return frozenset(found)

    def _entity_keys(self) -> None:
        """Give every entity its EntityKey nodes once, in a database written before they
        existed (or by another layout): without them entities_by_key finds nothing."""
        if [r["version"] for r in self.run("entity_keys_marked")] == [ENTITY_KEYS]:
            return

        def rebuild(tx: _Tx) -> None:
            for name in ("entity_keys_clear", "entity_keys_rebuild"):
                tx.run(name)
            tx.run("entity_keys_mark", {"version": ENTITY_KEYS})

        self._unit(rebuild, "entity_keys_rebuild", read=False)

    def reset(self) -> None:
        self.run("reset_all")
        self.run("entity_keys_mark", {"version": ENTITY_KEYS})  # nothing left to key

    def close(self) -> None:
        driver = getattr(self, "_driver", None)
        self._driver = None
        if driver is not None:
            driver.close()
