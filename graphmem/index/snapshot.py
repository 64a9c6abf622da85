"""What a snapshot of an in-process index holds on disk, and how it is checked on the way in.

A snapshot is a set of ``.npy`` arrays: numbers as themselves (the vectors' int8 codes
and scales, BM25 postings in CSR form, neighbours by slot, a graph part's columns),
everything else (ids, payloads, texts) as UTF-8 JSON in a ``uint8`` array. Nothing is
unpickled: ``np.load`` runs with ``allow_pickle=False``, so a hostile file can fail to
load, never run code. Each array's dtype, shape and Adler-32 sum are kept in the manifest
(``persist.py``) and checked on load, and the contents are checked against each other
(slots in range, ids unique, every payload in the index's scope), so a damaged file is
rebuilt from the stores, not served.

Adler-32 rather than a cryptographic hash: it catches a torn or damaged file, and sums
150 MB (100k x 384 float32) in ~0.07 s where SHA-1 took 0.17 s and CRC-32 0.43 s
(measured here). A forger who can write the data dir can write the stores themselves.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..models import SCOPE_FIELDS, Scope
from .dots import DTYPE
from .neighbours import NeighbourTable
from .payload_rows import (
    GATE_COLUMNS,
    UNCOLUMNED,
    GateColumns,
    PayloadRows,
    checked_table,
    gate_columns,
    rows_blob,
    scopes_of,
)
from .row_shapes import Shapes
from .scope import ScopeIndex, is_source

Arrays = dict[str, np.ndarray]
NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_KINDS = "biuf"  # bool, signed and unsigned integers, floats: never objects or strings

# A damaged or inconsistent snapshot raises ValueError (json's errors are ValueErrors
# too); ``persist.py`` answers any of them by rebuilding, so none reaches a caller.


def pack(value: Any) -> np.ndarray:
    """``value`` as JSON text in a ``uint8`` array."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def unpack(array: np.ndarray) -> Any:
    return json.loads(array.tobytes().decode("utf-8"))


# -- files -------------------------------------------------------------------------------


class Chunks:
    """Byte strings saved as one ``uint8`` array, back to back, never joined in memory:
    the graph copy's parts at 1M memories are 151 MB, and joining them to save them held
    that twice at the close's peak."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def tobytes(self) -> bytes:
        return b"".join(self.parts)


def write_arrays(folder: Path, name: str, arrays: dict[str, Any]) -> dict[str, list[Any]]:
    """Write each array (or ``Chunks``) as ``<name>.<key>.npy``, synced; return what
    ``read_arrays`` checks."""
    sums: dict[str, list[Any]] = {}
    for key, value in arrays.items():
        with open(folder / f"{name}.{key}.npy", "wb") as out:
            if isinstance(value, Chunks):
                sums[key] = _write_chunks(out, value)
            else:
                array = np.ascontiguousarray(value)
                np.save(out, array, allow_pickle=False)
                sums[key] = [array.dtype.str, list(array.shape), zlib.adler32(array.data)]
            out.flush()
            os.fsync(out.fileno())
    return sums


def _write_chunks(out: Any, chunks: Chunks) -> list[Any]:
    """``chunks`` as the ``.npy`` of their concatenation, and its sums."""
    total, check = len(chunks), 1  # 1: Adler-32 of nothing
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)),
              "fortran_order": False, "shape": (total,)}  # fmt: skip
    np.lib.format.write_array_header_1_0(out, header)
    for part in chunks.parts:
        out.write(part)
        check = zlib.adler32(part, check)
    return [np.dtype(np.uint8).str, [total], check]


def read_arrays(folder: Path, name: str, sums: dict[str, list[Any]]) -> Arrays:
    """The arrays ``write_arrays`` wrote, each checked against ``sums``."""
    out: Arrays = {}
    for key, expected in sums.items():
        # Names from the manifest stay inside the snapshot folder, and only regular files
        # are opened (a FIFO planted there would block the open for ever).
        if not all(NAME.fullmatch(str(n)) for n in (name, key)):
            raise ValueError(f"a snapshot file name that is not a plain name: {name}.{key}")
        path = folder / f"{name}.{key}.npy"
        if not path.is_file():
            raise ValueError(f"{path.name}: missing or not a regular file")
        dtype, shape, check = expected
        with open(path, "rb") as src:
            version = np.lib.format.read_magic(src)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)  # fmt: skip
            found_shape, fortran, found_dtype = read_header(src)
            # The header is checked before numpy allocates what it declares.
            if fortran or found_dtype.str != dtype or list(found_shape) != shape:
                raise ValueError(f"{path.name}: holds {found_dtype.str}{found_shape}")
            if found_dtype.kind not in _KINDS:
                raise ValueError(f"{path.name}: a {found_dtype} array is never stored")
            need = int(np.prod(found_shape, dtype=np.int64)) * found_dtype.itemsize
            if need > os.fstat(src.fileno()).st_size:
                raise ValueError(f"{path.name}: shorter than its header says")
            array = np.fromfile(src, dtype=found_dtype, count=need // max(1, found_dtype.itemsize))
        array = array.reshape(found_shape)
        if zlib.adler32(np.ascontiguousarray(array).data) != check:
            raise ValueError(f"{path.name}: its checksum does not match (damaged)")
        out[key] = array
    return out


# -- one scope's index -------------------------------------------------------------------


def scope_arrays(index: ScopeIndex, *, consume: bool = False) -> tuple[dict[str, Any], Arrays]:
    """``(meta, arrays)`` holding everything ``load_scope`` needs to rebuild ``index``.

    With ``consume`` (``compacted``), each part of ``index`` is let go once its arrays are
    made, so a build's grown form and its arrays are never held whole together: the
    payload rows first, each with its own bytes and decoded gate (the largest part)."""
    size = len(index.ids)
    meta = {
        "size": size,
        "has_vectors": index.has_vectors,
        "keywords": index.with_keywords,
        "revision": index.revision,
        "free": list(index._free),
        "total_length": index.keywords._total_length,
    }
    # Neighbours first: merging a group's fresh members reads their payloads' texts.
    names, ends, slots = index.neighbours.columns()
    neighbours = {
        # Neighbours by group: the groups' names, where each group's members end, and
        # each member's slot, in order. What they are sorted by is in their payloads.
        "neighbours": pack(names),
        "neighbour_ends": ends,
        "neighbour_slots": slots,
    }
    del names, ends, slots
    if consume:
        index.neighbours = None  # type: ignore[assignment]
    blob, offsets = rows_blob(index.payloads)
    gate_codes, gate_table = gate_columns(index.payloads)
    meta["gate_columns"] = list(GATE_COLUMNS)
    meta["payload_shapes"] = index.payloads.shapes.saved()
    distinct: dict[tuple[str, ...], int] = {}
    codes = [-1 if s is None else distinct.setdefault(tuple(s), len(distinct))
             for s in scopes_of(index.payloads)]  # fmt: skip
    arrays = {
        "payloads": blob,
        "payload_offsets": offsets,
        "scopes": pack(list(distinct)),
        "scope_codes": np.asarray(codes, np.int32),
        "alive": index._alive[:size],
        "gate_codes": gate_codes,
        "gate_table": pack(gate_table),
    }
    del blob, offsets, codes, gate_codes, gate_table
    if consume:
        index.payloads = None  # type: ignore[assignment]
    words = index.keywords
    terms, ptr, slots, counts = words.columns()
    arrays.update({
        "terms": pack(terms),
        "term_ptr": ptr,
        "term_slots": slots,
        "term_counts": counts,
        # Padded: an index without keywords (entities) never grows its lengths past 64, and
        # a shorter array was refused on load ("postings shape"), so every reopen rebuilt it.
        "lengths": np.pad(words._lengths[:size], (0, max(0, size - len(words._lengths)))),
    })  # fmt: skip
    del terms, ptr, slots, counts, words
    if consume:
        index.keywords = None  # type: ignore[assignment]
    arrays.update(neighbours)
    del neighbours
    arrays.update({
        "ids": pack(index.ids),
        # Only groups of more than their own key, as the index holds them.
        "groups": pack(index.groups),
        "sources": pack(sorted(index.sources)),
    })  # fmt: skip
    if index._matrix is not None:
        arrays["matrix"] = index._matrix[:size]
        arrays["scales"] = index._scales[:size]
        arrays["fine"] = index._fine[:size]
    return meta, arrays


def _gate_columns(meta: dict[str, Any], arrays: Arrays, ids: list[Any],
                  size: int) -> GateColumns | None:  # fmt: skip
    """The saved rows' gates, checked; None for a snapshot saved without them (its rows'
    gates are then decoded from their JSON when first read, as before)."""
    if meta.get("gate_columns") != list(GATE_COLUMNS) or "gate_codes" not in arrays:
        return None
    codes, table = arrays["gate_codes"], checked_table(unpack(arrays["gate_table"]))
    check(codes.shape == (size, len(GATE_COLUMNS)), "gate columns shape")
    check(size == 0 or (int(codes.min()) >= UNCOLUMNED and int(codes.max()) < len(table)),
          "gate codes outside their table")  # fmt: skip
    return GateColumns(codes, table, ids)


def compacted(index: ScopeIndex, *, consume: bool = True) -> ScopeIndex:
    """``index`` in the form a snapshot's load gives: the same memories, scores and order.

    Why: an index built write by write keeps what its growth needs (each payload row as
    bytes of its own, every row's gate decoded, a sort key per neighbour, each slot's
    terms). A 100k-memory scope built from the stores held ~330 MB that way and ~200 MB
    once loaded from its snapshot (measured; issue 16, where ten such scopes set the
    peak RSS of a 1M data dir). Round-tripping through the snapshot's arrays in memory
    takes ~0.7 s of a ~14 s build at 100k. Writes after it work as on a loaded index.

    With ``consume``, ``index`` is emptied once copied, so the two forms are never held
    whole at once (a build's peak RSS), and it must not be used after. Its approximate
    neighbours (``nearest.py``) move over as they are: slots do not change."""
    scope, clusters = index.scope, index.clusters
    meta, arrays = scope_arrays(index, consume=consume)
    if consume:
        vars(index).clear()  # misuse fails loudly (AttributeError), never answers half
        # The rows as the bytes the load keeps, now: else it copies them while the array
        # is still held here.
        arrays["payloads"] = arrays["payloads"].tobytes()  # type: ignore[assignment]
    lean = load_scope(scope, json.loads(json.dumps(meta)), arrays)
    if clusters is not None:
        clusters.index, lean.clusters = lean, clusters
    return lean


def load_scope(scope: Scope, meta: dict[str, Any], arrays: Arrays, where: str = "") -> ScopeIndex:
    """A ``ScopeIndex`` equal to the one ``scope_arrays`` was given; ``ValueError`` (or
    ``KeyError``/``TypeError`` from JSON of the wrong shape) if the parts disagree."""
    size = int(meta["size"])
    index = ScopeIndex(scope, keywords=bool(meta["keywords"]))
    ids, alive, codes = unpack(arrays["ids"]), arrays["alive"], arrays["scope_codes"]
    offsets, scopes = arrays["payload_offsets"], unpack(arrays["scopes"])
    check(isinstance(ids, list) and len(ids) == size == len(alive) == len(codes)
           == len(offsets) - 1, "ids, payloads, alive differ in size")  # fmt: skip
    check(offsets[0] == 0 and offsets[-1] == len(arrays["payloads"])
           and bool(np.all(np.diff(offsets) > 0)), "payload offsets")  # fmt: skip
    # Scopes never leak: a memory outside the index's scope fails the whole snapshot.
    fields = [dict(zip(SCOPE_FIELDS, s, strict=True)) for s in scopes]
    check(all(scope.matches(f) for f in fields), f"a memory outside {scope}")
    check(bool(np.all((codes >= 0) == alive)) and int(codes.max(initial=-1)) < len(scopes),
           "scope codes")  # fmt: skip
    slot_of = {point_id: slot for slot, point_id in enumerate(ids) if point_id is not None}
    check(all(isinstance(i, str) for i in slot_of), "an id is not text")
    check(len(slot_of) == int(alive.sum()) == size - ids.count(None), "ids and alive differ")
    distinct = [tuple(s) for s in scopes]  # one tuple per scope, shared by its rows
    rows = [None if c < 0 else distinct[c] for c in codes.tolist()]
    blob = arrays["payloads"]  # bytes already from ``compacted``
    blob = blob if isinstance(blob, bytes) else blob.tobytes()
    payloads = PayloadRows(blob, offsets, rows, where,
                           _gate_columns(meta, arrays, ids, size), ids=ids,
                           shapes=Shapes.checked(meta.get("payload_shapes", [])))  # fmt: skip
    free = [int(s) for s in meta["free"]]
    check(sorted(free) == [s for s, i in enumerate(ids) if i is None], "free slots differ")
    index.ids, index.payloads, index.slot_of, index._free = ids, payloads, slot_of, free
    index._alive = np.concatenate([alive, np.zeros(max(0, 64 - size), bool)])
    index._derived = np.zeros(len(index._alive), bool)
    index.has_vectors, index.revision = bool(meta["has_vectors"]), int(meta["revision"])
    matrix = arrays.get("matrix")
    if matrix is not None:
        check(matrix.ndim == 2 and len(matrix) == size and matrix.dtype == DTYPE,
               "matrix shape")  # fmt: skip
        scales = arrays.get("scales")
        check(scales is not None and scales.shape == (size,) and scales.dtype == np.float32
              and bool(np.isfinite(scales).all()) and not bool((scales < 0).any()),
              "vector scales")  # fmt: skip
        fine = arrays.get("fine")
        check(fine is not None and fine.shape == (size, (matrix.shape[1] + 1) // 2)
              and fine.dtype == np.uint8, "vector leftovers")  # fmt: skip
        index._matrix, index._scales, index._fine = matrix, scales, fine
    groups = unpack(arrays["groups"])
    check(isinstance(groups, dict), "groups not a mapping")
    listed: set[str] = set()
    for key, members in groups.items():
        check(isinstance(members, list) and bool(members) and members != [key]
              and all(m in slot_of for m in members), f"group {key!r} names unknown ids")  # fmt: skip
        index.groups[key] = members
        index.group_of.update((member, key) for member in members if member != key)
        listed.update(members)
        if key in slot_of:  # a kept source, standing for its facts
            index._derived[[slot_of[m] for m in members if m != key]] = True
    # Each memory in one group at most; a stored key heading a group is listed in it.
    check(len(listed) == sum(map(len, groups.values()))
          and all(k in listed for k in groups if k in slot_of and k not in index.group_of),
          "groups do not cover every memory once")  # fmt: skip
    _load_keywords(index, meta, arrays)
    _load_neighbours(index, arrays)
    if "sources" in arrays:
        sources = unpack(arrays["sources"])
        check(isinstance(sources, list) and all(i in slot_of for i in sources), "sources")
        index.sources = set(sources)
    else:  # saved before sources were: found in the rows' JSON, none of them kept decoded
        index.sources = {i for i, slot in slot_of.items() if _source_row(payloads, slot)}
    return index


def _source_row(payloads: PayloadRows, slot: int) -> bool:
    """Whether row ``slot`` is a kept source, read without counting as a decode."""
    raw = payloads.raw(slot)
    return b"source" in raw and is_source(payloads.read(slot, raw))


def _load_keywords(index: ScopeIndex, meta: dict[str, Any], arrays: Arrays) -> None:
    size, words = len(index.ids), index.keywords
    terms, ptr = unpack(arrays["terms"]), arrays["term_ptr"]
    slots, counts, lengths = arrays["term_slots"], arrays["term_counts"], arrays["lengths"]
    check(isinstance(terms, list) and len(ptr) == len(terms) + 1 and len(lengths) == size,
           "postings shape")  # fmt: skip
    check(int(ptr[0]) == 0 and len(slots) == len(counts) == int(ptr[-1])
          and bool(np.all(np.diff(ptr) > 0)), "postings offsets")  # fmt: skip
    if len(slots):
        check(int(slots.min()) >= 0 and int(slots.max()) < size, "posting slot out of range")
        check(bool(index._alive[slots].all()) and int(counts.min()) > 0, "posting of no memory")
    # Each document of a length has postings, and only those: ``remove`` unlists by them.
    held = np.bincount(slots, minlength=size)[:size] if len(slots) else np.zeros(size)
    check(bool(np.array_equal(held > 0, lengths > 0)), "lengths and postings disagree")
    check(all(isinstance(term, str) for term in terms) and len(set(terms)) == len(terms),
           "terms not distinct text")  # fmt: skip
    # By slot within each term (``KeywordIndex.columns``), so a slot listed twice shows.
    rising = np.diff(slots.astype(np.int64)) > 0
    rising[ptr[1:-1] - 1] = True  # where one term's postings end and the next one's start
    check(bool(rising.all()), "a slot listed twice, or postings out of order")
    words.restore(terms, ptr, slots, counts, lengths, float(meta["total_length"]))


def _load_neighbours(index: ScopeIndex, arrays: Arrays) -> None:
    groups = unpack(arrays["neighbours"])
    ends, slots = arrays["neighbour_ends"], arrays["neighbour_slots"]
    count = len(slots)
    check(isinstance(groups, list) and set(map(type, groups)) <= {str}
          and len(set(groups)) == len(groups), "neighbour groups")  # fmt: skip
    sizes = np.diff(ends, prepend=0)
    check(len(ends) == len(groups) and bool(np.all(sizes > 0))
          and (int(ends[-1]) if len(ends) else 0) == count, "neighbour group sizes")  # fmt: skip
    if count:
        check(int(slots.min()) >= 0 and int(slots.max()) < len(index.ids)
              and bool(index._alive[slots].all()), "a neighbour of no memory")  # fmt: skip
        check(len(np.unique(slots)) == count, "a memory listed twice among neighbours")
    # A new table: the one the index was made with holds the maps the load replaced.
    index.neighbours = NeighbourTable(index.slot_of, index.ids, index.payloads)
    index.neighbours.restore(groups, ends, slots)


def check(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"inconsistent snapshot: {what}")
