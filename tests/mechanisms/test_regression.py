"""Behavioural regression: features of a hand-made level, a planted coefficient, analytic VIFs."""

import numpy as np
import pytest

from devrl.mechanisms.regression import FEATURES, choice_regression, level_features, vif


def _branch_level() -> tuple[np.ndarray, tuple[int, int]]:
    """5x5: a corridor up column 0 and along row 0 to the corner, a branch along row 2."""
    walls = np.ones((5, 5), dtype=bool)
    walls[:, 0] = walls[0, :] = False
    walls[2, :3] = False
    return walls, (2, 2)


def test_level_features_hand_made_level():
    walls, cheese = _branch_level()
    row = level_features([(walls, cheese)]).iloc[0]
    expected = {
        "euclid_cheese_corner": np.hypot(2, 2),
        "path_cheese_corner": 8,
        "euclid_cheese_ds": 2,
        "path_cheese_ds": 2,
        "euclid_ds_region": np.hypot(2, 4),
        "path_ds_region": 6,
        "cheese_row": 2,
        "cheese_col": 2,
    }
    assert row["level"] == 0
    for name, value in expected.items():
        assert row[name] == pytest.approx(value), name
    wide = level_features([(walls, cheese)], region=3).iloc[0]
    assert wide["path_ds_region"] == 2 and wide["euclid_ds_region"] == pytest.approx(2)


def test_level_features_skips_levels_without_decision_square():
    walls, _ = _branch_level()
    frame = level_features([(walls, (0, 2)), (walls, (2, 2))])
    assert frame["level"].tolist() == [1]
    assert list(frame.columns) == ["level", *FEATURES]
    with pytest.raises(ValueError, match="region"):
        level_features([(walls, (2, 2))], region=6)


def test_vif_matches_analytic_value():
    rng = np.random.default_rng(0)
    n, r = 20000, 0.8
    x0 = rng.standard_normal(n)
    x1 = r * x0 + np.sqrt(1 - r**2) * rng.standard_normal(n)
    x2 = rng.standard_normal(n)
    v = vif(np.column_stack([x0, x1, x2]))
    assert v[0] == pytest.approx(1 / (1 - r**2), rel=0.05)
    assert v[1] == pytest.approx(1 / (1 - r**2), rel=0.05)
    assert v[2] == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="X must be"):
        vif(np.ones((3, 1)))


def test_choice_regression_recovers_planted_coefficient():
    rng = np.random.default_rng(1)
    n = 4000
    x0 = rng.standard_normal(n)
    x1 = 0.8 * x0 + 0.6 * rng.standard_normal(n)
    x2 = rng.standard_normal(n)
    y = rng.random(n) < 1 / (1 + np.exp(-(1.5 * x0 - 1.0)))
    res = choice_regression(
        np.column_stack([x0, x1, x2]), y, names=["a", "b", "c"], splits=20, resamples=60
    )
    coef = res.coefficients.set_index("feature")
    assert coef.loc["a", "low"] < 1.5 < coef.loc["a", "high"]
    assert coef.loc["a", "coef"] == pytest.approx(1.5, abs=0.15)
    for other in ("b", "c"):
        assert coef.loc[other, "low"] <= 0 <= coef.loc[other, "high"]
    assert coef.loc["a", "vif"] == pytest.approx(1 / 0.36, rel=0.1)
    assert res.accuracy > res.baseline + 0.05 and res.gain_low > 0
    assert res.baseline == pytest.approx(1 - y.mean(), abs=0.03)
    assert res.levels == n and res.positives == int(y.sum())
    assert res.auc_low < 0.816 < res.auc_high  # the true score's AUC (Monte Carlo, 4e5 draws)
    noise = choice_regression(rng.standard_normal((600, 2)), rng.random(600) < 0.3, splits=20)
    assert noise.auc_low < 0.5 < noise.auc_high


def test_path_features_are_exactly_dependent_in_perfect_mazes():
    from devrl.mechanisms import sample_decision_levels

    levels, _ = sample_decision_levels(9, 40, seed=0)
    f = level_features(levels)
    assert (f["path_cheese_corner"] == f["path_cheese_ds"] + f["path_ds_region"]).all()


def test_choice_regression_rejects_one_class_and_constant_features():
    X = np.random.default_rng(0).standard_normal((50, 2))
    with pytest.raises(ValueError, match="both choices"):
        choice_regression(X, np.zeros(50, bool))
    X[:, 1] = 3.0
    with pytest.raises(ValueError, match="constant"):
        choice_regression(X, np.arange(50) % 2 == 0)


def test_choice_regression_is_deterministic():
    """liblinear visits coordinates in a random order; the fit fixes it."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((400, 4))
    X[:, 1] = X[:, 0] + 0.1 * rng.standard_normal(400)  # collinear, where the order matters
    y = rng.random(400) < 1 / (1 + np.exp(-X[:, 0]))
    a, b = (choice_regression(X, y, splits=5, resamples=20, seed=0) for _ in range(2))
    assert a.coefficients.equals(b.coefficients) and a.summary() == b.summary()
