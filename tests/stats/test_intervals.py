"""Intervals over seeds against known answers: coverage of a known mean, a cluster ratio."""

import numpy as np
import pytest

from devrl.stats import Interval, bootstrap_ci, iqm, ratio_ci


def test_bootstrap_ci_of_the_mean_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    hits = sum(
        bootstrap_ci(rng.normal(3.0, 1.0, 30), n_resamples=999, seed=i).contains(3.0)
        for i in range(200)
    )
    # the percentile bootstrap under-covers a little at n = 30 (about 93%)
    assert 0.90 <= hits / 200 <= 0.99


def test_bootstrap_ci_matches_the_normal_interval_for_a_large_sample():
    x = np.random.default_rng(1).normal(0.0, 2.0, 2000)
    ci = bootstrap_ci(x, n_resamples=2000)
    half = 1.96 * x.std(ddof=1) / np.sqrt(x.size)
    assert ci.estimate == pytest.approx(x.mean())
    assert ci.high - ci.low == pytest.approx(2 * half, rel=0.1)


def test_constant_and_single_values_give_degenerate_intervals():
    assert bootstrap_ci([2.0, 2.0, 2.0]) == Interval(2.0, 2.0, 2.0, 3)
    one = bootstrap_ci([5.0])
    assert one.estimate == 5.0 and np.isnan(one.low)


def test_ratio_ci_pools_counts_and_resamples_whole_seeds():
    ci = ratio_ci([1, 2, 0, 3], [2, 2, 1, 4], n_resamples=4000)
    assert ci.estimate == pytest.approx(6 / 9)
    assert ci.low < 6 / 9 < ci.high and 0 <= ci.low and ci.high <= 1
    # every seed 50%: any resample of seeds pools to 50%
    same = ratio_ci([1, 2, 3], [2, 4, 6])
    assert (same.low, same.estimate, same.high) == (0.5, 0.5, 0.5)


def test_ratio_ci_is_wider_when_hits_cluster_in_seeds():
    spread = ratio_ci([5] * 10, [10] * 10)  # every seed half
    clustered = ratio_ci([10] * 5 + [0] * 5, [10] * 10)  # half the seeds all, half none
    assert clustered.high - clustered.low > spread.high - spread.low


def test_ratio_ci_rejects_bad_counts():
    with pytest.raises(ValueError, match="hits <= totals"):
        ratio_ci([3], [2])
    with pytest.raises(ValueError, match="one length"):
        ratio_ci([1, 2], [3])
    with pytest.raises(ValueError, match="level"):
        ratio_ci([1], [2], level=1.5)


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm([0, 1, 2, 3, 4, 5, 6, 100]) == pytest.approx(np.mean([2, 3, 4, 5]))


def test_finite_t_interval_drops_non_finite_values_and_answers_nan_for_none():
    from devrl.stats import finite_t_interval

    m, lo, hi, n = finite_t_interval([1.0, 2.0, 3.0, float("inf"), float("nan")])
    half = 4.302652729911275 / np.sqrt(3)  # t_{0.975, 2} * sd 1 / sqrt(3)
    assert (m, n) == (2.0, 3) and lo == pytest.approx(2 - half) and hi == pytest.approx(2 + half)
    m, lo, hi, n = finite_t_interval([float("nan"), float("-inf")])
    assert n == 0 and all(np.isnan(x) for x in (m, lo, hi))
