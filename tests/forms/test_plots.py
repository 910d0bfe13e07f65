"""Plots draw from fit results."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from devrl.forms import compare, fit, plot_comparison, plot_fit, plot_residuals
from devrl.forms.synthetic import checkpoints, true_curve


@pytest.fixture
def curve():
    t = checkpoints(40)
    return t, true_curve("logistic_log", t) + np.random.default_rng(0).normal(0, 0.03, t.size)


def test_plots(curve):
    t, y = curve
    res = fit(t, y, "logistic_log", ci="wald")
    ax = plot_fit(res)
    assert len(ax.lines) == 1 and len(ax.collections) >= 2  # curve, band and data
    ax = plot_residuals(res)
    assert np.allclose(ax.lines[1].get_ydata(), res.residuals)
    table, fits = compare(t, y, ["logistic_log", "exp", "constant"], return_fits=True)
    ax_fit, ax_w = plot_comparison(table, fits)
    assert len(ax_fit.lines) == 3 and len(ax_w.patches) == 3
    plt.close("all")
