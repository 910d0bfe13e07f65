"""Intervals over levels: Wilson for a proportion, a percentile bootstrap for a mean.

Why here: every behavioural statistic of the mechanisms package is either a count of
levels (Wilson's interval keeps its coverage near 0 and 1, where the Wald interval
fails) or a mean of per-level values in [0, 1] (a bootstrap makes no normality claim).
Both defer to statsmodels and scipy.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint


def wilson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float, float]:
    """``(proportion, low, high)``: Wilson score interval of ``successes`` out of ``trials``."""
    if trials < 1:
        raise ValueError(f"trials must be >= 1 to estimate a proportion, got {trials}.")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in [0, trials={trials}], got {successes}.")
    low, high = proportion_confint(int(successes), int(trials), alpha=1 - level, method="wilson")
    return successes / trials, float(low), float(high)


def mean_interval(
    values: np.ndarray, level: float = 0.95, *, resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, low, high)``: percentile-bootstrap interval of the mean (deterministic in seed)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("values must hold at least one number to average.")
    if x.size == 1 or np.ptp(x) == 0:
        return float(x.mean()), float(x.mean()), float(x.mean())
    res = stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=level,
        n_resamples=resamples,
        method="percentile",
        vectorized=True,
        random_state=np.random.default_rng(seed),
    )
    ci = res.confidence_interval
    return float(x.mean()), float(ci.low), float(ci.high)


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
