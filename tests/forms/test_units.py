"""Fits do not depend on the units of y: rankings, curves and intervals move with the units.

The bug this guards (issue 16): a noisy logistic rescaled to 1e-5 was ranked
piecewise2 first, and to 1e-12 linear third, because the optimiser worked in the
caller's units.
"""

import numpy as np
import pytest

from devrl.forms import Form, compare, fit, register_form
from devrl.forms._units import YUnits
from devrl.forms.registry import get_form
from devrl.forms.synthetic import checkpoints, true_curve

SCALES = [1.0, 1e-2, 1e-5, 1e-12, 1e6]


@pytest.fixture(scope="module")
def curve():
    rng = np.random.default_rng(0)
    t = checkpoints(40)
    return t, true_curve("logistic", t) + rng.normal(0, 0.05, t.size)


@pytest.fixture(scope="module")
def base(curve):
    t, y = curve
    return compare(t, y, return_fits=True)


@pytest.mark.parametrize("scale", SCALES)
def test_ranking_and_curves_identical_in_any_unit(curve, base, scale):
    t, y = curve
    table0, fits0 = base
    table, fits = compare(t, scale * y, return_fits=True)
    assert list(table["form"]) == list(table0["form"])
    assert table["status"].eq("ok").all()
    np.testing.assert_allclose(table["delta_aicc"], table0["delta_aicc"], atol=1e-6)
    np.testing.assert_allclose(table["weight"], table0["weight"], atol=1e-8)
    np.testing.assert_allclose(table["extrap_rmse"] / scale, table0["extrap_rmse"], rtol=1e-5)
    # Log-likelihoods differ by the same constant, -n log(scale), for every form.
    np.testing.assert_allclose(
        table["loglik"] - table0["loglik"], -t.size * np.log(scale), rtol=1e-9, atol=1e-6
    )
    # Equal up to the optimiser's tolerance: measured at most 1.2e-6 of the range
    # (double_logistic, whose two stages trade off along a flat direction), 1e-9 otherwise.
    for name, res0 in fits0.items():
        diff = np.abs(fits[name].predict(t) / scale - res0.predict(t)).max()
        assert diff <= 1e-5 * np.ptp(y), name


def test_offset_moves_levels_only(curve):
    t, y = curve
    r0 = fit(t, y, "logistic", ci="wald")
    r1 = fit(t, 1e3 + 2e-4 * y, "logistic", ci="wald")
    for name in ("a", "b"):
        assert r1.params[name] == pytest.approx(1e3 + 2e-4 * r0.params[name], rel=1e-9)
        assert r1.stderr[name] == pytest.approx(2e-4 * r0.stderr[name], rel=1e-4)
    for name in ("t0", "w"):
        assert r1.params[name] == pytest.approx(r0.params[name], rel=1e-6)
        assert r1.stderr[name] == pytest.approx(r0.stderr[name], rel=1e-4)


def test_intervals_bands_and_draws_scale_with_y(curve):
    t, y = curve
    s = 1e-7
    for ci in ("profile", "bootstrap"):
        r0 = fit(t, y, "exp", ci=ci, n_boot=30)
        r1 = fit(t, s * y, "exp", ci=ci, n_boot=30)
        for name, role in zip(r0.form.param_names, r0.form.y_roles):
            k = 1.0 if role == "shape" else s
            np.testing.assert_allclose(np.array(r1.ci[name]), k * np.array(r0.ci[name]), rtol=1e-5)
    b0 = fit(t, y, "logistic", ci="wald").predict(t, band=True)
    b1 = fit(t, s * y, "logistic", ci="wald").predict(t, band=True)
    for col in ("yhat", "lower", "upper"):
        np.testing.assert_allclose(b1[col] / s, b0[col], rtol=1e-5, atol=1e-9)


def test_known_sigma_scales_with_y(curve):
    t, y = curve
    r0 = fit(t, y, "logistic", sigma=0.05)
    r1 = fit(t, 1e-9 * y, "logistic", sigma=0.05e-9)
    assert r1.rss == pytest.approx(r0.rss, rel=1e-6)  # weighted residuals are unit-free
    assert r1.params["b"] == pytest.approx(1e-9 * r0.params["b"], rel=1e-6)


def test_time_units_do_not_change_the_ranking(curve, base):
    t, y = curve
    table0, _ = base
    for c in (1e-3, 1e6):
        table = compare(c * t, y)
        assert list(table["form"]) == list(table0["form"])
        np.testing.assert_allclose(table["delta_aicc"], table0["delta_aicc"], atol=1e-4)


def test_units_map_parameters_by_role():
    u = YUnits(shift=10.0, scale=2.0, roles=("level", "scale", "shape"))
    np.testing.assert_allclose(u.params_from_z([1.0, 3.0, 5.0]), [12.0, 6.0, 5.0])
    np.testing.assert_allclose(u.params_to_z([12.0, 6.0, 5.0]), [1.0, 3.0, 5.0])
    np.testing.assert_allclose(u.y_to_z(np.array([10.0, 14.0])), [0.0, 2.0])
    np.testing.assert_allclose(np.diag(u.cov_from_z(np.eye(3))), [4.0, 4.0, 1.0])
    # Every built-in form is equivariant under its declared roles.
    t = checkpoints(16)
    for name in ("linear", "exp", "logistic", "double_logistic", "power", "piecewise2"):
        form = get_form(name)
        theta = np.linspace(0.3, 1.1, form.n_params)
        v = YUnits(shift=-3.0, scale=0.01, roles=form.y_roles)
        np.testing.assert_allclose(
            form(t, v.params_from_z(theta)), -3.0 + 0.01 * form(t, theta), rtol=1e-12, atol=1e-12
        )


def test_forms_without_roles_fit_in_callers_units_and_bad_roles_are_refused():
    f = Form(
        name="test_units_sqrt",
        func=lambda t, a, b: a + b * np.sqrt(t),
        param_names=("a", "b"),
        formula="a + b*sqrt(t)",
        bounds=lambda t, y: (np.array([-10.0, 0.0]), np.array([10.0, 5.0])),
        guess=lambda t, y: [np.array([0.0, 1.0])],
    )
    t = np.linspace(1, 100, 30)
    res = fit(t, 2.0 + 0.5 * np.sqrt(t), f)
    assert res.params["a"] == pytest.approx(2.0, abs=1e-6)
    bad = Form(**{**f.__dict__, "name": "test_units_bad", "y_roles": ("level",)})
    with pytest.raises(ValueError, match="y_roles"):
        register_form(bad)


@pytest.mark.parametrize("scale", [1e-5, 1e-12])
def test_planted_logistic_wins_at_tiny_scales(scale):
    # Before the fix this curve was ranked logistic_log first at 1e-5 and piecewise2 at 1e-12.
    rng = np.random.default_rng(1)
    t = np.linspace(50, 1e4, 60)
    y = 1 / (1 + np.exp(-(t - 4000) / 700)) + rng.normal(0, 0.05, t.size)
    table = compare(t, scale * y, ["linear", "logistic", "logistic_log", "piecewise2"])
    assert table["form"].iloc[0] == "logistic"
