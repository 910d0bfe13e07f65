"""Input checks and the bounded least-squares problem shared by fit, intervals and stages.

Everything a user can get wrong is caught here and reported as a ``ValueError``
(or its subclass :class:`FitError` for fits that fail) naming the form, what was
wrong and how to fix it, so no scipy traceback reaches the user.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.optimize import least_squares

from devrl._config import check_range
from devrl.forms.registry import Form


class FitError(ValueError):
    """A form could not be fitted (non-convergence, non-finite model values, ...)."""


class ColumnError(KeyError, ValueError):
    """A table lacks a column the call names (a KeyError for lookups, a ValueError as input)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def check_columns(frame, columns, what: str) -> None:
    """Raise :class:`ColumnError` naming ``what`` unless ``frame`` has every column."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ColumnError(f"{what}: columns {missing} not in the table {list(frame.columns)}.")


def check_curve(t, y, sigma=None, groups=None, *, what: str = "fit") -> tuple:
    """Validate and convert ``t, y, sigma, groups`` to float arrays (groups: object array).

    Without ``groups``, ``t`` must be strictly increasing; with ``groups`` (one
    curve per seed stacked together), it must be strictly increasing within each group.
    """
    t = _real_array("t", t, what)
    y = _real_array("y", y, what)
    if t.shape != y.shape:
        raise ValueError(f"{what}: t and y must have the same length, got {t.size} and {y.size}.")
    bad = ~np.isfinite(t) | ~np.isfinite(y)
    if bad.any():
        raise ValueError(
            f"{what}: {int(bad.sum())} of {t.size} points have NaN or infinite t or y; "
            "drop them first (e.g. df.dropna(subset=[x, y]))."
        )
    if sigma is not None:
        sigma = _real_array("sigma", sigma, what)
        if sigma.size not in (1, t.size):
            raise ValueError(
                f"{what}: sigma must be one number or one per point ({t.size}), got {sigma.size}."
            )
        sigma = np.broadcast_to(sigma, t.shape).copy()
        if not np.all(np.isfinite(sigma) & (sigma > 0)):
            raise ValueError(
                f"{what}: sigma (per-point standard errors) must be finite and > 0 everywhere; "
                "drop points with zero or missing standard errors or pass sigma=None."
            )
    if groups is not None:
        groups = np.asarray(groups, dtype=object).ravel()
        if groups.shape != t.shape:
            raise ValueError(f"{what}: groups must have one label per point ({t.size}).")
        for g in dict.fromkeys(groups):
            tg = t[groups == g]
            if np.any(np.diff(tg) <= 0):
                raise ValueError(
                    f"{what}: t must be strictly increasing within each group; group {g!r} is "
                    "not. Sort each seed's rows by step and drop duplicate steps."
                )
    elif np.any(np.diff(t) <= 0):
        i = int(np.argmax(np.diff(t) <= 0))
        raise ValueError(
            f"{what}: t must be strictly increasing (t[{i}]={t[i]:g} >= t[{i + 1}]={t[i + 1]:g}); "
            "sort by t and drop duplicates, or pass groups= for several seeds stacked together."
        )
    if t.size and np.ptp(y) == 0:
        raise ValueError(
            f"{what}: y is constant (every value is {y[0]:g}); there is nothing to fit. "
            "Check that you passed the right column."
        )
    return t, y, sigma, groups


def _real_array(name: str, values, what: str) -> np.ndarray:
    """``values`` as a flat float array; complex, text or ragged input is refused, not truncated."""
    arr = np.asarray(values)
    if np.iscomplexobj(arr):
        raise TypeError(
            f"{what}: {name} must be real numbers, got complex values; pass .real or abs() "
            "explicitly if that is what you mean."
        )
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise TypeError(
                f"{what}: {name} must be numbers, got an array of {arr.dtype} "
                f"(e.g. {arr.ravel()[:1].tolist()}); convert the column with pd.to_numeric."
            ) from None
    return arr.astype(float).ravel()


def check_level(level) -> float:
    """A confidence level strictly between 0 and 1 (e.g. 0.95), as a float."""
    return check_number("level", level, 0.0, 1.0, low_open=True, high_open=True)


def check_number(name: str, value, low=None, high=None, **open_ends) -> float:
    """A real number (numpy scalars too; not a bool, not NaN) within the bounds, as a float.

    ``open_ends``: ``low_open`` / ``high_open`` as in :func:`devrl._config.check_range`.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
    check_range(name, value, low, high, **open_ends)
    return value


def check_count(name: str, value, *, minimum: int) -> int:
    """An integer (not a bool or a float) of at least ``minimum``, as an int."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    check_range(name, value, minimum, None, integer=True)
    return value


def check_form_data(form: Form, t: np.ndarray, *, known_sigma: bool) -> None:
    """Check the data has enough points and a valid time range for ``form``."""
    need = form.n_params + (2 if known_sigma else 3)
    if t.size < need:
        raise ValueError(
            f"form {form.name!r} has {form.n_params} parameters and needs at least {need} points "
            f"(for a finite AICc), got {t.size}; use a simpler form or more checkpoints."
        )
    if form.needs_positive_t and np.any(t <= 0):
        raise ValueError(
            f"form {form.name!r} uses log t and needs every t > 0 (min t = {t.min():g}); "
            "shift the steps, e.g. t = step + 1."
        )


class Problem:
    """Weighted bounded least squares for one form on one data set."""

    def __init__(self, form: Form, t, y, sigma=None, bounds_data=None):
        self.form, self.t, self.y = form, t, y
        self.w = 1.0 / sigma if sigma is not None else np.ones_like(y)
        # Bounds from the sorted, pooled data so they do not depend on group order.
        order = np.argsort(t, kind="stable")
        bt, by = bounds_data if bounds_data is not None else (t[order], y[order])
        lo, hi = form.bounds(bt, by)
        self.lo, self.hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        self.guess_data = (bt, by)

    def resid(self, p: np.ndarray) -> np.ndarray:
        return (self.form.func(self.t, *p) - self.y) * self.w

    def clip(self, p: np.ndarray) -> np.ndarray:
        span = np.where(np.isfinite(self.hi - self.lo), self.hi - self.lo, 1.0)
        return np.clip(p, self.lo + 1e-9 * span, self.hi - 1e-9 * span)

    def cost(self, p: np.ndarray) -> float:
        r = self.resid(p)
        return float(r @ r)

    def fit(self, starts, max_nfev: int | None = None):
        """Fit from every start; return the best ``least_squares`` result.

        Raises:
            FitError: when no start gives a finite, converged fit.
        """
        best, reasons = None, []
        max_nfev = max_nfev or 150 * (self.lo.size + 1)
        for p0 in starts:
            p0 = self.clip(np.asarray(p0, dtype=float))
            try:
                with np.errstate(all="ignore"):
                    if not np.all(np.isfinite(self.resid(p0))):
                        reasons.append("non-finite model values at the starting point")
                        continue
                    res = least_squares(
                        self.resid,
                        p0,
                        bounds=(self.lo, self.hi),
                        method="trf",
                        x_scale="jac",
                        max_nfev=max_nfev,
                        ftol=1e-10,
                        xtol=1e-10,
                    )
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as err:
                reasons.append(str(err))
                continue
            if not np.all(np.isfinite(res.fun)):
                reasons.append("non-finite residuals at the optimum")
                continue
            if res.status <= 0:
                reasons.append(f"no convergence within {max_nfev} evaluations")
                continue
            if best is None or res.cost < best.cost:
                best = res
        if best is None:
            why = "; ".join(sorted(set(reasons))) or "no starting points"
            raise FitError(f"form {self.form.name!r} failed to fit: {why}.")
        return best

    def fit_fixed(self, j: int, value: float, p0: np.ndarray):
        """Minimise the cost with parameter ``j`` held at ``value``; returns (cost, params)."""
        free = np.arange(self.lo.size) != j
        full = np.asarray(p0, dtype=float).copy()
        full[j] = value

        def r(q):
            full[free] = q
            return self.resid(full)

        if not free.any():
            return self.cost(full), full
        q0 = self.clip(full)[free]
        with np.errstate(all="ignore"):
            res = least_squares(
                r,
                q0,
                bounds=(self.lo[free], self.hi[free]),
                method="trf",
                x_scale="jac",
                max_nfev=500,
            )
        out = full.copy()
        out[free] = res.x
        return float(2.0 * res.cost), out
