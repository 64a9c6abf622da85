"""Vector search over float16 rows (``graphmem/index/dots.py``): cosines within 1e-3 of
the exact ones, the same pair by pair whether queries come alone or batched, and the
same from the numpy path used where SimSIMD has no wheel."""

from __future__ import annotations

import numpy as np
import pytest

from graphmem.index import dots as dots_module
from graphmem.index.dots import DTYPE, dots


def _units(n: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("size", [3, 5000])  # one thread, then both
def test_cosines_stay_within_a_thousandth_of_the_exact_ones(size):
    rows, queries = _units(size, 384, 1), _units(4, 384, 2)
    got = dots(rows.astype(DTYPE), queries)
    exact = queries @ rows.T
    assert got.shape == (4, size) and got.dtype == np.float64
    assert np.abs(got - exact).max() < 1e-3
    # the order of memories by cosine is the exact order but for near ties
    best = np.argsort(-exact[0])[:10]
    assert set(np.argsort(-got[0])[:10]) >= set(best[exact[0][best] > exact[0][best[-1]] + 2e-3])


def test_a_query_scores_the_same_alone_or_in_a_batch():
    rows, queries = _units(6000, 64, 3).astype(DTYPE), _units(7, 64, 4)
    together = dots(rows, queries)
    for i, query in enumerate(queries):
        assert np.array_equal(dots(rows, query[None, :])[0], together[i])


def test_the_numpy_path_gives_the_same_scores(monkeypatch):
    rows, queries = _units(40_000, 32, 5).astype(DTYPE), _units(3, 32, 6)
    fast = dots(rows, queries)
    monkeypatch.setattr(dots_module, "simsimd", None)
    slow = dots(rows, queries)  # blocks of rows converted to float32
    assert np.abs(fast - slow).max() < 1e-6


def test_empty_and_zero_rows_score_nothing():
    assert dots(np.zeros((0, 8), DTYPE), _units(2, 8, 7)).shape == (2, 0)
    assert dots(_units(3, 8, 8).astype(DTYPE), np.zeros((0, 8))).shape == (0, 3)
    assert not dots(np.zeros((5, 8), DTYPE), _units(1, 8, 9)).any()  # a dropped memory
