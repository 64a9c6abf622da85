"""Frozen settings. The environment is read only in ``Config.from_env()``.

| variable | meaning | default |
|---|---|---|
| GRAPHMEM_DATA_DIR | where the embedded stores live | ``~/.local/share/graphmem`` |
| GRAPHMEM_GRAPH | ``kuzu`` (embedded) or ``neo4j`` (Bolt server) | kuzu |
| GRAPHMEM_EMBEDDER | ``local`` (all-MiniLM-L6-v2), ``hash`` or ``openai`` | local |
| GRAPHMEM_EXTRACTOR | ``auto`` (llm when a key or base URL is set, else offline), ``offline``, ``llm`` | auto |
| GRAPHMEM_MAX_TEXT_CHARS | largest text one ``add`` accepts | 20000 |
| GRAPHMEM_CYPHER_TIMEOUT | seconds one user Cypher statement may run (``Memory.cypher``) | 5 |
| GRAPHMEM_CYPHER_MAX_ROWS | most rows one user Cypher statement may return | 10000 |
| NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD / NEO4J_DATABASE | Bolt server | bolt://localhost:7687, neo4j, graphmem-password, neo4j |
| GRAPHMEM_VECTORS | embedded vectors: ``edge`` (Qdrant Edge, in-process engine), ``local`` (qdrant-client local mode) or ``auto`` (``local`` for a data dir that already holds its files, else ``edge``) | auto |
| QDRANT_URL / QDRANT_API_KEY | Qdrant server (overrides GRAPHMEM_VECTORS); unset = embedded under the data dir | |
| OPENAI_API_KEY / OPENAI_BASE_URL / GRAPHMEM_LLM_MODEL | extraction model | , , gpt-4o-mini |
| GRAPHMEM_EMBEDDING_MODEL | model for ``openai`` embeddings | text-embedding-3-small |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ConfigError

DEFAULT_NEO4J_URI = "bolt://localhost:7687"
DEFAULT_NEO4J_USER = "neo4j"
DEFAULT_NEO4J_PASSWORD = "graphmem-password"
DEFAULT_NEO4J_DATABASE = "neo4j"
DEFAULT_SINGLE_VALUED = (
    "lives_in", "works_at", "married_to", "born_in", "located_in", "ceo_of", "age", "name",
    "job_title", "reports_to",
)  # fmt: skip
GRAPHS = ("kuzu", "neo4j")
EMBEDDERS = ("local", "hash", "openai")
EXTRACTORS = ("auto", "offline", "llm")
VECTOR_STORES = ("auto", "edge", "local")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "graphmem"


@dataclass(frozen=True)
class Config:
    data_dir: Path = field(default_factory=default_data_dir)
    graph: str = "kuzu"
    embedder: str = "local"
    extractor: str = "auto"
    vectors: str = "auto"
    max_text_chars: int = 20_000
    # Users' own Cypher (Memory.cypher): a statement past either limit is stopped with a
    # QueryError, so a cartesian MATCH cannot hang a process or a server.
    cypher_timeout: float = 5.0
    cypher_max_rows: int = 10_000
    single_valued: tuple[str, ...] = DEFAULT_SINGLE_VALUED
    # Entity resolution: cosine floor for merging a new mention into a stored entity of the
    # same type when neither name nor alias matched exactly.
    resolve_threshold: float = 0.92
    # Memory updates: stored facts at least this similar are offered to the update step.
    update_threshold: float = 0.85
    neo4j_uri: str = DEFAULT_NEO4J_URI
    neo4j_user: str = DEFAULT_NEO4J_USER
    neo4j_password: str = DEFAULT_NEO4J_PASSWORD
    neo4j_database: str = DEFAULT_NEO4J_DATABASE
    qdrant_url: str = ""
    qdrant_api_key: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str = ""
    llm_api_key: str = ""
    embedding_model: str = "text-embedding-3-small"

    def __post_init__(self) -> None:
        errors = []
        if self.graph not in GRAPHS:
            errors.append(f"graph={self.graph!r} (choose one of {', '.join(GRAPHS)})")
        if self.embedder not in EMBEDDERS:
            errors.append(f"embedder={self.embedder!r} (choose one of {', '.join(EMBEDDERS)})")
        if self.extractor not in EXTRACTORS:
            errors.append(f"extractor={self.extractor!r} (choose one of {', '.join(EXTRACTORS)})")
        if self.vectors not in VECTOR_STORES:
            errors.append(f"vectors={self.vectors!r} (choose one of {', '.join(VECTOR_STORES)})")
        if not isinstance(self.max_text_chars, int) or self.max_text_chars < 1:
            errors.append(f"max_text_chars={self.max_text_chars!r} (a positive integer)")
        if isinstance(self.cypher_timeout, bool) or not isinstance(
            self.cypher_timeout, int | float
        ) or not 0 < self.cypher_timeout <= 3600:
            errors.append(f"cypher_timeout={self.cypher_timeout!r} (seconds, in (0, 3600])")
        if isinstance(self.cypher_max_rows, bool) or not isinstance(
            self.cypher_max_rows, int
        ) or self.cypher_max_rows < 1:
            errors.append(f"cypher_max_rows={self.cypher_max_rows!r} (a positive integer)")
        for name in ("resolve_threshold", "update_threshold"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 < value <= 1.0:
                errors.append(f"{name}={value!r} (a number in (0, 1])")
        if errors:
            raise ConfigError("invalid graphmem settings: " + "; ".join(errors))
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_api_key or self.llm_base_url)

    @property
    def extractor_choice(self) -> str:
        if self.extractor != "auto":
            return self.extractor
        return "llm" if self.llm_configured else "offline"

    @property
    def vector_store_choice(self) -> str:
        """``server``, ``edge`` or ``local``: where the vectors of this configuration live."""
        if self.qdrant_url:
            return "server"
        if self.vectors != "auto":
            return self.vectors
        # A data directory written by qdrant-client's local mode keeps it: no silent move.
        old, new = self.data_dir / "vectors", self.data_dir / "qdrant-edge"
        return "local" if old.exists() and not new.exists() else "edge"

    def with_(self, **changes) -> Config:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Config:
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        values = {
            "data_dir": Path(get("GRAPHMEM_DATA_DIR", str(default_data_dir()))),
            "graph": get("GRAPHMEM_GRAPH", "kuzu"),
            "embedder": get("GRAPHMEM_EMBEDDER", "local"),
            "extractor": get("GRAPHMEM_EXTRACTOR", "auto"),
            "vectors": get("GRAPHMEM_VECTORS", "auto"),
            "neo4j_uri": get("NEO4J_URI", DEFAULT_NEO4J_URI),
            "neo4j_user": get("NEO4J_USER", DEFAULT_NEO4J_USER),
            "neo4j_password": get("NEO4J_PASSWORD", DEFAULT_NEO4J_PASSWORD),
            "neo4j_database": get("NEO4J_DATABASE", DEFAULT_NEO4J_DATABASE),
            "qdrant_url": get("QDRANT_URL"),
            "qdrant_api_key": get("QDRANT_API_KEY"),
            "llm_model": get("GRAPHMEM_LLM_MODEL", "gpt-4o-mini"),
            "llm_base_url": get("OPENAI_BASE_URL"),
            "llm_api_key": get("OPENAI_API_KEY"),
            "embedding_model": get("GRAPHMEM_EMBEDDING_MODEL", "text-embedding-3-small"),
        }
        raw_max = get("GRAPHMEM_MAX_TEXT_CHARS")
        if raw_max:
            try:
                values["max_text_chars"] = int(raw_max)
            except ValueError:
                raise ConfigError(
                    f"GRAPHMEM_MAX_TEXT_CHARS={raw_max!r} is not an integer"
                ) from None
        for var, key, kind in (("GRAPHMEM_CYPHER_TIMEOUT", "cypher_timeout", float),
                               ("GRAPHMEM_CYPHER_MAX_ROWS", "cypher_max_rows", int)):
            raw = get(var)
            if raw:
                try:
                    values[key] = kind(raw)
                except ValueError:
                    raise ConfigError(f"{var}={raw!r} is not a {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
