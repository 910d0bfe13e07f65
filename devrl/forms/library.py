"""The built-in forms: constant, linear, exponential approach, logistic (in t and in
log t), double logistic, power law with offset, continuous piecewise-linear.

Bounds and starting points are computed from the data (level parameters within a
few ranges of the observed values, time parameters near the observed time range)
so that one call to ``fit`` works on LLC values of order 10 and on success rates
in [0, 1] alike. Forms that live in log-time (``logistic_log``,
``double_logistic``, ``piecewise{k}``) take their time parameters as ``log_t*``:
log-spaced checkpoints make log-time the well-conditioned scale, and the
intervals are then symmetric in the scale where the estimate is near-Gaussian.
Mechanisms behind each form: ``theory/forms.md``.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit

from devrl.forms._problem import check_count
from devrl.forms.registry import Form, register_form

_INF = np.inf


def _levels(y: np.ndarray, frac: float = 0.15) -> tuple[float, float]:
    """Mean of the first and last ``frac`` of the points: start and end levels."""
    m = max(1, round(frac * len(y)))
    return float(np.mean(y[:m])), float(np.mean(y[-m:]))


def _level_bounds(y: np.ndarray, k: float = 3.0) -> tuple[float, float]:
    r = float(np.ptp(y)) or 1.0
    return float(np.min(y)) - k * r, float(np.max(y)) + k * r


def _crossing(x: np.ndarray, y: np.ndarray) -> float:
    """x where y first crosses halfway between its start and end levels."""
    a, b = _levels(y)
    mid = 0.5 * (a + b)
    above = (y - mid) * np.sign(b - a or 1.0) > 0
    idx = int(np.argmax(above)) if above.any() else len(x) // 2
    return float(x[idx])


# constant -------------------------------------------------------------------
def _constant(t, a):
    return np.full_like(t, a, dtype=float)


CONSTANT = register_form(
    Form(
        name="constant",
        func=_constant,
        param_names=("a",),
        formula="a",
        y_roles=("level",),
        bounds=lambda t, y: (np.array([-_INF]), np.array([_INF])),
        guess=lambda t, y: [np.array([np.mean(y)])],
        description="no change over training",
    )
)


# linear ---------------------------------------------------------------------
def _linear(t, a, b):
    return a + b * t


LINEAR = register_form(
    Form(
        name="linear",
        func=_linear,
        param_names=("a", "b"),
        formula="a + b*t",
        y_roles=("level", "scale"),
        bounds=lambda t, y: (np.array([-_INF, -_INF]), np.array([_INF, _INF])),
        guess=lambda t, y: [np.polyfit(t, y, 1)[::-1]],
        description="steady drift at a constant rate",
    )
)


# exponential approach ---------------------------------------------------------
def _exp(t, a, b, tau):
    return a + (b - a) * -np.expm1(-t / tau)


def _exp_bounds(t, y):
    lo, hi = _level_bounds(y)
    lo_b, hi_b = _level_bounds(y, 10.0)
    span = float(t[-1] - t[0]) or 1.0
    return np.array([lo, lo_b, span * 1e-4]), np.array([hi, hi_b, span * 10.0])


def _exp_guess(t, y):
    a, b = _levels(y)
    span = float(t[-1] - t[0]) or 1.0
    taus = np.geomspace(max(span * 1e-3, float(t[1] - t[0])), span, 5)
    return [np.array([a, b, tau]) for tau in taus]


EXP = register_form(
    Form(
        name="exp",
        func=_exp,
        param_names=("a", "b", "tau"),
        formula="a + (b - a)*(1 - exp(-t/tau))",
        y_roles=("level", "level", "shape"),
        bounds=_exp_bounds,
        guess=_exp_guess,
        description="relaxation into a locally quadratic basin with one timescale tau",
    )
)


# logistic in t ----------------------------------------------------------------
def _logistic(t, a, b, t0, w):
    return a + (b - a) * expit((t - t0) / w)


def _logistic_bounds(t, y):
    lo, hi = _level_bounds(y)
    span = float(t[-1] - t[0]) or 1.0
    # Transitions sharper than the checkpoint spacing are not resolved by the data;
    # allowing them lets the form fit single noisy points.
    w_min = max(0.5 * float(np.median(np.diff(t))), span * 1e-4)
    return (
        np.array([lo, lo, t[0] - 0.5 * span, w_min]),
        np.array([hi, hi, t[-1] + 0.5 * span, span]),
    )


def _logistic_guess(t, y):
    a, b = _levels(y)
    span = float(t[-1] - t[0]) or 1.0
    t0s = {_crossing(t, y), float(np.median(t)), float(t[0] + 0.5 * span)}
    return [np.array([a, b, t0, w]) for t0 in t0s for w in (span / 30, span / 8)]


LOGISTIC = register_form(
    Form(
        name="logistic",
        func=_logistic,
        param_names=("a", "b", "t0", "w"),
        formula="a + (b - a)*sigmoid((t - t0)/w)",
        y_roles=("level", "level", "shape", "shape"),
        bounds=_logistic_bounds,
        guess=_logistic_guess,
        description="one stage transition at step t0 with width w (in steps)",
    )
)


# logistic in log t ----------------------------------------------------------
def _logistic_log(t, a, b, log_t0, w):
    return a + (b - a) * expit((np.log(t) - log_t0) / w)


def _log_span(t):
    x = np.log(t)
    return x, (float(x[-1] - x[0]) or 1.0)


def _w_min(x, L):
    return max(0.5 * float(np.median(np.diff(x))), L * 1e-3)


def _logistic_log_bounds(t, y):
    lo, hi = _level_bounds(y)
    x, L = _log_span(t)
    return (
        np.array([lo, lo, x[0] - 0.5 * L, _w_min(x, L)]),
        np.array([hi, hi, x[-1] + 0.5 * L, L]),
    )


def _logistic_log_guess(t, y):
    a, b = _levels(y)
    x, L = _log_span(t)
    x0s = {_crossing(x, y), float(x[0] + 0.5 * L)}
    return [np.array([a, b, x0, w]) for x0 in x0s for w in (L / 30, L / 8)]


LOGISTIC_LOG = register_form(
    Form(
        name="logistic_log",
        func=_logistic_log,
        param_names=("a", "b", "log_t0", "w"),
        formula="a + (b - a)*sigmoid((log t - log_t0)/w)",
        y_roles=("level", "level", "shape", "shape"),
        bounds=_logistic_log_bounds,
        guess=_logistic_log_guess,
        needs_positive_t=True,
        description="one stage transition at t0 = exp(log_t0), width w in log-time",
    )
)


# double logistic in log t -------------------------------------------------------
def _double_logistic(t, a, b, c, log_t1, w1, log_t2, w2):
    x = np.log(t)
    return a + (b - a) * expit((x - log_t1) / w1) + (c - b) * expit((x - log_t2) / w2)


def _double_bounds(t, y):
    lo, hi = _level_bounds(y)
    x, L = _log_span(t)
    wm = _w_min(x, L)
    return (
        np.array([lo, lo, lo, x[0] - 0.25 * L, wm, x[0] - 0.25 * L, wm]),
        np.array([hi, hi, hi, x[-1] + 0.25 * L, L / 2, x[-1] + 0.25 * L, L / 2]),
    )


def _double_guess(t, y):
    a, c = _levels(y)
    x, L = _log_span(t)
    n = len(y)
    starts = []
    for q1, q2 in ((0.25, 0.75), (0.2, 0.5), (0.5, 0.8), (0.35, 0.65)):
        i = round(0.5 * (q1 + q2) * (n - 1))
        b = float(np.mean(y[max(0, i - 2) : i + 3]))
        starts.append(np.array([a, b, c, x[0] + q1 * L, L / 25, x[0] + q2 * L, L / 25]))
    return starts


def _double_canon(p):
    a, b, c, x1, w1, x2, w2 = p
    if x1 <= x2:
        return np.asarray(p, dtype=float)
    return np.array([a, a + c - b, c, x2, w2, x1, w1])


DOUBLE_LOGISTIC = register_form(
    Form(
        name="double_logistic",
        func=_double_logistic,
        param_names=("a", "b", "c", "log_t1", "w1", "log_t2", "w2"),
        formula="a + (b-a)*sigmoid((log t - log_t1)/w1) + (c-b)*sigmoid((log t - log_t2)/w2)",
        y_roles=("level", "level", "level", "shape", "shape", "shape", "shape"),
        bounds=_double_bounds,
        guess=_double_guess,
        canonicalize=_double_canon,
        needs_positive_t=True,
        description="two stage transitions in log-time: level a -> b -> c",
    )
)


# power law with offset ----------------------------------------------------------
def _power(t, a, b, alpha):
    return a + b * t ** (-alpha)


def _power_bounds(t, y):
    lo, hi = _level_bounds(y, 10.0)
    return np.array([lo, -_INF, 1e-3]), np.array([hi, _INF, 5.0])


def _power_guess(t, y):
    _, end = _levels(y, 0.1)
    starts = []
    for alpha in (0.2, 0.5, 1.0, 2.0):
        basis = t ** (-alpha)
        # For fixed alpha the model is linear in (a, b): solve it exactly.
        b, a = np.polyfit(basis, y, 1)
        starts.append(np.array([np.clip(a, *_level_bounds(y, 9.0)), b, alpha]))
    starts.append(np.array([end, (y[0] - end) * t[0] ** 0.5, 0.5]))
    return starts


POWER = register_form(
    Form(
        name="power",
        func=_power,
        param_names=("a", "b", "alpha"),
        formula="a + b*t^(-alpha)",
        y_roles=("level", "scale", "shape"),
        bounds=_power_bounds,
        guess=_power_guess,
        needs_positive_t=True,
        description="scale-free approach to a with exponent alpha (a spectrum of timescales)",
    )
)


# continuous piecewise-linear in log t -------------------------------------------------
def piecewise_linear(k: int, name: str | None = None) -> Form:
    """Build a continuous piecewise-linear form in log t with ``k`` breakpoints.

    ``y = a + b*x + sum_i c_i * max(0, x - log_t_i)`` with ``x = log t``: slope
    ``b`` before the first change point, and slope changes ``c_i`` at each
    ``log_t_i``. The breakpoint positions are found by a grid search (the form is
    linear for fixed breakpoints) before the joint nonlinear fit.

    Args:
        k: number of breakpoints (>= 1).
        name: registry name; defaults to ``f"piecewise{k}"``.

    Returns:
        The (unregistered) form; pass it to ``register_form`` to use it by name.
    """
    k = check_count("k (breakpoints)", k, minimum=1)
    names = ("a", "b") + tuple(
        itertools.chain.from_iterable((f"c{i + 1}", f"log_t{i + 1}") for i in range(k))
    )

    def func(t, *p):
        x = np.log(t)
        y = p[0] + p[1] * x
        for i in range(k):
            y = y + p[2 + 2 * i] * np.maximum(0.0, x - p[3 + 2 * i])
        return y

    def bounds(t, y):
        x, L = _log_span(t)
        lo = [-_INF, -_INF] + [-_INF, x[0] + 0.02 * L] * k
        hi = [_INF, _INF] + [_INF, x[-1] - 0.02 * L] * k
        return np.array(lo), np.array(hi)

    def design(x, knots):
        return np.column_stack([np.ones_like(x), x] + [np.maximum(0.0, x - z) for z in knots])

    def guess(t, y):
        x, L = _log_span(t)
        grid = np.linspace(x[0] + 0.05 * L, x[-1] - 0.05 * L, 24 if k <= 2 else 10)
        scored = []
        for knots in itertools.combinations(grid, k):
            X = design(x, knots)
            coef, *_ = np.linalg.lstsq(X, y, rcond=None)
            scored.append((float(np.sum((X @ coef - y) ** 2)), knots, coef))
        scored.sort(key=lambda s: s[0])
        starts = []
        for _, knots, coef in scored[:3]:
            p = [coef[0], coef[1]]
            for i in range(k):
                p += [coef[2 + i], knots[i]]
            starts.append(np.array(p))
        return starts

    def canon(p):
        p = np.asarray(p, dtype=float).copy()
        pairs = sorted(zip(p[2::2], p[3::2]), key=lambda cz: cz[1])
        for i, (c, z) in enumerate(pairs):
            p[2 + 2 * i], p[3 + 2 * i] = c, z
        return p

    return Form(
        name=name or f"piecewise{k}",
        func=func,
        param_names=names,
        formula="a + b*log t + sum_i c_i*max(0, log t - log_t_i)",
        y_roles=("level", "scale") + ("scale", "shape") * k,
        bounds=bounds,
        guess=guess,
        canonicalize=canon,
        needs_positive_t=True,
        description=f"continuous piecewise-linear in log-time with {k} change point(s)",
    )


PIECEWISE1 = register_form(piecewise_linear(1))
PIECEWISE2 = register_form(piecewise_linear(2))
PIECEWISE3 = register_form(piecewise_linear(3))

DEFAULT_FORMS: tuple[str, ...] = (
    "constant",
    "linear",
    "exp",
    "logistic",
    "logistic_log",
    "double_logistic",
    "power",
    "piecewise1",
    "piecewise2",
)
"""The forms ``compare`` tries when none are named."""
