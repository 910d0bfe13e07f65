"""devrl.llc.estimate: a regular model's λ = d/2, determinism, errors, vectorized chains."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from devrl.llc import (
    ChainDivergedError,
    LLCData,
    classification_data,
    estimate,
    regression_data,
    split_rhat,
)
from devrl.theory import regular_lambda


def _linear_regression(n=50_000, din=5, dout=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Linear(din, dout)  # d = 5*2 + 2 = 12
    x = torch.randn(n, din, generator=g)
    with torch.no_grad():
        y = model(x) + torch.randn(n, dout, generator=g)
    return model, regression_data(x, y)


def test_regular_linear_regression_is_d_over_2():
    # Hyperparameters (theory/llc.md): beta = nbeta/n = 0.01 keeps the w*-vs-MLE bias
    # (relative -beta) small; lr*nbeta = 0.05 keeps discretization + minibatch bias
    # ~ lr*nbeta*(1 + nbeta/B)/4 = 2%; tau ~ 2/(lr*nbeta) = 40 steps << draws.
    model, data = _linear_regression()
    res = estimate(
        model,
        data,
        lr=1e-4,
        nbeta=500,
        localization=1.0,
        chains=6,
        draws=1000,
        burnin=200,
        batch_size=1000,
        seed=0,
        progress=False,
    )
    true = regular_lambda(12)
    assert abs(res.mean - true) / true < 0.10, res
    assert abs(res.mean - true) < 4 * res.stderr + 0.05 * true, res
    assert res.healthy, res.problems
    assert res.rhat < 1.1
    assert res.loss_trace.shape == (6, 1200) and res.per_chain.shape == (6,)


def test_deterministic_given_seed_and_model_untouched():
    model, data = _linear_regression(n=2000)
    before = [p.detach().clone() for p in model.parameters()]
    kw = {
        "lr": 1e-4,
        "nbeta": 100,
        "chains": 3,
        "draws": 30,
        "burnin": 5,
        "batch_size": 64,
        "progress": False,
    }
    a = estimate(model, data, seed=3, **kw)
    b = estimate(model, data, seed=3, **kw)
    c = estimate(model, data, seed=4, **kw)
    np.testing.assert_array_equal(a.loss_trace, b.loss_trace)
    assert a.mean == b.mean
    assert a.mean != c.mean
    for p, q in zip(before, model.parameters()):
        assert torch.equal(p, q)


def test_chains_are_independent_slices():
    # With identical minibatches a vectorized chain must follow the same path as a lone chain
    # given the same noise: run 1 chain with full batch and compare against chain 0 of 3.
    model, data = _linear_regression(n=256)
    kw = {
        "lr": 1e-4,
        "nbeta": 50,
        "draws": 20,
        "burnin": 0,
        "batch_size": None,
        "seed": 7,
        "progress": False,
    }
    one = estimate(model, data, chains=1, **kw)
    three = estimate(model, data, chains=3, **kw)
    # step 0 is evaluated at w* for every chain; afterwards different noise -> different paths
    np.testing.assert_allclose(three.loss_trace[:, 0], one.loss_trace[0, 0], rtol=1e-6)
    assert not np.allclose(three.loss_trace[0, 1:], three.loss_trace[1, 1:])
    # each chain's gradient is its own: the mean step of a chain equals the one-chain run's
    # first step up to noise; the traces stay at the same scale
    assert abs(three.mean - one.mean) < 5 * max(three.std, 1.0)


def test_burnin_excluded_from_estimate():
    model, data = _linear_regression(n=2000)
    res = estimate(
        model,
        data,
        lr=1e-4,
        nbeta=100,
        chains=2,
        draws=40,
        burnin=10,
        batch_size=100,
        progress=False,
    )
    expected = 100 * (res.loss_trace[:, 10:] - res.ref_trace[:, 10:]).mean(axis=1)
    np.testing.assert_allclose(res.per_chain, expected)
    assert res.llc_trace.shape == (2, 50)


def test_divergence_raises_naming_hyperparameters():
    model, data = _linear_regression(n=2000)
    with pytest.raises(ChainDivergedError, match=r"lr=10.*nbeta=100.*smaller lr"):
        estimate(
            model, data, lr=10.0, nbeta=100, chains=2, draws=50, batch_size=100, progress=False
        )


def test_nan_loss_raises_not_inf():
    class Exploding(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.full((1,), 1e-4))

        def forward(self, x):
            return x * torch.sqrt(self.w)  # NaN as soon as the chain steps below w = 0

    x = torch.ones(100, 1)
    with pytest.raises(ChainDivergedError, match=r"loss nan.*lr=0.01.*nbeta=10.*localization"):
        estimate(
            Exploding(),
            regression_data(x, torch.zeros(100, 1)),
            lr=1e-2,
            nbeta=10,
            chains=2,
            draws=50,
            burnin=0,
            batch_size=10,
            progress=False,
        )


def test_bad_arguments():
    model, data = _linear_regression(n=100)
    with pytest.raises(ValueError, match="lr must be"):
        estimate(model, data, lr=0, nbeta=10, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        estimate(model, data, lr=1e-3, nbeta=10, batch_size=1000, progress=False)
    with pytest.raises(ValueError, match="sampler"):
        estimate(model, data, lr=1e-3, nbeta=10, sampler="hmc", batch_size=10, progress=False)
    with pytest.raises(TypeError, match="LLCData"):
        estimate(model, (torch.zeros(3), torch.zeros(3)), lr=1e-3, nbeta=10, progress=False)


def test_rmsprop_sampler_runs_and_to_frame():
    model, data = _linear_regression(n=2000)
    res = estimate(
        model,
        data,
        lr=1e-3,
        nbeta=100,
        chains=2,
        draws=40,
        burnin=10,
        batch_size=100,
        sampler="rmsprop_sgld",
        progress=False,
    )
    row = res.to_frame()
    assert len(row) == 1
    for col in (
        "llc",
        "llc_std",
        "init_loss",
        "rhat",
        "drift",
        "frac_below_init",
        "lr",
        "nbeta",
        "localization",
        "sampler",
        "chains",
        "draws",
        "burnin",
    ):
        assert col in row.columns
    assert row["sampler"].iloc[0] == "rmsprop_sgld"
    assert math.isfinite(res.mean)


def test_tuple_output_model_and_custom_dataset():
    # Actor-critic-shaped model: forward returns (logits, value); the dataset picks its part.
    class AC(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(3, 4)
            self.v = nn.Linear(3, 1)

        def forward(self, x):
            return self.body(x), self.v(x).squeeze(-1)

    class ValueData(LLCData):
        def __init__(self, x, y):
            self.x, self.y = x, y

        @property
        def n(self):
            return len(self.x)

        def batch(self, indices):
            return self.x[indices], self.y[indices]

        def loss(self, forward, batch):
            x, y = batch
            _, value = forward(x)
            return 0.5 * (value - y) ** 2

    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 3, generator=g)
    model = AC()
    with torch.no_grad():
        labels = model(x)[0].argmax(-1)
    for data in (classification_data(x, labels), ValueData(x, torch.randn(500, generator=g))):
        res = estimate(
            model,
            data,
            lr=1e-4,
            nbeta=50,
            chains=2,
            draws=20,
            burnin=0,
            batch_size=50,
            progress=False,
        )
        assert math.isfinite(res.mean)


def test_split_rhat():
    rng = np.random.default_rng(0)
    mixed = rng.normal(size=(4, 400))
    assert split_rhat(mixed) < 1.05
    stuck = mixed + np.arange(4)[:, None] * 3.0  # chains at different levels
    assert split_rhat(stuck) > 1.5
    trending = mixed + np.linspace(0, 5, 400)[None, :]
    assert split_rhat(trending) > 1.2


def test_vmap_and_loop_give_the_same_chains():
    # The loop evaluates each chain slice with its own functional call, so agreement shows
    # that the vmapped sum-over-chains backward hands each slice exactly its chain's gradient.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, 3, generator=g)
    with torch.no_grad():
        y = model(x) + 0.1 * torch.randn(400, 2, generator=g)
    kw = {
        "lr": 1e-3,
        "nbeta": 50,
        "chains": 3,
        "draws": 40,
        "burnin": 0,
        "batch_size": 32,
        "seed": 5,
        "progress": False,
    }
    a = estimate(model, regression_data(x, y), vectorize="vmap", **kw)
    b = estimate(model, regression_data(x, y), vectorize="loop", **kw)
    assert a.config["vectorize"] == "vmap" and b.config["vectorize"] == "loop"
    np.testing.assert_allclose(a.loss_trace, b.loss_trace, rtol=1e-4, atol=1e-6)
