"""Build stores from a ``Config`` through explicit name -> builder tables.

An unknown name is a ``ConfigError`` (``Config`` checks it), never a silent default.
Backend modules are imported only when chosen, so a missing optional driver only matters
to those who ask for it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import Config, check_names
from .datadir import check_data_dir
from .errors import BackendUnavailableError, ConfigError
from .index.names import FILE as NAMES_FILE
from .stores.base import Embedder, Extractor, GraphStore, Tracer


def _kuzu(config: Config, tracer: Tracer | None) -> GraphStore:
    from .stores.kuzu import KuzuGraphStore

    return KuzuGraphStore(config.data_dir / "graph", tracer=tracer,
                          buffer_pool_mb=config.graph_buffer_pool_mb,
                          checkpoint_mb=config.graph_checkpoint_mb)  # fmt: skip


def _neo4j(config: Config, tracer: Tracer | None) -> GraphStore:
    from .stores.neo4j import Neo4jGraphStore

    return Neo4jGraphStore(
        config.neo4j_uri,
        config.neo4j_user,
        config.neo4j_password,
        database=config.neo4j_database or None,
        tracer=tracer,
    )


def _local(config: Config) -> Embedder:
    from .embed.local import MiniLMEmbedder

    return MiniLMEmbedder()


def _hash(config: Config) -> Embedder:
    from .embed.local import HashingEmbedder

    return HashingEmbedder()


def _openai_embedder(config: Config) -> Embedder:
    from .embed.openai import OpenAIEmbedder

    return OpenAIEmbedder(
        config.embedding_model,
        base_url=config.llm_base_url or None,
        api_key=config.llm_api_key or None,
        timeout=config.llm_timeout_s,
        deadline=config.llm_deadline_s,
        max_retries=config.llm_max_retries,
    )


GRAPHS: dict[str, Callable[[Config, Tracer | None], GraphStore]] = {"kuzu": _kuzu, "neo4j": _neo4j}
EMBEDDERS: dict[str, Callable[[Config], Embedder]] = {
    "local": _local,
    "hash": _hash,
    "openai": _openai_embedder,
}


def build_vectors(config: Config):
    choice = config.vector_store_choice
    if choice == "edge":
        from .stores.qdrant_edge import EdgeVectorStore

        return EdgeVectorStore(config.data_dir / "qdrant-edge")
    from .stores.qdrant import QdrantVectorStore

    if choice == "server":
        return QdrantVectorStore(url=config.qdrant_url, api_key=config.qdrant_api_key or None)
    return QdrantVectorStore(path=config.data_dir / "vectors")


def build_history(config: Config):
    from .stores.sqlite_history import SQLiteHistoryStore

    return SQLiteHistoryStore(config.data_dir / "history.sqlite")


def build_extractor(config: Config) -> Extractor:
    if config.extractor_choice == "llm":
        from .llm.client import OpenAIChat
        from .llm.extract import LLMExtractor

        chat = OpenAIChat(
            config.llm_model,
            base_url=config.llm_base_url or None,
            api_key=config.llm_api_key or None,
            timeout=config.llm_timeout_s,
            deadline=config.llm_deadline_s,
            max_retries=config.llm_max_retries,
            cache=config.data_dir / "llm-cache.sqlite",
            use_tools=config.llm_use_tools,
            temperature=config.llm_temperature,
        )
        return LLMExtractor(chat)
    from .ingest.offline import OfflineExtractor

    return OfflineExtractor()


class DataDirLock:
    """One writer per data directory: a second process gets a clear error, not corruption."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / ".lock"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise BackendUnavailableError(
                f"the data directory {data_dir} is in use by another graphmem process; close it, "
                "use another --data-dir, or move to the Neo4j and Qdrant servers for several writers"
            ) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, str(os.getpid()).encode())

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


# What a store object passed to Memory.open must have, at least (stores/base.py).
_NEEDS = {
    "graph": ("run", "write", "transaction", "close"),
    "vectors": ("open", "upsert", "search", "scroll", "close"),
    "history": ("record", "for_target", "close"),
    "embedder": ("embed", "dim", "name"),
    "extractor": ("extract",),
}


def configured(
    base: Config | None, data_dir: Any, tracer: Any, settings: dict[str, Any]
) -> tuple[Config, dict[str, Any]]:
    """``Memory.open``'s arguments read: the ``Config`` it runs with (``settings`` override
    ``base``'s fields) and the store objects passed among the settings, each checked."""
    check_names(settings, extra=("history",))
    if tracer is not None and not callable(tracer):  # else a TypeError deep in a store
        raise ConfigError(f"tracer={tracer!r} is not callable; pass a function taking "
                          "(name, statement, params), or None")  # fmt: skip
    objects = {k: settings.pop(k) for k in list(settings)
               if k in ("graph", "vectors", "history", "embedder", "extractor")
               and not isinstance(settings[k], str)}  # fmt: skip
    _check_objects(objects)
    base = base or Config()
    if data_dir is not None:
        settings["data_dir"] = data_dir  # Config checks and converts it
    return (replace(base, **settings) if settings else base), objects


def saved_paths(config: Config, objects: Mapping[str, Any]) -> tuple[Path | None, Path | None]:
    """Where the indexes and the relation names' vectors are saved between opens (None:
    not saved). Indexes only where this process owns every store it indexes; the names'
    vectors depend on the embedder only, so they are kept with any stores."""
    owned = "vectors" not in objects and config.vector_store_choice != "server"
    snapshots = config.data_dir / "index-snapshot" if owned else None
    return snapshots, (config.data_dir / NAMES_FILE if config.persist_indexes else None)


def _check_objects(objects: Mapping[str, Any]) -> None:
    for kind, value in objects.items():
        missing = [a for a in _NEEDS[kind] if not hasattr(value, a)]
        if missing:
            raise ConfigError(
                f"{kind}={value!r} is neither a name nor a {kind} object (it has no "
                f"{', '.join(missing)}); pass a name such as {kind}='...' or an object "
                "following graphmem.stores.base"
            )


def build_all(config: Config, tracer: Tracer | None = None, **given: Any) -> dict[str, Any]:
    """Stores for ``Memory``: anything passed in ``given`` is used as is."""
    parts: dict[str, Any] = {}
    # The history log (and the model cache) live under the data dir whatever the backends.
    if not all(k in given for k in ("graph", "vectors", "history")):
        check_data_dir(config.data_dir, config.min_free_disk_mb)
    embedded = config.graph == "kuzu" or not config.qdrant_url
    if embedded and "lock" not in given:
        parts["lock"] = DataDirLock(config.data_dir)
    try:
        parts["graph"] = given.get("graph") or GRAPHS[config.graph](config, tracer)
        parts["vectors"] = given.get("vectors") or build_vectors(config)
        parts["history"] = given.get("history") or build_history(config)
        parts["embedder"] = given.get("embedder") or EMBEDDERS[config.embedder](config)
        parts["extractor"] = given.get("extractor") or build_extractor(config)
    except BaseException:
        release(parts, given)
        raise
    return parts


def release(parts: dict[str, Any], given: dict[str, Any]) -> None:
    """Close what ``build_all`` opened (not what the caller passed in), then the lock."""
    for key in ("graph", "vectors", "history"):
        if key in parts and key not in given:
            parts[key].close()
    if "lock" in parts:
        parts["lock"].release()
