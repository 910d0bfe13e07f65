"""Fit one functional form to one curve: ``fit(t, y, form) -> FitResult``.

Multi-start bounded nonlinear least squares (scipy's trust-region reflective
``least_squares``) from the form's data-driven starting points plus a few
random ones, weighted by per-point standard errors when given. The result
carries what a reader of a training curve needs to turn a fitted form into a
claim: estimates with intervals, information criteria to compare forms, and a
prediction with a confidence band.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from devrl.forms import intervals
from devrl.forms._problem import (
    FitError,
    Problem,
    check_count,
    check_curve,
    check_form_data,
    check_level,
)
from devrl.forms._units import YUnits
from devrl.forms.registry import Form, get_form

CI_METHODS = ("profile", "bootstrap", "wald", "none")


@dataclass(repr=False)
class FitResult:
    """A fitted form: estimates, intervals, fit statistics and a predictor.

    Attributes:
        form: the :class:`Form` that was fitted.
        params: estimate per parameter name.
        stderr: asymptotic standard error per parameter (from the Jacobian).
        ci: ``(low, high)`` interval per parameter at ``level``.
        ci_method: how ``ci`` was computed: profile, bootstrap, cluster-bootstrap, wald, none.
        level: confidence level of ``ci`` and of the prediction band.
        n: number of points; k: number of estimated parameters (curve parameters,
            plus the noise scale when ``sigma`` was not given).
        rss: residual sum of squares (weighted by 1/sigma^2 when sigma was given).
        loglik, aic, aicc, bic: Gaussian log-likelihood and information criteria.
        at_bound: names of parameters that ended on a bound (not identified by the data).
        units: the map between y and the standard units the fit was done in
            (:class:`devrl.forms._units.YUnits`); every number above is in y's units.
    """

    form: Form
    params: dict[str, float]
    stderr: dict[str, float]
    ci: dict[str, tuple[float, float]]
    ci_method: str
    level: float
    n: int
    k: int
    rss: float
    loglik: float
    aic: float
    aicc: float
    bic: float
    at_bound: tuple[str, ...]
    t: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    sigma: np.ndarray | None = field(repr=False)
    cov: np.ndarray = field(repr=False)
    draws: np.ndarray | None = field(default=None, repr=False)
    units: YUnits | None = field(default=None, repr=False)

    @property
    def theta(self) -> np.ndarray:
        """Parameter estimates as a vector in the form's order."""
        return np.array([self.params[name] for name in self.form.param_names])

    @property
    def residuals(self) -> np.ndarray:
        """Observed minus fitted values (unweighted)."""
        return self.y - self.form(self.t, self.theta)

    def predict(self, t, *, band: bool = False, level: float | None = None):
        """Fitted curve at ``t``; with ``band=True`` also a confidence band for the curve.

        The band is for the mean curve (not for new noisy observations): bootstrap
        percentiles when the fit used the bootstrap, the delta method otherwise.

        Returns:
            ``ndarray`` of predictions, or with ``band=True`` a DataFrame with
            columns ``t, yhat, lower, upper``.
        """
        t = np.asarray(t, dtype=float)
        yhat = self.form(t, self.theta)
        if not band:
            return yhat
        level = self.level if level is None else level
        if self.draws is not None and len(self.draws) >= 20:
            curves = np.array([self.form(t, d) for d in self.draws])
            lo, hi = intervals.percentile(curves, level)
        else:
            # Delta method in the fitter's standard units, so the band is unit-free too.
            units = self.units or YUnits.of(self.form, self.y)
            theta_z = units.params_to_z(self.theta)
            cov_z = self.cov / np.outer(units.factors, units.factors)
            grad = _gradient(self.form, t, theta_z)  # [len(t), n_params]
            var_z = np.einsum("ij,jk,ik->i", grad, cov_z, grad)
            se = units.scale * np.sqrt(np.maximum(var_z, 0.0))
            q = stats.norm.ppf(0.5 + level / 2)
            lo, hi = yhat - q * se, yhat + q * se
        return pd.DataFrame({"t": t, "yhat": yhat, "lower": lo, "upper": hi})

    def to_frame(self) -> pd.DataFrame:
        """One row per parameter: estimate, stderr, interval, and the fit statistics."""
        rows = [
            {
                "form": self.form.name,
                "param": name,
                "value": self.params[name],
                "stderr": self.stderr[name],
                "ci_low": self.ci[name][0],
                "ci_high": self.ci[name][1],
                "at_bound": name in self.at_bound,
                "ci_method": self.ci_method,
                "n": self.n,
                "k": self.k,
                "loglik": self.loglik,
                "aic": self.aic,
                "aicc": self.aicc,
                "bic": self.bic,
            }
            for name in self.form.param_names
        ]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        head = (
            f"FitResult(form={self.form.name!r}: {self.form.formula}; n={self.n}, k={self.k}, "
            f"loglik={self.loglik:.4g}, AICc={self.aicc:.4g}, BIC={self.bic:.4g})"
        )
        pct = f"{100 * self.level:g}%"
        lines = [
            head,
            f"  {'param':<10} {'value':>12} {'stderr':>11}   {pct} CI ({self.ci_method})",
        ]
        for name in self.form.param_names:
            lo, hi = self.ci[name]
            flag = "  [at bound]" if name in self.at_bound else ""
            lines.append(
                f"  {name:<10} {self.params[name]:>12.5g} {self.stderr[name]:>11.3g}   "
                f"[{lo:.5g}, {hi:.5g}]{flag}"
            )
        return "\n".join(lines)

    __str__ = __repr__


def _gradient(form: Form, t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Central finite-difference Jacobian of the curve w.r.t. the parameters."""
    cols = []
    for j in range(theta.size):
        h = 1e-6 * max(abs(theta[j]), 1e-3)
        up, dn = theta.copy(), theta.copy()
        up[j] += h
        dn[j] -= h
        cols.append((form(t, up) - form(t, dn)) / (2 * h))
    return np.column_stack(cols)


def information(rss: float, n: int, p: int, sigma) -> tuple[int, float, float, float, float]:
    """(k, loglik, AIC, AICc, BIC) for a Gaussian least-squares fit.

    With ``sigma`` given the noise scale is known: loglik uses it and k = p.
    Otherwise the noise variance is profiled out (its MLE rss/n) and counted: k = p + 1.
    """
    if sigma is None:
        k = p + 1
        loglik = -0.5 * n * (np.log(2 * np.pi * max(rss, 1e-300) / n) + 1)
    else:
        k = p
        loglik = -0.5 * rss - float(np.sum(np.log(sigma))) - 0.5 * n * np.log(2 * np.pi)
    aic = 2 * k - 2 * loglik
    aicc = aic + (2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else np.inf)
    bic = k * np.log(n) - 2 * loglik
    return k, float(loglik), float(aic), float(aicc), float(bic)


def fit(
    t,
    y,
    form: str | Form,
    *,
    sigma=None,
    groups=None,
    ci: str | None = None,
    level: float = 0.95,
    n_boot: int = 200,
    n_random_starts: int = 1,
    seed: int = 0,
) -> FitResult:
    """Fit a functional form to a curve by multi-start bounded least squares.

    Args:
        t: training time of each point (e.g. steps), strictly increasing (within
            each group when ``groups`` is given).
        y: the tracked quantity at each ``t``.
        form: a registered form name (see ``available_forms()``) or a :class:`Form`.
        sigma: per-point standard errors (e.g. LLC chain spread); points are
            weighted by 1/sigma^2 and the noise scale is taken as known.
        groups: a label per point (e.g. seed) when several runs are stacked;
            the curve is fitted to the pooled points and intervals come from a
            cluster bootstrap over groups.
        ci: ``"profile"`` (default without groups), ``"bootstrap"`` (default with
            groups; cluster bootstrap then), ``"wald"``, or ``"none"`` (fastest; for
            model comparison).
        level: confidence level of intervals and bands.
        n_boot: bootstrap replicates.
        n_random_starts: random starting points drawn within bounded parameters,
            added to the form's data-driven starts.
        seed: seeds the random starts and the bootstrap (results are deterministic).

    Returns:
        A :class:`FitResult`.

    Raises:
        ValueError: for bad inputs (NaNs, too few points, constant y, unsorted t).
        FitError: (a ValueError) naming the form and the reason when no start converges.
    """
    form = get_form(form)
    ci = ci or ("bootstrap" if groups is not None else "profile")
    if ci not in CI_METHODS:
        raise ValueError(f"ci must be one of {CI_METHODS}, got {ci!r}.")
    t, y, sigma, groups = check_curve(t, y, sigma, groups, what=f"fit({form.name!r})")
    level = check_level(level)
    n_boot = check_count("n_boot", n_boot, minimum=1)
    n_random_starts = check_count("n_random_starts", n_random_starts, minimum=0)
    seed = check_count("seed", seed, minimum=0)
    check_form_data(form, t, known_sigma=sigma is not None)
    # Everything below runs in standard units of y (see _units.py); only the
    # reported numbers are mapped back, so no result depends on y's units.
    units = YUnits.of(form, y)
    sigma_z = None if sigma is None else sigma / units.scale
    prob = Problem(form, t, units.y_to_z(y), sigma_z)
    starts = [np.asarray(s, dtype=float) for s in form.guess(*prob.guess_data)]
    rng = np.random.default_rng(seed)
    finite = np.isfinite(prob.lo) & np.isfinite(prob.hi)
    for _ in range(n_random_starts if finite.any() else 0):
        s = starts[0].copy()
        s[finite] = rng.uniform(prob.lo[finite], prob.hi[finite])
        starts.append(s)
    res = prob.fit(starts)
    theta_z = res.x
    if form.canonicalize is not None:
        theta_z = form.canonicalize(theta_z)
    n, p = y.size, theta_z.size
    rss_z = prob.cost(theta_z)
    jac = res.jac
    if form.canonicalize is not None and not np.allclose(theta_z, res.x):
        jac = _gradient(form, t, theta_z) * prob.w[:, None]
    scale = rss_z / (n - p) if sigma is None else 1.0
    cov_z = np.linalg.pinv(jac.T @ jac) * scale
    se_z = np.sqrt(np.clip(np.diag(cov_z), 0.0, None))
    if not np.all(np.isfinite(se_z)):
        raise FitError(f"form {form.name!r}: the fit gave non-finite standard errors.")
    # Weighted residuals are unit-free; unweighted ones carry the units squared.
    rss = rss_z * units.scale**2 if sigma is None else rss_z
    k, loglik, aic, aicc, bic = information(rss, n, p, sigma)
    span = np.where(np.isfinite(prob.hi - prob.lo), prob.hi - prob.lo, 0.0)
    at_bound = tuple(
        name
        for name, v, lo, hi, s in zip(form.param_names, theta_z, prob.lo, prob.hi, span)
        if s > 0 and min(v - lo, hi - v) <= 1e-6 * s
    )
    dof = None if sigma is not None else n - p
    draws = None
    if ci == "profile":
        lo, hi = intervals.profile(prob, theta_z, se_z, known_sigma=sigma is not None, level=level)
    elif ci == "bootstrap":
        draws = intervals.bootstrap(
            prob, theta_z, groups=groups, sigma=sigma_z, n_boot=n_boot, seed=seed
        )
        if len(draws) < 0.5 * n_boot:
            raise FitError(
                f"form {form.name!r}: only {len(draws)} of {n_boot} bootstrap refits "
                "converged; the intervals would be unreliable. Try ci='profile'."
            )
        lo, hi = intervals.percentile(draws, level)
        draws = units.params_from_z(draws)
        if groups is not None:
            ci = "cluster-bootstrap"
    elif ci == "wald":
        lo, hi = intervals.wald(theta_z, se_z, dof, level)
    else:
        lo, hi = np.full(p, np.nan), np.full(p, np.nan)
    theta = units.params_from_z(theta_z)
    lo, hi = units.params_from_z(lo), units.params_from_z(hi)
    se, cov = se_z * units.factors, units.cov_from_z(cov_z)
    names = form.param_names
    return FitResult(
        form=form,
        params=dict(zip(names, map(float, theta))),
        stderr=dict(zip(names, map(float, se))),
        ci={nm: (float(a), float(b)) for nm, a, b in zip(names, lo, hi)},
        ci_method=ci,
        level=level,
        n=n,
        k=k,
        rss=rss,
        loglik=loglik,
        aic=aic,
        aicc=aicc,
        bic=bic,
        at_bound=at_bound,
        t=t,
        y=y,
        sigma=sigma,
        cov=cov,
        draws=draws,
        units=units,
    )


__all__ = ["FitError", "FitResult", "fit", "information"]
