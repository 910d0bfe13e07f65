"""Tests against a null: Fisher's exact test, permutation tests, Monte Carlo p-values.

Each returns a :class:`Test`: the statistic, its p-value, the value the statistic takes under
the null, and how many units it rests on, so a paper sentence can state "estimate [CI],
n seeds, null value, p". Everything delegates to :mod:`scipy.stats`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "Test",
    "binomial_interval",
    "fisher_exact",
    "group_dependence",
    "monte_carlo_p",
    "sign_test",
    "trend_test",
]


@dataclass(frozen=True)
class Test:
    """Result of a test: statistic, p-value, the statistic's null value, units, test name."""

    statistic: float
    p_value: float
    null: float
    n: int
    test: str

    def __str__(self) -> str:
        return f"{self.test}: {self.statistic:.3g} (null {self.null:.3g}), p = {self.p_value:.3g}"


def _alternative(alternative: str) -> str:
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(
            f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}."
        )
    return alternative


def fisher_exact(k1: int, n1: int, k2: int, n2: int, alternative: str = "two-sided") -> Test:
    """Fisher's exact test of k1/n1 against k2/n2 (e.g. seeds that jumped in two conditions).

    Returns:
        The difference of the two rates as the statistic (null 0) and scipy's exact p-value
        (``alternative="greater"``: the first rate is higher).
    """
    for name, k, n in (("k1", k1, n1), ("k2", k2, n2)):
        if not 0 <= k <= n or n < 1:
            raise ValueError(f"need 0 <= {name} <= n and n >= 1, got {k} of {n}.")
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    res = stats.fisher_exact(table, alternative=_alternative(alternative))
    return Test(k1 / n1 - k2 / n2, float(res.pvalue), 0.0, n1 + n2, "Fisher exact")


def binomial_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson interval of a proportion k/n (scipy's ``binomtest``)."""
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got {k} of {n}.")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def sign_test(values, alternative: str = "two-sided") -> Test:
    """Sign test: is the share of positive values different from 1/2? (exact binomial).

    Zeros and NaN are dropped. With four values the smallest two-sided p is 0.125: four
    steps in one direction cannot reach the 5% level.

    Returns:
        The share of positive values (null 0.5) and the binomial p-value.
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v != 0)]
    if v.size == 0:
        return Test(float("nan"), float("nan"), 0.5, 0, "sign test")
    k = int(np.sum(v > 0))
    res = stats.binomtest(k, v.size, 0.5, alternative=_alternative(alternative))
    return Test(k / v.size, float(res.pvalue), 0.5, int(v.size), "sign test")


def monte_carlo_p(observed: float, null_draws, alternative: str = "greater") -> float:
    """p-value of ``observed`` against draws from its null: (1 + #as extreme) / (1 + draws).

    The +1 counts the observation as one draw of the null, which makes the test exact at
    every level (Davison & Hinkley 1997, eq. 4.11) and the p-value never 0.
    """
    draws = np.asarray(null_draws, dtype=float).ravel()
    if draws.size == 0:
        raise ValueError("null_draws is empty.")
    alt = _alternative(alternative)
    if alt == "greater":
        extreme = np.sum(draws >= observed)
    elif alt == "less":
        extreme = np.sum(draws <= observed)
    else:
        center = np.mean(draws)
        extreme = np.sum(np.abs(draws - center) >= abs(observed - center))
    return float((1 + extreme) / (1 + draws.size))


def trend_test(
    x, success, *, alternative: str = "two-sided", n_resamples: int = 9999, seed: int = 0
) -> Test:
    """Does a 0/1 outcome trend with x? Permutation test of their Pearson correlation.

    With a binary outcome this is the Cochran–Armitage trend test, made exact by permuting the
    outcomes across units (``scipy.stats.permutation_test``, pairings).

    Returns:
        The correlation (null 0) and its permutation p-value.
    """
    x, y = np.asarray(x, dtype=float).ravel(), np.asarray(success, dtype=float).ravel()
    if x.shape != y.shape or x.size < 3:
        raise ValueError(f"x and success need one length >= 3, got {x.size} and {y.size}.")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return Test(float("nan"), 1.0, 0.0, int(x.size), "trend (permutation)")

    def corr(a, axis=-1):
        a = a - a.mean(axis=axis, keepdims=True)
        b = y - y.mean()
        return (a * b).sum(axis=axis) / np.sqrt((a * a).sum(axis=axis) * (b * b).sum())

    res = stats.permutation_test(
        (x,),
        corr,
        permutation_type="pairings",
        alternative=_alternative(alternative),
        n_resamples=n_resamples,
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    return Test(float(res.statistic), float(res.pvalue), 0.0, int(x.size), "trend (permutation)")


def group_dependence(groups, success, *, n_resamples: int = 9999, seed: int = 0) -> Test:
    """Does a 0/1 outcome depend on the group (e.g. the dataset a run trained on)?

    Statistic: the between-group variance of the success rates, Σ_g n_g (p̂_g − p̂)² / N;
    null: outcomes exchangeable across groups (permutation test over units). When the outcome
    is decided by the group, the statistic is p̂(1 − p̂); when it is independent of it, about
    p̂(1 − p̂)(G − 1)/N.

    Returns:
        The statistic, its permutation p-value (one-sided: more between-group variance than
        chance), and its mean under the null.
    """
    g = np.asarray(groups).ravel()
    y = np.asarray(success, dtype=float).ravel()
    if g.shape != y.shape or y.size < 2:
        raise ValueError(f"groups and success need one length >= 2, got {g.size} and {y.size}.")
    _, codes = np.unique(g, return_inverse=True)
    counts = np.bincount(codes)
    overall = y.mean()

    def between(v, axis=-1):
        sums = np.stack(
            [
                np.take(v, np.flatnonzero(codes == c), axis=axis).sum(axis)
                for c in range(counts.size)
            ]
        )
        rates = sums / counts.reshape((-1,) + (1,) * (sums.ndim - 1))
        w = counts.reshape(rates.shape[:1] + (1,) * (rates.ndim - 1))
        return (w * (rates - overall) ** 2).sum(0) / y.size

    res = stats.permutation_test(
        (y,),
        between,
        permutation_type="pairings",
        alternative="greater",
        n_resamples=n_resamples,
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    null = float(np.mean(res.null_distribution))
    return Test(
        float(res.statistic), float(res.pvalue), null, int(y.size), "between-group variance"
    )
