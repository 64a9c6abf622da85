"""The judge-free retrieval metrics and bootstrap helpers, on hand-computed cases."""

from __future__ import annotations

import math

import pytest

from benchmarks.metrics import (
    all_gold_at_k,
    auroc,
    bootstrap_ci,
    mean_scores,
    ndcg_at_k,
    paired_bootstrap_diff,
    percentiles_ms,
    recall_at_k,
    recall_within_read,
    reciprocal_rank,
    score_ranking,
)

# Gold a and b; a at rank 1, b at rank 3, an unrelated item between them.
RANKING = [["a"], ["x"], ["b"], ["c"]]
GOLD = {"a", "b"}


def test_recall_counts_gold_ids_covered_by_the_top_k():
    assert recall_at_k(RANKING, GOLD, 1) == 0.5
    assert recall_at_k(RANKING, GOLD, 2) == 0.5
    assert recall_at_k(RANKING, GOLD, 3) == 1.0
    assert recall_at_k([], GOLD, 10) == 0.0


def test_an_item_with_several_sources_covers_each_of_them():
    assert recall_at_k([["x", "a"], ["b"]], GOLD, 1) == 0.5
    assert recall_at_k([["a", "b"]], GOLD, 1) == 1.0


def test_recall_within_read_counts_each_turn_a_hit_holds_as_read():
    """Whole four-turn windows: by items the first one finds both, by turns read it shows
    four turns, and "b" is the fifth."""
    windows = [["x", "a", "y", "z"], ["b", "c", "d", "e"]]
    assert recall_at_k(windows, GOLD, 2) == 1.0
    assert recall_within_read(windows, GOLD, 4) == 0.5
    assert recall_within_read(windows, GOLD, 5) == 1.0
    # Single turns read the same by either count; a turn shown twice is read once.
    assert recall_within_read(RANKING, GOLD, 3) == recall_at_k(RANKING, GOLD, 3) == 1.0
    assert recall_within_read([["a"], ["a"], ["b"]], GOLD, 2) == 1.0
    assert recall_within_read([], GOLD, 10) == 0.0
    with pytest.raises(ValueError, match="gold is empty"):
        recall_within_read(RANKING, set(), 10)


def test_repeated_coverage_of_one_gold_id_counts_once():
    assert recall_at_k([["a"], ["a"], ["a"]], GOLD, 3) == 0.5


def test_reciprocal_rank_is_the_first_rank_with_any_gold_id():
    assert reciprocal_rank(RANKING, GOLD) == 1.0
    assert reciprocal_rank([["x"], ["y"], ["b"]], GOLD) == pytest.approx(1 / 3)
    assert reciprocal_rank([["x"], ["y"]], GOLD) == 0.0
    assert reciprocal_rank([["x"], ["y"], ["b"]], GOLD, k=2) == 0.0


def test_ndcg_exact_value():
    # DCG = 1/log2(2) + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3).
    expected = 1.5 / (1.0 + 1.0 / math.log2(3))
    assert ndcg_at_k(RANKING, GOLD, 10) == pytest.approx(expected)
    assert ndcg_at_k(RANKING, GOLD, 10) == pytest.approx(0.919720, abs=1e-6)


def test_ndcg_counts_each_gold_id_once_and_cuts_at_k():
    # The second "a" gains nothing; b at rank 3 is outside k=2.
    assert ndcg_at_k([["a"], ["a"], ["b"]], GOLD, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([["b"], ["a"]], GOLD, 10) == pytest.approx(1.0)
    assert ndcg_at_k([["x"]], GOLD, 10) == 0.0


def test_ndcg_is_capped_when_one_item_carries_several_gold_ids():
    assert ndcg_at_k([["a", "b"]], GOLD, 10) == 1.0


def test_all_gold_needs_every_gold_id_in_the_top_k():
    assert all_gold_at_k(RANKING, GOLD, 2) == 0.0
    assert all_gold_at_k(RANKING, GOLD, 3) == 1.0


@pytest.mark.parametrize(
    "metric", [recall_at_k, all_gold_at_k, ndcg_at_k, reciprocal_rank, score_ranking]
)
def test_empty_gold_is_refused_not_scored(metric):
    args = (RANKING, set(), 10) if metric in (recall_at_k, all_gold_at_k) else (RANKING, set())
    with pytest.raises(ValueError, match="gold is empty"):
        metric(*args)


def test_score_ranking_keys_and_values():
    scores = score_ranking(RANKING, GOLD, ks=(1, 3))
    assert scores == {
        "recall@1": 0.5,
        "recall@3": 1.0,
        "mrr": 1.0,
        "ndcg@10": pytest.approx(0.919720, abs=1e-6),
        "all_gold@10": 1.0,
    }


def test_mean_scores_averages_per_key():
    assert mean_scores([{"m": 1.0}, {"m": 0.0}, {"m": 0.5}]) == {"m": 0.5}
    assert mean_scores([]) == {}


def test_bootstrap_of_a_constant_is_that_constant():
    assert bootstrap_ci([0.4] * 30, n_resamples=200) == pytest.approx((0.4, 0.4, 0.4))


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [0.0, 1.0] * 50 + [1.0] * 20
    first = bootstrap_ci(values, n_resamples=500, seed=7)
    assert first == bootstrap_ci(values, n_resamples=500, seed=7)
    mean, low, high = first
    assert mean == pytest.approx(70 / 120)
    assert low < mean < high
    assert high - low < 0.25


def test_paired_difference_uses_the_same_resamples_for_both_systems():
    base = [0.0, 1.0, 0.5, 0.25, 1.0, 0.0] * 10
    better = [v + 0.1 for v in base]
    # Every question gains exactly 0.1, so a paired interval has no width at all;
    # an unpaired one would inherit both systems' spread.
    assert paired_bootstrap_diff(better, base, n_resamples=300) == pytest.approx((0.1, 0.1, 0.1))
    mean, low, high = paired_bootstrap_diff(base, base, n_resamples=300)
    assert (mean, low, high) == (0.0, 0.0, 0.0)


def test_paired_difference_refuses_unpaired_samples():
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap_diff([1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="no values"):
        bootstrap_ci([])


def test_percentiles_are_reported_in_milliseconds():
    latencies = percentiles_ms([0.001, 0.002, 0.003, 0.004, 0.005])
    assert latencies == pytest.approx({"p50": 3.0, "p95": 4.8})
    assert math.isnan(percentiles_ms([])["p50"])


def test_auroc_separation_and_ties():
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.1], [0.9]) == 0.0
    assert auroc([0.5, 0.9], [0.5]) == 0.75
    assert math.isnan(auroc([], [0.1]))
