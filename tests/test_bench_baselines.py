"""The in-process baselines: BM25 values, dense cosine ordering, fusion and top-k ties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.baselines import BM25Index, DenseIndex, tokenise, top_k, weighted_fusion


def test_tokeniser_lowercases_and_drops_stopwords():
    assert tokenise("Where did Ann's BROTHER move to in 2023?") == [
        "ann",
        "brother",
        "move",
        "2023",
    ]


def test_bm25_exact_score():
    index = BM25Index(["apple banana", "apple"])
    # N=2, df(banana)=1: idf = ln(1 + 1.5/1.5) = ln 2; doc 0 has 2 tokens, mean 1.5,
    # so the length norm is 1.5 * (0.25 + 0.75 * 2 / 1.5) = 1.875.
    expected = math.log(2) * 2.5 / (1.0 + 1.875)
    assert index.scores("banana") == pytest.approx([expected, 0.0])


def test_bm25_prefers_rare_terms_and_ignores_stopwords():
    index = BM25Index(["the cat sat", "the dog sat", "the cat ran", "a bird sang"])
    assert index.scores("the")[0] == 0.0
    best = index.search("dog sat", 2)
    assert best[0][0] == 1


def test_dense_index_ranks_by_cosine():
    class Axes:
        name, dim = "axes", 3
        table = {"x": [1.0, 0.0, 0.0], "y": [0.0, 2.0, 0.0], "xy": [1.0, 1.0, 0.0]}

        def embed(self, texts):
            return [self.table[text] for text in texts]

    index = DenseIndex(Axes(), ["x", "y", "xy"])
    order = [doc for doc, _ in index.search("y", 3)]
    assert order == [1, 2, 0]
    assert index.scores("y")[1] == pytest.approx(1.0)  # unnormalised input, still cosine


def test_weighted_fusion_min_max_normalises_each_side():
    fused = weighted_fusion(np.array([0.0, 10.0, 5.0]), np.array([1.0, 1.0, 1.0]))
    assert fused == pytest.approx([0.0, 0.5, 0.25])


def test_top_k_breaks_ties_by_document_order():
    assert top_k(np.array([0.0, 2.0, 0.0, 2.0, 0.0]), 4) == [(1, 2.0), (3, 2.0), (0, 0.0), (2, 0.0)]
    assert top_k(np.array([1.0]), 5) == [(0, 1.0)]
    assert top_k(np.array([1.0]), 0) == []
