"""Intervals: over seeds (a bootstrap of a statistic, of a ratio pooled over seeds, a t
interval), over levels (Wilson for a proportion, a bootstrap of a mean) and over seeds then levels.

Seeds are the independent units of every experiment; checkpoints within a seed are not (a
curve is autocorrelated), so intervals resample whole seeds. Where per-seed counts are pooled
into one ratio (transitions detected over transitions, jumps over runs), the bootstrap draws
seeds with their numerator and denominator together (a cluster bootstrap), which keeps the
within-seed dependence. :func:`bootstrap_ci` wraps :func:`scipy.stats.bootstrap`; :func:`ratio_ci`
draws seeds itself, because a resample whose denominators are all zero must be dropped rather
than fail. Both give percentile intervals: BCa breaks down when every seed gives the same
value, which small detection tables often do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

__all__ = [
    "Interval",
    "bootstrap_ci",
    "finite_t_interval",
    "iqm",
    "mean_interval",
    "ratio_ci",
    "seed_level_interval",
    "t_interval",
    "wilson",
]


@dataclass(frozen=True)
class Interval:
    """An estimate with its confidence interval and the number of units (seeds) behind it."""

    estimate: float
    low: float
    high: float
    n: int
    level: float = 0.95

    def __str__(self) -> str:
        return f"{self.estimate:.3g} [{self.low:.3g}, {self.high:.3g}]"

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in [low, high]."""
        return bool(self.low <= value <= self.high)


def _check(level: float, n_resamples: int) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}.")
    if n_resamples < 100:
        raise ValueError(f"n_resamples must be >= 100, got {n_resamples}.")


def iqm(values, axis: int = -1) -> float | np.ndarray:
    """Interquartile mean (rliable's aggregate): the mean of the middle 50% of ``values``."""
    return stats.trim_mean(np.asarray(values, dtype=float), 0.25, axis=axis)


def bootstrap_ci(
    values,
    statistic: Callable = np.mean,
    *,
    level: float = 0.95,
    n_resamples: int = 9999,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of ``statistic`` over independent units (one value each).

    Args:
        values: one number per unit (seed); NaN entries are dropped.
        statistic: a function ``(x, axis) -> reduced`` (np.mean, np.median, :func:`iqm`).
        level: confidence level.
        n_resamples: bootstrap resamples.
        seed: seeds the resampling.

    Returns:
        The statistic of all values, and the interval; NaN bounds with fewer than two values.
    """
    _check(level, n_resamples)
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0, level)
    est = float(statistic(x, axis=-1))
    if x.size < 2 or np.all(x == x[0]):
        lo = hi = est if x.size >= 2 else float("nan")
        return Interval(est, lo, hi, int(x.size), level)
    res = stats.bootstrap(
        (x,),
        statistic,
        confidence_level=level,
        n_resamples=n_resamples,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    ci = res.confidence_interval
    return Interval(est, float(ci.low), float(ci.high), int(x.size), level)


def _pooled(hits, totals, axis=-1):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(hits, axis=axis) / np.sum(totals, axis=axis)


def ratio_ci(
    hits, totals, *, level: float = 0.95, n_resamples: int = 9999, seed: int = 0
) -> Interval:
    """Pooled ratio Σhits/Σtotals over units, with a cluster-bootstrap interval over units.

    Why: a detection rate pools transitions of many seeds, but a seed's transitions share its
    curve; resampling seeds (each with its hits and total) gives the interval the seeds
    support, not the narrower one of independent transitions.

    Args:
        hits, totals: per-unit counts (same length, 0 <= hits <= totals).
        level, n_resamples, seed: as for :func:`bootstrap_ci`.

    Returns:
        The pooled ratio and its percentile interval (resamples with Σtotals = 0 are dropped);
        NaN when Σtotals = 0, NaN bounds with fewer than two units.
    """
    _check(level, n_resamples)
    h, n = np.asarray(hits, dtype=float).ravel(), np.asarray(totals, dtype=float).ravel()
    if h.shape != n.shape:
        raise ValueError(f"hits and totals must have one length, got {h.size} and {n.size}.")
    if np.any(h < 0) or np.any(h > n):
        raise ValueError("need 0 <= hits <= totals for every unit.")
    if n.sum() == 0:
        return Interval(float("nan"), float("nan"), float("nan"), int(h.size), level)
    est = float(h.sum() / n.sum())
    if h.size < 2:
        return Interval(est, float("nan"), float("nan"), int(h.size), level)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, h.size, size=(n_resamples, h.size))
    boot = _pooled(h[idx], n[idx])
    boot = boot[np.isfinite(boot)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(boot, [alpha, 1 - alpha])
    return Interval(est, float(lo), float(hi), int(h.size), level)


# Intervals over levels or episodes within a seed, and over seeds then levels.


def wilson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float, float]:
    """``(proportion, low, high)``: Wilson score interval of ``successes`` out of ``trials``."""
    if trials < 1:
        raise ValueError(f"trials must be >= 1 to estimate a proportion, got {trials}.")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in [0, trials={trials}], got {successes}.")
    low, high = proportion_confint(int(successes), int(trials), alpha=1 - level, method="wilson")
    return successes / trials, float(low), float(high)


def mean_interval(
    values, level: float = 0.95, *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, low, high)`` over levels (or episodes): :func:`bootstrap_ci` of the mean as a tuple.

    One value gives the value as both bounds (a level statistic of one level is exact for it).
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("values must hold at least one number to average.")
    if x.size == 1:
        return float(x[0]), float(x[0]), float(x[0])
    ci = bootstrap_ci(x, np.mean, level=level, n_resamples=resamples, seed=seed)
    return ci.estimate, ci.low, ci.high


def seed_level_interval(
    values: np.ndarray,
    seeds: np.ndarray,
    level: float = 0.95,
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(mean, low, high)`` over seeds and levels: a two-stage percentile bootstrap.

    The estimate is the mean of the per-seed means (every seed weighs the same). Each
    resample draws seeds with replacement, then levels with replacement within each
    drawn seed, so the interval carries both the seed-to-seed and the level-to-level
    spread. With few seeds (3 give 10 distinct seed draws) it is indicative only.

    Args:
        values: ``[N]`` per-level (or per-episode) values.
        seeds: ``[N]`` the training seed each value belongs to.
        level: Confidence level.
        resamples: Bootstrap resamples.
        seed: Seeds the bootstrap.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    g = np.asarray(seeds).ravel()
    if x.size == 0 or x.size != g.size:
        raise ValueError(
            f"values and seeds must be non-empty and of equal length, got {x.size} and {g.size}."
        )
    rng = np.random.default_rng(seed)
    groups = [x[g == s] for s in dict.fromkeys(g.tolist())]
    means = np.array([grp.mean() for grp in groups])
    # [k, B] mean of each seed's levels resampled B times
    inner = np.stack(
        [grp[rng.integers(0, grp.size, size=(resamples, grp.size))].mean(axis=1) for grp in groups]
    )
    pick = rng.integers(0, len(groups), size=(resamples, len(groups)))  # [B, k]
    boot = inner[pick, np.arange(resamples)[:, None]].mean(axis=1)
    a = (1 - level) / 2
    return float(means.mean()), float(np.quantile(boot, a)), float(np.quantile(boot, 1 - a))


def finite_t_interval(
    values: Sequence[float], level: float = 0.95
) -> tuple[float, float, float, int]:
    """:func:`t_interval` over the finite values; ``(nan, nan, nan, 0)`` when there are none.

    Why: summaries over groups (a cell whose runs all failed to cross a threshold, a
    checkpoint where a measure is undefined) need a row, not an error.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    return t_interval(x, level) if x.size else (float("nan"),) * 3 + (0,)


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float, int]:
    """``(mean, low, high, n)``: Student-t interval of the mean over independent units.

    Why: the lean of a patch varies between retraining runs and between targets far more
    than between episodes, so the honest interval is over runs (few units: a t interval,
    not a bootstrap). NaNs are dropped; with one unit the bounds are NaN.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("values must hold at least one finite number.")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}.")
    m = float(x.mean())
    if x.size == 1:
        return m, float("nan"), float("nan"), 1
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return m, m - half, m + half, int(x.size)
