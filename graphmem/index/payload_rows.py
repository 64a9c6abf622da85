"""A scope's payloads as rows, decoded when read; and each row's *gate*, kept decoded.

Why rows: a payload held as a dict cost ~2.4 KB a memory (~240 MB a 100k scope, 2.4 GB
at 1M) and ~3 objects the cycle collector walks on every full pass; as JSON it is ~0.5 KB
and none. Decoding every payload of a scope at once also cost ~1 s per 100k memories on
a snapshot's load, so rows are decoded one at a time, when read, and not kept decoded: a
read returns a fresh dict, and nothing a search reads stays behind (what stayed, ~300
dicts and lists a search, made the full collections that set the search latency tail).

Why gates: a hybrid search at 100k memories read ~1,100 payloads, ~95% of them only to
admit a candidate (scope, time, lifecycle) or to weigh it (importance, recency, speaker).
A gate is the small dict of just those fields (``GATE_KEYS``, empty ones left out: a
missing key reads as an empty one everywhere they are read), interned, with only atomic
values, so the collector stops tracking it. Search reads gates wherever the caller's
filters do not reach other fields (``accept.gated``, ``search/engine.py``).

A row is its payload's values in a *shape* its scope's rows share (``row_shapes.py``): a
fact's ~540 bytes of JSON became ~135.

Each row's scope fields are also kept apart (``scopes``) and checked against the index's
scope when the snapshot loads; a row whose decoded fields differ from them (a file made
to pass the checksums) raises ``StorageError`` rather than answer from another scope.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import StorageError
from ..models import SCOPE_FIELDS
from ..stores.graph_index import same_text
from .row_shapes import Shapes

_RAW = object()  # a row still in the snapshot's blob
# A payload as the JSON text a row holds (the build in store.py keeps its payloads so too).
encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
# What admission (filters.py: scope, validity, lifecycle), grouping (collapse.py) and the
# boosts (boost.py) read of a payload; a metadata speaker under its dotted name.
SPEAKER = "metadata.speaker"
GATE_KEYS = ("id", "user_id", "agent_id", "run_id", "kind", "origin", "valid_at",
             "invalid_at", "expires_at", "archived_at", "memory_type", "importance",
             "created_at", "updated_at", "last_accessed_at")  # fmt: skip


# The gate's fields a snapshot keeps as columns (``GateColumns``): the id and the scope
# fields are the index's own, checked when it loads.
GATE_COLUMNS = (*(k for k in GATE_KEYS if k not in ("id", *SCOPE_FIELDS)), SPEAKER)
_PLAIN = (str, int, float, bool)  # the values a column holds; a row with others is decoded
UNCOLUMNED = -2  # in a row's first column: its gate is read from its JSON


class GateColumns:
    """The gates of a loaded snapshot's rows as codes (rows x ``GATE_COLUMNS``, -1 for a
    field left out) into one table of distinct values (~9 MB for a 100k-memory scope).

    Why: a gate was first made by decoding its row's whole JSON, and the first searches
    of a process read many gates for the first time. At 300k memories in 3 scopes, 205
    hybrid searches run once (as the speed suite times them) took p50 ~30 ms against ~24
    ms when run again; made from columns, the first pass takes ~27 ms (measured three
    times each; the pass again is unchanged). A gate made so is kept, as before."""

    def __init__(self, codes: np.ndarray, table: list[Any], ids: Sequence[Any]) -> None:
        self.codes, self.table, self.ids = codes, table, ids

    def gate(self, slot: int, scope: tuple[str, ...] | None) -> Any:
        """Row ``slot``'s gate; ``_RAW`` if it must be read from the row's JSON."""
        if scope is None:
            return None
        codes = self.codes[slot].tolist()
        if codes[0] == UNCOLUMNED:
            return _RAW
        out: dict[str, Any] = {"id": self.ids[slot]}
        for name, value in zip(SCOPE_FIELDS, scope, strict=True):
            if value:
                out[name] = value
        table = self.table
        for name, code in zip(GATE_COLUMNS, codes, strict=True):
            if code >= 0:
                out[name] = table[code]
        return out


def gate_columns(payloads: PayloadRows) -> tuple[np.ndarray, list[Any]]:
    """``(codes, table)`` of every row's gate, as ``GateColumns`` reads them. Rows still
    as loaded keep their saved codes, mapped onto the new table at once; only the others'
    gates are made and encoded one by one (the close at 1M took ~4 s longer with every
    row's gate made again)."""
    codes = np.full((len(payloads), len(GATE_COLUMNS)), -1, np.int32)
    at: dict[tuple[type, Any], int] = {}
    table: list[Any] = []

    def code_of(value: Any) -> int:
        code = at.get((type(value), value))
        if code is None:
            code = at[(type(value), value)] = len(table)
            table.append(value)
        return code

    todo: Iterable[int] = range(len(payloads))
    columns = payloads._columns
    if columns is not None and len(columns.codes):
        saved, loaded = columns.codes, len(columns.codes)  # rows past these came since
        kept = np.fromiter((row is _RAW and scope is not None for row, scope
                            in zip(payloads._rows[:loaded], payloads._scopes[:loaded],
                                   strict=True)), bool, loaded)  # fmt: skip
        kept &= saved[:, 0] != UNCOLUMNED
        remap = np.array([*map(code_of, columns.table), -1], np.int32)  # -1 stays -1
        codes[:loaded][kept] = remap[saved[kept]]
        todo = [*np.flatnonzero(~kept).tolist(), *range(loaded, len(payloads))]
    for slot in todo:
        gate = payloads.gate(slot, keep=False)
        if not gate:
            continue
        row = []
        for name in GATE_COLUMNS:
            value = gate.get(name)
            if value is None:
                row.append(-1)
            elif not _columnable(value):
                row = [UNCOLUMNED] + [-1] * (len(GATE_COLUMNS) - 1)
                break
            else:
                row.append(code_of(value))
        codes[slot] = row
    return codes, table


def _columnable(value: Any) -> bool:
    """A value a gate column holds: text, a finite number or a bool."""
    return type(value) in _PLAIN and not (type(value) is float and not math.isfinite(value))


def checked_table(table: Any) -> list[Any]:
    """A saved gate table's values, strings interned as ``gate_of`` interns them;
    ``ValueError`` for anything a column never holds."""
    if not isinstance(table, list) or not all(map(_columnable, table)):
        raise ValueError("a gate table holds something that is not text or a number")
    return [same_text(v) if isinstance(v, str) else v for v in table]


class PayloadRows:
    """``list``-like payloads: row ``i`` (shaped, ``row_shapes.py``, or JSON) is in
    ``blob[offsets[i]:offsets[i+1]]`` (a loaded snapshot) or bytes of its own (a row put
    since); ``None`` for a free slot."""

    def __init__(self, blob: bytes = b"", offsets: Sequence[int] | np.ndarray = (0,),
                 scopes: list[Any] | None = None, where: str = "",
                 columns: GateColumns | None = None, *, ids: Sequence[Any] = (),
                 shapes: Shapes | None = None) -> None:  # fmt: skip
        # Offsets as given: a loaded snapshot's int64 array (a list of ints was 36 bytes
        # a row, ~36 MB at 1M memories).
        self._blob, self._offsets, self._where = blob, offsets, where
        # Each row's id, by slot: the owner's list (``ScopeIndex.ids``), which it sets
        # before the row. A shaped row leaves its id out (``row_shapes.py``).
        self._ids = ids
        self.shapes = Shapes() if shapes is None else shapes
        self._columns = columns  # the loaded rows' gates, where the snapshot kept them
        self._scopes: list[Any] = [] if scopes is None else scopes
        self._rows: list[Any] = [_RAW] * (len(offsets) - 1)
        self._gates: list[Any] = [_RAW] * len(self._rows)
        self._lock = threading.Lock()  # a gate derived on read never overwrites a write's
        self.decodes = 0  # rows decoded so far (tests and benchmarks read it)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, slot: int) -> dict[str, Any] | None:
        """Row ``slot``, freshly decoded: a caller may keep or change it."""
        return self._decode(slot)

    def __setitem__(self, slot: int, value: dict[str, Any] | None) -> None:
        row = None if value is None else self._encode(slot, value)
        fields, gate = _fields(value), None if value is None else gate_of(value)
        with self._lock:  # the row first: a reader checks only rows still in the blob
            self._rows[slot], self._scopes[slot], self._gates[slot] = row, fields, gate

    def append(self, value: dict[str, Any] | None) -> None:
        self._rows.append(None)
        self._scopes.append(None)
        self._gates.append(None)
        self[len(self._rows) - 1] = value

    def __iter__(self) -> Iterator[dict[str, Any] | None]:
        return (self[slot] for slot in range(len(self._rows)))

    def gate(self, slot: int, *, keep: bool = True) -> dict[str, Any] | None:
        """Row ``slot``'s gate (``GATE_KEYS``), made once (from the columns, else from the
        row's JSON) and kept unless ``keep`` is False. Never change it."""
        found = self._gates[slot]
        if found is _RAW:
            held = self._rows[slot]
            made = _RAW
            if held is _RAW and self._columns is not None:
                made = self._columns.gate(slot, self._scopes[slot])
            if made is _RAW:
                row = self[slot]
                made = None if row is None else gate_of(row)
            found = made
            with self._lock:
                if keep and self._rows[slot] is held:  # not written meanwhile
                    self._gates[slot] = found
        return found

    def raw(self, slot: int) -> bytes:
        """Row ``slot`` as JSON bytes, undecoded."""
        row = self._rows[slot]
        if row is _RAW:
            return self._blob[self._offsets[slot] : self._offsets[slot + 1]]
        return b"null" if row is None else row

    def _id(self, slot: int) -> Any:
        return self._ids[slot] if slot < len(self._ids) else None

    def _encode(self, slot: int, value: Mapping[str, Any]) -> bytes:
        shaped = self.shapes.encode(value, self._id(slot))
        return encode_json(value).encode("utf-8") if shaped is None else shaped

    def _decode(self, slot: int) -> dict[str, Any] | None:
        expected, held = self._scopes[slot], self._rows[slot]  # in this order: see __setitem__
        if held is None:  # a free slot
            return None
        self.decodes += 1
        if held is not _RAW:  # made here from a dict
            return self.read(slot, held, expected)
        try:
            row = self.read(slot, self._blob[self._offsets[slot] : self._offsets[slot + 1]],
                             expected)  # fmt: skip
        except (ValueError, TypeError, KeyError, AttributeError):
            row = _RAW  # not a row: damaged, whatever its scope fields say
        fields = _fields(row) if isinstance(row, dict) else None
        if row is _RAW or ((row is not None or expected is not None) and fields != expected):
            raise StorageError(self._where, f"the saved search index in {self._where} is "
                               "damaged (a payload that is not what it says); delete that "
                               "folder and the index is rebuilt from the stores")  # fmt: skip
        return row

    def read(self, slot: int, raw: bytes, scope: Any = None) -> Any:
        """Row ``slot`` decoded from ``raw`` (``raw(slot)``), unchecked and uncounted;
        ``scope`` is the row's scope fields, which a shaped row leaves out."""
        if scope is None:
            scope = self._scopes[slot]
        if raw[:1] != b"\x01":
            return json.loads(raw)
        return self.shapes.decode(raw, self._id(slot), scope)


def gate_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``payload`` that search admits and weighs by (see the module's doc)."""
    out = {}
    for name in GATE_KEYS:
        value = payload.get(name)
        if value is not None and value != "":
            # Ids are unique: interning one would only add it to the interned table.
            out[name] = same_text(value) if name != "id" else value
    metadata = payload.get("metadata")
    said = metadata.get("speaker") if isinstance(metadata, Mapping) else None
    if said:
        out[SPEAKER] = same_text(str(said))
    return out


def speaker_of(payload: Mapping[str, Any]) -> str:
    """Who said a memory (its ``metadata.speaker``), from a payload or its gate."""
    if SPEAKER in payload:
        return str(payload[SPEAKER])
    metadata = payload.get("metadata")
    return str(metadata.get("speaker") or "") if isinstance(metadata, Mapping) else ""


def rows_blob(payloads: PayloadRows) -> tuple[np.ndarray, np.ndarray]:
    """``(blob, offsets)``: every payload as JSON, back to back (``null`` for none).

    Filled in place, each run of rows still in the loaded blob copied as one slice: a
    bytes object per row, then their join, held a 100k scope's 54 MB of rows twice (and
    100k objects) at the close's peak."""
    rows, source = payloads._rows, memoryview(payloads._blob)
    loaded = np.asarray(payloads._offsets, np.int64)
    own = [b"null" if row is None else row for row in rows]  # _RAW stays _RAW
    raw = np.fromiter((row is _RAW for row in own), bool, len(own))
    sizes = np.zeros(len(own), np.int64)
    held = min(len(own), len(loaded) - 1)  # rows still raw lie among the loaded ones
    sizes[:held] = np.where(raw[:held], np.diff(loaded)[:held], 0)
    for slot in np.flatnonzero(~raw).tolist():
        sizes[slot] = len(own[slot])
    offsets = np.zeros(len(own) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    blob = np.empty(int(offsets[-1]), np.uint8)
    slot = 0
    while slot < len(own):
        end = slot + 1
        if own[slot] is _RAW:
            while end < len(own) and own[end] is _RAW:  # loaded rows lie back to back
                end += 1
            row = source[loaded[slot] : loaded[end]]
        else:
            row = own[slot]
        blob[offsets[slot] : offsets[end]] = np.frombuffer(row, np.uint8)
        slot = end
    return blob, offsets


def scopes_of(payloads: PayloadRows) -> list[tuple[str, ...] | None]:
    """Each row's scope fields, read without decoding rows."""
    return list(payloads._scopes)


def _fields(payload: Mapping[str, Any] | None) -> tuple[str, ...] | None:
    """A row's scope fields; a tuple of strings, which the collector stops tracking."""
    return None if payload is None else tuple(same_text(payload.get(k, "")) for k in SCOPE_FIELDS)
