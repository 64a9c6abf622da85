"""Frozen settings. The environment is read only in ``Config.from_env()``.

| variable | meaning | default |
|---|---|---|
| GRAPHMEM_DATA_DIR | where the embedded stores live | ``~/.local/share/graphmem`` |
| GRAPHMEM_GRAPH | ``kuzu`` (embedded) or ``neo4j`` (Bolt server) | kuzu |
| GRAPHMEM_EMBEDDER | ``local`` (all-MiniLM-L6-v2), ``hash`` or ``openai`` | local |
| GRAPHMEM_EXTRACTOR | ``auto`` (llm when a key or base URL is set, else offline), ``offline``, ``llm`` | auto |
| GRAPHMEM_MAX_TEXT_CHARS | largest text one ``add`` accepts (and one fact the model writes) | 20000 |
| GRAPHMEM_MAX_EXTRACTED_ITEMS | most facts, entities or relations one extraction may return | 200 |
| GRAPHMEM_LLM_TIMEOUT_S / GRAPHMEM_LLM_MAX_RETRIES | seconds a model request waits to connect and for each piece of its answer; retries after the first attempt | 30, 4 |
| GRAPHMEM_LLM_DEADLINE_S | seconds one model request may take in all, however its answer arrives | 300, or the timeout if longer |
| GRAPHMEM_LLM_USE_TOOLS | ``1``: the answer's schema is a forced tool call; ``0``: it goes in the prompt (servers without tool calling) | 1 |
| GRAPHMEM_LLM_TEMPERATURE | sampling temperature sent to the model, 0-2; ``default`` sends none (models that accept only their own) | 0 |
| GRAPHMEM_MIN_FREE_DISK_MB | free space the data dir's disk must have before the stores open | 64 |
| GRAPHMEM_CYPHER_TIMEOUT | seconds one user Cypher statement may run (``Memory.cypher``) | 5 |
| GRAPHMEM_CYPHER_MAX_ROWS | most rows one user Cypher statement may return | 10000 |
| NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD / NEO4J_DATABASE | Bolt server | bolt://localhost:7687, neo4j, graphmem-password, neo4j |
| GRAPHMEM_VECTORS | embedded vectors: ``edge`` (Qdrant Edge, in-process engine), ``local`` (qdrant-client local mode) or ``auto`` (``local`` for a data dir that already holds its files, else ``edge``) | auto |
| QDRANT_URL / QDRANT_API_KEY | Qdrant server (overrides GRAPHMEM_VECTORS); unset = embedded under the data dir | |
| OPENAI_API_KEY / OPENAI_BASE_URL / GRAPHMEM_LLM_MODEL | extraction model | , , gpt-4o-mini |
| GRAPHMEM_EMBEDDING_MODEL | model for ``openai`` embeddings | text-embedding-3-small |
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_NEO4J_URI = "bolt://localhost:7687"
DEFAULT_NEO4J_USER = "neo4j"
DEFAULT_NEO4J_PASSWORD = "graphmem-password"
DEFAULT_NEO4J_DATABASE = "neo4j"
DEFAULT_SINGLE_VALUED = (
    "lives_in", "works_at", "married_to", "born_in", "located_in", "ceo_of", "age", "name",
    "job_title", "reports_to", "favorite_*",
)  # fmt: skip
_UNSENDABLE = re.compile("[\x00-\x20\x7f\ud800-\udfff]")  # in a URL: never sendable
_MOST_MB = 2**42  # 4 exabytes: past any machine, and 2**62 bytes fit in 64 bits
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
    cypher_max_memory_mb: int = 2048  # a scoped statement's child process, past its copy
    # The model's output is held to the caller's limits: each fact to max_text_chars, and
    # each list (facts, entities, relations) of one extraction to this many items.
    max_extracted_items: int = 200
    # Relations that hold one value at a time: a new one ends the old ("lives_in"), and a
    # name ending in "*" covers every name it starts ("favorite_*": favorite_band...).
    single_valued: tuple[str, ...] = DEFAULT_SINGLE_VALUED
    # Entity resolution: cosine floor for merging a new mention into a stored entity of the
    # same type when neither name nor alias matched exactly.
    resolve_threshold: float = 0.92
    # Memory updates: stored facts at least this similar are offered to the update step.
    update_threshold: float = 0.85
    neo4j_uri: str = DEFAULT_NEO4J_URI
    neo4j_user: str = DEFAULT_NEO4J_USER
    # Secrets are left out of repr(config): a logged or printed config showed them.
    neo4j_password: str = field(default=DEFAULT_NEO4J_PASSWORD, repr=False)
    neo4j_database: str = DEFAULT_NEO4J_DATABASE
    qdrant_url: str = ""
    qdrant_api_key: str = field(default="", repr=False)
    llm_model: str = "gpt-4o-mini"
    llm_base_url: str = ""
    llm_api_key: str = field(default="", repr=False)
    embedding_model: str = "text-embedding-3-small"
    # One model request waits this long to connect and for each next piece of its answer
    # (httpx's timeouts: a server trickling its answer byte by byte can hold it longer);
    # a timeout, rate limit or 5xx is retried this many times.
    llm_timeout_s: float = 30.0
    # ... and this long in all: a server trickling its answer is cut off here (llm/deadline.py).
    # None: 300 s, or llm_timeout_s where that is longer.
    llm_deadline_s: float | None = None
    llm_max_retries: int = 4
    # Ask for the answer as a forced tool call (False: the schema goes into the prompt, for
    # servers without tool calling), at this temperature (None: send none, for models that
    # accept only their own). A server that refuses either in words graphmem knows is asked
    # again without it (llm/client.py); these settings serve the ones that word it otherwise.
    llm_use_tools: bool = True
    llm_temperature: float | None = 0.0
    # Qdrant Edge maps files it has not yet written (~19 MB for a new data dir): on a disk
    # with less room the process dies with SIGBUS, so the stores do not open below this.
    min_free_disk_mb: int = 64
    # Memory lifecycle (graphmem/lifecycle). Default time to live of a new memory, per
    # memory type ({"episodic": "30d"}) and per scope kind ({"run": "1d"}; a memory's kind
    # is its narrowest id: run, else agent, else user), as "12h"/"7d" or seconds; where
    # both apply the shorter wins, and an explicit ttl/expires_at wins over both.
    ttl_by_type: dict[str, Any] = field(default_factory=dict)
    ttl_by_scope: dict[str, Any] = field(default_factory=dict)
    # Archival by maintain(): memories older than this many days (0: off), less important
    # than archive_importance_below and, if archive_never_accessed, never read.
    archive_after_days: float = 0.0
    archive_importance_below: float = 0.3
    archive_never_accessed: bool = True
    # Promotion by maintain(): a run-scoped memory read at least this often, or at least
    # this important, is copied to its user/agent scope (0 turns either test off).
    promote_min_access: int = 0
    promote_min_importance: float = 0.0
    # Count reads (search, get) per memory, written in the background every
    # access_flush_s seconds (lifecycle/access.py).
    track_access: bool = True
    access_flush_s: float = 5.0
    # Keep the in-process search indexes on disk at close (<data_dir>/index-snapshot), so
    # the next open loads them instead of rebuilding them from the stores (index/persist.py),
    # and the relation names' vectors (<data_dir>/relation-names.npz, index/names.py).
    persist_indexes: bool = True
    # In-process search indexes held at once per collection (facts, entities), one per
    # scope, least recently used dropped (rebuilt or reloaded when next asked for). Each
    # costs ~2-7 KB per memory of its scope: lower this where many users share a data dir.
    index_max_scopes: int = 16
    # Kuzu's page cache, in MB (0: Kuzu's own default, 80% of the machine's memory). Pages
    # it has read stay resident, so without a bound a large graph grows the process's RSS.
    graph_buffer_pool_mb: int = 1024
    # Kuzu writes its log into the graph file once the log passes this many MB (0: Kuzu's
    # own 16 MB). Each of those checkpoints rewrites the regions that changed, and the file
    # keeps much of the space they leave: 300k memories left a 1.6 GB graph file at 16 MB,
    # 0.47 GB at 64 MB, ingested in 252 s against 329 (benchmarks/results/speed/1m/).
    graph_checkpoint_mb: int = 64
    # After this many memories written since the stores were opened (or last settled),
    # the next search first hands back what the writes filled and reads do not need:
    # Kuzu's page cache (its database closed and opened again) and Qdrant Edge's loaded
    # shards (closed; each loads again on its next use). 0: never; ``Memory.settle()``
    # does it on demand. At 1M memories this was ~1 GB of the process's RSS (issue 16).
    settle_after_writes: int = 100_000

    def __post_init__(self) -> None:
        errors = _type_errors(self)
        if errors:
            raise ConfigError("invalid graphmem settings: " + "; ".join(errors))
        if self.graph not in GRAPHS:
            errors.append(f"graph={self.graph!r} (choose one of {', '.join(GRAPHS)})")
        if self.embedder not in EMBEDDERS:
            errors.append(f"embedder={self.embedder!r} (choose one of {', '.join(EMBEDDERS)})")
        if self.extractor not in EXTRACTORS:
            errors.append(f"extractor={self.extractor!r} (choose one of {', '.join(EXTRACTORS)})")
        if self.vectors not in VECTOR_STORES:
            errors.append(f"vectors={self.vectors!r} (choose one of {', '.join(VECTOR_STORES)})")
        for name in (
            "max_text_chars",
            "max_extracted_items",
            "cypher_max_rows",
            "cypher_max_memory_mb",
            "index_max_scopes",
        ):
            if getattr(self, name) < 1:
                errors.append(f"{name}={getattr(self, name)!r} (a positive integer)")
        for name in ("llm_max_retries", "min_free_disk_mb", "graph_buffer_pool_mb",
                     "graph_checkpoint_mb", "settle_after_writes"):  # fmt: skip
            if getattr(self, name) < 0:
                errors.append(f"{name}={getattr(self, name)!r} (an integer >= 0)")
        for name in ("graph_buffer_pool_mb", "graph_checkpoint_mb"):
            # Kuzu takes them in bytes as a 64-bit integer: past it, its driver overflowed.
            if getattr(self, name) > _MOST_MB:
                errors.append(f"{name}={getattr(self, name)!r} (megabytes, at most {_MOST_MB:,})")
        for name in ("llm_timeout_s", "llm_deadline_s", "cypher_timeout"):
            if name == "llm_deadline_s" and self.llm_deadline_s is None:
                continue
            if not 0 < getattr(self, name) <= 3600:
                errors.append(f"{name}={getattr(self, name)!r} (seconds, in (0, 3600])")
        if self.llm_deadline_s is not None and 0 < self.llm_deadline_s < self.llm_timeout_s:
            errors.append(f"llm_deadline_s={self.llm_deadline_s!r} (a whole request: no shorter "
                          f"than llm_timeout_s={self.llm_timeout_s!r}, one wait within it)")  # fmt: skip
        if self.llm_temperature is not None and not 0 <= self.llm_temperature <= 2:
            errors.append(f"llm_temperature={self.llm_temperature!r} (a number in [0, 2], or None "
                          "to send none)")  # fmt: skip
        for name in ("resolve_threshold", "update_threshold"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                errors.append(f"{name}={value!r} (a number in (0, 1])")
        errors += _lifecycle_errors(self)
        for name, example in (("qdrant_url", "http://localhost:6333"),
                              ("llm_base_url", "http://localhost:8000/v1")):  # fmt: skip
            # A control character or a lone surrogate failed inside httpx, as its InvalidURL
            # or a UnicodeEncodeError, once the first request was made. The blanks around
            # one (a variable read from a file ends in a newline) are not part of it.
            object.__setattr__(self, name, getattr(self, name).strip())
            if _UNSENDABLE.search(getattr(self, name)):
                errors.append(f"{name}={getattr(self, name)!r} (a URL such as {example}, "
                              "without spaces or control characters)")  # fmt: skip
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
        check_names(changes)
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
        for name, key, kind in _NUMERIC_ENV:
            raw = get(name)
            if not raw:
                continue
            try:
                values[key] = kind(raw)
            except ValueError:
                what = "an integer" if kind is int else "a number"
                raise ConfigError(f"{name}={raw!r} is not {what}") from None
        for name, key, read in _CHOICE_ENV:
            raw = get(name)
            if raw:
                values[key] = read(name, raw)
        check_names(overrides)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


_NUMERIC_ENV = (
    ("GRAPHMEM_MAX_TEXT_CHARS", "max_text_chars", int),
    ("GRAPHMEM_MAX_EXTRACTED_ITEMS", "max_extracted_items", int),
    ("GRAPHMEM_LLM_TIMEOUT_S", "llm_timeout_s", float),
    ("GRAPHMEM_LLM_DEADLINE_S", "llm_deadline_s", float),
    ("GRAPHMEM_LLM_MAX_RETRIES", "llm_max_retries", int),
    ("GRAPHMEM_MIN_FREE_DISK_MB", "min_free_disk_mb", int),
    ("GRAPHMEM_CYPHER_TIMEOUT", "cypher_timeout", float),
    ("GRAPHMEM_CYPHER_MAX_ROWS", "cypher_max_rows", int),
    ("GRAPHMEM_CYPHER_MAX_MEMORY_MB", "cypher_max_memory_mb", int),
    ("GRAPHMEM_INDEX_MAX_SCOPES", "index_max_scopes", int),
    ("GRAPHMEM_GRAPH_BUFFER_POOL_MB", "graph_buffer_pool_mb", int),
    ("GRAPHMEM_GRAPH_CHECKPOINT_MB", "graph_checkpoint_mb", int),
    ("GRAPHMEM_SETTLE_AFTER_WRITES", "settle_after_writes", int),
)


def _switch(name: str, raw: str) -> bool:
    word = raw.lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={raw!r} is not a switch: set it to 1 or 0 (true or false)")


def _temperature(name: str, raw: str) -> float | None:
    if raw.lower() in ("default", "none"):
        return None
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a number: set a temperature from 0 to 2, or 'default' "
            "to send none"
        ) from None


_CHOICE_ENV = (
    ("GRAPHMEM_LLM_USE_TOOLS", "llm_use_tools", _switch),
    ("GRAPHMEM_LLM_TEMPERATURE", "llm_temperature", _temperature),
)


def setting_names() -> list[str]:
    return [f.name for f in fields(Config)]


def check_names(names: Iterable[str], extra: Iterable[str] = ()) -> None:
    """A ``ConfigError`` naming each unknown setting, with the closest known name."""
    known = [*setting_names(), *extra]
    unknown = [n for n in names if n not in known]
    if not unknown:
        return
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        parts.append(f"{name!r}{hint}")
    raise ConfigError(
        f"unknown graphmem setting{'s' if len(parts) > 1 else ''} {', '.join(parts)}; "
        f"the settings are: {', '.join(known)}"
    )


def _type_errors(config: Config) -> list[str]:
    """Each field holds the type it declares (bool is not an int here; a string is not a
    tuple of names): wrong types were once accepted silently, e.g. single_valued="lives_in"
    became ten one-letter relation names."""
    errors = []
    for f in fields(config):
        value = getattr(config, f.name)
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if f.name == "data_dir":
            ok = isinstance(value, str | os.PathLike) and str(value).strip() != ""
            want = "a path"
        elif kind == "str":
            ok, want = isinstance(value, str), "a string"
        elif kind == "bool":
            ok, want = isinstance(value, bool), "True or False"
        elif kind.startswith("dict"):
            ok = isinstance(value, Mapping) and all(isinstance(k, str) for k in value)
            want = "a dict with string keys"
            if ok:
                object.__setattr__(config, f.name, dict(value))
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            want = "an integer"
        elif kind in ("float", "float | None"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = (ok and math.isfinite(value)) or (value is None and kind != "float")
            want = "a number" if kind == "float" else "a number or None"
        else:  # tuple[str, ...]: a list is fine, one bare string is not
            ok = isinstance(value, list | tuple) and all(
                isinstance(v, str) and v.strip() for v in value
            )
            want = "a list of names"
            if ok:
                object.__setattr__(config, f.name, tuple(value))
        if not ok:
            shown = "(a secret, not shown)" if not f.repr else repr(value)
            errors.append(f"{f.name}={shown} must be {want}, got {type(value).__name__}")
    return errors


def _lifecycle_errors(config: Config) -> list[str]:
    from .errors import ValidationError
    from .lifecycle.fields import MEMORY_TYPES, SCOPE_KINDS, parse_ttl

    errors = []
    for name, keys in (("ttl_by_type", MEMORY_TYPES), ("ttl_by_scope", SCOPE_KINDS)):
        for key, value in getattr(config, name).items():
            if key not in keys:
                errors.append(f"{name}[{key!r}] (keys are {', '.join(keys)})")
                continue
            try:
                parse_ttl(value, f"{name}[{key!r}]")
            except ValidationError as exc:
                errors.append(str(exc))
    for name in ("archive_after_days", "promote_min_access"):
        if getattr(config, name) < 0:
            errors.append(f"{name}={getattr(config, name)!r} (>= 0; 0 turns it off)")
    if config.archive_after_days > 365_000:  # past what a date can go back
        errors.append(f"archive_after_days={config.archive_after_days!r} (days, at most "
                      "365000; 0 turns it off)")  # fmt: skip
    for name in ("archive_importance_below", "promote_min_importance"):
        if not 0.0 <= getattr(config, name) <= 1.0:
            errors.append(f"{name}={getattr(config, name)!r} (a number in [0, 1])")
    if not 0 < config.access_flush_s <= 3600:
        errors.append(f"access_flush_s={config.access_flush_s!r} (seconds, in (0, 3600])")
    return errors
