"""devrl.llc.estimate_many: K checkpoints in one sampler agree with estimate, one at a time."""

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from devrl.llc import (
    ChainDivergedError,
    SamplerSettings,
    estimate,
    estimate_many,
    regression_data,
)
from devrl.theory import regular_lambda

# Regular linear regression (d = 12, λ = 6): the hyperparameters of test_llc_estimator's
# d/2 check with eight chains.
HP = SamplerSettings(lr=2e-4, nbeta=500, chains=8, draws=400, burnin=100, batch_size=1000)


def _fitted_linear(seed: int, n: int = 20_000):
    """A linear model at the least-squares minimum of its own dataset (so λ = d/2 exactly)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = x @ torch.randn(5, 2, generator=g) + torch.randn(n, 2, generator=g)
    xa = torch.cat([x, torch.ones(n, 1)], dim=1)
    sol = torch.linalg.lstsq(xa, y).solution  # [6, 2]
    model = nn.Linear(5, 2)
    with torch.no_grad():
        model.weight.copy_(sol[:5].T)
        model.bias.copy_(sol[5])
    return model, regression_data(x, y)


def _agree(a, b) -> float:
    """|difference| in units of the combined standard error."""
    return abs(a.mean - b.mean) / np.hypot(a.stderr, b.stderr)


def test_one_model_is_estimate_byte_for_byte():
    model, data = _fitted_linear(0, n=2000)
    hp = dataclasses.replace(HP, draws=30, burnin=10, batch_size=100, seed=3)
    one = estimate(model, data, hp, progress=False)
    [many] = estimate_many([model], data, hp, progress=False)
    np.testing.assert_array_equal(one.loss_trace, many.loss_trace)
    np.testing.assert_array_equal(one.ref_trace, many.ref_trace)
    assert one.config == many.config


def test_checkpoints_with_their_own_datasets_agree_with_estimate():
    models, datas = zip(*(_fitted_linear(s) for s in range(3)), strict=True)
    many = estimate_many(models, datas, HP, seed=1, progress=False)
    for model, data, res in zip(models, datas, many, strict=True):
        one = estimate(model, data, HP, seed=2, progress=False)
        assert _agree(one, res) < 2, (one, res)
        assert res.mean == pytest.approx(regular_lambda(12), rel=0.15), res
        assert res.healthy, res.problems


def test_identical_stacked_models_each_agree_with_the_single_estimate():
    model, data = _fitted_linear(0)
    one = estimate(model, data, HP, seed=5, progress=False)
    many = estimate_many([model] * 4, data, HP, seed=6, progress=False)
    assert len({float(r.mean) for r in many}) == 4  # independent chains, not copies
    for res in many:
        assert _agree(one, res) < 2, (one, res)
        assert res.loss_trace.shape == (8, 500) and res.config == one.config | {"seed": 6}


def test_same_seed_and_size_gives_common_random_numbers():
    """Checkpoint k sees the same minibatches and noise in two calls of the same K and seed."""
    (m0, data), (m1, _), (m2, _) = (_fitted_linear(s, n=2000) for s in range(3))
    hp = dataclasses.replace(HP, draws=20, burnin=0, batch_size=100)
    a = estimate_many([m0, m1], data, hp, progress=False)
    b = estimate_many([m0, m2], data, hp, progress=False)
    np.testing.assert_array_equal(a[0].loss_trace, b[0].loss_trace)
    assert not np.array_equal(a[1].loss_trace, b[1].loss_trace)


def test_buffers_that_differ_between_checkpoints_are_stacked():
    class Scaled(nn.Module):
        def __init__(self, scale: float):
            super().__init__()
            self.lin = nn.Linear(3, 1)
            self.register_buffer("scale", torch.tensor(scale))

        def forward(self, x):
            return self.scale * self.lin(x)

    torch.manual_seed(0)
    a, b = Scaled(1.0), Scaled(3.0)
    b.load_state_dict({**a.state_dict(), "scale": torch.tensor(3.0)})
    x = torch.randn(500, 3)
    data = regression_data(x, torch.zeros(500, 1))
    res = estimate_many([a, b], data, lr=1e-5, chains=2, draws=5, burnin=0, progress=False)
    for model, r in zip((a, b), res, strict=True):
        with torch.no_grad():
            want = 0.5 * float((model(x) ** 2).mean())
        assert r.init_loss == pytest.approx(want, rel=1e-5)


def test_errors_name_the_problem():
    (m0, d0), (m1, d1) = _fitted_linear(0, n=200), _fitted_linear(1, n=300)
    kw = {"lr": 1e-4, "chains": 2, "draws": 5, "burnin": 0, "batch_size": 50, "progress": False}
    with pytest.raises(ValueError, match="architecture"):
        estimate_many([m0, nn.Linear(5, 3)], d0, **kw)
    with pytest.raises(ValueError, match="one per model"):
        estimate_many([m0, m1], [d0], **kw)
    with pytest.raises(ValueError, match="one size n"):
        estimate_many([m0, m1], [d0, d1], **kw)
    with pytest.raises(TypeError, match="LLCData"):
        estimate_many([m0], [(torch.zeros(3),)], **kw)
    with pytest.raises(TypeError, match="non-empty"):
        estimate_many([], d0, **kw)
    with pytest.raises(ChainDivergedError, match=r"chain \d of models\[\d\].*lr=10"):
        estimate_many([m0, m0], d0, **(kw | {"lr": 10.0, "nbeta": 100.0, "draws": 50}))


def test_settings_and_keywords_are_the_same_api():
    model, data = _fitted_linear(0, n=500)
    s = SamplerSettings(lr=1e-4, nbeta=50, chains=2, draws=10, burnin=2, batch_size=50)
    a = estimate(model, data, settings=s, progress=False)
    b = estimate(model, data, lr=1e-4, nbeta=50, chains=2, draws=10, burnin=2, batch_size=50)
    c = estimate(model, data, s, seed=1, progress=False)  # keywords override settings
    np.testing.assert_array_equal(a.loss_trace, b.loss_trace)
    assert c.config["seed"] == 1 and not np.array_equal(a.loss_trace, c.loss_trace)
    assert s.resolve(500).batch_size == 50 and SamplerSettings(lr=1.0, batch_size=None).resolve(
        500
    ).nbeta == pytest.approx(500 / np.log(500))
    with pytest.raises(TypeError, match="unknown sampler setting"):
        estimate(model, data, lr=1e-4, chain=2)
    with pytest.raises(TypeError, match="lr="):
        estimate(model, data, chains=2)
    for bad, match in (
        ({"lr": -1.0}, "lr must be"),
        ({"lr": 1.0, "nbeta": float("nan")}, "nbeta must be"),
        ({"lr": 1.0, "chains": 0}, "chains must be"),
        ({"lr": 1.0, "burnin": -1}, "burnin must be"),
        ({"lr": 1.0, "localization": -1.0}, "localization must be"),
        ({"lr": 1.0, "sampler": "hmc"}, "sampler must be"),
        ({"lr": 1.0, "vectorize": "jit"}, "vectorize must be"),
        ({"lr": 1.0, "divergence_factor": 0}, "divergence_factor must be"),
        ({"lr": 1.0, "batch_size": 0}, "batch_size must be"),
    ):
        with pytest.raises(ValueError, match=match):
            SamplerSettings(**bad)
    with pytest.raises(ValueError, match=r"batch_size must be an integer in \[1, n=500\]"):
        SamplerSettings(lr=1.0, batch_size=600).resolve(500)
