"""Decode which target a weight difference was trained toward, on targets held out of the fit.

Why: the seed's claim is that the specific part of Delta_k carries the objective "reach cell
k". If it does, a linear map from the specific part to the target's coordinates, fitted on
the other targets, should place a held-out Delta_k near its own cell. Scoring is
nearest-candidate: the held-out prediction counts as correct if its nearest target among
all K is k, so chance is 1/K; the label-permutation null gives the exact chance
distribution for the same K and data.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from devrl.stats import monte_carlo_p

__all__ = ["decode_accuracy_null", "loo_decode"]


def _check(X: np.ndarray, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    coords = np.asarray(coords, dtype=np.float64)
    if X.ndim != 2 or coords.ndim != 2 or X.shape[0] != coords.shape[0]:
        raise ValueError(
            f"X must be [K, D] and coords [K, c] with the same K, got {X.shape} and {coords.shape}."
        )
    if X.shape[0] < 3:
        raise ValueError(f"need at least 3 targets (2 to fit, 1 to test), got {X.shape[0]}.")
    if not (np.isfinite(X).all() and np.isfinite(coords).all()):
        raise ValueError("X and coords must be finite.")
    return X, coords


def _predict(X: np.ndarray, coords: np.ndarray, test: int, ridge: float) -> np.ndarray:
    """Kernel (linear) ridge fitted on every row but ``test``; returns its predicted coords."""
    train = np.delete(np.arange(len(X)), test)
    mu_x, mu_y = X[train].mean(0), coords[train].mean(0)
    Xt, Yt = X[train] - mu_x, coords[train] - mu_y
    gram = Xt @ Xt.T  # [n, n]: the fit lives in the span of the training rows
    lam = ridge * max(np.trace(gram) / len(train), 1e-300)
    weights = np.linalg.solve(gram + lam * np.eye(len(train)), Yt)  # [n, c]
    return mu_y + ((X[test] - mu_x) @ Xt.T) @ weights


def loo_decode(X, coords, ridge: float = 1e-3) -> pd.DataFrame:
    """Leave-one-target-out linear decoding of target coordinates from weight differences.

    Args:
        X: ``[K, D]`` one vector per target (e.g. the flattened specific part of Delta_k).
        coords: ``[K, c]`` the targets' coordinates (e.g. ``(row, col)``).
        ridge: ridge penalty relative to the mean squared norm of the training rows.

    Returns:
        One row per target: ``target`` (index), ``pred_0..`` (predicted coordinates),
        ``nearest`` (index of the nearest target to the prediction), ``correct`` (bool),
        ``error`` (distance from the prediction to the true coordinates) and ``chance``
        (1/K).
    """
    X, coords = _check(X, coords)
    if not ridge > 0:
        raise ValueError(f"ridge must be > 0, got {ridge!r}.")
    K = len(X)
    rows = []
    for k in range(K):
        pred = _predict(X, coords, k, ridge)
        dist = np.linalg.norm(coords - pred, axis=1)
        nearest = int(np.argmin(dist))
        rows.append(
            {
                "target": k,
                **{f"pred_{j}": float(v) for j, v in enumerate(pred)},
                "nearest": nearest,
                "correct": nearest == k,
                "error": float(dist[k]),
                "chance": 1.0 / K,
            }
        )
    return pd.DataFrame(rows)


def decode_accuracy_null(
    X, coords, ridge: float = 1e-3, n_perm: int = 199, seed: int = 0
) -> dict[str, float]:
    """Accuracy and mean error of :func:`loo_decode` against shuffled target labels.

    Why: with few targets the chance level of nearest-candidate decoding is not exactly 1/K
    (the prediction of a held-out row is pulled toward the training targets); shuffling
    which coordinates belong to which vector gives the null for the same data. With at most
    ``n_perm`` + 1 distinct permutations all of them are used (excluding the identity).

    Returns:
        ``accuracy, error, null_accuracy, null_error`` (means over permutations),
        ``p_accuracy`` (greater) and ``p_error`` (less), ``permutations``, ``K``.
    """
    X, coords = _check(X, coords)
    K = len(X)
    obs = loo_decode(X, coords, ridge)
    rng = np.random.default_rng(seed)
    if np.prod(np.arange(1, K + 1, dtype=float)) - 1 <= n_perm:
        perms = [np.array(p) for p in itertools.permutations(range(K)) if p != tuple(range(K))]
    else:
        perms = [rng.permutation(K) for _ in range(n_perm)]
    null = [loo_decode(X, coords[p], ridge) for p in perms]
    null_acc = np.array([t["correct"].mean() for t in null])
    null_err = np.array([t["error"].mean() for t in null])
    acc, err = float(obs["correct"].mean()), float(obs["error"].mean())
    return {
        "accuracy": acc,
        "error": err,
        "null_accuracy": float(null_acc.mean()),
        "null_error": float(null_err.mean()),
        "p_accuracy": monte_carlo_p(acc, null_acc, "greater"),
        "p_error": monte_carlo_p(err, null_err, "less"),
        "permutations": len(perms),
        "K": K,
    }
