"""The Fisher information of a softmax policy on a fixed set of states, exact over actions.

The action-likelihood loss −log π_w(a|s) with a ~ π_{w*}(·|s) has, at w = w*, the population
Hessian F = E_s Σ_a π(a|s) ∇log π(a|s) ∇log π(a|s)ᵀ: the Fisher (= Gauss–Newton) matrix.
Its spectrum says what an LLC estimate of that loss can see: SGLD at inverse temperature
nβ with localization γ counts a direction of curvature h as about ½·nβh/(nβh + γ)
(:func:`devrl.llc.geometry.visible_llc`). A rise of the estimate that this quadratic
prediction reproduces is a rise of curvature (the policy sharpening), not of degeneracy.

F = MᵀM with M the rows √(π(a|s)/N)·∇log π(a|s) (N states × A actions), so its nonzero
eigenvalues are the squared singular values of M; :func:`policy_fisher_eigenvalues` takes
them from the smaller of MᵀM and MMᵀ.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jacrev, vmap

from devrl.llc.datasets import _as_obs, _split

__all__ = ["fisher_rows", "policy_fisher_eigenvalues"]


def fisher_rows(policy: nn.Module, obs, *, chunk: int = 128) -> torch.Tensor:
    """M [N·A, P] (float64): √(π(a|s)/N) ∇_w log π_w(a|s) for every state s and action a.

    Why: MᵀM is the Fisher matrix of the policy on ``obs`` exactly (no action sampling).
    ``policy`` maps a batch of observations to logits or (logits, value); it must work
    under ``torch.func.vmap`` (wrap it with :func:`devrl.llc.vmap_safe`).
    """
    if not isinstance(policy, nn.Module):
        raise TypeError(f"policy must be an nn.Module, got {type(policy).__name__}.")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}.")
    x = _as_obs(obs)
    n = len(x)
    if n == 0:
        raise ValueError("obs is empty.")
    params = {k: v.detach() for k, v in policy.named_parameters()}

    def logp(p, xi):
        logits, _ = _split(functional_call(policy, p, (xi[None],)))
        return F.log_softmax(logits[0].float(), dim=-1)

    jac = vmap(jacrev(logp), in_dims=(None, 0))
    rows = []
    with torch.no_grad():
        for start in range(0, n, chunk):
            xb = x[start : start + chunk]
            J = jac(params, xb)  # name -> [B, A, *shape]
            J = torch.cat([j.reshape(j.shape[0], j.shape[1], -1) for j in J.values()], -1)
            pi = _logp_batch(policy, xb).exp()
            rows.append((J.double() * (pi.double() / n).sqrt().unsqueeze(-1)).flatten(0, 1))
    return torch.cat(rows)


def _logp_batch(policy: nn.Module, obs: torch.Tensor) -> torch.Tensor:
    """log π(·|s) [B, A] of a batch of observations."""
    logits, _ = _split(policy(obs))
    return F.log_softmax(logits.float(), dim=-1)


def policy_fisher_eigenvalues(policy: nn.Module, obs, *, chunk: int = 128) -> np.ndarray:
    """Eigenvalues (descending, ≥ 0) of the policy's Fisher matrix on ``obs``, exact over actions.

    Returns min(N·A, P) values; the rest of the P eigenvalues are 0. Their sum is the
    trace E_s Σ_a π(a|s) ‖∇ log π(a|s)‖².
    """
    M = fisher_rows(policy, obs, chunk=chunk)
    gram = M.T @ M if M.shape[0] > M.shape[1] else M @ M.T
    eig = torch.linalg.eigvalsh(gram).flip(0).clamp_min(0.0)
    return eig.numpy()
