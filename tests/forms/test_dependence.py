"""compare_across: the form of a final value against an environment variable, planted answers."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from devrl.forms import compare_across

CORNERS = np.array([1.0, 2.0, 3.0, 5.0, 7.0])


def _runs(f, seeds: int = 5, sd: float = 0.03, seed: int = 0) -> pd.DataFrame:
    """One row per run: corner size, seed, and the planted f(corner) plus seed noise."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        [
            {"corner": x, "seed": s, "success": f(x) + rng.normal(0, sd)}
            for s in range(seeds)
            for x in CORNERS
        ]
    )


def test_planted_logistic_in_corner_size_is_recovered():
    def f(x):
        return 0.1 + 0.8 * expit((np.log(x) - np.log(3.0)) / 0.15)

    table = compare_across(_runs(f), "corner", "success", n_boot=10)
    best = table.iloc[0]
    assert best["form"] == "logistic_log"
    assert best["weight"] > 0.9 and best["wins"] > 0.8
    assert best["weight_lo"] <= best["weight"] <= best["weight_hi"]
    # the constant (no effect of corner size) is rejected outright
    assert table.set_index("form").loc["constant", "weight"] < 1e-6


def test_planted_threshold_is_told_from_smooth_trends():
    """A flat start then a rise in log corner size: a form with a change point wins (on five
    corner sizes a sharp logistic and a hinge can look alike), never a power law or a line."""

    def f(x):
        return 0.2 + 0.5 * np.maximum(0.0, np.log(x) - np.log(2.5))

    table = compare_across(_runs(f), "corner", "success", n_boot=10)
    assert table.iloc[0]["form"] in ("piecewise1", "logistic_log")
    weights = table.set_index("form")["weight"]
    assert weights[["constant", "linear", "power"]].sum() < 0.01


def test_noisy_data_give_wide_weight_intervals():
    """Seed noise as large as the effect: no form wins reliably over seed resamples."""
    table = compare_across(_runs(lambda x: 0.4 + 0.02 * x, sd=0.3), "corner", "success", n_boot=15)
    best = table.iloc[0]
    assert best["weight_hi"] - best["weight_lo"] > 0.3 and best["wins"] < 0.9


def test_forms_with_too_many_parameters_are_kept_with_their_reason():
    """Two corner sizes x two seeds cannot rank a 4-parameter logistic: it is marked, not dropped."""
    runs = _runs(lambda x: 0.5 - 0.05 * x, seeds=2)
    runs = runs[runs["corner"].isin([1.0, 5.0])]
    table = compare_across(runs, "corner", "success", n_boot=5).set_index("form")
    assert table.loc["logistic_log", "status"] != "ok"
    assert table.loc["constant", "status"] == "ok"
    assert table["x_values"].iloc[0] == 2 and table["seeds"].iloc[0] == 2


def test_needs_two_values_of_the_variable():
    runs = _runs(lambda x: 0.5 + 0 * x)
    with pytest.raises(ValueError, match="2 values"):
        compare_across(runs[runs["corner"] == 1.0], "corner", "success")
