"""Confidence intervals for fitted parameters: Wald, profile likelihood, bootstrap.

Wald intervals (estimate +- quantile * stderr from the Jacobian) are exact only
for models linear in their parameters; widths and midpoints of stage
transitions are not, so the default is the profile likelihood: for each
parameter, the set of values whose best fit with that parameter held fixed is
not significantly worse than the overall best (an F test when the noise scale is
estimated, a chi-square test when per-point errors are given). Bootstrap
intervals resample residuals, or, with several seeds, whole seeds (a cluster
bootstrap: seeds are the independent units, checkpoints within a seed are not).
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.optimize import brentq

from devrl.forms._problem import Problem


def wald(theta, stderr, dof: int | None, level: float):
    """Estimate +- quantile * stderr (t quantile with ``dof``, normal if ``dof`` is None)."""
    q = stats.norm.ppf(0.5 + level / 2) if dof is None else stats.t.ppf(0.5 + level / 2, dof)
    return theta - q * stderr, theta + q * stderr


def profile(
    prob: Problem, theta: np.ndarray, stderr: np.ndarray, *, known_sigma: bool, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Profile-likelihood interval for each parameter.

    The search steps out from the estimate in multiples of the standard error
    until the test statistic passes its threshold (or a bound is hit, in which
    case the bound is the endpoint), then finds the crossing with Brent's method.
    """
    n, p = prob.y.size, theta.size
    rss0 = prob.cost(theta)
    if known_sigma:
        limit = rss0 + stats.chi2.ppf(level, 1)
    else:
        limit = rss0 * (1.0 + stats.f.ppf(level, 1, n - p) / (n - p))
    lows, highs = np.empty(p), np.empty(p)
    for j in range(p):
        h = stderr[j]
        if not np.isfinite(h) or h <= 0:
            h = 0.1 * max(abs(theta[j]), 1e-3)
        ends = []
        for side in (-1.0, 1.0):
            bound = prob.lo[j] if side < 0 else prob.hi[j]
            v_in, warm, end = theta[j], theta.copy(), None
            for step in 2.0 ** np.arange(0, 10):
                v = theta[j] + side * step * h
                hit_bound = (v <= bound) if side < 0 else (v >= bound)
                if hit_bound:
                    v = bound
                cost, fitted = prob.fit_fixed(j, v, warm)
                if cost > limit:
                    w0 = warm

                    def g(x, w0=w0, j=j):
                        return prob.fit_fixed(j, x, w0)[0] - limit

                    try:
                        end = brentq(g, v_in, v, xtol=1e-4 * h, rtol=1e-6, maxiter=40)
                    except ValueError:
                        end = v
                    break
                v_in, warm = v, fitted
                if hit_bound:
                    end = bound
                    break
            ends.append(v_in if end is None else end)
        lows[j], highs[j] = min(ends), max(ends)
    return lows, highs


def bootstrap(
    prob: Problem, theta: np.ndarray, *, groups=None, sigma=None, n_boot: int = 200, seed: int = 0
) -> np.ndarray:
    """Refit on resampled data; returns the parameter draws ``[n_boot, n_params]``.

    Without groups: residual bootstrap (studentised residuals r_i / sigma_i are
    resampled and rescaled, so per-point errors are respected). With groups:
    whole groups (seeds) are resampled with replacement.
    """
    rng = np.random.default_rng(seed)
    form, t, y = prob.form, prob.t, prob.y
    fitted = form.func(t, *theta)
    draws = []
    if groups is None:
        n, p = y.size, theta.size
        z = (y - fitted) * prob.w * np.sqrt(n / max(n - p, 1))
        for _ in range(n_boot):
            y_star = fitted + rng.choice(z, size=n, replace=True) / prob.w
            draws.append(_refit(form, t, y_star, sigma, theta, prob))
    else:
        labels = list(dict.fromkeys(groups))
        idx = {g: np.flatnonzero(groups == g) for g in labels}
        for _ in range(n_boot):
            pick = rng.integers(0, len(labels), size=len(labels))
            rows = np.concatenate([idx[labels[i]] for i in pick])
            s = None if sigma is None else sigma[rows]
            draws.append(_refit(form, t[rows], y[rows], s, theta, prob))
    draws = np.array([d for d in draws if d is not None])
    return draws


def _refit(form, t, y, sigma, theta, parent: Problem):
    prob = Problem(form, t, y, sigma, bounds_data=parent.guess_data)
    try:
        res = prob.fit([theta], max_nfev=500)
    except ValueError:
        return None
    x = res.x
    return form.canonicalize(x) if form.canonicalize is not None else x


def percentile(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval from bootstrap draws."""
    a = (1 - level) / 2
    return np.quantile(draws, a, axis=0), np.quantile(draws, 1 - a, axis=0)
