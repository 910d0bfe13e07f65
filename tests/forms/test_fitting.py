"""fit(): planted parameters are recovered, intervals behave, bad inputs get clear errors."""

import numpy as np
import pandas as pd
import pytest

from devrl.forms import FitError, Form, fit
from devrl.forms.synthetic import TRUTH, checkpoints, true_curve


@pytest.mark.parametrize("form", list(TRUTH))
def test_recovers_planted_parameters_at_high_snr(form):
    rng = np.random.default_rng(1)
    t = checkpoints(64)
    mu = true_curve(form, t)
    sd = (np.ptp(mu) or 1.0) / 200
    res = fit(t, mu + rng.normal(0, sd, t.size), form, ci="wald")
    for name, value in TRUTH[form].items():
        lo, hi = res.ci[name]
        # 4 standard errors: a failure here means a wrong optimum, not bad luck.
        assert abs(res.params[name] - value) <= 4 * res.stderr[name] + 1e-12, (name, res)
        assert lo < res.params[name] < hi


def test_information_criteria_by_hand():
    rng = np.random.default_rng(0)
    t = np.arange(1.0, 31.0)
    y = 1 + 0.5 * t + rng.normal(0, 1, t.size)
    res = fit(t, y, "linear", ci="wald")
    b, a = np.polyfit(t, y, 1)
    rss = np.sum((a + b * t - y) ** 2)
    n, k = 30, 3
    ll = -n / 2 * (np.log(2 * np.pi * rss / n) + 1)
    assert res.params["b"] == pytest.approx(b, rel=1e-6)
    assert res.loglik == pytest.approx(ll, rel=1e-6)
    assert res.aic == pytest.approx(2 * k - 2 * ll)
    assert res.aicc == pytest.approx(2 * k - 2 * ll + 2 * k * (k + 1) / (n - k - 1))
    assert res.bic == pytest.approx(k * np.log(n) - 2 * ll)
    # OLS standard error of the slope, and the profile interval equals the t interval for a
    # model linear in its parameters.
    X = np.column_stack([np.ones(n), t])
    se_b = np.sqrt(rss / (n - 2) * np.linalg.inv(X.T @ X)[1, 1])
    assert res.stderr["b"] == pytest.approx(se_b, rel=1e-4)
    prof = fit(t, y, "linear", ci="profile")
    assert prof.ci["b"][0] == pytest.approx(res.ci["b"][0], rel=1e-3)
    assert prof.ci["b"][1] == pytest.approx(res.ci["b"][1], rel=1e-3)


def test_known_sigma_weights_points_and_fixes_noise_scale():
    t = np.arange(1.0, 21.0)
    y = 2.0 + 0.1 * t
    y[::2] += 0.5  # bad points, flagged by large sigma
    sigma = np.where(np.arange(20) % 2 == 0, 100.0, 0.01)
    res = fit(t, y, "linear", sigma=sigma, ci="wald")
    assert res.params["a"] == pytest.approx(2.0, abs=1e-3)
    assert res.k == 2  # noise scale known: not a parameter


def test_cluster_bootstrap_over_seeds_widens_intervals():
    rng = np.random.default_rng(3)
    t = checkpoints(24)
    ts, ys, gs = [], [], []
    for seed in range(6):
        shift = rng.normal(0, 0.3)  # seed-level variation of the midpoint
        p = dict(TRUTH["logistic_log"], log_t0=TRUTH["logistic_log"]["log_t0"] + shift)
        ts.append(t)
        ys.append(true_curve("logistic_log", t, p) + rng.normal(0, 0.02, t.size))
        gs += [seed] * t.size
    t_all, y_all = np.concatenate(ts), np.concatenate(ys)
    clus = fit(t_all, y_all, "logistic_log", groups=gs, n_boot=60)
    assert clus.ci_method == "cluster-bootstrap"
    lo, hi = clus.ci["log_t0"]
    naive = fit(t_all, y_all, "logistic_log", groups=gs, ci="wald")  # treats points as iid
    n_lo, n_hi = naive.ci["log_t0"]
    # Seeds differ by sd 0.3 in log_t0: the cluster interval must reflect that spread
    # (about +-1.96 * 0.3 / sqrt(6) = +-0.24), far wider than the iid-noise interval.
    assert hi - lo > 2 * (n_hi - n_lo)
    assert 0.2 < hi - lo < 1.2
    assert lo < TRUTH["logistic_log"]["log_t0"] < hi
    band = clus.predict(t, band=True)
    assert list(band.columns) == ["t", "yhat", "lower", "upper"]
    assert np.all(band["lower"] <= band["yhat"] + 1e-12)
    assert np.all(band["upper"] >= band["yhat"] - 1e-12)


def test_result_prints_and_converts_to_frame():
    t = checkpoints(40)
    y = true_curve("power", t) + np.random.default_rng(0).normal(0, 0.01, t.size)
    res = fit(t, y, "power")
    text = repr(res)
    assert "power" in text and "alpha" in text and "95% CI (profile)" in text
    df = res.to_frame()
    assert isinstance(df, pd.DataFrame)
    assert list(df["param"]) == ["a", "b", "alpha"]
    assert {"value", "stderr", "ci_low", "ci_high", "aicc"} <= set(df.columns)
    assert np.all(res.predict(t, band=True)["upper"] > res.predict(t, band=True)["lower"])


def test_bootstrap_ci_is_deterministic_given_seed():
    t = checkpoints(32)
    y = true_curve("exp", t) + np.random.default_rng(2).normal(0, 0.05, t.size)
    r1 = fit(t, y, "exp", ci="bootstrap", n_boot=40, seed=5)
    r2 = fit(t, y, "exp", ci="bootstrap", n_boot=40, seed=5)
    assert r1.ci == r2.ci


@pytest.mark.parametrize(
    "t, y, match",
    [
        (np.arange(4.0), np.array([1.0, 2.0, 3.0, 5.0]), "needs at least"),
        (np.arange(10.0), np.r_[np.arange(9.0), np.nan], "NaN"),
        (np.arange(10.0), np.ones(10), "constant"),
        (np.r_[np.arange(9.0), 3.0], np.arange(10.0), "strictly increasing"),
    ],
)
def test_clear_errors(t, y, match):
    with pytest.raises(ValueError, match=match):
        fit(t, y, "logistic")


def test_log_forms_need_positive_t():
    with pytest.raises(ValueError, match="t > 0"):
        fit(np.arange(0.0, 20.0), np.arange(20.0) ** 0.5, "power")


def test_non_convergence_names_form_and_reason():
    bad = Form(
        name="always_nan",
        func=lambda t, a: np.full_like(t, np.nan) + a,
        param_names=("a",),
        formula="nan",
        bounds=lambda t, y: (np.array([-1.0]), np.array([1.0])),
        guess=lambda t, y: [np.array([0.0])],
    )
    with pytest.raises(FitError, match="'always_nan' failed to fit: non-finite"):
        fit(np.arange(10.0), np.arange(10.0), bad)
