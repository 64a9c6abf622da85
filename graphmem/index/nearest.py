"""Approximate nearest neighbours over one scope's vectors: an inverted file of clusters.

Why: entity resolution compares every new name with the scope's stored names. As one
exact product that cost grows with the scope (issue 16: at 100k memories in one scope
resolution took 26% of ingest, 0.4 s per 1,000 memories at 10k rising to 2.0 s at 40k,
wall time under load). Qdrant Edge's HNSW was measured as the alternative on this
machine: building it over 22k name vectors took 7 s of CPU and 119 s of wall time, and
800 batched queries cost as much CPU as the exact product (0.27 vs 0.32 s), so the
index is kept here instead, in numpy.

The vectors are grouped around ``k`` centres (stored vectors picked at even strides, no
training); a query scores the centres, then only the members of its ``probes`` nearest
ones. With ``k ~ sqrt(probes * n)`` both steps cost ``~sqrt(n)`` per query instead of
``n``. A true neighbour is missed only when it sits in none of the query's nearest
clusters; near duplicates (cosine >= 0.9, what resolution looks for) share a cluster or
a neighbouring one (``tests/test_nearest.py`` measures it against the exact scan). The
centres are picked again when the scope has doubled since, so clusters stay balanced.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .dots import dots, nearest_rows, queries

if TYPE_CHECKING:
    from .scope import ScopeIndex

MIN_POINTS = 4096  # below this one exact product is cheap: no clusters
PROBES = 8


class Clusters:
    """Cluster membership of a ``ScopeIndex``'s vectors, kept in step with its writes.

    Each cluster's live members are kept as an array of slots (with room to grow), and a
    query gathers its probed clusters' rows from the index's matrix in one take. These
    blocks used to hold a copy of their members' rows: ~1.4 times the matrix, ~25 MB of a
    20k-name entities index (~250 MB at 1M memories in 10 scopes), for a query ~10%
    quicker. A member that moves, changes or leaves marks its cluster's block for a
    rebuild.
    """

    def __init__(self, index: ScopeIndex, probes: int = PROBES) -> None:
        self.index = index
        self.probes = probes
        self.centres = np.empty((0, 0), np.int8)  # int8 codes, as the index's rows
        self.centre_scales = np.empty(0, np.float32)
        self.owner = np.empty(0, np.int32)  # slot -> cluster (-1: not filed)
        self.members: list[list[int]] = []  # may still list slots that left: see owner
        self._blocks: dict[int, list] = {}  # cluster -> [slots, count], with spare room
        self._stale: set[int] = set()
        self.built_at = 0
        self._pending: list[int] = []

    def placed(self, slot: int) -> None:
        """A vector was written to ``slot``: filed before the next query."""
        self._pending.append(slot)

    def dropped(self, slot: int) -> None:
        if slot < len(self.owner) and self.owner[slot] >= 0:
            self._stale.add(int(self.owner[slot]))
            self.owner[slot] = -1

    def scores(self, units: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each unit query row: (slots, cosines) of the live members of its
        ``probes`` nearest clusters."""
        self._refresh()
        probes = min(self.probes, len(self.centres))
        asked = queries(units)  # each query in int8 parts once, for every product below
        near = dots(self.centres, self.centre_scales, asked)
        top = np.argpartition(-near, probes - 1, axis=1)[:, :probes]
        out = []
        for i, clusters in enumerate(top.tolist()):
            slots = np.concatenate([self._block(c) for c in clusters])
            out.append((slots, dots(*self.index.rows(slots), asked.one(i))[0]))
        return out

    def _block(self, cluster: int) -> np.ndarray:
        block = self._blocks.get(cluster)
        if block is None or cluster in self._stale:
            self._stale.discard(cluster)
            listed = np.unique(np.asarray(self.members[cluster], np.int64))
            slots = listed[self.owner[listed] == cluster]
            self.members[cluster] = slots.tolist()
            block = self._blocks[cluster] = [slots, len(slots)]
        slots, count = block
        return slots[:count]

    def _append(self, cluster: int, slot: int) -> None:
        block = self._blocks.get(cluster)
        if block is None or cluster in self._stale:
            return  # built from the members when next asked for
        slots, count = block
        if count == len(slots):
            slots = np.resize(slots, max(8, 2 * count))
        slots[count] = slot
        self._blocks[cluster] = [slots, count + 1]

    def _refresh(self) -> None:
        if not self.built_at or len(self.index) > 2 * self.built_at:
            self._build()
        elif self._pending:
            slots = np.unique(np.asarray(self._pending, np.int64))
            self._pending = []
            self._file(slots)

    def _build(self) -> None:
        index = self.index
        live = np.flatnonzero(index._alive[: len(index.ids)])
        k = max(1, round(math.sqrt(self.probes * len(live))))
        picks = live[np.linspace(0, len(live) - 1, k).astype(np.int64)]
        self.centres, self.centre_scales = index.rows(picks)
        self.members = [[] for _ in range(k)]
        self._blocks, self._stale = {}, set()
        self.owner = np.full(len(index._alive), -1, np.int32)
        self.built_at = len(live)
        self._pending = []
        self._file(live)

    def _file(self, slots: np.ndarray) -> None:
        index = self.index
        if len(self.owner) < len(index._alive):
            grown = np.full(len(index._alive), -1, np.int32)
            grown[: len(self.owner)] = self.owner
            self.owner = grown
        slots = slots[index._alive[slots]]
        step = max(1, 4_000_000 // max(1, len(self.centres)))  # bounds the scratch array
        for start in range(0, len(slots), step):
            part = slots[start : start + step]
            best = nearest_rows(self.centres, self.centre_scales, index.rows(part)[0])
            for slot, cluster in zip(part.tolist(), best.tolist(), strict=True):
                old = int(self.owner[slot])
                if old >= 0:  # moved, or its vector changed in place
                    self._stale.add(old)
                    self._stale.add(cluster)
                self.owner[slot] = cluster
                if old != cluster:
                    self.members[cluster].append(slot)
                    self._append(cluster, slot)
