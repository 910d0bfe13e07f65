"""Intervals over seeds: the bootstrap of a statistic, and of a ratio pooled over seeds.

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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["Interval", "bootstrap_ci", "iqm", "ratio_ci"]


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
