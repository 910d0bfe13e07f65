"""Where the feedback rung of the TMS ladder settles: the context distribution under a policy.

On the feedback rung (``TMSRLConfig.feedback`` = κ) the next batch's feature probabilities are
p' = (1 − κ) u + κ s, u uniform and s the share of each feature among the argmax of the
actions a = f(x) + σε taken on contexts x ~ p. For a fixed policy s is linear in p, s = pA with
A_ij = P(argmax a = j | feature i active) (μ ~ U[0, 1], ε ~ N(0, I)), so the map has the unique
fixed point p* = (1 − κ) u (I − κA)⁻¹ (κ < 1; A is a stochastic matrix). Features the polygon
does not represent are rarely an action's argmax, so their share of contexts falls below 1/c.
"""

from __future__ import annotations

import numpy as np

__all__ = ["argmax_matrix", "feedback_fixed_point", "unrepresented_share"]


def argmax_matrix(W, b, sigma: float, samples: int = 100_000, seed: int = 0) -> np.ndarray:
    """A [c, c]: P(argmax of a = f(μ e_i) + σε is j), by Monte Carlo over μ and ε.

    Args:
        W: [m, c] weights. b: [c] biases. sigma: policy standard deviation (≥ 0).
        samples: draws per active feature. seed: seed of the draws.
    """
    W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    if W.ndim != 2 or b.shape != (W.shape[1],) or sigma < 0:
        raise ValueError(f"need W [m, c], b [c], sigma >= 0; got {W.shape}, {b.shape}, {sigma}")
    c, rng = W.shape[1], np.random.default_rng(seed)
    G = W.T @ W
    A = np.zeros((c, c))
    for i in range(c):
        mu = rng.random(samples)
        a = np.maximum(mu[:, None] * G[i] + b, 0) + sigma * rng.standard_normal((samples, c))
        A[i] = np.bincount(a.argmax(1), minlength=c) / samples
    return A


def feedback_fixed_point(A: np.ndarray, kappa: float) -> np.ndarray:
    """p* = (1 − κ) u (I − κA)⁻¹: the context distribution the feedback map settles at."""
    A = np.asarray(A, dtype=float)
    if not 0 <= kappa < 1 or A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"need 0 <= kappa < 1 and a square A; got {kappa}, {A.shape}")
    c = A.shape[0]
    return (1 - kappa) / c * np.ones(c) @ np.linalg.inv(np.eye(c) - kappa * A)


def unrepresented_share(W, b, sigma: float, kappa: float, n_unused: int, **kw) -> float:
    """Fixed-point share of contexts of the ``n_unused`` features with the shortest columns."""
    p = feedback_fixed_point(argmax_matrix(W, b, sigma, **kw), kappa)
    return float(p[np.argsort(np.linalg.norm(np.asarray(W), axis=0))[:n_unused]].sum())
