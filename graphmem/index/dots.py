"""Dot products of query vectors with a scope's rows, held as int8 with a scale each.

Why: a search scores every memory of its scope, and at 100k memories that product was
read-bound: 100k x 384 float32 is 154 MB read per search and the same held per scope.
Float16 rows halved both (issue 16). At 1M memories the rows were still 59% of what a
facts index held (73 of 124 MB a 100k scope), so each is now stored as int8 codes and
one float32 scale, ``row ~= scale * codes``: 388 bytes of 384 dims, not 768.

A query is not rounded as coarsely: it is split into two int8 parts, ``q ~= s1 * q1 +
s2 * q2`` (the second codes what the first left over), so what a score loses is the row's
rounding alone, at most half a step of its largest component per component. Measured on
unit 384-d rows: the largest difference from the float64 product 0.0016 over 20k pairs
(0.0020 over 400k), its standard deviation 0.0004 (``tests/test_dots.py`` bounds it).
SimSIMD's int8 kernel sums each product exactly in int32 (at most 384 * 127 * 127), on
both cores: a query against 100k x 384 on this machine took 1.6 ms, both parts and the
scaling included, where float16 took 2.0.

Each (query, row) pair is computed by the same kernel whether one query or many are
asked, so a batched search scores exactly as one search does.

Where SimSIMD is missing (a platform with no wheel), numpy computes the same integer sums
in float32 over blocks of rows: every partial sum is an integer below 2**24, so they are
exact there too, and the scores equal the kernel's.

**Exact reads.** A score off by 0.0004 is enough to swap two memories whose cosines are
nearer than that, and a search's candidates hold such pairs. So each row also keeps what
its int8 codes left over, in 4 bits a component (``fine``: half a byte each, 192 bytes of
384 dims; the leftover lies within half a step, and 15 levels split that step). The int8
product over the whole scope chooses what a search reads; each score it reads of a
memory is then computed from both parts of the row (``rescored``, ``scores.py``): within
~3e-5 of the exact cosine (standard deviation; float16 rows gave ~1e-5), for a product
over the few hundred rows read. It is the pattern of Qdrant's own quantisation
(quantised search, then the candidates rescored), with the second part held in RAM.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np

try:
    import simsimd
except ImportError:  # pragma: no cover - a platform without a wheel
    simsimd = None

DTYPE = np.int8
Coded = tuple[np.ndarray, float, np.ndarray]  # a row's int8 codes, scale and ``fine``
_LEVELS = 127.0
_FINE = 7.0  # the leftover's levels each side of 0: it lies within half a step (rint)
# Below this many rows a second thread costs more than it saves (measured at 1k rows:
# 0.02 ms either way; at 10k, two threads 0.17 ms against 0.37 ms).
_PARALLEL_ROWS = 4096
_THREADS = max(1, min(4, os.cpu_count() or 1))
_BLOCK = 16384  # rows converted at once by the numpy path


def quantised(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, scales)`` of a 2-d float array: int8 codes and a float32 scale per row,
    ``row ~= scale * codes`` (a zero row: zero codes, scale 0)."""
    units = np.asarray(units, dtype=np.float32)
    peaks = np.abs(units).max(axis=1) if units.size else np.zeros(len(units), np.float32)
    scales = (peaks / _LEVELS).astype(np.float32)
    safe = np.where(scales > 0, scales, 1.0).astype(np.float32)
    codes = np.rint(units / safe[:, None]).clip(-_LEVELS, _LEVELS).astype(DTYPE)
    return codes, scales


def coded(vector: Any) -> Coded | None:
    """One stored vector as a row is held: made a unit vector, then ``quantised`` (the
    same codes and scale as a batch of one), with its ``fine`` part. None, or no numbers:
    None."""
    if vector is None or not len(vector):
        return None
    row = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(row))
    unit = row / norm if norm else row
    # ``quantised`` of one row, without its batch's arrays (22 -> 11 us; one per entity
    # an ingest stores): the same float32 operations, so the same codes and scale.
    scale = np.float32(np.abs(unit).max()) / np.float32(_LEVELS)
    if not scale:
        return np.zeros(len(unit), DTYPE), 0.0, np.full((len(unit) + 1) // 2, 0x77, np.uint8)
    codes = np.rint(unit / scale).clip(-_LEVELS, _LEVELS).astype(DTYPE)
    # ``fine`` of one row, in the same float32 operations (18 -> 14 us a call).
    leftover = unit - codes.astype(np.float32) * scale
    levels = np.rint(leftover * (2 * _FINE) / scale).clip(-_FINE, _FINE).astype(np.uint8) + 7
    if len(levels) % 2:
        levels = np.append(levels, np.uint8(7))
    return codes, float(scale), levels[0::2] | (levels[1::2] << 4)


def restored(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Rows as float32 again (``scale * codes``): what a score reads of each."""
    return codes.astype(np.float32) * np.asarray(scales, np.float32)[:, None]


def fine(units: np.ndarray, codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """What ``codes`` left over of each row of ``units``, in 4 bits a component packed two
    to a byte (``uint8``, ``ceil(dim / 2)`` a row): level ``k`` in -7..7 stored as ``k + 7``,
    standing for ``k * scale / 14`` (the leftover lies within ``scale / 2``)."""
    units = np.asarray(units, np.float32)
    scales = np.asarray(scales, np.float32)
    leftover = units - restored(codes, scales)
    safe = np.where(scales > 0, scales, 1.0).astype(np.float32)[:, None]
    levels = np.rint(leftover * (2 * _FINE) / safe).clip(-_FINE, _FINE).astype(np.uint8) + 7
    if levels.shape[1] % 2:
        levels = np.pad(levels, ((0, 0), (0, 1)), constant_values=7)
    return np.ascontiguousarray(levels[:, 0::2] | (levels[:, 1::2] << 4))


def rescored(codes: np.ndarray, scales: np.ndarray, fines: np.ndarray,
             unit: np.ndarray) -> np.ndarray:  # fmt: skip
    """float64 products of ``unit`` (a float query) with these rows read from both parts
    (``scale * (codes + fine / 14)``): within ~3e-5 of the exact cosine, clipped as ``dots``
    clips. Each nibble is multiplied by its own component (the low ones by the even
    components, the high ones by the odd), so no row is unpacked; float32 sums lose ~1e-7."""
    dim = codes.shape[1]
    query = np.zeros(2 * fines.shape[1], np.float32)
    query[:dim] = unit
    even, odd = query[0::2], query[1::2]
    steps = (fines & 0x0F).astype(np.float32) @ even + (fines >> 4).astype(np.float32) @ odd
    steps -= np.float32(7.0 * float(query.sum()))  # each level is stored as ``k + 7``
    out = codes.astype(np.float32) @ query[:dim] + steps / np.float32(2 * _FINE)
    return np.clip(out.astype(np.float64) * np.asarray(scales, np.float64), -1.0, 1.0)


class Queries(NamedTuple):
    """Query rows in two int8 parts each: ``codes`` holds every first part, then every
    second part; ``first`` and ``second`` their scales (``queries``)."""

    codes: np.ndarray
    first: np.ndarray
    second: np.ndarray

    def one(self, i: int) -> Queries:
        """The ``i``-th query alone, as ``queries`` of it alone gives it."""
        count = len(self.first)
        return Queries(self.codes[[i, count + i]], self.first[i : i + 1], self.second[i : i + 1])


def queries(units: np.ndarray) -> Queries:
    """Each row of ``units`` as two int8 parts: what the first leaves over is the second's."""
    first, rest = quantised(units)
    second, rest_rest = quantised(
        np.asarray(units, np.float32) - restored(first, rest) if len(first) else first
    )
    wide = np.float64
    return Queries(np.concatenate([first, second]), rest.astype(wide), rest_rest.astype(wide))


def dots(rows: np.ndarray, scales: np.ndarray, units: np.ndarray | Queries) -> np.ndarray:
    """``(len(units), len(rows))`` float64: each query's dot product with each row.

    ``rows`` is a C-contiguous ``DTYPE`` matrix and ``scales`` its scale per row
    (``quantised``); ``units`` a 2-d float array of the same width, or ``queries`` of one
    (made once for many calls). Both hold unit vectors (or zero rows), so a product is
    clipped to [-1, 1]: rounding put a name's cosine with itself at 1.0001, and that
    figure went into a merge's history."""
    parts = units if isinstance(units, Queries) else queries(units)
    count = len(parts.first)
    if not len(rows) or not count:
        return np.zeros((count, len(rows)))
    sums = _integer_sums(np.ascontiguousarray(rows), parts.codes)
    out = sums[:count] * parts.first[:, None]
    out += sums[count:] * parts.second[:, None]
    out *= np.asarray(scales, np.float64)[None, :]
    return np.clip(out, -1.0, 1.0, out=out)


def nearest_rows(rows: np.ndarray, scales: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """For each row of ``codes`` (int8 rows of the index, each with a positive scale or
    zero), the position of the row of ``rows`` it has the largest product with: its
    own scale scales all of its products alike, so it is left out."""
    sums = _integer_sums(np.ascontiguousarray(rows), np.ascontiguousarray(codes))
    return np.argmax(sums * np.asarray(scales, np.float64)[None, :], axis=1)


def _integer_sums(rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``codes @ rows.T`` as float64, each sum exact."""
    if simsimd is not None and rows.dtype == DTYPE:
        threads = _THREADS if len(rows) >= _PARALLEL_ROWS else 1
        return np.asarray(simsimd.cdist(codes, rows, metric="dot", threads=threads), np.float64)
    wide = codes.astype(np.float32)
    out = np.empty((len(codes), len(rows)))
    for start in range(0, len(rows), _BLOCK):
        block = rows[start : start + _BLOCK].astype(np.float32)
        out[:, start : start + len(block)] = wide @ block.T
    return out
