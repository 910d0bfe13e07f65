"""The LLC estimator against known learning coefficients (slow; run with -m slow).

Every estimate is taken at the true parameter with large n (as Lau et al. 2023), with the
hyperparameters written next to it; measured values are recorded in theory/llc.md.
Each test takes well under 3 minutes on one core.
"""

import itertools

import pytest
import torch
from torch import nn

from devrl.llc import classification_data, estimate, regression_data
from devrl.theory import (
    dln_lambda,
    rrr_case,
    rrr_lambda,
    tabular_policy_lambda,
    tabular_value_lambda,
)

pytestmark = pytest.mark.slow


def _report(name, true, res):
    """One line per ground truth (visible with -s), the numbers quoted in theory/llc.md."""
    print(
        f"\n{name}: true {true:g}, estimate {res.mean:.3f} ± {res.std:.3f} (std over "
        f"{len(res.per_chain)} chains), relative error {(res.mean - true) / true:+.1%}, "
        f"rhat {res.rhat:.3f}, {res.seconds:.0f} s"
    )


def deep_linear_network(widths, rank, n, seed=0):
    """A bias-free linear network at a rank-`rank` true parameter, and Gaussian-noise data.

    The true product is U diag(1) V^T routed through the first `rank` units of every hidden
    layer; all other units have zero in- and out-weights (the most singular representative
    of the true set, where the local coefficient equals Aoyagi's global one).
    """
    g = torch.Generator().manual_seed(seed)
    layers = [nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(widths)]
    with torch.no_grad():
        for layer in layers:
            layer.weight.zero_()
        v, _ = torch.linalg.qr(torch.randn(widths[0], widths[0], generator=g))
        u, _ = torch.linalg.qr(torch.randn(widths[-1], widths[-1], generator=g))
        layers[0].weight[:rank] = v[:, :rank].T
        for layer in layers[1:-1]:
            q, _ = torch.linalg.qr(torch.randn(rank, rank, generator=g))
            layer.weight[:rank, :rank] = q
        layers[-1].weight[:, :rank] = u[:, :rank]
    model = nn.Sequential(*layers)
    x = torch.randn(n, widths[0], generator=g)  # [n, in]
    with torch.no_grad():
        y = model(x) + torch.randn(n, widths[-1], generator=g)  # unit-variance noise
    return model, regression_data(x, y)


# n = 100k, nbeta = 300 (beta = 0.003: negligible w*-vs-MLE bias), lr = 2e-4
# (lr*nbeta = 0.06), gamma = 1, batch 1000, 4 chains x 4000 draws after 1000 burn-in.
SINGULAR = {
    "lr": 2e-4,
    "nbeta": 300,
    "localization": 1.0,
    "chains": 4,
    "draws": 4000,
    "burnin": 1000,
    "batch_size": 1000,
    "seed": 0,
    "progress": False,
}


@pytest.mark.parametrize(
    "M,H,N,r,case", [(5, 3, 5, 1, 1), (4, 3, 8, 1, 2), (8, 3, 4, 1, 3), (3, 8, 4, 1, 4)]
)
def test_reduced_rank_regression_all_four_cases(request, M, H, N, r, case):
    assert rrr_case(M, H, N, r) == case
    true = rrr_lambda(M, H, N, r)
    model, data = deep_linear_network([M, H, N], r, n=100_000)
    res = estimate(model, data, **SINGULAR)
    _report(request.node.name, true, res)
    assert abs(res.mean - true) / true < 0.15, (true, res)


@pytest.mark.parametrize("widths,r", [([4, 6, 6, 4], 1), ([5, 4, 3, 4, 5], 1)])
def test_deep_linear_networks(request, widths, r):
    true = dln_lambda(widths, r)  # 8.0 and 7.0
    model, data = deep_linear_network(widths, r, n=100_000)
    res = estimate(model, data, **SINGULAR)
    _report(request.node.name, true, res)
    assert abs(res.mean - true) / true < 0.15, (true, res)


class TabularActorCritic(nn.Module):
    """Logit table [S, A] and value table [S], read by one-hot states; returns (logits, value)."""

    def __init__(self, n_states, n_actions):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(n_states, n_actions))
        self.value = nn.Parameter(torch.zeros(n_states))

    def forward(self, onehot):
        return onehot @ self.logits, onehot @ self.value


def tabular_problem(n_states=7, n_actions=4, n=60_000, seed=0):
    """Uniform states; actions from the policy itself; value targets V(s) + N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    model = TabularActorCritic(n_states, n_actions)
    with torch.no_grad():
        model.logits.normal_(0, 0.5, generator=g)
        model.value.normal_(0, 1, generator=g)
    states = torch.randint(n_states, (n,), generator=g)
    onehot = nn.functional.one_hot(states, n_states).float()  # [n, S]
    with torch.no_grad():
        logits, value = model(onehot)
        actions = torch.multinomial(torch.softmax(logits, -1), 1, generator=g).squeeze(1)
        targets = value + torch.randn(n, generator=g)
    return model, onehot, actions, targets


# nbeta = 600 (beta = 0.01); gamma = 0.1 << nbeta * p(s) * h (about 20 for the policy,
# 86 for the value), so no direction is under-counted; 4 chains x 2000 draws.
TABULAR = {
    "nbeta": 600,
    "localization": 0.1,
    "chains": 4,
    "draws": 2000,
    "burnin": 500,
    "batch_size": 600,
    "seed": 0,
    "progress": False,
}


def test_tabular_softmax_policy_action_likelihood(request):
    model, onehot, actions, _ = tabular_problem()
    true = tabular_policy_lambda(7, 4)  # 10.5
    res = estimate(model, classification_data(onehot, actions), lr=1e-3, **TABULAR)
    _report(request.node.name, true, res)
    assert abs(res.mean - true) / true < 0.15, (true, res)


def test_tabular_value_regression(request):
    model, onehot, _, targets = tabular_problem()
    true = tabular_value_lambda(7)  # 3.5
    # lr*nbeta*p*h = 5e-4 * 86 = 0.04: the discretization + minibatch bias ~ 2%
    data = regression_data(onehot, targets, output=lambda out: out[1])
    res = estimate(model, data, lr=5e-4, **TABULAR)
    _report(request.node.name, true, res)
    assert abs(res.mean - true) / true < 0.15, (true, res)
