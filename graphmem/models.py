"""Plain data that flows between graphmem's layers. No I/O here.

Times are ISO-8601 strings in UTC with a ``Z`` suffix (``2026-11-22T01:28:41.000000Z``):
the same text on every backend, and ordered correctly by plain string comparison, so a
Cypher ``r.valid_at <= $as_of`` works identically on Kuzu, Neo4j and in Python.
Unset scope fields are stored as ``""`` (never null) so no backend has to type a null.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from .errors import ScopeError, ValidationError

SCOPE_FIELDS = ("user_id", "agent_id", "run_id")
_SCOPE_ID_MAX = 200
# Letters of any script, digits, underscore, space, hyphen and dot: enough for natural
# relation names in any language, and nothing that means something in Cypher.
_RELATION_NAME = re.compile(r"^\w[\w \-.]{0,99}$")
_NON_WORD = re.compile(r"[^\w]+")


def now_iso() -> str:
    return to_iso(datetime.now(UTC))


def to_iso(value: str | date | datetime | None) -> str:
    """Normalise a date, datetime or ISO string to graphmem's UTC text form ("" stays "")."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(
                "timestamp", f"not an ISO-8601 date or datetime: {text!r}"
            ) from None
    if isinstance(value, datetime):
        try:
            dt = value.astimezone(UTC) if value.tzinfo else value
        except OverflowError:  # "9999-12-31T23:59:59-14:00" is in year 10000 in UTC
            raise ValidationError(
                "timestamp", f"{value.isoformat()} falls outside years 0001-9999 once "
                "converted to UTC; give a time that stays within them in UTC",
            ) from None  # fmt: skip
        # Four-digit years always ("0999-..."): stored times are compared as text, and
        # strftime's "999-..." sorted after "2024-...". isoformat is also a third of
        # strftime's cost (0.08 s per 10k memories).
        return dt.isoformat(timespec="microseconds")[:26] + "Z"
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00.000000Z"
    raise ValidationError(
        "timestamp", f"expected str, date or datetime, got {type(value).__name__}"
    )


def visible_at(
    valid_at: str, invalid_at: str, as_of: str = "", include_invalid: bool = False
) -> bool:
    """graphmem's one time rule, for facts and relations alike.

    - default: current only (no ``invalid_at``);
    - ``as_of``: valid at that instant: started at or before it (or undated) and not yet
      ended (``invalid_at`` empty or later); ``include_invalid`` is then irrelevant;
    - ``include_invalid`` without ``as_of``: everything.
    """
    if as_of:
        return (not valid_at or valid_at <= as_of) and (not invalid_at or invalid_at > as_of)
    return include_invalid or not invalid_at


def new_id() -> str:
    """A random (version 4) UUID as text, formatted directly: half of ``str(uuid.uuid4())``."""
    h = "%032x" % (int.from_bytes(os.urandom(16)) & _UUID4_CLEAR | _UUID4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# The version nibble (4) and the RFC 4122 variant bits (10), as uuid.UUID(version=4) sets.
_UUID4_CLEAR = ~(0xF000 << 64 | 0xC000 << 48)
_UUID4_SET = 0x4000 << 64 | 0x8000 << 48


# Cached: ingesting 10k memories asks for ~230k keys of a few thousand distinct names
# (NFKC + casefold + split: 1.1 of 29 s profiled).
@lru_cache(maxsize=1 << 15)
def name_key(name: str) -> str:
    """Case- and accent-insensitive key used for exact/alias entity matching."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return " ".join(text.replace("_", " ").split())


# The family ties a marriage or a relationship is also stored as ("my husband Tom"): an
# end said of the one ends the others between the same two (the resolver, and the
# offline extractor for a tie said in the same sentence as the end).
SAME_TIES = {"married_to": ("husband", "wife", "spouse"),
             "dating": ("boyfriend", "girlfriend", "partner")}  # fmt: skip


# Cached like name_key: 10k memories ask ~25k times for a few dozen relation names.
@lru_cache(maxsize=1 << 12)
def relation_key(name: str) -> str:
    """Canonical relation type: ``"Works At"``, ``"works-at"`` -> ``"works_at"``."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return _NON_WORD.sub("_", text).strip("_")


def check_unicode(value: str, field_name: str) -> str:
    """Refuse lone surrogates (e.g. ``"\\ud800"``): Python strings may hold them, but
    they are not text, UTF-8 cannot encode them, and every store would fail mid-write."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            field_name,
            f"contains a lone surrogate ({value[exc.start]!r} at position {exc.start}), which "
            "is not valid Unicode text; decode the input with errors='replace' or remove it",
        ) from None
    return value


def check_relation_name(name: object, field_name: str = "relation") -> str:
    if not isinstance(name, str):
        raise ValidationError(field_name, f"must be a string, got {type(name).__name__}")
    stripped = name.strip()
    if not _RELATION_NAME.match(stripped):
        raise ValidationError(
            field_name,
            f"{name!r} is not a valid relation name: use letters, digits, spaces, '_', '-' or '.' "
            "(at most 100 characters, starting with a letter or digit)",
        )
    return stripped


@dataclass(frozen=True)
class Scope:
    """Who a memory belongs to. A query sees the rows whose set fields all match."""

    user_id: str = ""
    agent_id: str = ""
    run_id: str = ""

    @classmethod
    def of(cls, user_id: object = None, agent_id: object = None, run_id: object = None) -> Scope:
        values = {}
        for name, value in zip(SCOPE_FIELDS, (user_id, agent_id, run_id), strict=True):
            if value is None:
                values[name] = ""
                continue
            if not isinstance(value, str):
                raise ScopeError(name, f"must be a string, got {type(value).__name__}")
            if not value.strip():
                raise ScopeError(name, "must not be empty or whitespace")
            if len(value) > _SCOPE_ID_MAX:
                raise ScopeError(name, f"is {len(value):,} characters; an id may have at most "
                                 f"{_SCOPE_ID_MAX}")  # fmt: skip
            odd = next((i for i, c in enumerate(value) if unicodedata.category(c)[0] == "C"), -1)
            if odd >= 0:
                raise ScopeError(name, f"holds the unprintable {value[odd]!r} at position {odd}; "
                                 "an id is printable text, so remove it")  # fmt: skip
            values[name] = value
        if not any(values.values()):
            raise ScopeError("scope", "give at least one of user_id, agent_id or run_id")
        return cls(**values)

    @classmethod
    def from_kwargs(cls, given: Mapping[str, object]) -> Scope:
        """``Scope.of(**given)``, with an unknown name (``user=``) a ``ScopeError`` naming
        it rather than a TypeError from the call."""
        unknown = sorted(k for k in given if k not in SCOPE_FIELDS)
        if unknown:
            raise ScopeError(
                "scope", f"unknown scope field {', '.join(map(repr, unknown))}; the scope "
                f"fields are {', '.join(SCOPE_FIELDS)}",
            )  # fmt: skip
        return cls.of(**given)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Scope:
        """The scope a stored row or payload carries (missing or null fields -> "")."""
        # Unrolled: called for every entity and relation row read back (~23k per 10k
        # memories ingested), as is ``matches``.
        get = row.get
        return cls(str(get("user_id") or ""), str(get("agent_id") or ""), str(get("run_id") or ""))

    def params(self) -> dict[str, str]:
        """The three fields as query parameters ("" = any)."""
        return {"user_id": self.user_id, "agent_id": self.agent_id, "run_id": self.run_id}

    def params_or_none(self) -> dict[str, str | None]:
        """The set fields as keyword arguments for ``Scope.of`` (unset -> None)."""
        return {k: (v or None) for k, v in self.params().items()}

    def matches(self, row: dict[str, Any]) -> bool:
        user, agent, run = self.user_id, self.agent_id, self.run_id
        return (
            (not user or row.get("user_id", "") == user)
            and (not agent or row.get("agent_id", "") == agent)
            and (not run or row.get("run_id", "") == run)
        )

    def covers(self, other: Scope) -> bool:
        """True when everything stored under ``other`` is visible to this scope."""
        return self.matches(other.params())

    def __str__(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.params().items() if v)


@dataclass
class Fact:
    """One stored memory: a sentence the engine knows, with where it came from."""

    id: str
    text: str
    scope: Scope
    created_at: str = ""
    updated_at: str = ""
    valid_at: str = ""
    invalid_at: str = ""
    hash: str = ""
    source_ids: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    role: str = ""
    # The id of the source (the message an extractor split into this and other facts),
    # kept whole in the vector store's "sources" collection; "" when the fact is the
    # message itself. Search returns one hit per source (search/collapse.py).
    origin: str = ""
    # Lifecycle (graphmem/lifecycle/fields.py): kept in the vector payload only; payloads
    # written before these fields existed read as these defaults.
    memory_type: str = "semantic"
    importance: float = 0.5
    expires_at: str = ""
    archived_at: str = ""
    access_count: int = 0
    last_accessed_at: str = ""
    promoted_from: str = ""

    @property
    def current(self) -> bool:
        return not self.invalid_at

    def to_dict(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict, which walks every value and cost
        # ~0.1 ms a fact on ingest; the mutable fields are still copied.
        data = {name: getattr(self, name) for name in _FACT_FIELDS}
        data["source_ids"] = list(self.source_ids)
        data["metadata"] = deepcopy(self.metadata) if self.metadata else {}
        data.update(self.scope.params())
        return data


_FACT_FIELDS = tuple(f.name for f in fields(Fact) if f.name != "scope")


@dataclass
class Entity:
    id: str
    name: str
    type: str
    scope: Scope
    aliases: list[str] = field(default_factory=list)
    created_at: str = ""
    valid_at: str = ""
    invalid_at: str = ""

    def match_keys(self) -> list[str]:
        """Exact-match keys: the name and every alias, normalised, each once."""
        return list(dict.fromkeys(name_key(n) for n in (self.name, *self.aliases)))


@dataclass
class Relation:
    """A directed edge ``source -[name]-> target`` supported by one or more facts."""

    id: str
    source_id: str
    target_id: str
    name: str
    scope: Scope
    fact_ids: list[str] = field(default_factory=list)
    created_at: str = ""
    valid_at: str = ""
    invalid_at: str = ""
    source_name: str = ""
    target_name: str = ""

    @property
    def key(self) -> str:
        return relation_key(self.name)

    def visible(self, as_of: str = "", include_invalid: bool = False) -> bool:
        return visible_at(self.valid_at, self.invalid_at, as_of, include_invalid)


@dataclass
class GraphBatch:
    """Everything one write puts into the graph, applied atomically by a GraphStore.

    ``entities`` are upserted by id (name, type, aliases overwritten); ``relations`` are
    upserted by id (``fact_ids``, ``valid_at``, ``invalid_at`` overwritten); ``mentions``
    are ``(fact_id, entity_id)`` links, created once.
    """

    facts: list[Fact] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    mentions: list[tuple[str, str]] = field(default_factory=list)
    # Set by a fresh ``add``, under the write lock: the pipeline found every fact id free
    # and made every relation id itself, so the writer need not look them up (on Kuzu,
    # each look-up scans a whole table: ~250 ms of a 1,000-memory batch at 1M memories).
    # Never journaled: a journaled write rolled forward is checked.
    fresh: bool = False
    # In a fresh batch, the ids of the entities the pipeline made itself (``new_id()``,
    # under the same lock): the others are stored ones it changed. Lets the writer skip
    # its entity look-up, a scan of the whole Entity table on Kuzu. Never journaled either.
    new_entities: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.facts or self.entities or self.relations or self.mentions)


@dataclass
class PathStep:
    source: str
    relation: str
    target: str


@dataclass
class Hit:
    """One search result and why it is here."""

    memory_id: str
    text: str
    score: float
    channels: list[str] = field(default_factory=list)
    score_parts: dict[str, float] = field(default_factory=dict)
    source_ids: list[str] = field(default_factory=list)
    path: list[PathStep] = field(default_factory=list)
    valid_at: str = ""
    invalid_at: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    # The memories this hit stands for: one, or the facts of one source message that the
    # search admitted (the message's text is then ``text``).
    memory_ids: list[str] = field(default_factory=list)
    # Who said it: "user", "assistant" (advice, an answer), ...; "" when the hit joins the
    # words of several (a question and its answer kept as one message).
    role: str = ""

    def said_by(self) -> str:
        """Who said it, for a reader: the speaker's name where the add gave one, "the
        assistant" (or another role) for words not the user's; "" for the user's own."""
        speaker = self.metadata.get("speaker") if isinstance(self.metadata, dict) else None
        if isinstance(speaker, str) and speaker.strip():
            return speaker.strip()
        return f"the {self.role}" if self.role not in ("", "user") else ""

    def explain(self) -> str:
        parts = ", ".join(f"{k}={v:.3f}" for k, v in sorted(self.score_parts.items()))
        route = " ; ".join(f"{s.source} -[{s.relation}]-> {s.target}" for s in self.path)
        return f"[{'+'.join(self.channels)}] {parts}" + (f" via {route}" if route else "")


@dataclass
class HistoryEvent:
    event: str  # ADD UPDATE DELETE INVALIDATE REOPEN MERGE UNMERGE EXPIRE ARCHIVE RESTORE PROMOTE
    target_id: str
    scope: Scope
    target_kind: str = "memory"  # memory | entity | relation
    old_value: str | None = None
    new_value: str | None = None
    actor: str = ""
    role: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    id: int | None = None


# --- what an extractor returns (LLM or offline); names, not ids -----------------------


@dataclass
class ExtractedEntity:
    name: str
    type: str = "thing"
    aliases: list[str] = field(default_factory=list)
    # The facts [start, end) of the extraction it was found in, when that is not all of
    # them (one turn of several: ingest/turns.py); it is linked to none outside them.
    facts: tuple[int, int] | None = None


@dataclass
class ExtractedRelation:
    source: str
    relation: str
    target: str
    fact: int = 0  # index into Extraction.facts
    valid_at: str = ""
    invalid_at: str = ""


@dataclass
class ExtractedFact:
    text: str
    valid_at: str = ""
    # In [0, 1], from the model or the offline heuristics (ingest/offline_importance.py);
    # None: the extractor has no opinion and the stored default applies.
    importance: float | None = None
    # "rule" when the extractor read a standing instruction to the assistant; "": the
    # caller's memory_type (or the default for the add) applies.
    memory_type: str = ""
    # Who said it, when the add held several roles (ingest/turns.py); "": the user.
    role: str = ""
    # Which of the add's messages it came from (ingest/turns.py), where one add holds
    # several; None: not known yet (``turns.placed`` then reads it from the words).
    turn: int | None = None


@dataclass
class Extraction:
    facts: list[ExtractedFact] = field(default_factory=list)
    entities: list[ExtractedEntity] = field(default_factory=list)
    relations: list[ExtractedRelation] = field(default_factory=list)
