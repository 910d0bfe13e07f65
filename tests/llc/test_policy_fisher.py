"""Fisher spectrum of a policy against the hand-computed softmax-linear case."""

import numpy as np
import pytest
import torch
from torch import nn

from devrl.llc.policy_fisher import fisher_rows, policy_fisher_eigenvalues


def _linear(seed=0, d=3, a=4):
    torch.manual_seed(seed)
    return nn.Linear(d, a)


def test_trace_of_softmax_linear_policy_by_hand():
    # ∇_W log π(a|s) = (e_a − π) sᵀ, ∇_b = e_a − π, and Σ_a π_a ‖e_a − π‖² = 1 − ‖π‖²,
    # so the trace is E_s (1 − ‖π(s)‖²)(‖s‖² + 1).
    policy = _linear()
    obs = torch.randn(50, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        pi = torch.softmax(policy(obs), -1).double()
    expected = ((1 - (pi**2).sum(-1)) * ((obs.double() ** 2).sum(-1) + 1)).mean().item()
    eig = policy_fisher_eigenvalues(policy, obs)
    assert eig.sum() == pytest.approx(expected, rel=1e-4)


def test_eigenvalues_match_the_full_fisher_matrix():
    policy = _linear(seed=3)
    obs = torch.randn(6, 3, generator=torch.Generator().manual_seed(4))  # N·A = 24 > P = 16
    M = fisher_rows(policy, obs).numpy()
    full = np.zeros((16, 16))
    for s in obs:
        logp = torch.log_softmax(policy(s[None]), -1)[0]
        for a in range(4):
            policy.zero_grad()
            logp[a].backward(retain_graph=True)
            g = torch.cat([policy.weight.grad.flatten(), policy.bias.grad]).double().numpy()
            full += np.exp(logp[a].item()) * np.outer(g, g) / len(obs)
    np.testing.assert_allclose(M.T @ M, full, atol=1e-5)
    eig = policy_fisher_eigenvalues(policy, obs)
    np.testing.assert_allclose(eig, np.sort(np.linalg.eigvalsh(full))[::-1], atol=1e-5)
    assert (
        eig[-4:].max() < 1e-5
    )  # softmax: shifting all logits is flat (4 directions: W rows sum, b)


def test_uniform_policy_has_known_trace():
    policy = nn.Linear(2, 4)
    nn.init.zeros_(policy.weight), nn.init.zeros_(policy.bias)
    obs = torch.ones(5, 2)
    # π uniform over 4: 1 − ‖π‖² = 3/4, ‖s‖² + 1 = 3 → 9/4
    assert policy_fisher_eigenvalues(policy, obs).sum() == pytest.approx(2.25)


def test_bad_input():
    with pytest.raises(TypeError, match="policy"):
        fisher_rows(lambda x: x, torch.ones(2, 2))
    with pytest.raises(ValueError, match="chunk"):
        fisher_rows(_linear(), torch.ones(2, 3), chunk=0)
    with pytest.raises(ValueError, match="empty"):
        fisher_rows(_linear(), torch.ones(0, 3))
