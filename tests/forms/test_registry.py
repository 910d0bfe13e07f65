"""Registry: built-in forms are complete and users can add their own."""

import numpy as np
import pytest

from devrl.forms import Form, available_forms, fit, get_form, register_form
from devrl.forms.synthetic import TRUTH, checkpoints, true_curve


def test_builtin_forms_registered_with_consistent_metadata():
    for name in [
        "constant",
        "linear",
        "exp",
        "logistic",
        "logistic_log",
        "double_logistic",
        "power",
        "piecewise1",
        "piecewise2",
        "piecewise3",
    ]:
        f = get_form(name)
        t = checkpoints(64)
        y = true_curve(name, t) if name in TRUTH else np.log(t)
        lo, hi = f.bounds(t, y)
        assert lo.shape == hi.shape == (f.n_params,)
        for p0 in f.guess(t, y):
            assert np.asarray(p0).shape == (f.n_params,)
        assert name in available_forms()


def test_truth_within_bounds():
    t = checkpoints(64)
    for name, p in TRUTH.items():
        f = get_form(name)
        lo, hi = f.bounds(t, true_curve(name, t))
        v = np.array([p[k] for k in f.param_names])
        assert np.all(v > lo) and np.all(v < hi), name


def test_register_custom_form_and_fit_it():
    def bounds(t, y):
        return np.array([-10.0, 0.0]), np.array([10.0, 5.0])

    quad = Form(
        name="test_sqrt",
        func=lambda t, a, b: a + b * np.sqrt(t),
        param_names=("a", "b"),
        formula="a + b*sqrt(t)",
        bounds=bounds,
        guess=lambda t, y: [np.array([0.0, 1.0])],
    )
    register_form(quad, overwrite=True)
    t = np.linspace(1, 100, 40)
    y = 2.0 + 0.5 * np.sqrt(t) + np.random.default_rng(0).normal(0, 0.05, t.size)
    res = fit(t, y, "test_sqrt")
    assert res.params["a"] == pytest.approx(2.0, abs=0.1)
    assert res.params["b"] == pytest.approx(0.5, abs=0.02)
    with pytest.raises(ValueError, match="already registered"):
        register_form(quad)


def test_unknown_form_lists_registered():
    with pytest.raises(ValueError, match="registered forms are"):
        get_form("sigmoidz")
