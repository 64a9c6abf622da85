"""What a snapshot of an in-process index holds on disk, and how it is checked on the way in.

A snapshot is a set of ``.npy`` arrays: numbers as themselves (the unit-vector matrix,
BM25 postings in CSR form), everything else (ids, payloads, neighbour lists, graph rows)
as UTF-8 JSON in a ``uint8`` array. Nothing is unpickled: ``np.load`` runs with
``allow_pickle=False``, so a hostile file can fail to load, never run code. Each array's
dtype, shape and Adler-32 sum are kept in the manifest (``persist.py``) and checked on
load, and the contents are checked against each other (slots in range, ids unique, every
payload in the index's scope), so a damaged file is rebuilt from the stores, not served.

Adler-32 rather than a cryptographic hash: it catches a torn or damaged file, and sums
150 MB (100k x 384 float32) in ~0.07 s where SHA-1 took 0.17 s and CRC-32 0.43 s
(measured here). A forger who can write the data dir can write the stores themselves.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..models import Scope
from ..stores.graph_index import GraphIndex
from .scope import ScopeIndex

Arrays = dict[str, np.ndarray]
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


def write_arrays(folder: Path, name: str, arrays: Arrays) -> dict[str, list[Any]]:
    """Write each array as ``<name>.<key>.npy``, synced; return what ``read_arrays`` checks."""
    sums: dict[str, list[Any]] = {}
    for key, value in arrays.items():
        array = np.ascontiguousarray(value)
        with open(folder / f"{name}.{key}.npy", "wb") as out:
            np.save(out, array, allow_pickle=False)
            out.flush()
            os.fsync(out.fileno())
        sums[key] = [array.dtype.str, list(array.shape), zlib.adler32(array.data)]
    return sums


def read_arrays(folder: Path, name: str, sums: dict[str, list[Any]]) -> Arrays:
    """The arrays ``write_arrays`` wrote, each checked against ``sums``."""
    out: Arrays = {}
    for key, expected in sums.items():
        path = folder / f"{name}.{key}.npy"
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


def scope_arrays(index: ScopeIndex) -> tuple[dict[str, Any], Arrays]:
    """``(meta, arrays)`` holding everything ``load_scope`` needs to rebuild ``index``."""
    size = len(index.ids)
    words = index.keywords
    terms = list(words._postings)
    ptr = np.zeros(len(terms) + 1, np.int64)
    slots: list[int] = []
    counts: list[int] = []
    for i, term in enumerate(terms):
        docs = words._postings[term]
        slots += docs
        counts += docs.values()
        ptr[i + 1] = len(slots)
    table = index.neighbours
    neighbours = {group: [list(e) for e in table._members(group)] for group in list(table._groups)}
    meta = {
        "size": size,
        "has_vectors": index.has_vectors,
        "keywords": index.with_keywords,
        "revision": index.revision,
        "free": list(index._free),
        "total_length": words._total_length,
    }
    arrays = {
        "ids": pack(index.ids),
        "payloads": pack(index.payloads),
        "alive": index._alive[:size],
        "groups": pack(index.groups),
        "terms": pack(terms),
        "term_ptr": ptr,
        "term_slots": np.asarray(slots, np.int32),
        "term_counts": np.asarray(counts, np.int32),
        "lengths": words._lengths[:size],
        "neighbours": pack(neighbours),
    }
    if index._matrix is not None:
        arrays["matrix"] = index._matrix[:size]
    return meta, arrays


def load_scope(scope: Scope, meta: dict[str, Any], arrays: Arrays) -> ScopeIndex:
    """A ``ScopeIndex`` equal to the one ``scope_arrays`` was given; ``ValueError`` (or
    ``KeyError``/``TypeError`` from JSON of the wrong shape) if the parts disagree."""
    size = int(meta["size"])
    index = ScopeIndex(scope, keywords=bool(meta["keywords"]))
    ids, payloads = unpack(arrays["ids"]), unpack(arrays["payloads"])
    alive = arrays["alive"]
    _check(isinstance(ids, list) and isinstance(payloads, list), "ids or payloads not lists")
    _check(len(ids) == len(payloads) == size == len(alive), "ids, payloads, alive differ in size")
    slot_of = {}
    for slot, (point_id, payload) in enumerate(zip(ids, payloads, strict=True)):
        if point_id is None:
            _check(payload is None and not alive[slot], f"slot {slot} half empty")
            continue
        _check(isinstance(point_id, str) and isinstance(payload, dict) and alive[slot],
               f"slot {slot} malformed")  # fmt: skip
        # Scopes never leak: a memory outside the index's scope fails the whole snapshot.
        _check(scope.matches(payload), f"slot {slot} is outside {scope}")
        slot_of[point_id] = slot
    _check(len(slot_of) == int(alive.sum()), "an id is stored twice")
    free = [int(s) for s in meta["free"]]
    _check(sorted(free) == [s for s, i in enumerate(ids) if i is None], "free slots differ")
    index.ids, index.payloads, index.slot_of, index._free = ids, payloads, slot_of, free
    index._alive = np.concatenate([alive, np.zeros(max(0, 64 - size), bool)])
    index.has_vectors, index.revision = bool(meta["has_vectors"]), int(meta["revision"])
    matrix = arrays.get("matrix")
    if matrix is not None:
        _check(matrix.ndim == 2 and len(matrix) == size and matrix.dtype == np.float32,
               "matrix shape")  # fmt: skip
        index._matrix = matrix
    groups = unpack(arrays["groups"])
    _check(isinstance(groups, dict), "groups not a mapping")
    for key, members in groups.items():
        _check(all(m in slot_of for m in members), f"group {key!r} names unknown ids")
        index.groups[key] = list(members)
        for member in members:
            index.group_of[member] = key
    _check(len(index.group_of) == len(slot_of), "groups do not cover every memory")
    _load_keywords(index, meta, arrays)
    _load_neighbours(index, unpack(arrays["neighbours"]))
    return index


def _load_keywords(index: ScopeIndex, meta: dict[str, Any], arrays: Arrays) -> None:
    size, words = len(index.ids), index.keywords
    terms, ptr = unpack(arrays["terms"]), arrays["term_ptr"]
    slots, counts, lengths = arrays["term_slots"], arrays["term_counts"], arrays["lengths"]
    _check(isinstance(terms, list) and len(ptr) == len(terms) + 1 and len(lengths) == size,
           "postings shape")  # fmt: skip
    _check(len(slots) == len(counts) == int(ptr[-1]) and bool(np.all(np.diff(ptr) > 0)),
           "postings offsets")  # fmt: skip
    if len(slots):
        _check(int(slots.min()) >= 0 and int(slots.max()) < size, "posting slot out of range")
        _check(bool(index._alive[slots].all()) and int(counts.min()) > 0, "posting of no memory")
    docs_of: dict[int, list[str]] = {}
    slot_list, count_list, bounds = slots.tolist(), counts.tolist(), ptr.tolist()
    for i, term in enumerate(terms):
        _check(isinstance(term, str), "a term is not text")
        part = slot_list[bounds[i] : bounds[i + 1]]
        words._postings[term] = dict(zip(part, count_list[bounds[i] : bounds[i + 1]], strict=True))
        for slot in part:
            docs_of.setdefault(slot, []).append(term)
    words._terms = {slot: tuple(found) for slot, found in docs_of.items()}
    words._lengths = np.concatenate([lengths, np.zeros(max(0, 64 - size))])
    words._total_length = float(meta["total_length"])


def _load_neighbours(index: ScopeIndex, groups: Any) -> None:
    table = index.neighbours
    _check(isinstance(groups, dict), "neighbours not a mapping")
    for group, entries in groups.items():
        members = [tuple(e) for e in entries]
        for entry in members:
            _check(len(entry) == 3 and all(isinstance(x, str) for x in entry)
                   and entry[2] in index.slot_of, f"neighbour entry {entry!r}")  # fmt: skip
            table._entry[entry[2]] = (group, entry)
        table._groups[group] = members  # written sorted: nothing to sort on first read


# -- the graph's in-process copy -----------------------------------------------------------


def graph_arrays(index: GraphIndex) -> tuple[dict[str, Any], Arrays]:
    mentions = [[f, e] for f, found in index.mentions.items() for e in sorted(found)]
    return {}, {
        "entities": pack(list(index.entities.values())),
        "relations": pack(list(index.relations.values())),
        "mentions": pack(mentions),
    }


def load_graph(meta: dict[str, Any], arrays: Arrays) -> GraphIndex:
    entities, relations = unpack(arrays["entities"]), unpack(arrays["relations"])
    mentions = unpack(arrays["mentions"])
    _check(all(isinstance(x, list) for x in (entities, relations, mentions)), "graph rows")
    _check(all(isinstance(r, dict) and isinstance(r.get("id"), str) for r in entities + relations),
           "graph row without an id")  # fmt: skip
    return GraphIndex(entities, relations, [(f, e) for f, e in mentions])


def _check(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"inconsistent snapshot: {what}")
