"""An on-disk cache of LLM answers, so re-ingesting the same text costs no model call.

Benchmarks and re-runs send the same prompts again and again; a hit returns the stored
answer and sends nothing. The key is the sha256 of everything that shapes the answer
(model, messages, schema, tool name), so a changed prompt or schema never hits a stale
entry. Only answers that passed validation are stored (see ``OpenAIChat.complete_json``):
a malformed answer is never served twice.

SQLite is used because it is in the standard library, survives crashes mid-write, and
lets several processes share one file (WAL mode).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..models import now_iso

_SCHEMA_VERSION = 1  # bump when the key recipe changes, so old entries stop matching


def cache_key(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    schema: Mapping[str, Any] | None = None,
    tool: str = "",
) -> str:
    """The hex sha256 identifying one request: same inputs, same key, on every machine."""
    blob = json.dumps(
        {
            "v": _SCHEMA_VERSION,
            "model": model,
            "messages": list(messages),
            "schema": schema,
            "tool": tool,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class LLMCache:
    """``get``/``put`` of JSON answers by key, in a SQLite file; ``path=None`` disables it.

    ``hits`` and ``misses`` count lookups made through this object (not the file's history).
    Safe to share between threads.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self._db = self._open(self.path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One connection guarded by our lock: simpler than a connection per thread.
            db = sqlite3.connect(path, check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS answers ("
                " key TEXT PRIMARY KEY, model TEXT NOT NULL, answer TEXT NOT NULL,"
                " created_at TEXT NOT NULL)"
            )
            db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot open the LLM cache at {path}: {exc}. Give a writable file path, "
                "or cache=None to run without a cache."
            ) from exc
        return db

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored answer, or None (always None when disabled)."""
        if self._db is None:
            return None
        with self._lock:
            row = self._db.execute("SELECT answer FROM answers WHERE key = ?", (key,)).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
        return json.loads(row[0])

    def put(self, key: str, answer: Mapping[str, Any], *, model: str = "") -> None:
        """Store (or replace) the answer for ``key``; a no-op when disabled."""
        if self._db is None:
            return
        # ASCII escapes: a lone surrogate in some field of the answer (an alias, a key
        # the model added) cannot be encoded as UTF-8 for SQLite, and raised there.
        text = json.dumps(answer, ensure_ascii=True, sort_keys=True)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO answers (key, model, answer, created_at) VALUES (?,?,?,?)",
                (key, model, text, now_iso()),
            )
            self._db.commit()

    def delete(self, key: str) -> None:
        if self._db is None:
            return
        with self._lock:
            self._db.execute("DELETE FROM answers WHERE key = ?", (key,))
            self._db.commit()

    def clear(self) -> None:
        """Drop every stored answer (counters are kept)."""
        if self._db is None:
            return
        with self._lock:
            self._db.execute("DELETE FROM answers")
            self._db.commit()

    def __len__(self) -> int:
        if self._db is None:
            return 0
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
                self._db = None

    def __enter__(self) -> LLMCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LLMCache({str(self.path) if self.path else None!r}, hits={self.hits})"


def open_cache(cache: LLMCache | str | os.PathLike[str] | None) -> LLMCache:
    """Accept what users pass as ``cache=``: an ``LLMCache``, a file path, or None (disabled)."""
    if isinstance(cache, LLMCache):
        return cache
    if cache is None or isinstance(cache, str | os.PathLike):
        return LLMCache(cache)
    raise ConfigError(f"cache must be a file path, an LLMCache or None, got {type(cache).__name__}")
