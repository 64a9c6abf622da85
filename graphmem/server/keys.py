"""API keys for ``graphmem serve``: created once, stored hashed, checked in constant time.

A key reads ``gm_<id>_<secret>``. The id (12 hex characters) finds the row; the secret
(32 random bytes) is never stored, only its SHA-256. A slow KDF buys nothing here: it
protects guessable passwords, and a 256-bit random secret cannot be guessed. The store
is one SQLite file under the data directory, shared with ``graphmem keys`` commands run
while the server is up, so a revocation holds from the next request on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..errors import AuthError, StorageError, ValidationError
from ..models import SCOPE_FIELDS, Scope, now_iso, to_iso

KEY_PREFIX = "gm_"
_ID = r"[0-9a-f]{12}"  # secrets.token_hex(6), as create makes it
_KEY = re.compile(rf"^gm_({_ID})_([A-Za-z0-9_-]{{20,100}})$")
_KEY_ID = re.compile(_ID)
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_MAX_SECONDS = 100 * 366 * 86_400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    user_id TEXT NOT NULL DEFAULT '',
    agent_id TEXT NOT NULL DEFAULT '',
    run_id TEXT NOT NULL DEFAULT '',
    admin INTEGER NOT NULL DEFAULT 0,
    label TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL DEFAULT '',
    last_used_at TEXT NOT NULL DEFAULT '',
    request_count INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT NOT NULL DEFAULT ''
)
"""
_COLUMNS = ("id", "user_id", "agent_id", "run_id", "admin", "label", "created_at",
            "expires_at", "last_used_at", "request_count", "revoked_at")  # fmt: skip


@dataclass(frozen=True)
class KeyInfo:
    """Everything known about a key except its secret."""

    id: str
    user_id: str = ""
    agent_id: str = ""
    run_id: str = ""
    admin: bool = False
    label: str = ""
    created_at: str = ""
    expires_at: str = ""
    last_used_at: str = ""
    request_count: int = 0
    revoked_at: str = ""

    @property
    def scope(self) -> Scope:
        return Scope(self.user_id, self.agent_id, self.run_id)

    @property
    def scoped(self) -> bool:
        return any(self.scope.params().values())

    def expired(self, now: str) -> bool:
        return bool(self.expires_at) and self.expires_at <= now


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``15m``, ``90s``, ``2w`` as a timedelta."""
    match = _DURATION.match(text.strip().lower()) if isinstance(text, str) else None
    if not match or int(match[1]) <= 0:
        raise ValidationError("expires", f"{text!r}: give a positive number and s, m, h, d or w")
    seconds = int(match[1]) * _UNITS[match[2]]
    if seconds > _MAX_SECONDS:  # timedelta (and a date) overflow not far beyond
        raise ValidationError("expires", f"{text!r}: a key may last at most 100 years")
    return timedelta(seconds=seconds)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """The API keys of one server, in a SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One connection under a lock: the server checks keys from several threads.
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            # Usage counters are written on every request; WAL without a sync per commit
            # keeps that well under a millisecond, and losing the last counts in a power
            # cut is fine.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:  # a directory, a text file, no permission
            raise StorageError(self.path, f"the API key store {self.path} cannot be used "
                               f"({type(exc).__name__}: {exc}); give --keys a path for a new "
                               "or existing key store file, or --data-dir the server's data "
                               "directory") from None  # fmt: skip

    @classmethod
    def in_data_dir(cls, data_dir: str | Path) -> KeyStore:
        return cls(cls.path_in(data_dir))

    @staticmethod
    def path_in(data_dir: str | Path) -> Path:
        """Where a data dir keeps its key store."""
        return Path(data_dir) / "keys.sqlite"

    def create(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        run_id: str | None = None,
        admin: bool = False,
        expires_in: timedelta | None = None,
        expires_at: str | datetime | None = None,
        label: str = "",
    ) -> tuple[str, KeyInfo]:
        """A new key: ``(the key itself, shown this once, its KeyInfo)``."""
        given = (user_id, agent_id, run_id)
        scope = Scope.of(*given) if any(v is not None for v in given) else Scope()
        if not admin and scope == Scope():
            raise ValidationError(
                "scope", "a key needs a user_id, agent_id or run_id, or admin rights"
            )
        if expires_in is not None:
            expires_at = datetime.now(UTC) + expires_in
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        info = KeyInfo(key_id, *scope.params().values(), admin=bool(admin), label=label,
                       created_at=now_iso(), expires_at=to_iso(expires_at))  # fmt: skip
        with self._lock:
            self._db.execute(
                "INSERT INTO api_keys (id, secret_sha256, user_id, agent_id, run_id, admin, "
                "label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (info.id, _digest(secret), info.user_id, info.agent_id, info.run_id,
                 int(info.admin), info.label, info.created_at, info.expires_at),
            )  # fmt: skip
        return f"{KEY_PREFIX}{key_id}_{secret}", info

    def entries(self) -> list[KeyInfo]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM api_keys ORDER BY created_at, id"
            ).fetchall()
        return [_info(row) for row in rows]

    def revoke(self, key_id: str) -> KeyInfo:
        whole = _KEY.match(key_id) if isinstance(key_id, str) else None
        key_id = whole[1] if whole else key_id  # the key itself, pasted: its id
        if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
            # Not echoed: it may be a mistyped key, or not text at all.
            raise ValidationError("id", "not a key id: give the 12 hex characters of its id "
                                  "column in `graphmem keys list`")  # fmt: skip
        with self._lock:
            done = self._db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = ''",
                (now_iso(), key_id),
            ).rowcount
        found = [k for k in self.entries() if k.id == key_id]
        if not found:
            raise ValidationError("id", f"no key {key_id!r}: see `graphmem keys list`")
        if not done and not found[0].revoked_at:
            raise ValidationError("id", f"key {key_id!r} could not be revoked")
        return found[0]

    def verify(self, presented: str | None) -> KeyInfo:
        """The key's info, its use counted; ``AuthError`` for anything not a live key.

        The message never repeats what was presented: error texts end up in logs.
        """
        # A header value excludes the blanks around it (RFC 9110 5.5); uvicorn keeps them.
        match = _KEY.match((presented or "").strip(" \t"))
        if not match:
            raise AuthError("missing or malformed API key: send 'Authorization: Bearer gm_...'")
        key_id, secret = match[1], match[2]
        with self._lock:
            row = self._db.execute(
                f"SELECT secret_sha256, {', '.join(_COLUMNS)} FROM api_keys WHERE id = ?",
                (key_id,),
            ).fetchone()
            # Compared even for an unknown id, against a dummy, so the answer takes as long.
            stored = row[0] if row else _digest("")
            good = hmac.compare_digest(_digest(secret), stored) and row is not None
            info = _info(row[1:]) if good else None
            now = now_iso()
            if info is None or info.revoked_at or info.expired(now):
                raise AuthError("API key not accepted (unknown, revoked or expired)")
            self._db.execute(
                "UPDATE api_keys SET request_count = request_count + 1, last_used_at = ? "
                "WHERE id = ?",
                (now, key_id),
            )
        return info

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _info(row: tuple) -> KeyInfo:
    data = dict(zip(_COLUMNS, row, strict=True))
    data["admin"] = bool(data["admin"])
    return KeyInfo(**data)


__all__ = ["SCOPE_FIELDS", "KeyInfo", "KeyStore", "parse_duration"]
