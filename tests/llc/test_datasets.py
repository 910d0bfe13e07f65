"""Rollout datasets for the LLC: each loss at the reference against its known value."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from devrl.agents import ActorCritic
from devrl.envs import observation, sample_level
from devrl.llc import estimate, per_sample_losses
from devrl.llc.datasets import (
    ActionLikelihoodData,
    PolicyKLData,
    RegretData,
    ValueData,
    regret_data,
    vmap_safe,
)
from devrl.llc.rollout_data import rollout_dataset
from devrl.llc.states import discounted_returns, policy_states
from devrl.maps import policy_map

ENV = {"size": 5, "corner": 1}


def _net(seed=0, sharp=300.0):
    """A tiny actor-critic with a far-from-uniform policy (the default init is near-uniform)."""
    torch.manual_seed(seed)
    net = ActorCritic((3, 5, 5), 4, channels=2, hidden=8)
    with torch.no_grad():
        net.policy_head.linear.weight.mul_(sharp)
        net.policy_head.linear.bias.copy_(torch.tensor([2.0, 0.0, -1.0, 0.5]))
    return net.eval()


class ConstPolicy(nn.Module):
    """Same logits at every state; value 0."""

    def __init__(self, logits):
        super().__init__()
        self.logits = nn.Parameter(torch.as_tensor(logits, dtype=torch.float32))

    def forward(self, obs):
        b = obs.shape[0]
        return self.logits.expand(b, -1), torch.zeros(b) + 0.0 * self.logits.sum()


def test_kl_is_zero_at_reference_and_positive_elsewhere():
    net = _net()
    data = rollout_dataset("kl", net, env_kwargs=ENV, samples=300, seed=1)
    assert isinstance(data, PolicyKLData) and data.n == 300
    assert per_sample_losses(vmap_safe(net), data).abs().max() < 1e-5
    other = _net(seed=1)
    assert per_sample_losses(other, data).min() > -1e-6
    assert per_sample_losses(other, data).mean() > 1e-2


def test_action_likelihood_mean_is_the_entropy():
    net = _net()
    data = rollout_dataset("action", net, states="uniform", env_kwargs=ENV, samples=3000, seed=2)
    assert isinstance(data, ActionLikelihoodData)
    loss = per_sample_losses(net, data).double()
    with torch.no_grad():
        logp = torch.log_softmax(net(data.obs)[0].double(), -1)
    entropy = -(logp.exp() * logp).sum(-1)
    assert entropy.mean() < 1.0  # far from uniform (ln 4 = 1.39), so this is not a tautology
    diff = loss - entropy
    se = diff.std() / math.sqrt(len(diff))
    assert abs(diff.mean()) < 4 * se


def test_value_targets():
    net = _net()
    data = rollout_dataset("value", net, env_kwargs=ENV, samples=200, seed=0)
    assert isinstance(data, ValueData) and data.info["target"] == "value"
    assert per_sample_losses(net, data).abs().max() < 1e-10
    mc = rollout_dataset(
        "value", net, env_kwargs=ENV, samples=200, seed=0, target="return", gamma=0.9
    )
    buffer = policy_states(net, ENV, 200, seed=0, gamma=0.9)
    assert torch.equal(mc.tensors[1], torch.from_numpy(buffer.returns))
    # Cheese reward 1 on the last step: returns are gamma^(steps left - 1), so in (0, 1].
    assert mc.tensors[1].min() >= 0 and mc.tensors[1].max() <= 1


def test_discounted_returns_by_hand():
    # two interleaved episodes: ep 0 gets rewards 0, 0, 1; ep 1 gets 2, 3
    rewards = np.array([0.0, 2.0, 0.0, 3.0, 1.0])
    episode = np.array([0, 1, 0, 1, 0])
    t = np.array([0, 0, 1, 1, 2])
    g = discounted_returns(rewards, episode, t, 0.5)
    np.testing.assert_allclose(g, [0.25, 2 + 1.5, 0.5, 3.0, 1.0])


def test_regret_by_hand_on_open_grid():
    gamma = 0.9
    walls = np.zeros((5, 5), bool)
    cheese, mouse = (0, 4), (1, 4)  # one step below the cheese
    obs = observation(walls, mouse, cheese)[None]
    data = regret_data(obs, gamma=gamma)
    # up: cheese (Q=1); right: off-grid bump (Q=gamma*V*=gamma); down, left: distance 2 (gamma^2)
    np.testing.assert_allclose(
        data.tensors[2][0].numpy(), [1, gamma, gamma**2, gamma**2], rtol=1e-6
    )
    assert data.tensors[1][0] == pytest.approx(1.0)
    loss = per_sample_losses(ConstPolicy([0.0, 0.0, 0.0, 0.0]), data)
    assert loss[0].item() == pytest.approx(1 - (1 + gamma + 2 * gamma**2) / 4, rel=1e-6)
    assert per_sample_losses(ConstPolicy([30.0, 0, 0, 0]), data)[0].item() < 1e-9


def test_regret_matches_policy_map():
    net = _net()
    walls, cheese = sample_level(5, 1, np.random.default_rng(3))
    pm = policy_map(net, walls, cheese, gamma=0.95)
    cells = np.argwhere(~np.isnan(pm.regret))
    obs = np.stack([observation(walls, tuple(c), cheese) for c in cells])
    loss = per_sample_losses(net, regret_data(obs, gamma=0.95)).numpy()
    np.testing.assert_allclose(loss, pm.regret[cells[:, 0], cells[:, 1]], atol=1e-6)
    assert (loss >= -1e-7).all()


@pytest.mark.parametrize("kind", ["action", "kl", "value", "regret"])
def test_vmappable_with_estimator(kind):
    net = _net()
    data = rollout_dataset(kind, net, env_kwargs=ENV, samples=128, seed=0)
    res = estimate(
        vmap_safe(net),
        data,
        lr=1e-4,
        nbeta=10.0,
        localization=100.0,
        chains=2,
        draws=6,
        burnin=2,
        batch_size=32,
        progress=False,
    )
    assert res.per_chain.shape == (2,) and np.isfinite(res.per_chain).all()


def test_vmap_safe_checks_models():
    net = _net()
    assert vmap_safe(net) is net
    assert vmap_safe(ConstPolicy([0.0] * 4), torch.zeros(2, 3, 5, 5)) is not None

    class Impure(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(4))

        def forward(self, obs):
            if obs.sum().item() > 0:  # data-dependent control flow: not vmappable
                return self.w.expand(obs.shape[0], -1)
            return -self.w.expand(obs.shape[0], -1)

    with pytest.raises(ValueError, match="vmap"):
        vmap_safe(Impure(), torch.zeros(2, 3, 5, 5))


def test_deterministic_given_seed():
    net = _net()
    a = rollout_dataset("action", net, env_kwargs=ENV, samples=100, seed=5)
    b = rollout_dataset("action", net, env_kwargs=ENV, samples=100, seed=5)
    c = rollout_dataset("action", net, env_kwargs=ENV, samples=100, seed=6)
    for x, y in zip(a.tensors, b.tensors):
        assert torch.equal(x, y)
    assert not torch.equal(a.obs, c.obs)


def test_state_sources_separate_drift_from_parameters():
    measured, fixed = _net(seed=0), _net(seed=1)
    via_fixed = rollout_dataset(
        "kl", measured, states="policy", state_policy=fixed, env_kwargs=ENV, samples=100, seed=0
    )
    own = rollout_dataset("kl", fixed, states="self", env_kwargs=ENV, samples=100, seed=0)
    assert torch.equal(via_fixed.obs, own.obs)  # states come from the fixed policy ...
    assert per_sample_losses(measured, via_fixed).abs().max() < 1e-5  # ... reference is measured
    u1 = rollout_dataset("regret", measured, states="uniform", env_kwargs=ENV, samples=100)
    u2 = rollout_dataset("regret", fixed, states="uniform", env_kwargs=ENV, samples=100)
    assert torch.equal(u1.obs, u2.obs) and u1.info["states"] == "uniform"
    # uniform states: each obs has one mouse on a free cell, never on the cheese
    o = u1.obs.numpy()
    assert (o[:, 1].sum((1, 2)) == 1).all() and not (o[:, 1] * o[:, 0]).any()
    assert not (o[:, 1] * o[:, 2]).any()


def test_gradient_term_of_an_off_minimum_loss():
    """Known answer behind the regret-LLC caveat: for L(w) = g·w + ½ Σ h_i w_i², the
    localized posterior is Gaussian and nβ·E[L − L(0)] = ½ Σ nβh/(nβh+γ)
    − nβ² Σ g²(nβh+2γ)/(2(nβh+γ)²), negative when the gradient dominates."""
    from devrl.llc.data import TensorData

    g = torch.tensor([0.6, 0.0, 0.4])
    h = torch.tensor([0.0, 2.0, 1.0])

    class Lin(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(3))

        def forward(self, x):
            return x * 0 + (g * self.w + 0.5 * h * self.w**2).sum()

    class Data(TensorData):
        def loss(self, forward, batch):
            return forward(batch[0])

    nbeta, gamma = 20.0, 40.0  # lr·(nβh + γ) ≤ 0.16: small discretization bias
    a = nbeta * h
    expected = float(
        (0.5 * a / (a + gamma)).sum()
        - (nbeta**2 * g**2 * (a + 2 * gamma) / (2 * (a + gamma) ** 2)).sum()
    )
    res = estimate(
        Lin(),
        Data(torch.zeros(8)),
        lr=2e-3,
        nbeta=nbeta,
        localization=gamma,
        chains=4,
        draws=800,
        burnin=200,
        batch_size=None,
        progress=False,
    )
    assert expected == pytest.approx(-4.07, abs=0.01)  # the first-order term dominates
    assert res.mean == pytest.approx(expected, rel=0.15)
    assert res.frac_below_init > 0.5  # the draws descend below w*


def test_bad_inputs():
    net = _net()
    with pytest.raises(ValueError, match="kind"):
        rollout_dataset("reward", net, env_kwargs=ENV)
    with pytest.raises(ValueError, match="states"):
        rollout_dataset("kl", net, states="replay", env_kwargs=ENV)
    with pytest.raises(TypeError, match="state_policy"):
        rollout_dataset("kl", net, states="policy", env_kwargs=ENV)
    with pytest.raises(ValueError, match="state_policy"):
        rollout_dataset("kl", net, state_policy=net, env_kwargs=ENV)
    with pytest.raises(ValueError, match="samples"):
        rollout_dataset("kl", net, samples=0, env_kwargs=ENV)
    with pytest.raises(ValueError, match="env_kwargs"):
        rollout_dataset("kl", net, env_kwargs={"size": 5, "num_envs": 3})
    with pytest.raises(ValueError, match="Monte-Carlo"):
        rollout_dataset("value", net, states="uniform", target="return", env_kwargs=ENV)
    with pytest.raises(ValueError, match="gamma"):
        rollout_dataset("regret", net, gamma=1.0, env_kwargs=ENV)
    with pytest.raises(ValueError, match="target"):
        rollout_dataset("value", net, target="advantage", env_kwargs=ENV)
    with pytest.raises(ValueError, match="obs"):
        regret_data(np.zeros((3, 5, 5)))
    assert isinstance(rollout_dataset("regret", net, samples=10, env_kwargs=ENV), RegretData)
