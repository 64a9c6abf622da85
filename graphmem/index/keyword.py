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
from collections import Counter
from functools import lru_cache

import numpy as np
import snowballstemmer

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
    """Lower-case word runs (any script), English stopwords removed, stemmed."""
    words = _TOKEN.findall(text.casefold())
    return [stem(w) for w in words if w not in STOPWORDS]


class KeywordIndex:
    """Okapi BM25 (Lucene's formula) whose statistics follow every add and remove."""

    def __init__(self, k1: float = K1, b: float = B) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[int, int]] = {}  # term -> {slot: term frequency}
        self._terms: dict[int, tuple[str, ...]] = {}  # slot -> its distinct terms
        self._lengths = np.zeros(64, dtype=np.float64)
        self._total_length = 0.0

    def __len__(self) -> int:
        return len(self._terms)

    def add(self, slot: int, text: str) -> None:
        """Index ``text`` under ``slot``, replacing what the slot held before."""
        self.remove(slot)
        counts = Counter(tokenise(text))
        if slot >= len(self._lengths):
            grown = np.zeros(max(slot + 1, 2 * len(self._lengths)), dtype=np.float64)
            grown[: len(self._lengths)] = self._lengths
            self._lengths = grown
        length = float(sum(counts.values()))
        self._lengths[slot] = length
        self._total_length += length
        self._terms[slot] = tuple(counts)
        for term, count in counts.items():
            self._postings.setdefault(term, {})[slot] = count

    def remove(self, slot: int) -> None:
        terms = self._terms.pop(slot, None)
        if terms is None:
            return
        self._total_length -= self._lengths[slot]
        self._lengths[slot] = 0.0
        for term in terms:
            docs = self._postings.get(term)
            if docs is not None:
                docs.pop(slot, None)
                if not docs:
                    del self._postings[term]

    def containing(self, text: str) -> list[int]:
        """Slots whose document holds every term of ``text`` (none if it has no terms)."""
        postings = [self._postings.get(t) for t in set(tokenise(text))]
        if not postings or any(p is None for p in postings):
            return []
        postings.sort(key=len)
        found = set(postings[0])
        for docs in postings[1:]:
            found &= docs.keys()
        return sorted(found)

    def ceiling(self, query: str) -> float:
        """What a document holding each query term once, at average length, would score.

        The best score divided by this is the share of the query's information some
        memory matches (``fuse.keyword_confidence``). A term no memory holds still counts
        (at the IDF of a term in no document): a query whose distinctive words appear
        nowhere was not answered by its words.
        """
        size = len(self._terms)
        terms = set(tokenise(query))
        if not size or not terms:
            return 0.0
        df = np.array([len(self._postings.get(t, ())) for t in terms], dtype=np.float64)
        return float(np.log(1.0 + (size - df + 0.5) / (df + 0.5)).sum())

    def scores(self, query: str) -> tuple[np.ndarray, np.ndarray]:
        """``(slots, scores)`` of every document sharing a term with ``query``, unordered."""
        size = len(self._terms)
        terms = set(tokenise(query))
        if not size or not terms:
            return np.empty(0, dtype=np.int64), np.empty(0)
        average = self._total_length / size or 1.0
        slots_parts, weight_parts = [], []
        for term in terms:
            docs = self._postings.get(term)
            if not docs:
                continue
            slots = np.fromiter(docs.keys(), dtype=np.int64, count=len(docs))
            tf = np.fromiter(docs.values(), dtype=np.float64, count=len(docs))
            # Lucene's IDF stays positive, so a term in most documents adds little, not minus.
            idf = np.log(1.0 + (size - len(docs) + 0.5) / (len(docs) + 0.5))
            norm = self.k1 * (1.0 - self.b + self.b * self._lengths[slots] / average)
            slots_parts.append(slots)
            weight_parts.append(idf * tf * (self.k1 + 1.0) / (tf + norm))
        if not slots_parts:
            return np.empty(0, dtype=np.int64), np.empty(0)
        slots = np.concatenate(slots_parts)
        weights = np.concatenate(weight_parts)
        unique, inverse = np.unique(slots, return_inverse=True)
        return unique, np.bincount(inverse, weights=weights)
