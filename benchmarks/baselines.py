"""Baselines run in the same process as graphmem, over the same memory texts.

- ``BM25Index``: Okapi BM25 written here (k1=1.5, b=0.75) so its tokeniser and IDF are
  known and fixed, rather than whatever a library version does.
- ``DenseIndex``: exact cosine over the same embedder object graphmem is given, so a
  difference between "dense" and graphmem's "vector" recipe is the engine, not the model.
- ``weighted_fusion``: min-max normalised score fusion of the two, the strongest simple
  baseline measured on LoCoMo (datasets/README.md), so graphmem is held to it as well.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

_STOPWORD_TEXT = """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves s t d ll m re ve"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_TOKEN = re.compile(r"[a-z0-9]+")


def tokenise(text: str) -> list[str]:
    """Lowercase alphanumeric runs minus English stopwords (no stemming: kept simple)."""
    return [token for token in _TOKEN.findall(text.lower()) if token not in STOPWORDS]


class BM25Index:
    """Okapi BM25 over a fixed list of documents, scored for every document at once."""

    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.size = len(documents)
        tokenised = [tokenise(doc) for doc in documents]
        lengths = np.array([len(tokens) for tokens in tokenised], dtype=float)
        average = float(lengths.mean()) if self.size and lengths.mean() > 0 else 1.0
        # Per-document length normaliser of the BM25 denominator, computed once.
        norm = k1 * (1.0 - b + b * lengths / average)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc_no, tokens in enumerate(tokenised):
            for term, count in Counter(tokens).items():
                docs, counts = postings.setdefault(term, ([], []))
                docs.append(doc_no)
                counts.append(count)
        # term -> (document numbers, that term's BM25 weight in each of them)
        self._weights: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (docs, counts) in postings.items():
            doc_array = np.array(docs, dtype=np.int64)
            tf = np.array(counts, dtype=float)
            df = len(docs)
            # Lucene's IDF: never negative, so very common terms add little, not minus.
            idf = np.log(1.0 + (self.size - df + 0.5) / (df + 0.5))
            self._weights[term] = (doc_array, idf * tf * (k1 + 1.0) / (tf + norm[doc_array]))

    def scores(self, query: str) -> np.ndarray:
        total = np.zeros(self.size, dtype=float)
        for term in tokenise(query):
            entry = self._weights.get(term)
            if entry is not None:
                total[entry[0]] += entry[1]
        return total

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        return top_k(self.scores(query), limit)


class DenseIndex:
    """Exact cosine similarity over embeddings of the documents."""

    def __init__(self, embedder: Any, documents: Sequence[str], batch_size: int = 256) -> None:
        self.embedder = embedder
        rows: list[list[float]] = []
        for start in range(0, len(documents), batch_size):
            rows.extend(embedder.embed(list(documents[start : start + batch_size])))
        self.matrix = _unit_rows(np.asarray(rows, dtype=np.float32).reshape(len(rows), -1))

    def scores(self, query: str) -> np.ndarray:
        vector = _unit_rows(np.asarray(self.embedder.embed([query]), dtype=np.float32))[0]
        return self.matrix @ vector

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        return top_k(self.scores(query), limit)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    # Embedders promise unit vectors; normalising again costs nothing and protects the
    # baseline from an embedder that forgets (cosine, not dot product, is the contract).
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0.0, 1.0, norms)


def _min_max(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high - low <= 0.0:
        return np.zeros_like(values, dtype=float)
    return (values - low) / (high - low)


def weighted_fusion(first: np.ndarray, second: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """``weight * minmax(first) + (1 - weight) * minmax(second)`` per document."""
    return weight * _min_max(first) + (1.0 - weight) * _min_max(second)


def top_k(scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """(document number, score) of the ``limit`` best scores, best first, ties by number.

    Documents scoring exactly 0 under BM25 share no term with the query; they are still
    returned in document order so every method fills its k slots the same way.
    """
    if limit <= 0 or scores.size == 0:
        return []
    # A full stable sort: per-conversation indexes hold hundreds of documents, so this is
    # cheap, and unlike argpartition it breaks ties deterministically at the cut-off.
    order = np.argsort(-scores, kind="stable")[:limit]
    return [(int(doc), float(scores[doc])) for doc in order]
