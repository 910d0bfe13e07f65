"""The seed-shuffle null: does a curve go with *its own* seed's curve, or with any seed's?

Two curves that both rise late in training correlate over checkpoints whatever their link:
Spearman ρ of success with log-step is already high. The question a per-seed correlation can
answer is whether seed i's measure tracks seed i's success better than seed j's. The null
pairs each seed's x with another seed's y; the test permutes the pairing of seeds (all n!
pairings for n <= 8, else random ones), so with n seeds the smallest p-value is 1/n!
(3 seeds: 1/6 — no claim can pass the 5% level).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from devrl.stats.hypothesis import Test, _alternative, monte_carlo_p

__all__ = ["pair_matrix", "seed_shuffle_test", "spearman"]


def spearman(x, y) -> float:
    """Spearman ρ of two equal-length curves (NaN pairs dropped; NaN if < 3 points remain)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"x and y need one shape, got {x.shape} and {y.shape}.")
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan")
    return float(stats.spearmanr(x[ok], y[ok]).statistic)


def pair_matrix(xs: Sequence, ys: Sequence, statistic: Callable = spearman) -> np.ndarray:
    """M[i, j] = statistic(xs[i], ys[j]) for every pair of seeds."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError(f"xs and ys need one length >= 2, got {len(xs)} and {len(ys)}.")
    return np.array([[statistic(x, y) for y in ys] for x in xs], dtype=float)


def seed_shuffle_test(
    xs: Sequence,
    ys: Sequence,
    statistic: Callable = spearman,
    *,
    alternative: str = "greater",
    n_resamples: int = 9999,
    seed: int = 0,
) -> Test:
    """Mean over seeds of statistic(x_i, y_i) against the same mean with the seeds re-paired.

    Args:
        xs, ys: per seed one curve each (on the same checkpoints within a pair).
        statistic: ``(x, y) -> float``; default Spearman ρ.
        alternative: "greater" (own seed's pairing scores higher), "less" or "two-sided".
        n_resamples: random pairings when n > 8 (else all n! are enumerated).
        seed: seeds the random pairings.

    Returns:
        The matched mean (statistic), its permutation p-value (the identity pairing counted
        among the null's), the mean over mismatched pairs i != j (null), and n seeds.
    """
    alt = _alternative(alternative)
    m = pair_matrix(xs, ys, statistic)
    n = len(m)
    observed = float(np.nanmean(np.diag(m)))
    off = m[~np.eye(n, dtype=bool)]
    null_value = float(np.nanmean(off))
    if n <= 8:
        perms = np.array(list(itertools.permutations(range(n))))
        draws = np.nanmean(m[np.arange(n), perms], axis=1)
        if alt == "greater":
            p = float(np.mean(draws >= observed - 1e-12))
        elif alt == "less":
            p = float(np.mean(draws <= observed + 1e-12))
        else:
            c = draws.mean()
            p = float(np.mean(np.abs(draws - c) >= abs(observed - c) - 1e-12))
    else:
        rng = np.random.default_rng(seed)
        perms = np.array([rng.permutation(n) for _ in range(n_resamples)])
        p = monte_carlo_p(observed, np.nanmean(m[np.arange(n), perms], axis=1), alt)
    return Test(observed, p, null_value, n, "seed-shuffle permutation")
