"""Tests against a null, each checked on a hand-worked table or a planted effect."""

import numpy as np
import pytest
from scipy import stats

from devrl.stats import (
    binomial_interval,
    fisher_exact,
    group_dependence,
    monte_carlo_p,
    sign_test,
    trend_test,
)


def test_fisher_exact_of_4_of_16_against_0_of_16_is_the_papers_p_of_0_10():
    res = fisher_exact(4, 16, 0, 16)
    assert res.statistic == pytest.approx(0.25) and res.null == 0.0
    # hypergeometric by hand: two-sided = 2 * C(16,4)C(16,0)/C(32,4) for this symmetric table
    one_sided = stats.hypergeom(32, 4, 16).pmf(4)
    assert res.p_value == pytest.approx(2 * one_sided)
    assert res.p_value == pytest.approx(0.101, abs=0.001)


def test_fisher_exact_rejects_impossible_counts():
    with pytest.raises(ValueError, match="k1"):
        fisher_exact(5, 4, 0, 4)


def test_binomial_interval_is_clopper_pearson():
    low, high = binomial_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10))


def test_monte_carlo_p_counts_the_observation_as_a_draw():
    assert monte_carlo_p(5.0, [1, 2, 3]) == pytest.approx(1 / 4)
    assert monte_carlo_p(2.0, [1, 2, 3]) == pytest.approx(3 / 4)
    assert monte_carlo_p(0.0, [1, 2, 3], "less") == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="alternative"):
        monte_carlo_p(1.0, [1.0], "bigger")


def test_trend_test_finds_a_planted_trend_and_not_a_flat_one():
    x = np.repeat([1.0, 2.0, 3.0, 4.0], 20)
    rng = np.random.default_rng(0)
    falling = rng.random(x.size) < np.repeat([0.8, 0.5, 0.3, 0.05], 20)
    assert trend_test(np.log(x), falling, n_resamples=2000).p_value < 0.001
    flat = rng.random(x.size) < 0.3
    res = trend_test(np.log(x), flat, n_resamples=2000)
    assert res.p_value > 0.05 and res.statistic == pytest.approx(np.corrcoef(np.log(x), flat)[0, 1])


def test_group_dependence_separates_decided_groups_from_coin_flips():
    groups = np.repeat(np.arange(8), 8)
    decided = np.repeat([1, 0, 0, 1, 0, 0, 0, 0], 8)
    res = group_dependence(groups, decided, n_resamples=2000)
    assert res.statistic == pytest.approx(0.25 * 0.75) and res.p_value < 0.001
    coins = np.random.default_rng(3).random(64) < 0.25
    assert group_dependence(groups, coins, n_resamples=2000).p_value > 0.05


def test_group_dependence_is_calibrated_on_exchangeable_outcomes():
    groups = np.repeat(np.arange(6), 6)
    rng = np.random.default_rng(4)
    p = [
        group_dependence(groups, rng.random(36) < 0.3, n_resamples=199, seed=i).p_value
        for i in range(200)
    ]
    low, high = binomial_interval(int(np.sum(np.asarray(p) < 0.05)), 200, level=0.99)
    assert low <= 0.05 <= high


def test_sign_test_of_four_rising_steps_cannot_reach_five_percent():
    res = sign_test([0.4, 1.2, 0.1, 2.0])
    assert res.statistic == 1.0 and res.p_value == pytest.approx(0.125)
    assert sign_test([1.0, -1.0, 0.0, np.nan]).n == 2
    assert sign_test([1.0] * 10, "greater").p_value == pytest.approx(0.5**10)
