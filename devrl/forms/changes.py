"""Level shifts in a curve, and how well they find known transitions.

Curves with plateaus (a loss stepping down between k-gon critical points, an LLC stepping up)
are piecewise *constant* with fast jumps, which a continuous piecewise-linear fit in log-time
(:func:`devrl.forms.detect_stages` with ``method="changepoint"``) describes poorly: it spends
its few breakpoints on the slow early descent. :func:`level_shifts` instead segments the curve
into constant levels by optimal partitioning (Jackson et al. 2005): minimise
Σ_segments Σ_i (y_i − ȳ_seg)²/σ_i² + (number of shifts)·penalty·ln n, a BIC-type cost of
a Gaussian mean-shift model, solved exactly by dynamic programming. The default penalty 3 is
stiffer than BIC's 2 (a shift's location is not a regular parameter, cf. Zhang & Siegmund's
modified BIC): on 100 points of pure noise it reports a shift in 2% of curves (12% at 2). Shifts smaller than
``min_shift`` are merged away afterwards. :func:`match_transitions` scores detected shifts
against reference transition times in log-time (detection rate, false alarms, lag).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from devrl.forms._problem import check_columns, check_count, check_curve, check_number

__all__ = [
    "change_lags",
    "level_shifts",
    "match_transitions",
    "robust_noise",
    "steepest_change",
    "step_across",
]


def robust_noise(y) -> float:
    """Point-to-point noise σ of a curve: MAD of first differences / (0.6745·√2).

    Differences cancel slow trends and plateaus; the MAD ignores the few large jumps.
    """
    d = np.diff(np.asarray(y, dtype=float))
    if d.size == 0:
        return 0.0
    return float(np.median(np.abs(d - np.median(d))) / (0.6745 * np.sqrt(2.0)))


def level_shifts(
    t,
    y,
    *,
    noise: float | Sequence[float] | None = None,
    penalty: float = 3.0,
    min_size: int = 2,
    min_shift: float = 0.0,
) -> np.ndarray:
    """Times of the shifts of a piecewise-constant fit to ``y(t)``.

    Args:
        t, y: the curve (t strictly increasing; any sign).
        noise: σ of each point (array) or of all points (scalar); default :func:`robust_noise`.
            Points are weighted by 1/σ², and a shift costs ``penalty · ln n`` in units of σ².
        penalty: per-shift cost factor, in units of σ²·ln n (see the module docstring).
        min_size: fewest points in a segment.
        min_shift: |difference| of adjacent segment means below which a shift is removed
            (weakest first, means recomputed after each merge).

    Returns:
        The shift times, each the geometric mean of the last point of a segment and the first
        of the next (arithmetic if t ≤ 0 somewhere), sorted.
    """
    t, y, _, _ = check_curve(t, y, what="level_shifts")
    n = y.size
    min_size = check_count("min_size", min_size, minimum=1)
    check_number("penalty", penalty, 0.0)
    check_number("min_shift", min_shift, 0.0)
    if noise is None:
        noise = robust_noise(y)
    sig = np.broadcast_to(np.asarray(noise, dtype=float), y.shape).copy()
    if np.any(~np.isfinite(sig)) or np.any(sig < 0):
        raise ValueError("noise must be finite and >= 0.")
    floor = 1e-9 * (float(np.ptp(y)) or 1.0)
    w = 1.0 / np.maximum(sig, floor) ** 2
    cw, cwy, cwy2 = (np.r_[0.0, np.cumsum(v)] for v in (w, w * y, w * y * y))
    cost_of_shift = penalty * np.log(max(n, 2))
    best = np.full(n + 1, np.inf)
    best[0] = -cost_of_shift
    prev = np.zeros(n + 1, dtype=int)
    for end in range(min_size, n + 1):
        starts = np.r_[0, np.arange(min_size, end - min_size + 1)]
        sw = cw[end] - cw[starts]
        sse = (cwy2[end] - cwy2[starts]) - (cwy[end] - cwy[starts]) ** 2 / sw
        total = best[starts] + np.maximum(sse, 0.0) + cost_of_shift
        i = int(np.argmin(total))
        best[end], prev[end] = total[i], starts[i]
    cuts, end = [], n
    while end > 0:
        end = int(prev[end])
        if end > 0:
            cuts.append(end)
    cuts.sort()
    while cuts and min_shift > 0:
        edges = [0, *cuts, n]
        means = np.array([np.average(y[a:b], weights=w[a:b]) for a, b in itertools.pairwise(edges)])
        gaps = np.abs(np.diff(means))
        weakest = int(np.argmin(gaps))
        if gaps[weakest] >= min_shift:
            break
        cuts.pop(weakest)
    idx = np.asarray(cuts, dtype=int)
    if np.all(t > 0):
        return np.sqrt(t[idx - 1] * t[idx])
    return 0.5 * (t[idx - 1] + t[idx])


def match_transitions(shifts, transitions, *, tol: float, log: bool = True) -> dict:
    """Score detected shifts against reference transition times of one curve.

    A transition is detected when some shift lies within ``tol`` of it (in log t when ``log``,
    i.e. within a factor e^tol, else in t); a shift near no transition is a false alarm.

    Returns:
        ``{"transitions", "detected", "shifts", "false_alarms", "lags"}``: counts, the number
        of transitions detected, and the signed distance t_shift − t_transition (in t) of the
        nearest shift for each detected transition (positive: the shift comes later).
    """
    s = np.sort(np.asarray(shifts, dtype=float).ravel())
    tau = np.asarray(transitions, dtype=float).ravel()
    if not tol >= 0:  # NaN fails too
        raise ValueError(f"tol must be >= 0, got {tol}.")
    if log and (np.any(s <= 0) or np.any(tau <= 0)):
        raise ValueError("log=True needs shift and transition times > 0.")
    f = np.log if log else (lambda v: v)
    lags: list[float] = []
    detected = 0
    for tr in tau:
        if s.size == 0:
            break
        d = np.abs(f(s) - f(tr))
        j = int(np.argmin(d))
        if d[j] <= tol:
            detected += 1
            lags.append(float(s[j] - tr))
    false = sum(1 for sh in s if tau.size == 0 or np.abs(f(tau) - f(sh)).min() > tol)
    return {
        "transitions": int(tau.size),
        "detected": detected,
        "shifts": int(s.size),
        "false_alarms": int(false),
        "lags": lags,
    }


def step_across(t, y, at: float, *, window: float = 0.5) -> float:
    """Size of the step of ``y`` across time ``at``: median after minus median before.

    "Before" is ``[at·e^−window, at)`` and "after" ``(at, at·e^window]`` (log-time windows, so
    the same rule works early and late in training); NaN if either window has no point.
    Medians make one outlying checkpoint (a diverged chain, a spike) harmless.
    """
    t, y, _, _ = check_curve(t, y, what="step_across")
    if not (at > 0 and window > 0) or np.any(t <= 0):  # NaN fails too
        raise ValueError("step_across works in log-time: needs at > 0, window > 0 and t > 0.")
    before = y[(t >= at * np.exp(-window)) & (t < at)]
    after = y[(t > at) & (t <= at * np.exp(window))]
    if before.size == 0 or after.size == 0:
        return float("nan")
    return float(np.median(after) - np.median(before))


def _moving_average3(y: np.ndarray) -> np.ndarray:
    """Centered 3-point moving average (the ends average with themselves)."""
    padded = np.concatenate([[y[0]], y, [y[-1]]])
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3


def steepest_change(
    t, y, *, sign: int = 0, log: bool = True, grid: int = 25
) -> tuple[float, float]:
    """Time and slope of the steepest change of a curve sampled at uneven times.

    Checkpoints are unevenly spaced (log-spaced union linear), so the curve is first
    interpolated onto ``grid`` even points, in log10 time (``log=True``, t = 0 dropped)
    or in time, then smoothed by a 3-point moving average; the steepest change is the
    grid interval of largest slope (``sign=+1``: largest increase, ``-1``: largest
    decrease, ``0``: largest absolute change). Coarse on purpose: a few noisy
    checkpoints cannot move it far.

    Args:
        t: Times (e.g. env steps), increasing.
        y: Values at ``t``.
        sign: Which change counts, see above.
        log: Work in log10 time.
        grid: Points of the even grid.

    Returns:
        ``(time at the middle of that interval, slope per grid unit)``.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if sign not in (-1, 0, 1) or grid < 3 or t.shape != y.shape:
        raise ValueError(
            f"need sign in (-1, 0, 1), grid >= 3 and t, y of one shape; got sign={sign}, "
            f"grid={grid}, shapes {t.shape} and {y.shape}."
        )
    keep = t > 0 if log else np.ones(len(t), bool)
    if keep.sum() < 2:
        raise ValueError(f"need at least two times{' > 0' if log else ''}; got {keep.sum()}.")
    x = np.log10(t[keep]) if log else t[keep]
    points = np.linspace(x.min(), x.max(), grid)
    smooth = _moving_average3(np.interp(points, x, y[keep]))
    slope = np.diff(smooth) / np.diff(points)
    i = int(np.argmax(sign * slope if sign else np.abs(slope)))
    mid = (points[i] + points[i + 1]) / 2
    return float(10**mid if log else mid), float(slope[i])


def change_lags(
    tracks: pd.DataFrame,
    reference: str,
    measures: Mapping[str, str],
    *,
    grid: int = 25,
    by: str = "seed",
) -> pd.DataFrame:
    """Per run: when ``reference`` rises fastest, when each measure changes fastest, the lag.

    On a tidy frame (columns ``by``, ``step``, ``measure``, ``value``), with
    :func:`steepest_change` on a log10 step axis and on a linear one.

    Args:
        tracks: Tidy frame of tracked measures.
        reference: Measure whose steepest *increase* is the reference time (e.g. "success").
        measures: Column label -> measure name (e.g. ``{"action": "llc-action"}``); their
            steepest change of either sign is timed.
        grid: Points of :func:`steepest_change`'s even grid.
        by: Column that tells runs apart.

    Returns:
        One row per run: ``<reference>_at`` (log axis) and ``<reference>_at_linear``; per
        label ``<label>_at``, ``<label>_lag`` (log10 steps after the reference; negative:
        first), ``<label>_at_linear``, ``<label>_lag_steps`` (steps), and ``<label>_rho``
        (Spearman correlation with the reference over checkpoints).
    """
    check_columns(tracks, [by, "step", "measure", "value"], "change_lags (by)")
    names = set(tracks["measure"])
    for arg, name in [("reference", reference), *(("measures", m) for m in measures.values())]:
        if name not in names:
            raise ValueError(f"change_lags: {arg} {name!r} is not a measure in tracks.")
    rows = []
    for key, df in tracks.groupby(by):
        wide = df.pivot_table(index="step", columns="measure", values="value").sort_index()
        steps = wide.index.to_numpy(float)
        ref = wide[reference].to_numpy()
        r_log, _ = steepest_change(steps, ref, sign=1, grid=grid)
        r_lin, _ = steepest_change(steps, ref, sign=1, log=False, grid=grid)
        row = {by: key, f"{reference}_at": r_log, f"{reference}_at_linear": r_lin}
        for label, name in measures.items():
            y = wide[name].to_numpy()
            at_log, _ = steepest_change(steps, y, grid=grid)
            at_lin, _ = steepest_change(steps, y, log=False, grid=grid)
            row[f"{label}_at"] = at_log
            row[f"{label}_lag"] = np.log10(at_log) - np.log10(r_log)
            row[f"{label}_at_linear"] = at_lin
            row[f"{label}_lag_steps"] = at_lin - r_lin
            row[f"{label}_rho"] = float(pd.Series(y).corr(pd.Series(ref), method="spearman"))
        rows.append(row)
    return pd.DataFrame(rows)
