"""Dot products of query vectors with a scope's rows, held as float16.

Why: a search scores every memory of its scope, and at 100k memories that product was
read-bound: 100k x 384 float32 is 154 MB read per search, 8-9 ms of a ~40 ms hybrid
search on this 2-core machine (issue 16), and the same 154 MB held per scope. Unit
vectors need no float32 range, so rows are kept as float16 (half the bytes read and
held). numpy has no fast float16 product (it converts element by element: ~180 ms for
that matrix), so SimSIMD's kernels compute it, accumulating in float32 with the machine's
SIMD (AVX-512 FP16/F16C) on both cores. Measured side by side at 100k x 384 on this
machine: numpy float32 7.1 ms, SimSIMD float16 2.6 ms; the largest difference from the
float64 product was 7e-5 (``tests/test_dots.py`` bounds it).

Each (query, row) pair is computed by the same kernel whether one query or many are
asked, so a batched search scores exactly as one search does.

Where SimSIMD is missing (a platform with no wheel), numpy computes the same products in
float32 over blocks of rows, slower but equal within the bound above.
"""

from __future__ import annotations

import os

import numpy as np

try:
    import simsimd
except ImportError:  # pragma: no cover - a platform without a wheel
    simsimd = None

DTYPE = np.float16
# Below this many rows a second thread costs more than it saves (measured at 1k rows:
# 0.02 ms either way; at 10k, two threads 0.17 ms against 0.37 ms).
_PARALLEL_ROWS = 4096
_THREADS = max(1, min(4, os.cpu_count() or 1))
_BLOCK = 16384  # rows converted at once by the numpy path


def dots(rows: np.ndarray, units: np.ndarray) -> np.ndarray:
    """``(len(units), len(rows))`` float64: each query's dot product with each row.

    ``rows`` is a C-contiguous ``DTYPE`` matrix, ``units`` a 2-d float array of the same
    width (converted to ``DTYPE``, as the kernels take both sides in one type). Both
    hold unit vectors (or zero rows), so a product is clipped to [-1, 1]: rounding put a
    name's cosine with itself at 1.0001, and that figure went into a merge's history."""
    queries = np.ascontiguousarray(units, dtype=DTYPE)
    if not len(rows) or not len(queries):
        return np.zeros((len(queries), len(rows)))
    if simsimd is not None and rows.dtype == DTYPE and rows.flags.c_contiguous:
        threads = _THREADS if len(rows) >= _PARALLEL_ROWS else 1
        found = simsimd.cdist(queries, rows, metric="dot", threads=threads)
        return np.clip(np.asarray(found, dtype=np.float64), -1.0, 1.0)
    wide = queries.astype(np.float32)
    out = np.empty((len(queries), len(rows)))
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK].astype(np.float32)
        out[:, start : start + len(block)] = wide @ block.T
    return np.clip(out, -1.0, 1.0, out=out)
