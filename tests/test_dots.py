"""Vector search over int8 rows with a scale each (``graphmem/index/dots.py``): cosines
within a few thousandths of the exact ones, the same pair by pair whether queries come
alone or batched, and the same from the numpy path used where SimSIMD has no wheel."""

from __future__ import annotations

import numpy as np
import pytest

from graphmem.index import dots as dots_module
from graphmem.index.dots import (
    DTYPE,
    coded,
    dots,
    fine,
    nearest_rows,
    quantised,
    queries,
    rescored,
    restored,
)
from graphmem.index.scope import ScopeIndex
from graphmem.models import Scope


def _units(n: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _held(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return quantised(rows)


@pytest.mark.parametrize("size", [3, 5000])  # one thread, then both
def test_cosines_stay_within_a_few_thousandths_of_the_exact_ones(size):
    rows, queries = _units(size, 384, 1), _units(4, 384, 2)
    got = dots(*_held(rows), queries)
    exact = queries @ rows.T
    assert got.shape == (4, size) and got.dtype == np.float64
    error = got - exact
    # A row's rounding alone: half a step of its largest component per component
    # (measured: largest 0.0016 over 20k pairs, standard deviation 0.0004).
    assert np.abs(error).max() < 3e-3
    assert size < 100 or error.std() < 6e-4
    # the order of memories by cosine is the exact order but for near ties
    best = np.argsort(-exact[0])[:10]
    assert set(np.argsort(-got[0])[:10]) >= set(best[exact[0][best] > exact[0][best[-1]] + 6e-3])


def test_the_query_is_not_rounded_as_coarsely_as_a_row():
    """Rounded to int8 as a row is, the query doubled what a score lost; in two parts it
    leaves the row's rounding alone: each score is within 2e-5 of the query's exact
    product with the row as held."""
    rows = _units(2000, 384, 11)
    codes, scales = _held(rows)
    back = restored(codes, scales).astype(np.float64)
    got = dots(codes, scales, rows)
    want = np.clip(rows @ back.T, -1.0, 1.0)
    assert np.abs(got - want).max() < 2e-5  # the query's share of the error
    assert np.abs(np.diag(got) - 1.0).max() < 3e-3


def test_rows_are_a_quarter_of_float32_and_round_trip_within_half_a_step():
    rows = _units(500, 384, 12)
    codes, scales = _held(rows)
    assert codes.dtype == DTYPE and scales.dtype == np.float32
    assert codes.nbytes + scales.nbytes == 500 * (384 + 4)  # float32 rows: 500 * 1536
    assert int(np.abs(codes).max(axis=1).min()) == 127  # each row uses its whole range
    step = scales[:, None].astype(np.float64)
    assert (np.abs(restored(codes, scales) - rows) <= step / 2 + 1e-7).all()
    zero_codes, zero_scales = quantised(np.zeros((2, 384)))
    assert not zero_codes.any() and not zero_scales.any()


def test_a_vector_put_alone_is_coded_as_in_a_batch():
    rows = _units(50, 64, 13) * 3.0  # not unit: made so first
    codes, scales = _held(rows / 3.0)
    leftovers = fine(rows / 3.0, codes, scales)
    for i, row in enumerate(rows):
        one, scale, leftover = coded(row.tolist())
        assert np.array_equal(one, codes[i]) and scale == pytest.approx(float(scales[i]), rel=1e-6)
        assert np.array_equal(leftover, leftovers[i])
    assert coded(None) is None and coded([]) is None


def test_a_query_scores_the_same_alone_or_in_a_batch():
    rows, queries = _held(_units(6000, 64, 3)), _units(7, 64, 4)
    together = dots(*rows, queries)
    for i, query in enumerate(queries):
        assert np.array_equal(dots(*rows, query[None, :])[0], together[i])


def test_queries_made_once_score_as_each_query_alone():
    rows, units = _held(_units(3000, 64, 15)), _units(9, 64, 16)
    made = queries(units)
    assert np.array_equal(dots(*rows, made), dots(*rows, units))
    for i in range(len(units)):
        assert np.array_equal(dots(*rows, made.one(i)), dots(*rows, units[i : i + 1]))


def test_each_held_row_finds_its_nearest_centre():
    """Rows of the index filed to clusters: the centre their held vectors are nearest."""
    centres, rows = _held(_units(40, 32, 17)), _held(_units(500, 32, 18))
    want = np.argmax(restored(*rows) @ restored(*centres).T, axis=1)
    assert np.array_equal(nearest_rows(*centres, rows[0]), want)


def test_the_numpy_path_gives_the_same_scores(monkeypatch):
    rows, queries = _held(_units(40_000, 32, 5)), _units(3, 32, 6)
    fast = dots(*rows, queries)
    monkeypatch.setattr(dots_module, "simsimd", None)
    slow = dots(*rows, queries)  # blocks of rows converted to float32, sums exact
    assert np.array_equal(fast, slow)


def test_empty_and_zero_rows_score_nothing():
    assert dots(*_held(np.zeros((0, 8))), _units(2, 8, 7)).shape == (2, 0)
    assert dots(*_held(_units(3, 8, 8)), np.zeros((0, 8))).shape == (0, 3)
    assert not dots(*_held(np.zeros((5, 8))), _units(1, 8, 9)).any()  # a dropped memory


def test_a_scope_holds_its_vectors_in_a_byte_a_dimension():
    index = ScopeIndex(Scope.of("u"), keywords=False)
    rows = _units(3000, 384, 14)
    for i, row in enumerate(rows):
        index.put(f"m{i}", {"user_id": "u", "text": f"t{i}"}, row.tolist())
    held = index._matrix.nbytes + index._scales.nbytes + index._fine.nbytes
    # A byte and a half a dimension (codes, and 4 bits of what they left over), growth
    # room included; float16 took 2 bytes.
    assert held <= 1.3 * 3000 * (384 + 4 + 192)
    # and what is held still finds each memory first by its own vector
    scores = index.vector_scores_many(rows[:200].tolist())
    assert [int(np.argmax(s.values)) for s in scores] == list(range(200))


@pytest.mark.parametrize("dim", [384, 7])  # an odd width: its last byte half used
def test_rows_rescored_from_both_parts_are_within_a_few_hundred_thousandths(dim):
    """What the codes left over, kept in 4 bits, brings a score 14 times nearer the exact
    cosine than the codes alone (measured at 384 dims: largest 1.3e-4 over 20k rows,
    standard deviation 2.7e-5; the codes alone 0.0017 and 0.0004)."""
    rows, query = _units(20000, dim, 21), _units(1, dim, 22)[0]
    codes, scales = _held(rows)
    leftovers = fine(rows, codes, scales)
    assert leftovers.dtype == np.uint8 and leftovers.shape == (20000, (dim + 1) // 2)
    exact = rows @ query
    coarse = dots(codes, scales, query[None, :])[0] - exact
    error = rescored(codes, scales, leftovers, query) - exact
    assert np.abs(error).max() < (3e-4 if dim == 384 else 1e-3)
    assert error.std() < coarse.std() / 8


def test_a_search_ranks_its_best_as_the_exact_cosines_do():
    """Two memories nearer than the codes' rounding swap places in a search read from the
    codes alone; rescored, the best 40 stand in the exact order but for gaps under 3e-4."""
    index = ScopeIndex(Scope.of("u"), keywords=False)
    rows = _units(5000, 384, 23)
    for i, row in enumerate(rows):
        index.put(f"m{i}", {"user_id": "u", "text": f"t{i}"}, row.tolist())
    accept = lambda payload: True  # noqa: E731
    swapped = 0
    for query in _units(20, 384, 24):
        exact = rows @ query
        coarse = [int(i[1:]) for i, _ in index.vector_scores(query).top(40, accept)]
        found = index.vector_scores(query, exact=True).top(40, accept)
        best = [int(i[1:]) for i, _ in found]
        swapped += coarse != sorted(coarse, key=lambda i: -exact[i])
        ordered = sorted(best, key=lambda i: -exact[i])
        for got, want in zip(best, ordered, strict=True):
            assert got == want or abs(exact[got] - exact[want]) < 3e-4
        assert set(best) >= {int(i) for i in np.argsort(-exact)[:39]
                             if exact[i] > np.sort(exact)[-40] + 3e-4}  # fmt: skip
        assert all(abs(s - exact[int(i[1:])]) < 3e-4 for i, s in found)
        # a filter that turns away most memories: those it admits, in exact order
        admitted = index.vector_scores(query, exact=True).top(
            10, lambda payload: int(payload["text"][1:]) % 50 == 0
        )
        admits = [int(i[1:]) for i, _ in admitted]
        want = sorted(range(0, 5000, 50), key=lambda i: -exact[i])[:10]
        assert all(got == one or abs(exact[got] - exact[one]) < 3e-4
                   for got, one in zip(admits, want, strict=True))  # fmt: skip
        # and so is every score read by id, inside the best or not
        read = index.vector_scores(query, exact=True)
        some = [f"m{i}" for i in range(0, 5000, 97)]
        assert np.abs(np.array(read.of_many(some)) - exact[::97]).max() < 3e-4
        assert abs(read.of("m4999") - exact[4999]) < 3e-4
    assert swapped >= 5  # read from the codes alone, most of these top 40s were out of order


def test_a_long_message_lifted_by_its_parts_reads_from_their_exact_cosines():
    """A message over ``LONG_WORDS`` also scores by its best fact; read exactly, the lift
    is made of exact cosines too (the message's own and its facts')."""
    index = ScopeIndex(Scope.of("u"))
    rows = _units(400, 384, 25)
    long_text = " ".join(["word"] * 260)
    for m in range(40):  # 40 long messages, each with 4 facts split from it
        index.put(f"s{m}", {"user_id": "u", "text": long_text, "kind": "source"},
                  rows[5 * m].tolist())  # fmt: skip
        for k in range(1, 5):
            index.put(f"s{m}f{k}", {"user_id": "u", "text": f"fact {m} {k}", "origin": f"s{m}"},
                      rows[5 * m + k].tolist())  # fmt: skip
    query = _units(1, 384, 26)[0]
    exact = rows @ query
    want = np.array([exact[5 * m] + 0.5 * max(exact[5 * m + 1 : 5 * m + 5].max() - exact[5 * m], 0)
                     for m in range(40)])  # fmt: skip
    ids = [f"s{m}" for m in range(40)]
    read = index.vector_scores(query, exact=True).lifted(*index.part_slots(), 0.5)
    assert np.abs(np.array(read.of_many(ids)) - want).max() < 1.5e-4
    coarse = index.vector_scores(query).lifted(*index.part_slots(), 0.5)
    assert np.abs(np.array(coarse.of_many(ids)) - want).max() > 3e-4  # the codes alone
    best = read.top(5, lambda payload: payload.get("kind") == "source")
    assert [i for i, _ in best] == [ids[m] for m in np.argsort(-want)[:5]]
