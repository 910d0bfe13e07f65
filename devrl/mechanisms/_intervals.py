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
