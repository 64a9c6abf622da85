"""One scope's memories held in process: ids, payloads, BM25 postings and unit vectors.

Why: qdrant-client's local mode filters in Python, so one scope-filtered search costs
~90 ms at 10k points and ~1 s at 100k (environment.md); the search target is 50 ms.
The facts of one scope fit in memory easily (100k x 384 int8 codes = 39 MB, ``dots.py``), and
an exact cosine over them is one matrix-vector product. The vector store stays the source of
truth: an index is built from it on first use and kept in step by ``IndexedVectorStore``
(``store.py``), which sees every write because every write goes through it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import count
from typing import Any

import numpy as np

from ..models import Scope
from ..text import word_count
from .dots import DTYPE, Coded, coded, dots, rescored, restored
from .keyword import KeywordIndex
from .nearest import MIN_POINTS, Clusters
from .neighbours import NeighbourTable
from .payload_rows import PayloadRows
from .scores import Exact, Scores

_PRODUCT_CELLS = 4_000_000  # 32 MB of float64 scores per chunk of a batched search
# A message longer than this many words is also scored by the facts split from it
# (``ScopeIndex.part_slots``): one vector no longer stands for all it says.
LONG_WORDS = 200
# Tokens no two indexes of one process share: what search caches by index is keyed by
# one, as ``id()`` of a dropped index comes back for the next index built.
_GENERATIONS = count(1)


class ScopeIndex:
    """The facts of one scope: ids, payloads, BM25 postings and (optionally) vectors."""

    def __init__(self, scope: Scope, *, keywords: bool = True) -> None:
        self.scope = scope
        self.generation = next(_GENERATIONS)
        self.with_keywords = keywords
        self.ids: list[str | None] = []
        self.payloads = PayloadRows(ids=self.ids)  # rows decoded when read (payload_rows.py)
        self.slot_of: dict[str, int] = {}
        self.keywords = KeywordIndex()
        self.neighbours = NeighbourTable(self.slot_of, self.ids, self.payloads)
        # Ids of the messages kept whole beside their facts (``is_source``): search asks of
        # every candidate group, and reading a loaded index's payload decodes its JSON
        # (half of a search's payload reads at 100k memories, measured; see ``kept_source``).
        self.sources: set[str] = set()
        self._free: list[int] = []
        self._matrix: np.ndarray | None = None  # int8 codes by slot (``dots.py``)
        self._scales = np.zeros(0, np.float32)  # each row's scale: row ~= scale * codes
        self._fine: np.ndarray | None = None  # what the codes left over, 4 bits (``dots.fine``)
        self._alive = np.zeros(64, dtype=bool)
        # Slots of the facts a kept source stands for: search ranks the source in their
        # place, so they are not among the memories a typical score is read from.
        self._derived = np.zeros(64, dtype=bool)
        self.has_vectors = True  # False once a point arrives without its vector
        # Groups: a source message and the facts extracted from it share one key (the
        # source's id); any other memory is a group of its own (search/collapse.py).
        # Only groups of more than their own key are held: a memory absent from both maps
        # is a group of its own (``group_of.get(i, i)``, ``groups.get(k, [k])``). Most
        # memories are alone, and a list each was ~300k objects the cycle collector
        # walked at 300k memories.
        self.group_of: dict[str, str] = {}  # point id -> group key, where not its own id
        self.groups: dict[str, list[str]] = {}  # group key -> its point ids, if not [key]
        # Counts writes, so what is derived from the scope (search's graph arrays) knows
        # when to rebuild: every graph change comes with a write of its facts or entities.
        self.revision = 0
        # Rows put since the index was built whole or loaded: each holds more than a
        # loaded row does, and ``store.py`` re-compacts an index grown by half.
        self.grown = 0
        self.clusters: Clusters | None = None  # approximate neighbours, once asked for
        self._long: set[str] | None = None  # sources over LONG_WORDS, found on first ask
        self._parts: tuple[int, np.ndarray, np.ndarray] | None = None  # revision, slots

    @property
    def dim(self) -> int | None:
        return None if self._matrix is None else int(self._matrix.shape[1])

    def __len__(self) -> int:
        return len(self.slot_of)

    def put(self, point_id: str, payload: dict[str, Any], vector: Sequence[float] | None) -> None:
        self.place(point_id, payload, coded(vector))

    def place(self, point_id: str, payload: dict[str, Any], row: Coded | None) -> None:
        """``put`` of a vector coded already (``dots.coded``; None: no vector)."""
        slot = self.slot_of.get(point_id)
        if slot is not None and _counts_only(self.payloads[slot], payload):
            # A read count flushed (lifecycle/access.py): nothing search derives from a
            # payload changes, so the postings, neighbours and groups are left as they are.
            # Rebuilding them raced with searches reading them on another thread.
            self.payloads[slot] = payload
            return
        self.revision += 1
        self.grown += 1
        if slot is None:
            slot = self._free.pop() if self._free else len(self.ids)
            if slot == len(self.ids):
                self.ids.append(None)
                self.payloads.append(None)
            self.slot_of[point_id] = slot
        self.ids[slot] = point_id
        self.payloads[slot] = payload
        if is_source(payload):
            self.sources.add(point_id)
        else:
            self.sources.discard(point_id)
        self._regroup(point_id, str(payload.get("origin") or point_id))
        if self._long is not None:
            self._long.discard(point_id)
            if _is_long(payload):
                self._long.add(point_id)
        if slot >= len(self._alive):
            more = np.zeros(len(self._alive) + slot, bool)
            self._alive = np.concatenate([self._alive, more])
            self._derived = np.concatenate([self._derived, more])
        self._alive[slot] = True
        self._mark(point_id)
        for member in self.groups.get(point_id, ()):  # a source stored after its facts
            self._mark(member)
        # A fact split from a source is not a document of its own: its source is, for BM25
        # and for neighbours. Indexing the fragments too tripled LoCoMo's documents and
        # shrank the average length, and BM25 of the messages themselves fell (recall@10
        # 0.633 -> 0.595 on conversations 0-2).
        if self.with_keywords and not payload.get("origin"):
            self.keywords.add(slot, str(payload.get("text", "")))
            self.neighbours.add(point_id, payload)
        if row is None:
            self.has_vectors = False
            return
        codes, scale, leftover = row
        if self._matrix is None:
            self.reserve(64, len(codes))
        assert self._matrix is not None and self._fine is not None
        if slot >= self._matrix.shape[0]:
            rows = max(slot + 1, _grown(self._matrix.shape[0]))
            self._matrix = _longer(self._matrix, rows)
            self._scales = _longer(self._scales, rows)
            self._fine = _longer(self._fine, rows)
        self._matrix[slot], self._scales[slot], self._fine[slot] = codes, scale, leftover
        if self.clusters is not None:
            self.clusters.placed(slot)

    def restamp(self, point_id: str, payload: dict[str, Any]) -> None:
        """``put`` of a new payload for a held memory, which keeps its vector (a store's
        ``overwrite_payloads``); a memory not held is left out, as the store leaves it."""
        slot = self.slot_of.get(point_id)
        if slot is not None and _counts_only(self.payloads[slot], payload):
            self.payloads[slot] = payload  # as ``put`` would, without copying the vector
        elif slot is not None:
            held = self._matrix is not None and self.has_vectors
            row = ((self._matrix[slot].copy(), float(self._scales[slot]),
                    self._fine[slot].copy()) if held and self._fine is not None
                   else None)  # fmt: skip
            self.place(point_id, payload, row)  # the row as held, not rounded again

    def reserve(self, count: int, dim: int) -> None:
        """Room for ``count`` memories of ``dim``-d vectors before a build puts them: the
        matrix grown by doubling held up to twice the rows it needed (131,072 for 100k
        memories: 48 MB of a 100k scope's 192 MB, as float32)."""
        if self._matrix is None and count > 0 and dim > 0:
            self._matrix = np.zeros((count, dim), DTYPE)
            self._scales = np.zeros(count, np.float32)
            self._fine = np.zeros((count, (dim + 1) // 2), np.uint8)

    def drop(self, point_id: str) -> None:
        slot = self.slot_of.pop(point_id, None)
        if slot is None:
            return
        self.revision += 1
        self.ids[slot] = None
        self.payloads[slot] = None
        self.sources.discard(point_id)
        self._alive[slot] = False
        self._regroup(point_id, None)
        self._derived[slot] = False
        for member in self.groups.get(point_id, ()):  # a source's facts stand for themselves
            self._mark(member)
        if self._long is not None:
            self._long.discard(point_id)
        if self.clusters is not None:
            self.clusters.dropped(slot)
        self.keywords.remove(slot)
        self.neighbours.remove(point_id, slot)
        if self._matrix is not None:
            self._matrix[slot] = 0  # a zero row scores 0 and is skipped as empty
            self._scales[slot] = 0.0
        self._free.append(slot)

    def _regroup(self, point_id: str, key: str | None) -> None:
        """Move a memory to group ``key`` (None: out of every group), keeping only groups
        of more than their own key in the maps."""
        old = self.group_of.pop(point_id, point_id)
        members = self.groups.get(old)
        if members is not None and point_id in members:
            members.remove(point_id)
            if not members or members == [old]:
                del self.groups[old]
        if key is None:
            return
        if key != point_id:
            self.group_of[point_id] = key
        members = self.groups.get(key)
        if members is None:
            if key == point_id:
                return  # alone
            # The key's own memory, stored and heading its group, becomes a listed member.
            alone = key in self.slot_of and key not in self.group_of
            members = self.groups[key] = [key] if alone else []
        members.append(point_id)

    def _mark(self, point_id: str) -> None:
        """Record whether a memory is a fact its kept source stands for: search ranks the
        source in its place (``Groups.admits``), so it is left out of ``Scores._typical``."""
        slot = self.slot_of.get(point_id)
        if slot is None:
            return
        key = self.group_of.get(point_id, point_id)
        self._derived[slot] = key != point_id and key in self.slot_of

    def containing(self, text: str) -> list[str]:
        """Ids of the memories whose text holds every (stemmed, non-stop) word of ``text``."""
        out = []
        for slot in self.keywords.containing(text):
            point_id = self.ids[slot]
            if point_id in self.sources:  # the facts of a message holding the words
                out += [i for i in self.groups.get(point_id, ()) if i != point_id]
            else:
                out.append(point_id)
        return out

    def kept_source(self, point_id: str) -> bool:
        """``is_source(self.payload(point_id))``, without reading the payload: a loaded
        index decodes a payload's JSON on its first read (``payload_rows.py``) and keeps
        the decoded row."""
        return point_id in self.sources

    def payload(self, point_id: str) -> dict[str, Any] | None:
        """A memory's whole payload, decoded now (a fresh dict each call)."""
        slot = self.slot_of.get(point_id)
        return None if slot is None else self.payloads[slot]

    def gate(self, point_id: str) -> dict[str, Any] | None:
        """What search admits and weighs a memory by (``payload_rows.GATE_KEYS``), kept
        decoded; read-only."""
        slot = self.slot_of.get(point_id)
        return None if slot is None else self.payloads.gate(slot)

    def vector(self, point_id: str) -> np.ndarray | None:
        """A memory's unit vector as held (int8 codes and a scale), as float32."""
        slot = self.slot_of.get(point_id)
        if slot is None or self._matrix is None or not self.has_vectors:
            return None
        return restored(self._matrix[slot][None, :], self._scales[slot : slot + 1])[0]

    def rows(self, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, scales)`` of these slots' vectors, as ``dots`` takes them."""
        assert self._matrix is not None
        return self._matrix[slots], self._scales[slots]

    def part_slots(self) -> tuple[np.ndarray, np.ndarray]:
        """``(facts, sources)``: the slot of each fact split from a long message, and its
        message's slot, for ``Scores.lifted``. Found on first ask, then kept up to date."""
        if self._long is None:
            if self.with_keywords:  # read only payloads of enough words (a loaded one decodes)
                keys = (self.ids[slot] for slot in self.keywords.longer_than(LONG_WORDS // 4))
            else:
                keys = list(self.groups)
            self._long = {key for key in keys if key is not None and _is_long(self.payload(key))}
        if self._parts is None or self._parts[0] != self.revision:
            # A superseded fact no longer speaks for its message.
            pairs = [(self.slot_of[member], self.slot_of[key]) for key in self._long
                     for member in self.groups.get(key, ()) if member != key
                     and not (self.gate(member) or {}).get("invalid_at")]  # fmt: skip
            found = np.array(pairs, np.int64).reshape(-1, 2)
            self._parts = (self.revision, found[:, 0].copy(), found[:, 1].copy())
        return self._parts[1], self._parts[2]

    # -- ranked reads ------------------------------------------------------------------

    def vector_scores(self, query: Sequence[float], exact: bool = False) -> Scores:
        """Cosine of every memory of the scope to ``query``; with ``exact``, every score
        read of it comes from both parts of its row (``scores.py``)."""
        size = len(self.ids)
        if self._matrix is None or not self.slot_of:
            return Scores(self, np.empty(0, np.int64), np.empty(0), 0.0)
        unit = _unit(query)
        values = dots(self._matrix[:size], self._scales[:size], unit[None, :])[0]
        floor = _unrelated(values[self._alive[:size]].min())
        return Scores(self, np.arange(size), values, floor, self._reader(unit) if exact else None)

    def _reader(self, unit: np.ndarray) -> Exact | None:
        """Exact cosines of slots to ``unit``, from the rows as held now."""
        if self._fine is None or self._matrix is None:
            return None
        matrix, scales, fine = self._matrix, self._scales, self._fine
        return lambda slots: rescored(matrix[slots], scales[slots], fine[slots], unit)

    def vector_scores_many(self, queries: Sequence[Sequence[float]]) -> list[Scores]:
        """``vector_scores`` of each query, from one product per chunk of queries: the
        same scores, pair by pair (``dots.py``)."""
        size = len(self.ids)
        if self._matrix is None or not self.slot_of:
            return [self.vector_scores(q) for q in queries]
        units = [_unit(query) for query in queries]  # one by one, as vector_scores does
        matrix, scales = self._matrix[:size], self._scales[:size]
        alive, out = self._alive[:size], []
        step = max(1, _PRODUCT_CELLS // size)  # bounds the (queries x scope) scratch array
        for start in range(0, len(units), step):
            values = dots(matrix, scales, np.stack(units[start : start + step]))
            floors = (values if alive.all() else values[:, alive]).min(axis=1)
            slots = np.arange(size)
            out += [Scores(self, slots, row, _unrelated(floor))
                    for row, floor in zip(values, floors, strict=True)]  # fmt: skip
        return out

    def nearest_scores_many(self, queries: Sequence[Sequence[float]]) -> list[Scores]:
        """``vector_scores_many``, but over each query's approximate neighbourhood
        (``nearest.py``) once the scope holds ``MIN_POINTS`` vectors: the memories it
        leaves out score nothing, so a ranked read of it may miss a true neighbour."""
        if self._matrix is None or len(self) < MIN_POINTS or not self.has_vectors:
            return self.vector_scores_many(queries)
        if self.clusters is None:
            self.clusters = Clusters(self)
        units = np.stack([_unit(query) for query in queries])
        out = []
        for slots, values in self.clusters.scores(units):
            # In slot order, as vector_scores has them: equal scores rank alike.
            order = np.argsort(slots, kind="stable")
            floor = float(values.min()) if len(values) else 0.0
            out.append(Scores(self, slots[order], values[order].astype(np.float64), floor))
        return out

    def clustered(self) -> bool:
        """Whether ``nearest_scores_many`` reads approximate neighbourhoods now."""
        return self.clusters is not None and len(self) >= MIN_POINTS and self.has_vectors

    def keyword_scores(self, query: str) -> Scores:
        """BM25 of every memory sharing a term with ``query`` (the rest score 0)."""
        slots, values = self.keywords.scores(query)
        return Scores(self, slots, values, 0.0)


def _longer(array: np.ndarray, rows: int) -> np.ndarray:
    """``array`` with zero rows after it, ``rows`` in all."""
    out = np.zeros((rows, *array.shape[1:]), array.dtype)
    out[: len(array)] = array
    return out


def _grown(rows: int) -> int:
    """The matrix's next size: a quarter more, not double (a few more copies while a
    scope grows, a quarter of its size at most held unused after)."""
    return rows + rows // 4 + 64


def _is_long(payload: Mapping[str, Any] | None) -> bool:
    """A source message of more than ``LONG_WORDS`` words."""
    return is_source(payload) and word_count(str(payload.get("text", ""))) > LONG_WORDS


def _unrelated(lowest: float) -> float:
    """What an unrelated memory scores for a query whose lowest cosine over the scope is
    ``lowest``: that cosine, or 0 (orthogonal: shares no meaning) when every memory is
    above it. In a scope of one memory its own cosine was the floor, so a memory that
    matched well scored 0; in a small scope the least related one always did."""
    return min(float(lowest), 0.0)


def _unit(query: Sequence[float]) -> np.ndarray:
    """A query as a float32 unit vector (left as is when it is all zeros)."""
    q = np.asarray(query, dtype=np.float32)
    return q / (float(np.linalg.norm(q)) or 1.0)


def is_source(payload: Mapping[str, Any] | None) -> bool:
    """A message kept whole for search beside the facts split from it (not a memory)."""
    return payload is not None and payload.get("kind") == "source"


_COUNTS = frozenset({"access_count", "last_accessed_at"})


def _counts_only(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Whether ``new`` differs from ``old`` in access counts alone."""
    if old is None:
        return False
    keys = (old.keys() | new.keys()) - _COUNTS
    return all(old.get(k) == new.get(k) for k in keys)
