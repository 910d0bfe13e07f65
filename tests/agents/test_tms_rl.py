"""Policy-gradient learners (REINFORCE, PPO) for the TMS bandit, vectorised over seeds."""

import numpy as np
import pytest
import torch

from devrl.agents.tms_rl import TMSRLConfig, policy_gradient, train_tms_rl
from devrl.agents.tms_runs import load_tms_runs
from devrl.envs.tms import sample_contexts
from devrl.theory.tms import population_loss_torch


def _small(**kw):
    base = {
        "n_seeds": 3,
        "contexts": 200 * 40,
        "batch": 200,
        "init": "random",
        "lr": 0.1,
        "n_log_checkpoints": 5,
        "n_linear_checkpoints": 5,
    }
    base.update(kw)
    return TMSRLConfig(**base)


@pytest.mark.parametrize("baseline", ["state", "none"])
def test_reinforce_gradient_is_unbiased_for_the_exact_population_gradient(baseline):
    # E[-(G - b(x)) ∇log π] = ∇(L + cσ²) exactly; checked at a random point by Monte Carlo,
    # within 5 standard errors (from 40 independent chunks) per coordinate.
    torch.manual_seed(0)
    W = torch.randn(2, 6, dtype=torch.float64) * 0.8
    b = torch.randn(6, dtype=torch.float64) * 0.1
    log_sigma = torch.tensor(np.log(0.3), dtype=torch.float64)
    Wr, br, lr_ = (t.clone().requires_grad_(True) for t in (W, b, log_sigma))
    (population_loss_torch(Wr, br) + 6 * torch.exp(2 * lr_)).backward()
    exact = torch.cat([Wr.grad.flatten(), br.grad, lr_.grad[None]]).numpy()

    rng = np.random.default_rng(1)
    chunks, n = 40, 20_000
    x = torch.from_numpy(sample_contexts(chunks * n, rng)).double().view(chunks, n, 6)
    f = torch.relu(x @ W.T @ W + b)
    a = f + 0.3 * torch.from_numpy(rng.standard_normal((chunks, n, 6)))
    reward = -((x - a) ** 2).sum(-1)
    adv = reward + ((x - f) ** 2).sum(-1) + 6 * 0.09 if baseline == "state" else reward
    gW, gb, gs = policy_gradient(
        W.expand(chunks, 2, 6), b.expand(chunks, 6), log_sigma.expand(chunks), x, a, adv
    )
    est = torch.cat([gW.flatten(1), gb, gs[:, None]], 1).numpy()  # [chunks, 19]
    se = est.std(0, ddof=1) / np.sqrt(chunks)
    assert np.all(np.abs(est.mean(0) - exact) < 5 * se + 1e-9), (est.mean(0), exact, se)
    assert np.abs(exact).max() > 20 * se.max()  # the check has power


@pytest.mark.parametrize(
    "algo,kw",
    [
        ("reinforce", {}),
        (
            "ppo",
            {
                "batch": 400,
                "minibatch": 100,
                "lr": 0.003,
                "optimizer": "adam",
                "contexts": 400 * 20,
            },
        ),
        ("reinforce", {"learn_sigma": True, "sigma": 0.3}),
    ],
)
def test_short_run_lowers_the_population_loss(algo, kw, tmp_path):
    res = train_tms_rl(_small(algo=algo, **kw), progress=False)
    m = res.metrics
    assert list(m.columns[:6]) == ["run", "seed", "step", "measure", "value", "stderr"]
    pop = m[m.measure == "loss/population"].pivot(index="step", columns="seed", values="value")
    assert (pop.iloc[-1] < 0.8 * pop.iloc[0]).all()
    if kw.get("learn_sigma"):
        sig = m[m.measure == "policy/sigma"].pivot(index="step", columns="seed", values="value")
        assert (sig.iloc[-1] < 0.3).all()  # ∂J/∂σ = −2cσ pulls σ down
    back = load_tms_runs(res.save(tmp_path / "run"))
    assert np.array_equal(back.W, res.W) and np.array_equal(back.sigma, res.sigma)
    assert set(back.phases().columns) == {"run", "seed", "step", "phase"}


def test_deterministic_and_independent_of_other_seeds():
    a = train_tms_rl(
        _small(algo="ppo", batch=200, minibatch=100, contexts=200 * 10), progress=False
    )
    b = train_tms_rl(
        _small(algo="ppo", batch=200, minibatch=100, contexts=200 * 10), progress=False
    )
    assert np.array_equal(a.W, b.W)
    one = train_tms_rl(
        _small(algo="ppo", batch=200, minibatch=100, contexts=200 * 10, n_seeds=1, seed0=1),
        progress=False,
    )
    assert np.allclose(one.W[0], a.W[1], atol=1e-6)


def test_ppo_first_update_without_clipping_equals_reinforce():
    # One epoch, one minibatch, raw advantages: the ratio is 1, so PPO's step is REINFORCE's.
    common = {
        "n_seeds": 2,
        "contexts": 100,
        "batch": 100,
        "n_log_checkpoints": 0,
        "n_linear_checkpoints": 0,
    }
    r = train_tms_rl(_small(algo="reinforce", **common), progress=False)
    p = train_tms_rl(
        _small(algo="ppo", ppo_epochs=1, minibatch=100, normalize_advantage=False, **common),
        progress=False,
    )
    assert np.allclose(r.W[:, -1], p.W[:, -1], atol=1e-6)
    assert not np.allclose(r.W[:, -1], r.W[:, 0])


def test_delayed_reward_and_drift_run_and_drift_changes_the_current_loss():
    cfg = _small(
        episode_length=4,
        delayed_reward=True,
        drift_probs=[5, 5, 1, 1, 1, 1],
        drift_start=0.0,
        drift_end=0.5,
    )
    res = train_tms_rl(cfg, progress=False)
    m = res.metrics
    last = m[m.step == m.step.max()].set_index(["seed", "measure"])["value"]
    assert not np.allclose(
        last.xs("loss/population", level=1), last.xs("loss/population_current", level=1)
    )
    p0, _ = cfg.distribution(0.0)
    p1, _ = cfg.distribution(1.0)
    assert np.allclose(p0, 1 / 6) and np.isclose(p1[0], 5 / 14)


def test_config_validation_messages():
    with pytest.raises(ValueError, match="algo"):
        TMSRLConfig(algo="a2c")
    with pytest.raises(ValueError, match="multiple of episode_length"):
        TMSRLConfig(batch=10, episode_length=3)
    with pytest.raises(ValueError, match="sigma_min"):
        TMSRLConfig(sigma=0.01, sigma_min=0.02)
