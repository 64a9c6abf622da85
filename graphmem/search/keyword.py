"""BM25 over one scope's memories, updated in place as memories come and go.

Why an index of our own rather than Kuzu's full-text extension: measured on 10k facts,
``QUERY_FTS_INDEX`` answered in ~10 ms, its IDF counts every scope's text (a user's
scores would move when another user writes), and Neo4j would need different DDL. This
index is per scope, portable, and answers in about a millisecond at 10k documents.

Documents are addressed by integer slots that the owner (``index.ScopeIndex``) hands
out; a removed slot simply stops scoring.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

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
# Endings after which a final "s" is part of the word, not a plural: "boss", "bus", "Paris".
_KEEP_S = ("ss", "us", "is", "ys")


def stem(word: str) -> str:
    """A deliberately tiny stemmer: plural and third-person "s" only.

    "lives" must meet "live" for a question like "where does she live?" to find "she lives
    in Paris"; anything more aggressive (Porter) also merges words that mean different
    things, and every extra rule is one more surprise when reading a score.
    """
    if len(word) > 3 and word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-3] + "y" if word.endswith("ies") and len(word) > 4 else word[:-1]
    return word


def tokenise(text: str) -> list[str]:
    """Lower-case word runs (any script), English stopwords removed, lightly stemmed."""
    words = _TOKEN.findall(text.casefold())
    return [stem(w) for w in words if w not in STOPWORDS]


class KeywordIndex:
    """Okapi BM25 (k1, b as in Lucene) whose statistics follow every add and remove."""

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
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
