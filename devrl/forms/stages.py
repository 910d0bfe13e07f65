"""Developmental stages from a curve: boundaries where the curve stops changing.

After Hoogland et al. ("The developmental landscape of in-context learning"):
smooth the curve in log-time and put stage boundaries at its critical points,
the points where the derivative vanishes (a peak or trough, where the curve
turns) or nearly vanishes (a plateau between two transitions in the same
direction). Concretely: each transition is a significant peak of |dy/dlog t|;
between two consecutive transitions the boundary is the zero crossing of the
derivative if it changes sign, else the centre of the plateau (where
|dy/dlog t| < 30% of the smaller peak). The change-point alternative fits continuous
piecewise-linear curves in log-time and picks the number of breakpoints by BIC;
its boundaries are changes of slope (the start and end of transitions), which
answers a different question and is reported as such. The level-shift method
(:func:`devrl.forms.level_shifts`) fits piecewise-constant levels instead, for curves
that jump between plateaus.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

from devrl.forms._problem import check_count, check_curve, check_number
from devrl.forms.changes import level_shifts
from devrl.forms.fitting import fit, information
from devrl.forms.library import piecewise_linear

STAGE_COLUMNS = ["stage", "start", "end", "y_start", "y_end", "delta", "type"]


def smooth_log_time(t, y, *, bandwidth: float | None = None, grid_size: int = 400):
    """Local-linear Gaussian-kernel smoother in log-time.

    Args:
        t, y: the curve (t > 0, strictly increasing).
        bandwidth: kernel standard deviation in units of log t; default 5% of the
            log-time span (about three checkpoints for 64 log-spaced ones).
        grid_size: number of evaluation points, evenly spaced in log t.

    Returns:
        ``(x_grid, y_smooth, dy_dx)`` with ``x = log t``.
    """
    x = np.log(t)
    span = x[-1] - x[0]
    h = 0.05 * span if bandwidth is None else float(bandwidth)
    if not h > 0:  # NaN fails too
        raise ValueError(f"bandwidth must be > 0 (in log-time units), got {bandwidth}.")
    grid_size = check_count("grid_size", grid_size, minimum=2)
    g = np.linspace(x[0], x[-1], grid_size)
    d = x[None, :] - g[:, None]  # [grid, n]
    w = np.exp(-0.5 * (d / h) ** 2)
    s0, s1, s2 = w.sum(1), (w * d).sum(1), (w * d * d).sum(1)
    t0, t1 = (w * y).sum(1), (w * d * y).sum(1)
    det = s0 * s2 - s1**2
    slope = (s0 * t1 - s1 * t0) / det
    level = (s2 * t0 - s1 * t1) / det
    return g, level, slope


def detect_stages(
    t,
    y,
    *,
    method: str = "critical",
    bandwidth: float | None = None,
    min_change: float = 0.2,
    max_breakpoints: int = 4,
    noise: float | None = None,
) -> pd.DataFrame:
    """Split a curve into developmental stages.

    Args:
        t: training steps (> 0, strictly increasing; log-time is used).
        y: the tracked quantity (e.g. LLC, loss).
        method: ``"critical"`` (critical points of the smoothed curve, after
            Hoogland et al.), ``"changepoint"`` (piecewise-linear fit in log t) or
            ``"levels"`` (piecewise-constant levels, :func:`devrl.forms.level_shifts`).
        bandwidth: smoothing bandwidth in log-time units (critical method).
        min_change: a stage must change y by at least this fraction of the
            curve's range; smaller stages are merged into a neighbour (critical)
            and weaker transitions ignored.
        max_breakpoints: most breakpoints tried by the change-point method.
        noise: per-point σ for the levels method (default: robust estimate).

    Returns:
        DataFrame with one row per stage: ``stage, start, end`` (steps), ``y_start,
        y_end`` (smoothed, or fitted, values), ``delta = y_end - y_start``, and
        ``type`` ("rising" or "falling").
    """
    t, y, _, _ = check_curve(t, y, what="detect_stages")
    if np.any(t <= 0):
        raise ValueError(
            "detect_stages works in log-time and needs every t > 0; "
            "shift the steps, e.g. t = step + 1."
        )
    if t.size < 8:
        raise ValueError(f"detect_stages needs at least 8 points, got {t.size}.")
    check_number("min_change", min_change, 0.0, 1.0)
    max_breakpoints = check_count("max_breakpoints", max_breakpoints, minimum=1)
    if method == "critical":
        return _critical(t, y, bandwidth, min_change)
    if method == "changepoint":
        return _changepoint(t, y, max_breakpoints)
    if method == "levels":
        return _levels(t, y, noise, min_change)
    raise ValueError(f"method must be 'critical', 'changepoint' or 'levels', got {method!r}.")


def _critical(t, y, bandwidth, min_change) -> pd.DataFrame:
    g, ys, d = smooth_log_time(t, y, bandwidth=bandwidth)
    mag = np.abs(d)
    rng = float(np.ptp(ys)) or 1.0
    padded = np.concatenate([[0.0], mag, [0.0]])  # transitions at the edges count too
    peaks, _ = find_peaks(padded, prominence=min_change * mag.max())
    peaks = peaks - 1
    cuts = [_boundary(d[a : b + 1]) + int(a) for a, b in itertools.pairwise(peaks)]
    while cuts:
        idx = [0] + cuts + [g.size - 1]
        deltas = np.abs(np.diff(ys[idx]))
        i = int(np.argmin(deltas))
        if deltas[i] >= min_change * rng:
            break
        # Merge the weak stage into its weaker neighbour by removing their shared boundary.
        if i == 0:
            drop = 0
        elif i == len(deltas) - 1:
            drop = len(cuts) - 1
        else:
            drop = i - 1 if deltas[i - 1] <= deltas[i + 1] else i
        cuts.pop(drop)
    idx = [0] + cuts + [g.size - 1]
    return _table(np.exp(g[idx]), ys[idx])


def _boundary(d: np.ndarray, flat: float = 0.3) -> int:
    """Index of the critical point between two transitions (``d`` runs peak to peak).

    Where the derivative changes sign (a peak or trough of the curve) that is the
    zero crossing nearest the smallest |d|. Where it does not (a plateau between
    transitions in the same direction) |d| is near zero over a whole interval and
    its argmin is set by noise, so the boundary is the centre of the plateau: the
    midpoint of the stretch where |d| stays below ``flat`` times the smaller peak (high enough
    that noise in the derivative barely moves the stretch's ends).
    """
    mag = np.abs(d)
    sign_change = np.flatnonzero(np.signbit(d[:-1]) != np.signbit(d[1:]))
    if sign_change.size:
        i_min = int(np.argmin(mag))
        return int(sign_change[np.argmin(np.abs(sign_change - i_min))])
    low = np.flatnonzero(mag <= flat * min(mag[0], mag[-1]))
    if low.size == 0:
        return int(np.argmin(mag))
    return round(0.5 * (low[0] + low[-1]))


def _changepoint(t, y, max_breakpoints) -> pd.DataFrame:
    x = np.log(t)
    base = np.polyfit(x, y, 1)
    n = y.size
    best_bic = information(float(np.sum((np.polyval(base, x) - y) ** 2)), n, 2, None)[4]
    best = None
    for k in range(1, max_breakpoints + 1):
        if n < 2 * k + 5:
            break
        try:
            res = fit(t, y, piecewise_linear(k), ci="none")
        except ValueError:
            continue
        if res.bic < best_bic:
            best_bic, best = res.bic, res
    if best is None:
        yk = np.polyval(base, x[[0, -1]])
        return _table(t[[0, -1]], yk)
    knots = np.sort(
        np.array([best.params[f"log_t{i + 1}"] for i in range((best.theta.size - 2) // 2)])
    )
    edges = np.concatenate([[t[0]], np.exp(knots), [t[-1]]])
    return _table(edges, best.predict(edges))


def _levels(t, y, noise, min_change) -> pd.DataFrame:
    shifts = level_shifts(t, y, noise=noise, min_shift=min_change * (float(np.ptp(y)) or 1.0))
    cut = np.searchsorted(t, shifts)
    bounds = [0, *cut.tolist(), t.size]
    means = np.array([y[a:b].mean() for a, b in itertools.pairwise(bounds)])
    edges = np.concatenate([[t[0]], shifts, [t[-1]]])
    table = _table(edges, np.r_[means, means[-1]])
    # Levels: a stage's y_start and y_end are its own level, delta the jump into the next.
    table["y_start"] = means
    table["y_end"] = means
    table["delta"] = np.r_[np.diff(means), 0.0]
    table["type"] = np.where(table["delta"] >= 0, "rising", "falling")
    return table


def _table(edges: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    delta = np.diff(values)
    return pd.DataFrame(
        {
            "stage": np.arange(1, edges.size),
            "start": edges[:-1],
            "end": edges[1:],
            "y_start": values[:-1],
            "y_end": values[1:],
            "delta": delta,
            "type": np.where(delta >= 0, "rising", "falling"),
        },
        columns=STAGE_COLUMNS,
    )


def stage_boundaries(stages: pd.DataFrame) -> np.ndarray:
    """Interior boundaries (steps) of a stages table: every stage start but the first."""
    return stages["start"].to_numpy()[1:]
