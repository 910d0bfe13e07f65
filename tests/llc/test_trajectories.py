"""LLC paths along TMS trajectories: per-kind streams, the corrections, attribution, polishing."""

import numpy as np
import pandas as pd
import pytest
import torch

from devrl.agents.tms_model import tms_forward
from devrl.agents.tms_runs import TMSResult
from devrl.agents.tms_sgd import TMSSGDConfig
from devrl.llc.trajectories import (
    TIDY_COLUMNS,
    attributed_llc,
    kind_data,
    polish,
    polished_llc,
    trajectory_llc,
)
from devrl.theory.tms import kgon

KEYS = {"oracle": 0, "action": 1, "reward": 2}
HP = {
    "lr": 1e-4,
    "nbeta": 200.0,
    "localization": 30.0,
    "chains": 2,
    "burnin": 10,
    "draws": 20,
    "batch_size": 50,
}


def _result(names=("6", "6", "6", "6"), n_seeds=2):
    """A hand-built batch: every seed at the named k-gons, one per checkpoint."""
    cfg = TMSSGDConfig(n_seeds=n_seeds, run="built")
    W = np.stack([kgon(n).W for n in names]).astype(np.float32)
    b = np.stack([kgon(n).b for n in names]).astype(np.float32)
    steps = np.arange(1, len(names) + 1) * 10
    metrics = pd.DataFrame(columns=TIDY_COLUMNS)
    return TMSResult(cfg, steps, np.stack([W] * n_seeds), np.stack([b] * n_seeds), metrics, 0.0)


def test_each_kind_has_its_own_stream_and_the_same_kind_the_same_data():
    res, idx = _result(), np.array([0, 2])
    W, _, (x,), sig = kind_data(res, idx, "oracle", 0, n=50, keys=KEYS)
    assert W.shape == (4, 2, 6) and x.shape == (4, 50, 6) and sig == 1.0
    again = kind_data(res, idx, "oracle", 0, n=50, keys=KEYS)[2][0]
    assert torch.equal(x, again)
    other = kind_data(res, idx, "oracle", 0, n=50, keys={"oracle": 5})[2][0]
    assert not torch.equal(x, other)


def test_action_and_reward_data_are_rollouts_of_the_gaussian_policy():
    res, idx = _result(), np.array([1])
    W, b, (x, a), sig = kind_data(res, idx, "action", 0, n=20_000, keys=KEYS, sigma=0.3)
    f = tms_forward(torch.as_tensor(W), torch.as_tensor(b), x)
    assert sig == pytest.approx(0.3) and float((a - f).std()) == pytest.approx(0.3, rel=0.02)
    x, a, r, f_ref = kind_data(res, idx, "reward", 0, n=100, keys=KEYS, sigma=0.3)[2]
    assert torch.equal(r, -((x - a) ** 2).sum(-1))  # no reward noise in this config
    assert torch.allclose(f_ref, tms_forward(torch.as_tensor(W), torch.as_tensor(b), x))


def test_corrected_is_sgld_minus_first_order_and_a_still_trajectory_attributes_nothing():
    res = _result()
    llc = trajectory_llc(res, ["oracle"], 4, 0, hp=HP, n=200, keys=KEYS, progress=False)
    assert list(llc.columns) == TIDY_COLUMNS
    by = llc.pivot_table(index=["seed", "step"], columns="measure", values="value")
    np.testing.assert_allclose(
        by["llc/oracle corrected"], by["llc/oracle"] - by["first-order/oracle"]
    )
    # w_j = w_{j-1}: with common random numbers every increment is exactly zero
    path = attributed_llc(res, llc, 4, 0, hp=HP, n=200, keys=KEYS)
    for name in ("llc/oracle attributed", "llc/oracle attributed corrected"):
        got = path[path.measure == name].pivot(index="seed", columns="step", values="value")
        first = got.iloc[:, :1].to_numpy()
        np.testing.assert_array_equal(got.to_numpy(), np.repeat(first, got.shape[1], axis=1))
    t0 = path.step.min()  # the path starts at the raw estimate there
    start = by["llc/oracle"].xs(t0, level="step").to_numpy()
    np.testing.assert_array_equal(
        path[(path.measure == "llc/oracle attributed") & (path.step == t0)].value, start
    )


def test_polishing_from_zero_weights_moves_the_bias_to_the_mean_context():
    # W = 0: f = relu(b), the loss is mean_n |x - b|^2 for b > 0, minimised at b = mean x;
    # xW^TW has zero gradient at W = 0, so W stays 0.
    x = torch.from_numpy(np.random.default_rng(0).uniform(0, 1, (2, 300, 6)).astype(np.float32))
    W, b = np.zeros((2, 2, 6), np.float32), np.full((2, 6), 0.1, np.float32)
    Wp, bp = polish(W, b, x, steps=200, lr=0.2)
    assert np.array_equal(Wp, W)
    np.testing.assert_allclose(bp, x.mean(1).numpy(), atol=1e-5)


def test_polished_llc_removes_the_first_order_term():
    res = _result(("4+", "5", "6"), n_seeds=1)
    out = polished_llc(res, 3, 0, hp=HP, n=200, keys=KEYS, steps=200, lr=0.2)
    assert set(out.measure) == {"llc/oracle polished", "first-order/oracle polished"}
    raw = trajectory_llc(res, ["oracle"], 3, 0, hp=HP, n=200, keys=KEYS, progress=False)
    before = raw[raw.measure == "first-order/oracle"].value.abs().to_numpy()
    after = out[out.measure == "first-order/oracle polished"].value.abs().to_numpy()
    assert (after < before).all()
