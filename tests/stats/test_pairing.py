"""The seed-shuffle null: planted per-seed links pass, shared trends do not, noise is calibrated."""

import numpy as np
import pytest

from devrl.stats import pair_matrix, seed_shuffle_test, spearman


def test_spearman_known_values():
    x = np.arange(10.0)
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    assert np.isnan(spearman(x, np.ones(10)))
    with pytest.raises(ValueError, match="one shape"):
        spearman(x, x[:5])


def test_pair_matrix_entries():
    xs = [np.arange(5.0), -np.arange(5.0)]
    m = pair_matrix(xs, [np.arange(5.0), np.arange(5.0)])
    np.testing.assert_allclose(m, [[1, 1], [-1, -1]])
    with pytest.raises(ValueError, match="length >= 2"):
        pair_matrix(xs[:1], xs[:1])


def test_planted_link_reaches_smallest_p():
    rng = np.random.default_rng(0)
    ys = [rng.normal(size=40) for _ in range(4)]
    xs = [y + 0.1 * rng.normal(size=40) for y in ys]
    res = seed_shuffle_test(xs, ys)
    assert res.statistic > 0.9
    assert abs(res.null) < 0.3
    assert res.p_value == pytest.approx(1 / 24)  # identity is the only pairing this high


def test_shared_trend_is_not_a_link():
    t = np.linspace(0, 1, 50)
    rng = np.random.default_rng(1)
    ys = [t**2 + 0.01 * rng.normal(size=50) for _ in range(3)]
    xs = [np.sqrt(t) + 0.01 * rng.normal(size=50) for _ in range(3)]
    res = seed_shuffle_test(xs, ys)
    assert res.statistic > 0.95 and res.null > 0.95  # high ρ, but so is the null's
    assert res.p_value > 0.1


def test_calibrated_on_noise_with_random_pairings():
    rng = np.random.default_rng(2)
    pv = []
    for k in range(200):
        xs = [rng.normal(size=12) for _ in range(10)]
        ys = [rng.normal(size=12) for _ in range(10)]
        pv.append(seed_shuffle_test(xs, ys, n_resamples=199, seed=k).p_value)
    assert 0.01 <= np.mean(np.array(pv) <= 0.05) <= 0.11
