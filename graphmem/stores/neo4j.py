"""Neo4j graph store over Bolt, and the only module that imports ``neo4j``.

It runs the same named queries as Kuzu (overrides in ``cypher/neo4j/``) against Neo4j 5
(single server, cluster or Aura) and any server that speaks Bolt + Cypher to the 6.x
driver; the test suite runs it against ArcadeDB (``graphmem.testing.bolt_server``).

Measured quirks this module works around:
- ArcadeDB ignores the READ access mode: a ``CREATE`` sent in a read session commits.
  Read-only user Cypher is therefore refused on sight of a write clause, run in a READ
  transaction, checked against the server's update counters and always rolled back.
- ArcadeDB's optimistic concurrency reports conflicting writers as
  ``Neo.TransientError.Transaction.DeadlockDetected`` (about half the commits of four
  threads bumping one node), so every unit of work is retried with jittered backoff.
- ArcadeDB answers unknown procedures/functions with ``DatabaseError`` where Neo4j sends
  ``ClientError``; both become ``QueryError`` here. It maps the database names ``neo4j``
  and None to its default database.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import neo4j
import tenacity
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired
from neo4j.graph import Node, Path, Relationship

from ..errors import (
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    GraphMemError,
    QueryError,
    ReadOnlyError,
)
from ..models import GraphBatch
from ..querylib import QueryLibrary
from .base import Row, Tracer, iter_batches
from .rows import entity_row, fact_row, relation_row

T = TypeVar("T")
BATCH = 2000  # rows per UNWIND: big enough to amortise a round trip, small enough for the heap
SCHEMA = ("schema_fact_id", "schema_entity_id", "schema_fact_user", "schema_entity_user")
# Capability probe; like the schema statements it exists for this dialect only.
PROBE = "server_procedures"
_DRIVER_ERRORS = (Neo4jError, DriverError)
_BOLT_URI = re.compile(r"^(bolt|neo4j)(\+s|\+ssc)?://[^/]", re.IGNORECASE)
_URI_HINT = "use bolt://host:7687 (one server) or neo4j://host:7687 (a cluster), +s for TLS"
_UNREACHABLE = (ServiceUnavailable, SessionExpired, neo4j.exceptions.ConnectionPoolError)

# Read-only screening of user Cypher. Quoted text and comments are blanked first so a
# string such as 'CREATE' is not a write and a backticked name cannot hide one; a
# keyword used as a property (n.set), label (:Merge), parameter or map key is not a clause.
_LITERALS = re.compile(
    r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`]|``)*`|//[^\n]*|/\*.*?\*/", re.S
)
_WRITE_CLAUSE = re.compile(
    r"(?<![\w.$:])(CREATE|MERGE|DELETE|DETACH|SET|REMOVE|DROP|FOREACH|ALTER|GRANT|DENY|REVOKE"
    r"|RENAME|TERMINATE|LOAD\s+CSV|IN\s+TRANSACTIONS)(?![\w])(?!\s*:)",
    re.IGNORECASE,
)
_CALL = re.compile(r"(?<![\w.$:])CALL\s*([^\s({][^\s(]*)?", re.IGNORECASE)
# Procedures known not to write; any other CALL counts as a write (subqueries
# ``CALL { ... }`` are screened by their own clauses).
_READ_PROCEDURES = (
    "db.labels",
    "db.relationshiptypes",
    "db.propertykeys",
    "db.schema.",
    "db.indexes",
    "db.constraints",
    "db.info",
    "db.ping",
    "dbms.components",
    "dbms.info",
    "db.index.vector.query",
    "db.index.fulltext.query",
    "apoc.meta.",
)


def _blank(match: re.Match) -> str:
    quoted = match.group()
    if quoted.startswith("/"):
        return " "
    # A backticked name stays one identifier (so `apoc`.`x` still reads as a procedure).
    return "_q_" if quoted.startswith("`") else " _q_ "


def write_clause(text: str) -> str | None:
    """The first clause that would make ``text`` write, or None when it only reads."""
    body = _LITERALS.sub(_blank, text)
    found = _WRITE_CLAUSE.search(body)
    if found:
        return " ".join(found.group(1).upper().split())
    for call in _CALL.finditer(body):
        proc = call.group(1)
        if proc and not proc.lower().startswith(_READ_PROCEDURES):
            return f"CALL {proc}"
    return None


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


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _DRIVER_ERRORS) and exc.is_retryable()


class _Tx:
    """One open transaction. ``raw`` lets driver errors through to the retry loop."""

    def __init__(self, store: Neo4jGraphStore, tx: neo4j.Transaction, *, raw: bool) -> None:
        self._store, self._tx, self._raw = store, tx, raw

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        query = self._store.queries.get(name)
        return self.execute(name, query.text, query.bind(dict(params or {})))[0]

    def execute(self, name: str, text: str, params: Mapping[str, Any]) -> tuple[list[Row], Any]:
        if self._store.tracer is not None:
            self._store.tracer(name, text, params)
        try:
            result = self._tx.run(text, dict(params))
            rows = [{k: _plain(v) for k, v in record.items()} for record in result]
            return rows, result.consume()
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
            if _retryable(exc):
                message = f"{message} (transient; tried {attempts} time(s), retrying may succeed)"
                return ConflictError(f"{name}: {message}", query_name=name)
            return QueryError(f"{name}: {message}", query_name=name)
        return QueryError(f"{name}: {exc}", query_name=name)

    # -- execution -------------------------------------------------------------------

    def _unit(self, work: Callable[[_Tx], T], name: str, *, read: bool, commit: bool = True) -> T:
        """Run ``work`` in a transaction of its own, retried on transient errors; or join
        the thread's open transaction (whose owner then decides commit and retries)."""
        outer = getattr(self._local, "tx", None)
        if outer is not None:
            return work(outer)
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=tenacity.wait_random_exponential(multiplier=0.05, max=2.0),
            retry=tenacity.retry_if_exception(_retryable),
            reraise=True,
        )
        try:
            return retrying(self._once, work, read, commit)
        except _DRIVER_ERRORS as exc:
            raise self._translate(exc, name, self.max_retries + 1) from exc

    def _once(self, work: Callable[[_Tx], T], read: bool, commit: bool) -> T:
        mode = neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS
        with self._session(mode) as session:
            tx = session.begin_transaction()
            self._local.tx = _Tx(self, tx, raw=True)
            try:
                out = work(self._local.tx)
                if commit:
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
            self._reads[name] = write_clause(self.queries.get(name).text) is None
        return self._unit(lambda tx: tx.run(name, params), name, read=self._reads[name])

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
                tx.commit()
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
        self, text: str, params: Mapping[str, Any] | None = None, *, read_only: bool = True
    ) -> list[Row]:
        if getattr(self._local, "tx", None) is not None:
            raise QueryError("user Cypher cannot run inside an engine transaction")
        if read_only:
            clause = write_clause(text)
            if clause:
                raise ReadOnlyError(
                    f"user: refused, {clause} writes and this statement runs read-only "
                    "(pass read_only=False to allow writes)",
                    query_name="user",
                )

        def work(tx: _Tx) -> list[Row]:
            rows, summary = tx.execute("user", text, dict(params or {}))
            counters = summary.counters
            if read_only and (counters.contains_updates or counters.contains_system_updates):
                raise ReadOnlyError(
                    "user: refused and rolled back, the statement wrote to the graph "
                    "(pass read_only=False to allow writes)",
                    query_name="user",
                )
            return rows

        # Read-only work is rolled back, not committed: whatever slipped past the
        # screening above is undone even on servers that ignore the READ access mode.
        return self._unit(work, "user", read=read_only, commit=not read_only)

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

    def reset(self) -> None:
        self.run("reset_all")

    def close(self) -> None:
        driver = getattr(self, "_driver", None)
        self._driver = None
        if driver is not None:
            driver.close()
