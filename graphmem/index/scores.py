"""``Scores``: one channel's scores over a scope, with ranked reads and look-ups by id.

A cosine channel's scores are read from int8 rows (``dots.py``), each within ~0.0004 of
the exact cosine. That is plenty to find a search's candidates, and not enough to order
them: a top ten holds pairs nearer than that, and which of two near ties ranks first
decided two LoCoMo questions (``benchmarks/results/locomo/exact-reads/``). So such
scores carry an ``exact`` reader too (``dots.rescored``, ~3e-5 from the exact cosine):
every score a search reads of a memory (its ranked reads, ``of``, ``of_many``) is the
exact one, computed for the few hundred memories read, while the statistics over the
whole scope (``floor``, ``median``, ``spread``) and the choice of what to read come from
the int8 products.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .scope import ScopeIndex

Accept = Callable[[dict[str, Any]], bool]
Exact = Callable[[np.ndarray], np.ndarray]  # slots -> their exact scores
# A memory int8 rounding put this far below another may still score above it exactly:
# twice the largest error measured over 400k pairs (0.0020, ``dots.py``).
RESCORE_MARGIN = 0.004


class Scores:
    """One channel's scores over a scope: ranked reads and look-ups by id.

    ``floor`` is what an unrelated memory scores (0 for BM25, the scope's lowest cosine),
    which weighted fusion normalises from. ``exact``, where given, reads a slot's score
    more exactly than ``values`` holds it (a read of the whole scope only: position ==
    slot); each slot is read once.
    """

    def __init__(self, index: ScopeIndex, slots: np.ndarray, values: np.ndarray, floor: float,
                 exact: Exact | None = None):  # fmt: skip
        self.index, self.slots, self.values, self.floor = index, slots, values, floor
        self._by_slot: np.ndarray | None = None
        self._stats: tuple[float, float] | None = None  # (median, spread), read once
        self._unlifted: Scores | None = None  # ``lifted``'s origin: the typical scores
        self._exact = exact if len(slots) == len(index.ids) else None
        self._read: np.ndarray | None = None  # by slot: whether its exact score is known
        self._known = np.empty(0)  # by slot: the exact score, where ``_read``

    def _typical(self) -> np.ndarray:
        """The scores of what a search ranks: the scope's live memories, less the facts
        a kept source stands for. A message split into facts counts once, as when it is
        stored whole, so the path a memory was added by does not move the median."""
        index, count = self.index, len(self.values)
        if count == len(index.ids):  # a read of the whole scope: slots 0..count-1
            return self.values[index._alive[:count] & ~index._derived[:count]]
        return self.values[index._alive[self.slots] & ~index._derived[self.slots]]

    def median(self) -> float:
        """The score of a typical memory of the scope: where "unrelated" sits for cosines."""
        return self._median_and_spread()[0]

    def spread(self) -> float:
        """The standard deviation of the scope's scores (0 for fewer than two)."""
        return self._median_and_spread()[1]

    def _median_and_spread(self) -> tuple[float, float]:
        """Both from one read of the live scores, once per search: the standout rule and
        the keyword gate read them in every search, and each is O(scope)."""
        if self._stats is None and self._unlifted is not None:
            self._stats = self._unlifted._median_and_spread()
        if self._stats is None:
            values = self._typical()
            self._stats = (float(np.median(values)) if len(values) else self.floor,
                           float(np.std(values)) if len(values) > 1 else 0.0)  # fmt: skip
        return self._stats

    def standing(self, score: float) -> float:
        """How many spreads (standard deviations) ``score`` stands above the median of
        the scope: 0 for a typical memory, large for one that stands out from them all."""
        spread = self.spread()
        return (score - self.median()) / spread if spread > 1e-12 else 0.0

    def lifted(self, parts: np.ndarray, sources: np.ndarray, share: float = 1.0) -> Scores:
        """These scores with each of ``sources`` moved ``share`` of the way up to its best
        of ``parts`` (slots; never down). Its exact reads lift the exact scores alike.

        Only a read of the whole scope (``vector_scores``) is lifted: a partial one may
        lack a part's score."""
        if not len(parts) or len(self.slots) != len(self.index.ids) or share <= 0:
            return self
        held, which = np.unique(sources, return_inverse=True)
        best = np.full(len(held), -np.inf)  # per long message, not per memory of the scope
        np.maximum.at(best, which, self.values[parts])
        gain = np.maximum(best - self.values[held], 0.0)
        values = self.values.copy()
        values[held] += share * gain
        exact = None if self._exact is None else _LiftedReads(self, parts, sources, share)
        lifted = Scores(self.index, self.slots, values, self.floor, exact)
        # What is typical stays what the messages' own vectors score: read over lifted
        # values, every long message moved the median up with it, and a passage BM25
        # found lost its keyword share to the gate (``docs/search-recipes.md``, ninth session).
        lifted._unlifted = self
        return lifted

    def read(self, slots: np.ndarray) -> np.ndarray:
        """The scores of these slots (of the index) as a search reads them: exact where
        the channel can read them so, the floor where none was read."""
        slots = np.asarray(slots, np.int64)
        table = self._table()
        inside = (slots >= 0) & (slots < len(table))
        out = np.full(len(slots), self.floor)
        out[inside] = table[slots[inside]]
        if self._exact is not None and inside.any():
            if self._read is None:  # by slot: read once, kept for the rest of the search
                self._read = np.zeros(len(table), bool)
                self._known = np.empty(len(table))
            asked = slots[inside]
            missing = np.unique(asked[~self._read[asked]])
            if len(missing):
                self._known[missing] = self._exact(missing)
                self._read[missing] = True
            out[inside] = self._known[asked]
        return out

    def of(self, point_id: str) -> float:
        slot = self.index.slot_of.get(point_id)
        if slot is None:
            return self.floor
        if self._exact is None:
            table = self._table()
            return float(table[slot]) if slot < len(table) else self.floor
        if self._read is not None and slot < len(self._read) and self._read[slot]:
            return float(self._known[slot])  # read already: no array made
        return float(self.read(np.array([slot]))[0])

    def of_many(self, point_ids: Sequence[str]) -> list[float]:
        """``of`` of each id, read in one gather: a hybrid search scores ~750 candidates
        in each flat channel, and a call each was a tenth of it (hub-heavy data)."""
        slot_of = self.index.slot_of
        slots = np.fromiter((slot_of.get(i, -1) for i in point_ids), np.int64, len(point_ids))
        return self.read(slots).tolist()

    def _table(self) -> np.ndarray:
        """The scores by slot (the floor where none was read)."""
        if self._by_slot is None:
            if len(self.slots) == len(self.index.ids):  # dense: position == slot
                return self.values
            # Scattered into an array, not a dict: a common word gives BM25 scores for
            # most of the scope: a dict of 53k took 13.7 ms to build, this array 0.14 ms.
            self._by_slot = np.full(len(self.index.ids), self.floor)
            self._by_slot[self.slots] = self.values
        return self._by_slot

    def top(self, limit: int, accept: Accept, gated: bool = False) -> list[tuple[str, float]]:
        """Walk candidates in score order, in growing chunks, until ``limit`` are accepted.

        A chunk is cut with ``argpartition`` so the common case (few rejections) sorts only
        about ``2 * limit`` scores, not the whole scope. With exact reads, the walk goes
        on past the ``limit``-th accepted to any that rounding may have put below it
        (``RESCORE_MARGIN``, at most ``4 * limit`` in all), and those accepted are ranked
        by their exact scores: what is rescored is what was accepted, however many a
        filter turned away. ``gated``: ``accept`` reads only the fields of a gate
        (``payload_rows.py``), so no payload is decoded.
        """
        slots, scores, index = self.slots, self.values, self.index
        row = index.payloads.gate if gated else index.payloads.__getitem__
        wanted = limit if self._exact is None else 4 * limit
        found: list[tuple[int, float]] = []
        below = -np.inf  # once ``limit`` are accepted: what a later candidate must reach
        done = 0
        chunk = max(2 * limit, 32)
        while len(found) < wanted and done < len(slots):
            end = min(done + chunk, len(slots))
            if end < len(slots):
                part = np.argpartition(-scores, end - 1)[:end]
            else:
                part = np.arange(len(slots))
            order = part[np.argsort(-scores[part], kind="stable")][done:end]
            for i, value in zip(order.tolist(), scores[order].tolist(), strict=True):
                if value < below:
                    wanted = len(found)  # nothing further can rank among them
                    break
                slot = int(slots[i])
                payload = row(slot)
                if payload is not None and accept(payload):
                    found.append((slot, value))
                    if len(found) == limit:
                        below = value - RESCORE_MARGIN
                    if len(found) == wanted:
                        break
            done, chunk = end, chunk * 4
        if self._exact is not None and found:
            exact = self.read(np.array([slot for slot, _ in found], np.int64)).tolist()
            ranked = sorted(range(len(found)), key=lambda k: -exact[k])  # stable: ties keep
            found = [(found[k][0], exact[k]) for k in ranked[:limit]]
        return [(index.ids[slot], float(value)) for slot, value in found]


class _LiftedReads:
    """Exact reads of ``Scores.lifted``: each source's exact score lifted by its parts'."""

    def __init__(self, base: Scores, parts: np.ndarray, sources: np.ndarray, share: float):
        order = np.argsort(sources, kind="stable")
        self.base, self.share = base, share
        self.sources, self.parts = sources[order], parts[order]

    def __call__(self, slots: np.ndarray) -> np.ndarray:
        out = self.base.read(slots)
        low = np.searchsorted(self.sources, slots, "left")
        high = np.searchsorted(self.sources, slots, "right")
        for k in np.flatnonzero(high > low).tolist():
            best = float(self.base.read(self.parts[low[k] : high[k]]).max())
            out[k] += self.share * max(best - out[k], 0.0)
        return out
