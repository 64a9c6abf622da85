"""``graphmem export`` / ``graphmem import``: a data directory as portable JSON lines.

One JSON object a line, each with a ``type``: a ``header`` (format, version, embedder,
counts), then ``fact`` (the vector payload, with its vector when asked), ``entity`` (with
its name vector when asked), ``source`` (a message an add split into facts, searched with them), ``relation``
(ends, name, supporting facts, validity),
``mention`` (fact -> entity), and ``event`` (the whole history, merges included, with
their original times). Any backend reads and writes it, so it moves a memory from Kuzu
to Neo4j as well as it backs one up.

Both directions stream: export reads each store a page at a time, import writes a batch
at a time, so memory stays flat however large the file. On import, vectors are used as
they are when the file's embedder is the target's, and re-embedded otherwise.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from ..errors import GraphMemError, ValidationError
from ..ingest.journal import pack_vector, unpack_vector
from ..models import GraphBatch, HistoryEvent, Scope
from ..stores.base import ENTITIES, FACTS, SOURCES, VectorPoint
from ..stores.graph_ops import PAGE
from ..stores.rows import entity_from_row, relation_from_row
from .verify import entity_point

FORMAT, VERSION = "graphmem-export", 1
BATCH = 500
Progress = Callable[[int], None]


def export(memory: Any, out: IO[str], *, vectors: bool = True,
           progress: Progress | None = None) -> dict[str, int]:  # fmt: skip
    """Write every scope's data to ``out``; returns the count of each record type.
    Writes wait until it is done, so the file is one consistent state of the stores."""
    with memory._reading:
        return _export(memory, out, vectors, progress or (lambda n: None))


def _export(memory: Any, out: IO[str], vectors: bool, tick: Progress) -> dict[str, int]:
    counts = memory_counts(memory)
    header = {"type": "header", "format": FORMAT, "version": VERSION,
              "embedder": memory.embedder.name, "dim": memory.embedder.dim,
              "vectors": vectors, "counts": counts}  # fmt: skip
    out.write(_line(header))
    written = dict.fromkeys(("fact", "source", "entity", "relation", "mention", "event"), 0)

    def emit(kind: str, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            out.write(_line({"type": kind, **record}))
            written[kind] += 1
            tick(1)

    emit("fact", _points(memory, FACTS, vectors))
    emit("source", _points(memory, SOURCES, vectors))
    emit("entity", _entities(memory, vectors))
    for name, kind in (("relations_in_scope", "relation"), ("mentions_in_scope", "mention")):
        emit(kind, _paged(memory, name))
    emit("event", (_event_out(e) for e in _history(memory)))
    return written


def memory_counts(memory: Any) -> dict[str, int]:
    counts = memory.ops.counts(Scope())
    counts["memories"] = memory.vectors.count(FACTS, None)
    counts["events"] = memory.history_store.count() if hasattr(
        memory.history_store, "count") else -1  # fmt: skip
    return counts


def _points(memory: Any, collection: str, with_vectors: bool) -> Iterator[dict[str, Any]]:
    for hits in _vector_pages(memory, collection, with_vectors):
        for h in hits:
            yield {"id": h.id, "payload": h.payload, "vector": _vec_out(h.vector)}


def _entities(memory: Any, with_vectors: bool) -> Iterator[dict[str, Any]]:
    vectors: dict[str, Any] = {}
    for rows in _pages(memory, "entities_in_scope"):
        if with_vectors:
            hits = memory.vectors.get(ENTITIES, [r["id"] for r in rows], with_vectors=True)
            vectors = {h.id: h.vector for h in hits}
        for r in rows:
            yield {"row": r, "vector": _vec_out(vectors.get(r["id"]))}


def _vector_pages(memory: Any, collection: str, with_vectors: bool) -> Iterator[list[Any]]:
    offset, everyone = 0, Scope()
    while True:
        hits = memory.vectors.scroll(collection, everyone, limit=BATCH, offset=offset)
        if not hits:
            return
        if with_vectors:
            hits = memory.vectors.get(collection, [h.id for h in hits], with_vectors=True)
        yield hits
        offset += BATCH


def _pages(memory: Any, name: str) -> Iterator[list[dict[str, Any]]]:
    skip = 0
    while True:
        rows = memory.graph_store.run(name, {**Scope().params(), "skip": skip, "limit": PAGE})
        if rows:
            yield rows
        if len(rows) < PAGE:
            return
        skip += PAGE


def _paged(memory: Any, name: str) -> Iterator[dict[str, Any]]:
    for rows in _pages(memory, name):
        yield from rows


def _history(memory: Any) -> Iterable[HistoryEvent]:
    every = getattr(memory.history_store, "iter_events", None)
    return every() if every is not None else memory.history_store.events(None, limit=10**9)


def import_(memory: Any, lines: Iterable[str], *,
            progress: Progress | None = None) -> dict[str, int]:  # fmt: skip
    """Read an export into ``memory``, which must be empty (no memories, no history).

    All or nothing: a line that is not a record of the format, a file that ends before
    the counts its header promises, or records that leave the stores disagreeing raise
    ``ValidationError`` naming the line, and the target is emptied again."""
    tick = progress or (lambda n: None)
    if (memory.vectors.count(FACTS, None) or memory.ops.counts(Scope())["entities"]
            or _events_held(memory)):  # fmt: skip
        raise ValidationError("import", "the target already holds memories or history: "
                              "import into an empty data directory (or reset it first)")  # fmt: skip
    records = _records(lines)
    _first, header = next(records, (0, None))
    if not isinstance(header, dict) or header.get("type") != "header" or (
            header.get("format") != FORMAT):  # fmt: skip
        raise ValidationError("import", f"not a {FORMAT} file (its first line is no header)")
    if header.get("version") != VERSION:
        raise ValidationError("import", f"version {header.get('version')} is not {VERSION}")
    same_space = header.get("embedder") == memory.embedder.name
    loader = _Loader(memory, same_space)
    check = _Checker(memory.embedder.dim if same_space else None, memory.config.max_text_chars)
    number = 1
    with memory._writing:
        try:
            for number, record in records:
                loader.add(check(record, number))
                tick(1)
            loader.flush_all()
            _check_counts(header.get("counts"), loader.counts, number)
            drift = {k: n for k, n in memory.verify().drift.items() if n}
            if drift:
                raise ValidationError("import", f"the file's records disagree with each other "
                                      f"({drift}): export the source again after `graphmem "
                                      "doctor --repair` there")  # fmt: skip
        except BaseException as exc:
            instead = _empty_again(memory, exc, number)
            if instead is None:
                raise
            raise instead from exc
    return loader.counts


def _events_held(memory: Any) -> int:
    count = getattr(memory.history_store, "count", None)
    return count() if count is not None else len(memory.history_store.events(None, limit=1))


def _records(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed record)`` of each line that is not blank."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:  # JSONDecodeError, or an integer past Python's digit cap
            raise ValidationError("import", f"line {number} is not JSON ({exc}): the file is "
                                  "damaged; export it again") from None  # fmt: skip
        except RecursionError:
            raise ValidationError("import", f"line {number} nests too deep to be a record "
                                  "of this format") from None  # fmt: skip


class _Checker:
    """What a record must hold before any store sees it (the rest the stores check)."""

    NEEDS = {"fact": ("id", "payload"), "source": ("id", "payload"), "entity": ("row",),
             "relation": ("id", "source_id", "target_id", "name"),
             "mention": ("fact_id", "entity_id"),
             "event": ("event", "target_id", "target_kind", "created_at")}  # fmt: skip

    def __init__(self, dim: int | None, max_chars: int) -> None:
        self.dim, self.max_chars = dim, max_chars

    def __call__(self, record: Any, number: int) -> dict[str, Any]:
        def refuse(problem: str) -> ValidationError:
            return ValidationError("import", f"line {number}: {problem}")

        if not isinstance(record, dict) or record.get("type") not in self.NEEDS:
            kind = record.get("type") if isinstance(record, dict) else None
            raise refuse(f"unknown record type {kind!r}")
        missing = [k for k in self.NEEDS[record["type"]] if k not in record]
        if missing:
            raise refuse(f"a {record['type']} record without {', '.join(missing)}")
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise refuse("holds a lone surrogate, which is not valid Unicode text") from None
        body = record.get("payload") if "payload" in record else record.get("row")
        if record["type"] in ("fact", "source", "entity"):
            # A source's text may be absent (its loader reads it as ""); a fact's may not.
            default = "" if record["type"] == "source" else None
            text = body.get("text" if "payload" in record else "name", default) if isinstance(
                body, dict) else None  # fmt: skip
            if not isinstance(text, str) or not isinstance(record.get("id", ""), str):
                raise refuse(f"a {record['type']} record without its id and text")
            if len(text) > self.max_chars:
                raise refuse(f"a text of {len(text):,} characters, over max_text_chars "
                             f"({self.max_chars:,}): raise it to import this file")  # fmt: skip
            if self.dim is not None and record.get("vector") is not None:
                self._vector(record["vector"], refuse)
        return record

    def _vector(self, packed: Any, refuse: Callable[[str], ValidationError]) -> None:
        try:
            vector = unpack_vector(packed)
        except (TypeError, ValueError) as exc:
            raise refuse(f"a vector that is not base64 float32 ({exc})") from None
        if len(vector) != self.dim or not all(math.isfinite(v) for v in vector):
            raise refuse(f"a vector of {len(vector)} values, not {self.dim} finite numbers")


def _check_counts(promised: Any, counts: dict[str, int], last: int) -> None:
    """A file cut short imports fewer records than its header counted."""
    if not isinstance(promised, dict):
        return
    for kind, key in (("fact", "memories"), ("entity", "entities"),
                      ("relation", "relations"), ("event", "events")):  # fmt: skip
        want = promised.get(key)
        if isinstance(want, int) and want >= 0 and counts[kind] != want:
            raise ValidationError("import", f"the header counts {want} {key} and the file "
                                  f"holds {counts[kind]} (it ends at line {last}): it was cut "
                                  "short or edited; export it again")  # fmt: skip


def _empty_again(memory: Any, exc: BaseException, number: int) -> GraphMemError | None:
    """Undo a failed import (the target was empty); the error to raise instead of ``exc``,
    or None to raise ``exc`` itself."""
    try:
        memory.reset()
    except Exception as failed:
        raise GraphMemError(f"import stopped at line {number} ({exc}) and the target could "
                            f"not be emptied again ({failed}): delete that data directory "
                            "before importing again") from failed  # fmt: skip
    if isinstance(exc, ValidationError) or not isinstance(exc, Exception):
        return None
    return ValidationError("import", f"stopped at or before line {number}: "
                           f"{type(exc).__name__}: {exc}; nothing was kept")  # fmt: skip


class _Loader:
    """Batches records by type and writes each batch to the stores it belongs in."""

    ORDER = ("fact", "source", "entity", "relation", "mention", "event")

    def __init__(self, memory: Any, same_space: bool) -> None:
        self.memory, self.same_space = memory, same_space
        self.pending: dict[str, list[dict[str, Any]]] = {k: [] for k in self.ORDER}
        self.counts = dict.fromkeys(self.ORDER, 0)

    def add(self, record: dict[str, Any]) -> None:
        kind = record.get("type")
        if kind not in self.pending:
            raise ValidationError("import", f"unknown record type {kind!r}")
        # Records arrive grouped in ORDER: reaching a later type flushes the earlier ones,
        # so relations find their entities and mentions their facts.
        for earlier in self.ORDER[: self.ORDER.index(kind)]:
            self.flush(earlier)
        self.pending[kind].append(record)
        if len(self.pending[kind]) >= BATCH:
            self.flush(kind)

    def flush_all(self) -> None:
        for kind in self.ORDER:
            self.flush(kind)

    def flush(self, kind: str) -> None:
        batch, self.pending[kind] = self.pending[kind], []
        if not batch:
            return
        self.counts[kind] += len(batch)
        getattr(self, f"_{kind}s")(batch)

    def _vectors(self, records: list[dict[str, Any]], texts: list[str]) -> list[Any]:
        if self.same_space and all(r.get("vector") for r in records):
            return [unpack_vector(r["vector"]) for r in records]
        return self.memory.embedder.embed(texts)

    def _facts(self, batch: list[dict[str, Any]]) -> None:
        from ..ingest.write import fact_from_payload

        facts = [fact_from_payload(_Hit(r["id"], r["payload"])) for r in batch]
        vectors = self._vectors(batch, [f.text for f in facts])
        self.memory.graph_store.write(GraphBatch(facts=facts))
        self.memory.vectors.upsert(FACTS, [VectorPoint(r["id"], v, r["payload"])
                                           for r, v in zip(batch, vectors, strict=True)])  # fmt: skip

    def _sources(self, batch: list[dict[str, Any]]) -> None:
        """The messages facts were split from: vectors only, searched with their facts."""
        vectors = self._vectors(batch, [str(r["payload"].get("text", "")) for r in batch])
        self.memory.vectors.upsert(SOURCES, [VectorPoint(r["id"], v, r["payload"])
                                             for r, v in zip(batch, vectors, strict=True)])  # fmt: skip

    def _entitys(self, batch: list[dict[str, Any]]) -> None:
        rows = [r["row"] for r in batch]
        self.memory.graph_store.write(GraphBatch(entities=[entity_from_row(r) for r in rows]))
        vectors = self._vectors(batch, [r["name"] for r in rows])
        self.memory.vectors.upsert(ENTITIES, [entity_point(r, v)
                                              for r, v in zip(rows, vectors, strict=True)])  # fmt: skip

    def _relations(self, batch: list[dict[str, Any]]) -> None:
        rels = [relation_from_row({k: v for k, v in r.items() if k != "type"}) for r in batch]
        self.memory.graph_store.write(GraphBatch(relations=rels))

    def _mentions(self, batch: list[dict[str, Any]]) -> None:
        pairs = [(r["fact_id"], r["entity_id"]) for r in batch]
        self.memory.graph_store.write(GraphBatch(mentions=pairs))

    def _events(self, batch: list[dict[str, Any]]) -> None:
        self.memory.history_store.record([_event_in(r) for r in batch])


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _vec_out(vector: Any) -> str | None:
    return pack_vector(vector) if vector is not None and len(vector) else None


def _event_out(e: HistoryEvent) -> dict[str, Any]:
    return {"event": e.event, "target_id": e.target_id, "target_kind": e.target_kind,
            **e.scope.params(), "old_value": e.old_value, "new_value": e.new_value,
            "actor": e.actor, "role": e.role, "details": e.details,
            "created_at": e.created_at}  # fmt: skip


def _event_in(r: dict[str, Any]) -> HistoryEvent:
    return HistoryEvent(r["event"], r["target_id"], Scope.from_row(r),
                        target_kind=r["target_kind"], old_value=r["old_value"],
                        new_value=r["new_value"], actor=r["actor"], role=r["role"],
                        details=r["details"], created_at=r["created_at"])  # fmt: skip


class _Hit:
    def __init__(self, point_id: str, payload: dict[str, Any]) -> None:
        self.id, self.payload = point_id, payload
