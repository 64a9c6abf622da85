"""graphmem: long-term memory for LLM agents, kept as a knowledge graph and as vectors at once.

Start with ``Memory.open(data_dir)`` (embedded Kuzu + Qdrant + SQLite, offline extraction
and embeddings) or ``Memory.from_env()``; see README.md.
"""

from .aio import AsyncMemory
from .client import AsyncClient, Client
from .config import Config
from .errors import (
    AuthError,
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    EmbedderError,
    ExtractionError,
    GraphMemError,
    LLMError,
    NotFoundError,
    QueryError,
    RateLimitError,
    ReadOnlyError,
    ScopeError,
    StorageError,
    StoreDriftError,
    UnsupportedError,
    ValidationError,
)
from .memory import AddResult, Memory
from .models import Entity, Fact, HistoryEvent, Hit, PathStep, Relation, Scope

__version__ = "0.1.0"

__all__ = [
    "AddResult",
    "AsyncClient",
    "AsyncMemory",
    "AuthError",
    "BackendUnavailableError",
    "Client",
    "Config",
    "ConfigError",
    "ConflictError",
    "EmbedderError",
    "Entity",
    "ExtractionError",
    "Fact",
    "GraphMemError",
    "HistoryEvent",
    "Hit",
    "LLMError",
    "Memory",
    "NotFoundError",
    "PathStep",
    "QueryError",
    "RateLimitError",
    "ReadOnlyError",
    "Relation",
    "Scope",
    "ScopeError",
    "StorageError",
    "StoreDriftError",
    "UnsupportedError",
    "ValidationError",
]
