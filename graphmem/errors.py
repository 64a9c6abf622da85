"""The one exception tree of graphmem.

Every error graphmem raises on purpose is a ``GraphMemError``; driver and client
exceptions are translated at the edge of the module that owns the driver, so callers
never need to import ``kuzu``, ``neo4j``, ``qdrant_client`` or ``openai`` to catch them::

    GraphMemError
    ├── ConfigError                 bad settings, unknown provider name, embedder mismatch
    ├── ValidationError             bad input from the caller (field named in .field)
    │   └── ScopeError              missing, empty or malformed user_id / agent_id / run_id
    ├── NotFoundError               a memory or entity id that does not exist in the scope
    ├── QueryError                  a Cypher statement failed (malformed, refused as a write)
    │   ├── ReadOnlyError           a write statement sent through a read-only path
    │   └── ConflictError           a transient conflict (deadlock, lock timeout): retry may work
    ├── BackendUnavailableError     a store is down, locked by another process, or refused login
    │   └── StorageError            the data directory cannot hold the stores: not a directory,
    │                               not writable, nearly full, or a store file is damaged
    ├── StoreDriftError             the graph, vector and history stores disagree (doctor --repair)
    ├── EmbedderError               an embedder returned something other than one vector per text
    ├── UnsupportedError            a capability the chosen backend does not have
    ├── LLMError                    the model endpoint failed or returned unusable output
    │   └── ExtractionError         output that does not fit the extraction schema (.raw kept)
    ├── AuthError                   a graphmem server refused the API key, or the key may not do this
    └── RateLimitError              a graphmem server's per-key rate limit (.retry_after seconds)

``closest`` is the "did you mean ...?" that REST and MCP errors offer for a misspelt name.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class GraphMemError(Exception):
    """Base of every error graphmem raises on purpose."""


class ConfigError(GraphMemError):
    """A setting is missing, unknown or inconsistent with stored data."""


class ValidationError(GraphMemError, ValueError):
    """Caller input was rejected before anything was written.

    ``field`` names the offending argument so programs can react to it; ``detail`` is
    what is wrong with it, for a caller that names the field its own way.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field, self.detail = field, message
        super().__init__(f"{field}: {message}")


class ScopeError(ValidationError):
    """A scope id is missing, empty or malformed."""


class NotFoundError(GraphMemError, KeyError):
    """The id does not exist in the given scope (other scopes are never consulted)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class QueryError(GraphMemError):
    """A Cypher statement failed; ``query_name`` is set for the engine's own queries."""

    def __init__(self, message: str, *, query_name: str | None = None) -> None:
        self.query_name = query_name
        super().__init__(message)


class ReadOnlyError(QueryError):
    """A statement that writes was sent through a read-only path."""


class ConflictError(QueryError):
    """A transient server-side conflict; the same work may succeed when run again."""


class CommitUncertainError(QueryError):
    """A store's commit failed in a way that may have left the transaction applied (Kuzu
    raising from the checkpoint after its log was written, a connection lost during a
    Neo4j commit). The writer keeps the other stores' side and finishes the write from its
    journal instead of undoing it, so no store is left holding a write the others lack."""


class BackendUnavailableError(GraphMemError):
    """A store cannot be reached, is locked by another process, or refused credentials."""


class StoreDriftError(GraphMemError):
    """The stores of one data directory disagree (a store missing, emptied or damaged).

    ``graphmem doctor`` says how; ``graphmem doctor --repair`` mends it.
    """


class StorageError(BackendUnavailableError):
    """The data directory cannot safely hold the stores; ``path`` names what was checked.

    Raised before the path is handed to an engine, because some engines do not fail
    cleanly there: a nearly full disk kills the process with SIGBUS inside the vector
    store, and a damaged graph file can crash it inside Kuzu.
    """

    def __init__(self, path: object, message: str) -> None:
        self.path = path
        super().__init__(message)


class EmbedderError(GraphMemError):
    """An embedder broke its contract: wrong count, wrong dimension, or not numbers."""


class UnsupportedError(GraphMemError):
    """The chosen backend lacks a capability this call needs."""


class LLMError(GraphMemError):
    """The model endpoint failed after retries, or refused the request."""


class ExtractionError(LLMError):
    """The model answered, but not in the extraction schema. ``raw`` keeps its answer."""

    def __init__(self, message: str, *, raw: str = "") -> None:
        self.raw = raw
        super().__init__(message)


class AuthError(GraphMemError):
    """A graphmem server refused the request's API key (missing, unknown, revoked, expired),
    or the key's scope or rights do not allow the call."""


class RateLimitError(GraphMemError):
    """A graphmem server's per-key rate limit was reached; retry after ``retry_after`` s."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        self.retry_after = retry_after
        super().__init__(message)


def closest(name: str, known: Sequence[str]) -> str | None:
    """The one of ``known`` a caller most likely meant by ``name``, for an error's "did you
    mean ...?": the same but for case, else the nearest spelling (``difflib``, cutoff
    0.6); None when none is near. ``known``'s order breaks ties."""
    same = [k for k in known if k.casefold() == name.casefold()]
    return (same or difflib.get_close_matches(name, known, n=1, cutoff=0.6) or [None])[0]


__all__ = [
    "AuthError",
    "BackendUnavailableError",
    "ConfigError",
    "ConflictError",
    "EmbedderError",
    "ExtractionError",
    "GraphMemError",
    "LLMError",
    "NotFoundError",
    "QueryError",
    "RateLimitError",
    "ReadOnlyError",
    "ScopeError",
    "StoreDriftError",
    "StorageError",
    "UnsupportedError",
    "ValidationError",
]
