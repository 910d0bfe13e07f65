"""An unhealthy LLC estimate warns, naming the problem and a fix; a healthy one is silent."""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from devrl.llc import estimate, regression_data
from devrl.llc.estimator import _warn_unhealthy
from devrl.llc.result import summarize

CONFIG = {"nbeta": 10.0, "burnin": 0, "lr": 1e-3, "localization": 1.0, "draws": 400}


def _result(offsets):
    """Chains whose paired loss L_t − L_t(w*) is ``offset`` + white noise (fixed seed)."""
    rng = np.random.default_rng(0)
    diff = np.asarray(offsets)[:, None] + 0.01 * rng.standard_normal((len(offsets), 400))
    ref = np.ones_like(diff)
    return summarize(ref + diff, ref, 1.0, dict(CONFIG), seconds=1.0)


def test_healthy_chains_have_no_warning():
    res = _result([0.5, 0.5, 0.5, 0.5])  # λ̂ = 10 · 0.5 = 5 in every chain
    assert res.healthy and res.health_warning() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_unhealthy([res])


def test_disagreeing_chains_name_r_hat_and_a_fix():
    res = _result([0.3, 0.5, 0.7, 0.9])  # four chains, four different levels
    assert res.rhat > 1.1
    text = res.health_warning()
    assert text.startswith("unhealthy LLC estimate 6 (lr=0.001, nbeta=10.0")
    assert "split R-hat" in text and "chains disagree" in text
    assert "more draws and burn-in, or a larger lr" in text and "devrl.llc.calibrate" in text
    with pytest.warns(UserWarning, match="split R-hat .* Try more draws"):
        _warn_unhealthy([res])


def test_many_checkpoints_warn_once_naming_the_unhealthy_ones():
    good, bad = _result([0.5] * 4), _result([0.3, 0.5, 0.7, 0.9])
    with pytest.warns(
        UserWarning, match=r"1 of 3 LLC estimates are unhealthy \(checkpoints \[1\]\)"
    ):
        _warn_unhealthy([good, bad, good])


def test_estimate_warns_when_w_star_is_not_a_minimum():
    """Planted: w* moved off the least-squares solution, so the chains fall below it."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    model = nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[2.0, -1.0, 1.5]]))  # far from [1, -2, 0.5]
    kw = {"lr": 1e-3, "nbeta": 50.0, "chains": 2, "draws": 40, "burnin": 5, "batch_size": 64}
    with pytest.warns(UserWarning, match="below the loss at w\\*.*smaller lr or a larger loc"):
        res = estimate(model, regression_data(x, y), progress=False, **kw)
    assert not res.healthy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimate(model, regression_data(x, y), progress=False, warn=False, **kw)
