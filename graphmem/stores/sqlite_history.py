"""SQLite as graphmem's ``HistoryStore``: an append-only log of every change.

Standard library only. One connection per store, shared by threads behind a lock: the log
is written once per ``Memory`` operation, so contention is low and a connection pool
would buy nothing. WAL mode lets another process read the log while this one writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailableError, ConfigError, GraphMemError, ValidationError
from ..models import HistoryEvent, Scope, now_iso
from . import sqlite_live
from .sqlite_checkpoint import BACKSTOP_PAGES, WalCheckpointer

_SCHEMA_VERSION = 1
# AUTOINCREMENT (not plain rowid reuse) keeps ids strictly increasing even after
# delete_ids removed the newest rows, so "ORDER BY id" stays the order of recording.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event       TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT,
    actor       TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL DEFAULT '',
    user_id     TEXT NOT NULL DEFAULT '',
    agent_id    TEXT NOT NULL DEFAULT '',
    run_id      TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_target ON history (target_id, id);
-- One index per scope field: a partial scope (only agent_id, say) still finds an index.
CREATE INDEX IF NOT EXISTS history_user ON history (user_id, id);
CREATE INDEX IF NOT EXISTS history_agent ON history (agent_id, id);
CREATE INDEX IF NOT EXISTS history_run ON history (run_id, id);
-- Writes under way (ingest/journal.py): committed before any store is touched, marked
-- when the write's events are recorded, deleted once every store has it.
CREATE TABLE IF NOT EXISTS intents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    body        BLOB NOT NULL,
    recorded    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
"""
_COLUMNS = (
    "id, event, target_kind, target_id, old_value, new_value, actor, role, "
    "user_id, agent_id, run_id, details, created_at"
)
_INSERT = (
    "INSERT INTO history (event, target_kind, target_id, old_value, new_value, actor, role, "
    "user_id, agent_id, run_id, details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_LAST_ID = "SELECT seq FROM sqlite_sequence WHERE name = 'history'"
# json.dumps with keyword arguments builds a new encoder on every call.
_DETAILS = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


class SQLiteHistoryStore:
    """``SQLiteHistoryStore("data/history.db")`` or ``SQLiteHistoryStore(":memory:")``."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._where = str(path)
        self._lock = threading.Lock()
        self._closed = False
        self._checkpointer: WalCheckpointer | None = None  # started once the file is set up
        try:
            if self._where != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are opened explicitly below, so a batch
            # of events is one BEGIN ... COMMIT and nothing is left half-written.
            self._conn = sqlite3.connect(
                self._where, check_same_thread=False, isolation_level=None, timeout=5.0
            )
        except (OSError, sqlite3.Error) as exc:
            raise BackendUnavailableError(
                f"cannot open the history database {self._where}: {exc}"
            ) from exc
        try:
            with self._call("create the schema"):
                self._conn.execute("PRAGMA journal_mode=WAL")
                # NORMAL is safe from corruption under WAL; at worst the last commit before
                # a power cut is lost, which the vector and graph stores would lose too.
                self._conn.execute("PRAGMA synchronous=NORMAL")
                # Without the trigger until now, the kept count may predate a delete
                # (live_memories then checks the rows once).
                self._check_rows = not sqlite_live.guarded(self._conn)
                self._conn.executescript(_SCHEMA + sqlite_live.SCHEMA)
                self._conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                if self._where != ":memory:":  # copied into the file on a thread of its own
                    self._conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        except GraphMemError:
            self.close()
            raise
        if self._where != ":memory:":
            self._checkpointer = WalCheckpointer(self._where)

    # --- writes -------------------------------------------------------------------------

    def record(
        self, events: Sequence[HistoryEvent], *, intent: int | None = None
    ) -> list[HistoryEvent]:
        """Append events in one transaction; return copies with ``id`` and ``created_at``.

        A ``created_at`` the caller set is kept (an import replaying old history); ids
        follow the order of recording either way. ``intent``: the journaled write these
        events belong to, marked as recorded in the same transaction.
        """
        stamp = now_iso()
        rows = [_row(ev, stamp) for ev in events]  # all checked before the first write
        with self._call("record history events"), self._transaction():
            if intent is not None:
                self._conn.execute("UPDATE intents SET recorded = 1 WHERE id = ?", (intent,))
            if not rows:
                return []
            # One executemany instead of an execute per event (10k events: ~0.1 s). Under
            # AUTOINCREMENT each row gets max(sequence, largest id) + 1, and BEGIN IMMEDIATE
            # holds the write lock, so the batch's ids are the consecutive run ending at
            # the sequence value read back afterwards.
            self._conn.executemany(_INSERT, rows)
            (last,) = self._conn.execute(_LAST_ID).fetchone()
            first = last - len(rows) + 1
            sqlite_live.advance(self._conn, first, last)
        recorded: list[HistoryEvent] = []
        for i, (ev, row) in enumerate(zip(events, rows, strict=True)):
            # A shallow copy as dataclasses.replace makes, without its per-call field walk.
            done = object.__new__(type(ev))
            done.__dict__.update(ev.__dict__)
            done.id = first + i
            done.created_at = row[-1]
            recorded.append(done)
        return recorded

    def begin_intent(self, kind: str, body: bytes) -> int:
        """Journal a write before any store is touched (``ingest/journal.py``)."""
        with self._call("journal a write"), self._transaction():
            cur = self._conn.execute(
                "INSERT INTO intents (kind, body, created_at) VALUES (?, ?, ?)",
                (kind, body, now_iso()),
            )
        return int(cur.lastrowid)

    def end_intent(self, intent: int) -> None:
        with self._call("close a journaled write"), self._transaction():
            self._conn.execute("DELETE FROM intents WHERE id = ?", (intent,))

    def open_intents(self) -> list[tuple[int, str, bytes, bool]]:
        """Writes begun and not finished, oldest first: ``(id, kind, body, recorded)``."""
        with self._call("read journaled writes"):
            rows = self._conn.execute(
                "SELECT id, kind, body, recorded FROM intents ORDER BY id"
            ).fetchall()
        return [(int(i), k, bytes(b), bool(r)) for i, k, b, r in rows]

    def delete_ids(self, ids: Sequence[int]) -> None:
        """Remove events by row id: only for undoing a write that failed midway."""
        wanted = list(ids)
        if any(isinstance(i, bool) or not isinstance(i, int) for i in wanted):
            raise ValidationError("ids", "history event ids are integers")
        if not wanted:
            return
        with self._call("delete history events"), self._transaction():
            self._conn.executemany("DELETE FROM history WHERE id = ?", [(i,) for i in wanted])
            sqlite_live.forget(self._conn)

    def sequences(self) -> dict[str, int]:
        """The last id handed out per table (events, journaled writes): every write moves
        one, so a saved index can tell whether the history moved since (index/persist.py)."""
        with self._call("read the sequences"):
            rows = self._conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
        return {str(name): int(seq) for name, seq in rows}

    def reset(self) -> None:
        with self._call("reset the history"), self._transaction():
            # A DELETE with a trigger on the table goes row by row; without it SQLite
            # drops the table's pages whole. The count is forgotten below anyway.
            self._conn.execute(f"DROP TRIGGER IF EXISTS {sqlite_live.TRIGGER}")
            self._conn.execute("DELETE FROM history")
            self._conn.execute("DELETE FROM intents")
            self._conn.execute("DELETE FROM sqlite_sequence WHERE name = 'history'")
            sqlite_live.forget(self._conn)
            self._conn.execute(sqlite_live.TRIGGER_DDL)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._checkpointer is not None:
                    self._checkpointer.close()
                self._conn.close()

    def __enter__(self) -> SQLiteHistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- reads --------------------------------------------------------------------------

    def for_target(self, target_id: str) -> list[HistoryEvent]:
        """Events for one memory/entity/relation id, oldest first."""
        if not isinstance(target_id, str):
            raise ValidationError("target_id", f"must be a string, got {type(target_id).__name__}")
        with self._call("read history"):
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM history WHERE target_id = ? ORDER BY id", (target_id,)
            ).fetchall()
        return [_event(r) for r in rows]

    def promoted_into(self, scope: Scope) -> set[str]:
        """The ids of every memory a PROMOTE event ever copied into exactly ``scope``,
        the copy deleted since or not (``lifecycle/maintain.py`` promotes each once)."""
        with self._call("read history"):
            rows = self._conn.execute(
                "SELECT details FROM history WHERE user_id = ? AND agent_id = ? AND run_id = ? "
                "AND event = 'PROMOTE'", (scope.user_id, scope.agent_id, scope.run_id),
            ).fetchall()  # fmt: skip
        return {str(json.loads(r[0]).get("promoted_from") or "") for r in rows} - {""}

    def event(self, event_id: int) -> HistoryEvent | None:
        """One event by its id (``undo_merge`` read the newest million to find it)."""
        with self._call("read history"):
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM history WHERE id = ?", (event_id,)
            ).fetchone()
        return _event(row) if row else None

    def events(self, scope: Scope | None = None, limit: int = 1000) -> list[HistoryEvent]:
        """The newest ``limit`` events whose set scope fields match, oldest first.

        ``None`` (or a ``Scope()`` with no field set) means every event.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError("limit", f"must be a positive integer, got {limit!r}")
        if scope is not None and not isinstance(scope, Scope):
            raise ValidationError("scope", f"expected a Scope, got {type(scope).__name__}")
        wanted = {k: v for k, v in (scope.params() if scope else {}).items() if v}
        # Column names come from SCOPE_FIELDS, never from the caller; values are bound.
        where = " AND ".join(f"{k} = ?" for k in wanted) or "1 = 1"
        with self._call("read history"):
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM history WHERE {where} ORDER BY id DESC LIMIT ?",
                (*wanted.values(), limit),
            ).fetchall()
        return [_event(r) for r in reversed(rows)]

    def iter_events(self, batch: int = 20_000) -> Iterator[HistoryEvent]:
        """Every event of every scope, oldest first, read ``batch`` rows at a time."""
        after = 0
        while True:
            with self._call("read history"):
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM history WHERE id > ? ORDER BY id LIMIT ?",
                    (after, batch),
                ).fetchall()
            yield from (_event(r) for r in rows)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def count(self) -> int:
        """Events of every scope."""
        with self._call("count history events"):
            (n,) = self._conn.execute("SELECT COUNT(*) FROM history").fetchone()
        return int(n)

    def live_memories(self) -> int:
        """How many memories the log says exist: added, and not deleted since."""
        with self._call("count live memories"), self._transaction():
            count = sqlite_live.live(self._conn, self._check_rows)
        self._check_rows = False  # checked once; the trigger guards the count from now on
        return count

    # --- helpers ------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        if self._checkpointer is not None:
            self._checkpointer.nudge()

    @contextmanager
    def _call(self, action: str) -> Iterator[None]:
        """Serialise use of the shared connection and translate sqlite3 errors."""
        with self._lock:
            if self._closed:
                raise BackendUnavailableError(
                    f"the history store {self._where} is closed: create a new SQLiteHistoryStore"
                )
            try:
                yield
            except GraphMemError:
                raise
            except sqlite3.OperationalError as exc:  # locked, read-only, disk full, I/O
                raise BackendUnavailableError(
                    f"cannot {action} in {self._where}: {exc} (another process holding a "
                    "long write, or a read-only or full disk?)"
                ) from exc
            except sqlite3.DatabaseError as exc:  # not a database, corrupt, schema clash
                raise ConfigError(
                    f"{self._where} is not a usable graphmem history database ({exc}): "
                    "point the history store at another file"
                ) from exc


def _text(field: str, value: object, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a string, got {type(value).__name__}")
    return value


def _row(ev: HistoryEvent, stamp: str) -> tuple[Any, ...]:
    if not isinstance(ev, HistoryEvent):
        raise ValidationError("events", f"expected HistoryEvent, got {type(ev).__name__}")
    scope = ev.scope
    if not isinstance(scope, Scope):
        raise ValidationError("scope", f"expected a Scope, got {type(scope).__name__}")
    if not isinstance(ev.event, str) or not ev.event:
        raise ValidationError("event", "must be a non-empty string such as 'ADD'")
    if not isinstance(ev.target_id, str) or not ev.target_id:
        raise ValidationError("target_id", "must be a non-empty string")
    details = ev.details
    if type(details) is dict and not details:
        details = "{}"
    else:
        try:
            details = _DETAILS(details)
        except (TypeError, ValueError) as exc:
            raise ValidationError("details", f"must be JSON-serialisable: {exc}") from None
    kind, old, new, actor, role = ev.target_kind, ev.old_value, ev.new_value, ev.actor, ev.role
    created = ev.created_at
    if not (
        type(kind) is str
        and type(actor) is str
        and type(role) is str
        and type(created) is str
        and (old is None or type(old) is str)
        and (new is None or type(new) is str)
    ):  # the uncommon path: a str subclass, or a value _text rejects with its error
        kind = _text("target_kind", kind)
        old = _text("old_value", old, optional=True)
        new = _text("new_value", new, optional=True)
        actor = _text("actor", actor)
        role = _text("role", role)
        created = _text("created_at", created)
    return (
        ev.event,
        kind,
        ev.target_id,
        old,
        new,
        actor,
        role,
        scope.user_id,
        scope.agent_id,
        scope.run_id,
        details,
        created or stamp,
    )


def _event(row: sqlite3.Row | tuple[Any, ...]) -> HistoryEvent:
    (
        row_id,
        event,
        kind,
        target_id,
        old,
        new,
        actor,
        role,
        user_id,
        agent_id,
        run_id,
        details,
        created_at,
    ) = row
    return HistoryEvent(
        event=event,
        target_id=target_id,
        scope=Scope(user_id=user_id, agent_id=agent_id, run_id=run_id),
        target_kind=kind,
        old_value=old,
        new_value=new,
        actor=actor,
        role=role,
        details=json.loads(details),
        created_at=created_at,
        id=row_id,
    )
