"""BM25 over one scope's memories, updated in place as memories come and go.

Why an index of our own rather than Kuzu's full-text extension: measured on 10k facts,
``QUERY_FTS_INDEX`` answered in ~10 ms, its IDF counts every scope's text (a user's
scores would move when another user writes), and Neo4j would need different DDL. This
index is per scope, portable, and answers in about a millisecond at 10k documents.

Words are stemmed with the Snowball English stemmer ("painting", "painted", "paints" ->
"paint"); the plural-only stemmer before it missed every "-ing" / "-ed" pair. BM25 keeps
Lucene's k1 1.2, b 0.75. Measured on LoCoMo (``text`` recipe without neighbours, MiniLM,
categories 1-4; all / conversations 0-4 / 5-9):

    tokeniser, k1, b                recall@10             multi-hop all-gold@10
    plural-only stemmer, 1.5, 0.75  0.633 (0.656 / 0.612)  0.152
    Snowball, 1.5, 0.75             0.656 (0.679 / 0.633)  0.181
    Snowball, 1.2, 0.75 (kept)      0.657 (0.677 / 0.637)  0.181
    Snowball, 0.9, 0.4 (Anserini)   0.672 (0.693 / 0.651)  0.195

BM25 alone (``keyword``) went from 0.574 to 0.614. Anserini's short-passage setting
scored higher here but cost the synthetic suite's hybrid hop-2 recall@10 0.008 (0.873 ->
0.865, where the stemmer changed nothing), and once neighbours are lifted
(``search/neighbours.py``) its lead on LoCoMo shrinks to 0.006. The stemmer's bolder merges
("animal" and "animation" -> "anim") cost less than the missed word forms did. Keeping
the speaker's name that starts a LoCoMo turn out of BM25 lost 0.031 (0.602 vs 0.633
before): questions name people, so names are worth matching and nothing strips them.

Documents are addressed by integer slots that the owner (``scope.ScopeIndex``) hands
out; a removed slot simply stops scoring.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from functools import lru_cache

import numpy as np
import snowballstemmer

from ..text import has_cjk, pairs, split_scripts

_STOPWORD_TEXT = """a about above after again against all am an and any are as at be because
    been before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours
    yourself yourselves s t d ll m re ve"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_TOKEN = re.compile(r"[^\W_]+")
_STEMMER = snowballstemmer.stemmer("english")
K1, B = 1.2, 0.75


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of a lower-case word, cached: a vocabulary is
    small next to the number of words indexed, and one uncached call costs ~25 us."""
    return _STEMMER.stemWord(word)


def tokenise(text: str) -> list[str]:
    """Lower-case word runs (any script), English stopwords removed, stemmed; runs of
    Chinese, Japanese or Korean as overlapping character pairs (``graphmem.text``).

    Text that is not ASCII is NFKC-normalised first, so full-width "ＩＢＭ" and half-width
    kana match their usual forms, as entity name keys do."""
    folded = text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
    if not has_cjk(folded):  # ASCII text is answered without a scan
        return [stem(w) for w in _TOKEN.findall(folded) if w not in STOPWORDS]
    out: list[str] = []
    for word in _TOKEN.findall(folded):
        for part, cjk in split_scripts(word):
            if cjk:
                out += pairs(part)
            elif part not in STOPWORDS:
                out.append(stem(part))
    return out


class Postings:
    """One term's documents as two arrays (slots, term counts), in the order they came.

    A dict of ``{slot: count}`` per term cost ~100 bytes a posting and, on each search,
    a Python pass to turn the common terms' dicts into arrays (a third of BM25's time at
    100k memories); a snapshot's postings are used as read, without a dict per term.
    Writes go to ``added`` and ``gone`` and are folded in on the next read, or once
    ``added`` outgrows the arrays, so a batch of writes costs one copy per term."""

    __slots__ = ("slots", "counts", "added", "gone")

    def __init__(self, slots: np.ndarray | None = None, counts: np.ndarray | None = None):
        self.slots = slots if slots is not None else _NO_SLOTS
        self.counts = counts if counts is not None else _NO_SLOTS
        # None while empty: an empty dict and set per term were ~280 bytes each.
        self.added: dict[int, int] | None = None
        self.gone: set[int] | None = None

    def add(self, slot: int, count: int) -> None:
        if self.added is None:
            self.added = {}
        self.added[slot] = count
        if len(self.added) >= max(_FOLD, len(self.slots)):
            self.fold()

    def discard(self, slot: int) -> None:
        if self.added is not None:
            self.added.pop(slot, None)
        if self.gone is None:
            self.gone = set()
        self.gone.add(slot)  # it may also be in the arrays

    def fold(self) -> None:
        """Writes folded into the arrays: a removed slot leaves, added ones go last."""
        if self.gone:
            keep = ~np.isin(self.slots, np.fromiter(self.gone, np.int32, len(self.gone)))
            self.slots, self.counts = self.slots[keep], self.counts[keep]
        if self.added:
            self.slots = np.concatenate([self.slots, np.fromiter(self.added, np.int32)])
            self.counts = np.concatenate(
                [self.counts, np.fromiter(self.added.values(), np.int32, len(self.added))]
            )
        self.added = self.gone = None


_NO_SLOTS = np.empty(0, np.int32)
_FOLD = 64  # writes a term holds apart before folding them into its arrays


class KeywordIndex:
    """Okapi BM25 (Lucene's formula) whose statistics follow every add and remove.

    A document with no term but stopwords is not counted: it can match nothing.
    """

    def __init__(self, k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[str, Postings] = {}
        # slot -> its distinct terms (what ``remove`` unlists), for documents added since
        # the last ``restore``; those restored are found in ``_saved`` when removed.
        self._terms: dict[int, tuple[str, ...]] = {}
        self._saved: _SavedTerms | None = None
        self._lengths = np.zeros(64, dtype=np.float64)  # 0: no document at that slot
        self._total_length = 0.0
        self._documents = 0
        self._folding = threading.Lock()

    def __len__(self) -> int:
        return self._documents

    def add(self, slot: int, text: str) -> None:
        """Index ``text`` under ``slot``, replacing what the slot held before."""
        self.remove(slot)
        counts = Counter(tokenise(text))
        if not counts:
            return
        if slot >= len(self._lengths):
            grown = np.zeros(max(slot + 1, 2 * len(self._lengths)), dtype=np.float64)
            grown[: len(self._lengths)] = self._lengths
            self._lengths = grown
        length = float(sum(counts.values()))
        self._lengths[slot] = length
        self._total_length += length
        self._documents += 1
        self._terms[slot] = tuple(counts)
        for term, count in counts.items():
            docs = self._postings.get(term)
            if docs is None:
                docs = self._postings[term] = Postings()
            docs.add(slot, count)

    def longer_than(self, terms: int) -> np.ndarray:
        """Slots of the documents with more than ``terms`` indexed terms (stopwords aside)."""
        return np.flatnonzero(self._lengths > terms)

    def remove(self, slot: int) -> None:
        if slot >= len(self._lengths) or not self._lengths[slot]:
            return
        terms = self._terms.pop(slot, None)
        if terms is None:
            terms = self._saved.pop(slot) if self._saved is not None else ()
        self._total_length -= self._lengths[slot]
        self._lengths[slot] = 0.0
        self._documents -= 1
        for term in terms:
            self._postings[term].discard(slot)

    def _live(self, term: str) -> Postings | None:
        """``term``'s postings with every write folded in; None if no document holds it.

        Searches run side by side (``Memory``'s read lock): the first to read a term after
        a write folds it under ``_folding``, and the others wait for the folded arrays.
        Writes never run beside a read, so a term with nothing to fold is read as it is.
        """
        docs = self._postings.get(term)
        if docs is None:
            return None
        if docs.added is not None or docs.gone is not None:
            with self._folding:
                if docs.added is not None or docs.gone is not None:
                    docs.fold()
                if not len(docs.slots):
                    self._postings.pop(term, None)
                    return None
        return docs

    # -- saved and loaded (index/snapshot.py) -----------------------------------------------

    def columns(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """``(terms, ptr, slots, counts)``: term ``i``'s postings are ``ptr[i]:ptr[i+1]``,
        by slot. The order within a term changes no score: a slot is there once."""
        terms = [t for t in list(self._postings) if self._live(t) is not None]
        parts = [self._postings[t] for t in terms]
        ptr = np.zeros(len(terms) + 1, np.int64)
        np.cumsum([len(p.slots) for p in parts], out=ptr[1:])
        if not parts:
            return terms, ptr, _NO_SLOTS, _NO_SLOTS
        slots = np.concatenate([p.slots for p in parts])
        counts = np.concatenate([p.counts for p in parts])
        order = np.lexsort((slots, np.repeat(np.arange(len(terms)), np.diff(ptr))))
        return terms, ptr, slots[order], counts[order]

    def restore(self, terms: list[str], ptr: np.ndarray, slots: np.ndarray, counts: np.ndarray,
                lengths: np.ndarray, total_length: float) -> None:  # fmt: skip
        """Take saved ``columns`` as they are (views, not copies): a load costs no pass per
        posting. The caller has checked their shape; each slot must hold a document."""
        bounds = ptr.tolist()
        self._postings = {term: Postings(slots[bounds[i] : bounds[i + 1]],
                                         counts[bounds[i] : bounds[i + 1]])
                          for i, term in enumerate(terms)}  # fmt: skip
        self._lengths = np.concatenate([lengths, np.zeros(max(0, 64 - len(lengths)))])
        self._total_length = float(total_length)
        self._documents = int(np.count_nonzero(self._lengths))
        self._terms, self._saved = {}, _SavedTerms(terms, ptr, slots)

    def containing(self, text: str) -> list[int]:
        """Slots whose document holds every term of ``text`` (none if it has no terms)."""
        postings = [self._live(t) for t in set(tokenise(text))]
        if not postings or any(p is None for p in postings):
            return []
        postings.sort(key=lambda p: len(p.slots))  # type: ignore[union-attr]
        found = postings[0].slots  # type: ignore[union-attr]
        for docs in postings[1:]:
            # A lookup table over the slots: numpy's default here sorts both arrays, 11x
            # slower on entity names at 100k memories (1.26 vs 0.11 ms a name, measured).
            found = found[np.isin(found, docs.slots, kind="table")]  # type: ignore[union-attr]
        return sorted(found.tolist())

    def ceiling(self, query: str) -> float:
        """What a document holding each query term once, at average length, would score.

        The best score divided by this is the share of the query's information some
        memory matches (``fuse.keyword_confidence``). A term no memory holds still counts
        (at the IDF of a term in no document): a query whose distinctive words appear
        nowhere was not answered by its words.
        """
        size = self._documents
        terms = set(tokenise(query))
        if not size or not terms:
            return 0.0
        df = np.array([len(p.slots) if (p := self._live(t)) else 0 for t in terms],
                      dtype=np.float64)  # fmt: skip
        return float(np.log(1.0 + (size - df + 0.5) / (df + 0.5)).sum())

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """``(slots, scores)`` of every document sharing a term with ``query``, unordered."""
        size = self._documents
        terms = set(tokenise(query))
        if not size or not terms:
            return np.empty(0, dtype=np.int64), np.empty(0)
        average = self._total_length / size or 1.0
        slots_parts, weight_parts = [], []
        for term in terms:
            docs = self._live(term)
            if docs is None:
                continue
            slots, tf = docs.slots, docs.counts.astype(np.float64)
            # Lucene's IDF stays positive, so a term in most documents adds little, not minus.
            idf = np.log(1.0 + (size - len(slots) + 0.5) / (len(slots) + 0.5))
            norm = self.k1 * (1.0 - self.b + self.b * self._lengths[slots] / average)
            slots_parts.append(slots)
            weight_parts.append(idf * tf * (self.k1 + 1.0) / (tf + norm))
        if not slots_parts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        slots = np.concatenate(slots_parts)
        weights = np.concatenate(weight_parts)
        if len(slots) * 16 > len(self._lengths):
            # A common term: summed by slot in one pass, not sorted. Each slot's sum adds
            # the same weights in the same order as below, and none is 0 (IDF > 0).
            summed = np.bincount(slots, weights=weights)
            unique = np.flatnonzero(summed)
            return unique, summed[unique]
        unique, inverse = np.unique(slots, return_inverse=True)
        return unique.astype(np.int64), np.bincount(inverse, weights=weights)


class _SavedTerms:
    """The terms of each document ``restore`` took, read when the document is removed.

    Sorted by slot on the first removal (numpy, ~0.1 s at 100k documents), then each
    removal bisects: a dict of every slot's terms cost 0.55 s on the first write after
    a 100k-memory scope was loaded, for a batch that removes a few hundred.
    """

    def __init__(self, terms: list[str], ptr: np.ndarray, slots: np.ndarray) -> None:
        self._terms, self._ptr, self._slots = terms, ptr, slots
        self._by_slot: np.ndarray | None = None
        self._owner: np.ndarray | None = None
        self._gone: set[int] = set()

    def pop(self, slot: int) -> tuple[str, ...]:
        """The terms ``slot`` held when restored; none once popped."""
        if slot in self._gone:
            return ()
        if self._by_slot is None:
            order = np.argsort(self._slots, kind="stable")
            self._by_slot = self._slots[order]
            owners = np.repeat(np.arange(len(self._terms), dtype=np.int32), np.diff(self._ptr))
            self._owner = owners[order]
        start, end = np.searchsorted(self._by_slot, [slot, slot + 1])
        self._gone.add(slot)
        return tuple(self._terms[t] for t in self._owner[start:end].tolist())
