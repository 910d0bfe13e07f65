"""Intervals over levels and over seeds and levels, against known answers."""

import numpy as np
import pytest

from devrl.stats import mean_interval, seed_level_interval, wilson


def test_wilson_known_values():
    p, lo, hi = wilson(5, 10)
    assert (
        p == 0.5 and lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    )
    assert wilson(0, 40)[2] == pytest.approx(0.0876, abs=1e-3)  # z^2 / (n + z^2)
    with pytest.raises(ValueError, match="trials"):
        wilson(0, 0)
    with pytest.raises(ValueError, match="successes"):
        wilson(3, 2)


def test_mean_interval_covers_a_planted_mean():
    rng = np.random.default_rng(0)
    hits = sum(
        lo <= 0.3 <= hi
        for lo, hi in (mean_interval(rng.random(200) < 0.3, seed=i)[1:] for i in range(100))
    )
    assert 88 <= hits <= 100  # nominal 95
    assert mean_interval([0.2, 0.2]) == (0.2, 0.2, 0.2)


def test_seed_level_interval_carries_the_spread_between_seeds():
    values = np.r_[np.zeros(50), np.ones(50)]
    seeds = np.r_[np.zeros(50), np.ones(50)]
    mean, lo, hi = seed_level_interval(values, seeds)
    assert mean == 0.5 and lo == 0.0 and hi == 1.0  # two seeds: draws 0, 0.5 or 1
    # One seed: only the level spread, like the plain bootstrap.
    rng = np.random.default_rng(1)
    x = rng.random(400)
    one = seed_level_interval(x, np.zeros(400))
    plain = mean_interval(x)
    assert one[0] == pytest.approx(plain[0])
    assert one[2] - one[1] == pytest.approx(plain[2] - plain[1], rel=0.2)
    with pytest.raises(ValueError, match="equal length"):
        seed_level_interval([1.0, 2.0], [0])
