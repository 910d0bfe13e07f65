"""compare(): ranking, Akaike weights, extrapolation error, failed forms kept; drop_missing."""

import numpy as np
import pandas as pd
import pytest

from devrl.forms import compare, compare_curves, drop_missing
from devrl.forms.synthetic import checkpoints, true_curve


def test_ranks_true_form_first_with_consistent_weights():
    t = checkpoints(64)
    rng = np.random.default_rng(0)
    y = true_curve("power", t) + rng.normal(0, 0.02, t.size)
    table = compare(t, y, ["power", "exp", "linear", "logistic_log"])
    assert table["form"].iloc[0] == "power"
    assert list(table["aicc"]) == sorted(table["aicc"])
    assert table["weight"].sum() == pytest.approx(1.0)
    assert table["delta_aicc"].iloc[0] == 0.0
    w = np.exp(-0.5 * table["delta_aicc"])
    assert np.allclose(table["weight"], w / w.sum())
    # The true form also forecasts the held-out last 20% best.
    assert table.set_index("form")["extrap_rmse"].idxmin() == "power"


def test_failed_forms_are_marked_not_dropped():
    t = np.arange(1.0, 9.0)  # 8 points: too few for the 7-parameter double logistic
    y = 1.0 + 0.3 * t + np.random.default_rng(1).normal(0, 0.1, t.size)
    table = compare(t, y, ["linear", "double_logistic"])
    assert list(table["form"]) == ["linear", "double_logistic"]
    row = table.iloc[1]
    assert row["status"].startswith("failed:") and "needs at least" in row["status"]
    assert np.isnan(row["aicc"]) and np.isnan(row["weight"])
    assert table["weight"].iloc[0] == pytest.approx(1.0)


def test_return_fits_and_input_errors():
    t = checkpoints(30)
    y = true_curve("exp", t) + np.random.default_rng(2).normal(0, 0.02, t.size)
    table, fits = compare(t, y, ["exp", "linear"], return_fits=True)
    assert set(fits) == {"exp", "linear"}
    assert fits["exp"].aicc == pytest.approx(table.set_index("form").loc["exp", "aicc"])
    with pytest.raises(ValueError, match="NaN"):
        compare(t, np.r_[y[:-1], np.nan], ["exp"])
    by_bic = compare(t, y, ["exp", "linear", "double_logistic"], sort_by="bic", holdout=0)
    assert list(by_bic["bic"]) == sorted(by_bic["bic"])
    with pytest.raises(ValueError, match="sort_by"):
        compare(t, y, ["exp"], sort_by="r2")
    with pytest.raises(ValueError, match="holdout"):
        compare(t, y, ["exp"], holdout=1.5)


def test_drop_missing_keeps_rows_with_numbers_and_counts_the_rest():
    frame = pd.DataFrame(
        {
            "step": [0, 1, 2, 3, 4],
            "success": [0.1, np.nan, "0.3", None, "n/a"],  # "0.3" parses; "n/a" does not
            "seed": [None, 0, 0, 0, 0],  # not checked: a missing group label is not dropped
        }
    )
    kept, dropped = drop_missing(frame, ["step", "success"])
    assert dropped == 3
    assert list(kept.index) == [0, 2] and list(kept["step"]) == [0, 2]
    assert drop_missing(frame, ["step"])[1] == 0
    with pytest.raises(KeyError, match="'loss'"):
        drop_missing(frame, ["step", "loss"])


def test_weights_with_seeds_average_per_seed_fits_instead_of_pooling_them():
    """Two seeds are linear, two flat: pooled, the linear form takes all the weight (its
    checkpoints counted as independent); per seed, each form wins two seeds and the flat
    seeds still give the linear form its AICc share (Δ ≈ 2 for one extra parameter)."""
    rng = np.random.default_rng(0)
    t = np.tile(np.linspace(1.0, 10.0, 30), 4)
    groups = np.repeat([0, 1, 2, 3], 30)
    slope = np.where(groups < 2, 0.5, 0.0)
    y = 2.0 + slope * t + 0.3 * rng.standard_normal(t.size)
    table = compare(t, y, ["constant", "linear"], groups=groups, holdout=0.0).set_index("form")
    assert table.loc["linear", "weight_pooled"] > 0.99
    assert table.loc["linear", "seeds_best"] == 0.5 and table.loc["constant", "seeds_best"] == 0.5
    assert 0.5 < table.loc["linear", "weight"] < 0.8
    assert table.weight.sum() == pytest.approx(1.0)
    lo, hi = table.loc["linear", ["weight_lo", "weight_hi"]]
    assert lo < table.loc["linear", "weight"] < hi and hi - lo > 0.2
    alone = compare(t[:30], y[:30], ["constant", "linear"], holdout=0.0).set_index("form")
    assert alone.weight.equals(alone.weight_pooled) and alone.weight_lo.isna().all()


def test_compare_curves_ranks_each_tracked_curve_per_group():
    """A logistic rise and a straight line, tracked over 3 seeds in two corner groups."""
    steps = np.geomspace(1e3, 1e6, 20)
    rng = np.random.default_rng(0)
    rows = []
    for corner in (1, 3):
        for seed in range(3):
            rise = 1 / (1 + np.exp(-4 * (np.log10(steps) - 4.5))) + rng.normal(0, 0.01, 20)
            line = 0.3 + 1e-7 * steps + rng.normal(0, 0.01, 20)
            for name, y in (("rise", rise), ("line", line)):
                rows.append(
                    pd.DataFrame({"step": steps, "measure": name, "value": y}).assign(
                        seed=seed, corner=corner
                    )
                )
    tracks = pd.concat(
        [
            *rows,
            pd.DataFrame(
                {"step": [0], "measure": ["rise"], "value": [np.inf], "seed": [0], "corner": [1]}
            ),
        ]
    )
    got = compare_curves(tracks, ["rise", "line"], by=["corner"], forms=["linear", "logistic_log"])
    best = got.loc[got.groupby(["corner", "measure"])["weight"].idxmax()]
    best = best.set_index(["corner", "measure"])["form"]
    assert best[(1, "rise")] == best[(3, "rise")] == "logistic_log"
    assert best[(1, "line")] == best[(3, "line")] == "linear"
    assert list(got["measure"].unique()) == ["rise", "line"]  # the order asked for
    assert compare_curves(tracks, ["rise"], min_checkpoints=21).empty  # too few steps
    flat = tracks[tracks["measure"] == "line"].assign(measure="flat", value=0.0)
    assert compare_curves(flat, ["flat"]).empty  # constant: nothing to tell apart
