"""Does a tracked curve signal the moment an agent's goal changes? Scoring detectors of a switch.

A goal switch with known timing (the environment or the reward changes at env step
``switch``) is followed, some time later, by a *behavioural switch*: the step at which a
behaviour curve (e.g. P(cheese | decision square)) crosses halfway from its level at the
switch to its final level (:func:`crossing_time`, with a parametric-bootstrap interval
from the curve's standard errors in :func:`behaviour_switch`). A detector is any tracked
curve; its shifts are :func:`devrl.forms.level_shifts` of it (a piecewise-constant fit).

Scoring (:func:`score_switch_detector`) works in *linear* env steps with a stated
tolerance: a shift within ``tol`` steps of the behavioural switch detects it. Since
:func:`devrl.stats.score_shifts` matches in log-time, times are passed to it as
u = exp(step / tol), so a factor e in u is exactly ``tol`` steps. Within the window around
the switch it reports recall and precision against the nulls of randomly placed shifts
(random gaps, gaps in proportion to their width, circular shifts) and of time-permuted
curves (:func:`devrl.stats.permutation_null`), and the lag of the nearest shift with a
bootstrap interval over seeds. Before the window it counts false alarms and whether the
detector fires at the first learning transition (a detector of every change is no
detector of a goal change); at the switch itself it counts alarms at the optimizer
restart, which a no-switch control run has too. :func:`restart_response` measures the
size of a curve's reaction to the switch instead of its timing, to compare with the control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from devrl.forms.changes import level_shifts

__all__ = [
    "SwitchCurve",
    "behaviour_switch",
    "crossing_time",
    "restart_response",
    "score_switch_detector",
    "stitch",
    "switch_seed_shifts",
    "switch_shifts",
]

MAX_EXPONENT = 300.0
"""exp(step / tol) must stay far below float64's overflow (e^709) for geometric means."""


def stitch(before: pd.DataFrame, after: pd.DataFrame, switch: int) -> pd.DataFrame:
    """One tidy track of a run and its fine-tuned continuation, on one env-step axis.

    Args:
        before: tidy track (``step``, ``measure``, ``value``, ...) of the run before the switch.
        after: tidy track of the run fine-tuned from ``before``'s checkpoint at ``switch``;
            its steps count from 0, and its step 0 (the parent's weights) is dropped.
        switch: the parent's checkpoint the continuation starts from.

    Returns:
        ``before`` (steps <= switch) then ``after`` (steps > 0, shifted by ``switch``), with a
        column ``phase``: ``"before"`` or ``"after"``.
    """
    if switch not in set(before["step"]):
        raise ValueError(f"switch={switch} is not a step of the track before the switch.")
    a = before[before["step"] <= switch].assign(phase="before")
    b = after[after["step"] > 0].assign(phase="after")
    b = b.assign(step=b["step"] + int(switch))
    return pd.concat([a, b], ignore_index=True)


def restart_response(steps, y, *, at: float, window: float) -> float:
    """How far a curve moves right after ``at``: the largest |y(t) - y(at)| for t in
    (at, at + window], where y(at) is the last finite value at or before ``at``.

    A size, not a time: a detector that reacts to every optimizer restart reacts in a
    no-switch control too, but it may react *more* when the goal changes. NaN when the curve
    has no finite value before or inside the window."""
    t, v = np.asarray(steps, dtype=float), np.asarray(y, dtype=float)
    if t.shape != v.shape:
        raise ValueError(f"steps and y need one shape, got {t.shape} and {v.shape}.")
    if window <= 0:
        raise ValueError(f"window must be > 0, got {window}.")
    ok = np.isfinite(v)
    before = ok & (t <= at)
    inside = ok & (t > at) & (t <= at + window)
    if not before.any() or not inside.any():
        return float("nan")
    origin = v[before][np.argmax(t[before])]
    return float(np.max(np.abs(v[inside] - origin)))


def crossing_time(t, y, *, start: float, tail: int = 3) -> float:
    """First time after ``start`` at which ``y`` crosses halfway to its final level.

    The level at ``start`` is ``y`` at the last point with ``t <= start``; the final level
    is the mean of the last ``tail`` points. The crossing is interpolated linearly between
    the two points that straddle the midpoint. NaN if the curve never crosses it.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t.ndim != 1 or t.shape != y.shape or np.any(np.diff(t) <= 0):
        raise ValueError("t and y must be 1-d of one length, t strictly increasing.")
    before = np.flatnonzero(t <= start)
    if before.size == 0 or before[-1] >= t.size - 1:
        raise ValueError("need points at or before start and after it.")
    i0 = int(before[-1])
    y0, y1 = y[i0], float(np.mean(y[-tail:]))
    mid, sign = 0.5 * (y0 + y1), np.sign(y1 - y0)
    if sign == 0:
        return float("nan")
    past = sign * (y[i0:] - mid) >= 0  # past[0] is False: y0 lies short of the midpoint
    if not past.any():
        return float("nan")
    k = i0 + int(np.argmax(past))
    frac = (mid - y[k - 1]) / (y[k] - y[k - 1])
    return float(t[k - 1] + frac * (t[k] - t[k - 1]))


def behaviour_switch(
    t,
    y,
    se,
    *,
    start: float,
    min_change: float = 0.1,
    tail: int = 3,
    draws: int = 999,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``(time, low, high)`` of the behavioural switch after ``start`` (:func:`crossing_time`).

    The interval redraws every point as y + N(0, se) (independent across checkpoints,
    which ignores common random numbers and so errs wide) and takes percentiles of the
    redrawn crossings. All NaN when the behaviour changes by less than ``min_change``
    between ``start`` and the end (no switch happened).
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    se = np.nan_to_num(np.asarray(se, dtype=float), nan=0.0)
    i0 = int(np.flatnonzero(t <= start)[-1])
    if abs(np.mean(y[-tail:]) - y[i0]) < min_change:
        return (float("nan"),) * 3
    est = crossing_time(t, y, start=start, tail=tail)
    rng = np.random.default_rng(seed)
    redrawn = [
        crossing_time(t, y + se * rng.standard_normal(y.size), start=start, tail=tail)
        for _ in range(draws)
    ]
    redrawn = np.asarray(redrawn)[np.isfinite(redrawn)]
    if redrawn.size < 2:
        return est, float("nan"), float("nan")
    lo, hi = np.quantile(redrawn, [(1 - level) / 2, (1 + level) / 2])
    return est, float(lo), float(hi)


@dataclass(frozen=True)
class SwitchCurve:
    """One seed's detector curve around a goal switch, with its reference times (env steps).

    Attributes:
        steps: checkpoint env steps, increasing.
        y: the detector's value at each.
        switch: the step at which the goal (environment or reward) changed.
        behaviour: the behavioural switch (NaN: none happened, e.g. a control run).
        window: steps >= window are "around the switch"; earlier ones are "elsewhere".
        learning: the first learning transition (NaN: unknown).
    """

    steps: np.ndarray
    y: np.ndarray
    switch: float
    behaviour: float
    window: float
    learning: float = float("nan")


def switch_shifts(steps, y, *, tol: float, penalty: float = 3.0) -> np.ndarray:
    """Shift steps of :func:`~devrl.forms.level_shifts` on ``y``, each at the midpoint of a gap."""
    steps, y = np.asarray(steps, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(y)
    steps, y = steps[keep], y[keep]
    if y.size < 4:
        return np.zeros(0)
    u = _u(steps, steps[0], tol)
    return steps[0] + tol * np.log(level_shifts(u, y, penalty=penalty))


def _u(steps, origin: float, tol: float) -> np.ndarray:
    x = (np.asarray(steps, dtype=float) - origin) / tol
    if np.any(x > MAX_EXPONENT) or np.any(x < -MAX_EXPONENT):
        raise ValueError(
            f"steps span {np.ptp(steps):.0f}, over {MAX_EXPONENT:.0f} tolerances of {tol}: "
            "use a larger tol or a shorter window."
        )
    return np.exp(x)


def _gap_means(steps, shifts, origin: float, tol: float) -> np.ndarray:
    """The shifts in u = exp((step − origin)/tol), exactly the geometric means of their gaps'
    ends (as :func:`devrl.stats.score_shifts` checks), not their rounded exp."""
    steps = np.asarray(steps, dtype=float)
    u = _u(steps, origin, tol)
    mids = 0.5 * (steps[:-1] + steps[1:])
    idx = np.abs(mids[None, :] - np.asarray(shifts, dtype=float)[:, None]).argmin(axis=1)
    return np.sqrt(u[idx] * u[idx + 1])


def _near(shifts: np.ndarray, at: float, tol: float) -> np.ndarray:
    return np.abs(shifts - at) <= tol if np.isfinite(at) else np.zeros(shifts.size, bool)


def _split(curves: Sequence[SwitchCurve]) -> tuple[list, list]:
    """Each curve's finite points (steps, y, curve) inside its window and before it."""
    windows, elsewhere = [], []
    for c in curves:
        steps, y = np.asarray(c.steps, dtype=float), np.asarray(c.y, dtype=float)
        steps, y = steps[np.isfinite(y)], y[np.isfinite(y)]
        inside = steps >= c.window
        windows.append((steps[inside], y[inside], c))
        elsewhere.append((steps[~inside], y[~inside], c))
    return windows, elsewhere


def _seed_shifts(scored: list, tol: float) -> list:
    from devrl.stats import SeedShifts

    return [
        SeedShifts(_u(s, s[0], tol), _gap_means(s, sh, s[0], tol), _u([c.behaviour], s[0], tol))
        for s, _, c, sh in scored
    ]


def switch_seed_shifts(curves: Sequence[SwitchCurve], *, tol: float, penalty: float = 3.0) -> list:
    """The window of every seed with a behavioural switch as :class:`devrl.stats.SeedShifts`
    in u = exp((step − window start) / tol), so ``tol=1`` matches within ``tol`` env steps:
    what :func:`score_switch_detector` scores, for :func:`devrl.stats.f1_difference`
    (two detectors on the same seeds)."""
    windows, _ = _split(curves)
    scored = [
        (s, y, c, switch_shifts(s, y, tol=tol, penalty=penalty))
        for s, y, c in windows
        if np.isfinite(c.behaviour)
    ]
    return _seed_shifts(scored, tol)


def score_switch_detector(
    curves: Sequence[SwitchCurve],
    *,
    tol: float,
    penalty: float = 3.0,
    n_null: int = 999,
    n_permutations: int = 199,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, float]:
    """Recall, precision, nulls, lag and false alarms of one detector over seeds.

    Args:
        curves: one :class:`SwitchCurve` per seed (all of one switch direction).
        tol: matching tolerance in env steps.
        penalty: :func:`~devrl.forms.level_shifts`' shift penalty.
        n_null: draws of :func:`devrl.stats.score_shifts`' nulls.
        n_permutations: time permutations of :func:`devrl.stats.permutation_null` (0: skip).
        level: level of every interval.
        seed: seeds the nulls and bootstraps.

    Returns:
        A flat row: ``recall``/``precision`` with ``lo``/``hi`` and the nulls' values and
        p-values (seeds with a behavioural switch only; NaN if none has one), ``lag`` (mean
        env steps from the behavioural switch to the nearest matching shift) with its
        interval, ``restart alarms`` (share of seeds with a shift within ``tol`` of the goal
        change), ``learning alarms`` (share of seeds with a shift within ``tol`` of the first
        learning transition, before the window), ``false alarms`` (mean shifts per seed
        before the window and away from the learning transition) and ``seeds``.
    """
    from devrl.stats import bootstrap_ci, permutation_null, ratio_ci, score_shifts

    if not curves:
        raise ValueError("curves is empty: score_switch_detector needs at least one seed.")
    if not tol > 0:
        raise ValueError(f"tol must be > 0 env steps, got {tol}.")
    row: dict[str, float] = {"seeds": len(curves)}
    windows, elsewhere = _split(curves)
    shifts_in = [switch_shifts(s, y, tol=tol, penalty=penalty) for s, y, _ in windows]
    scored = [
        (s, y, c, sh)
        for (s, y, c), sh in zip(windows, shifts_in, strict=True)
        if np.isfinite(c.behaviour)
    ]
    keys = ("recall", "recall lo", "recall hi", "precision", "precision lo", "precision hi")
    row |= dict.fromkeys(keys, float("nan"))
    if scored:
        origin = [s[0] for s, *_ in scored]
        seeds = _seed_shifts(scored, tol)
        score = score_shifts(seeds, tol=1.0, n_null=n_null, level=level, seed=seed)
        row |= score.as_row()
        curves_u = [(_u(s, o, tol), y) for (s, y, *_), o in zip(scored, origin, strict=True)]
        taus = [_u([c.behaviour], o, tol) for (_, _, c, _), o in zip(scored, origin, strict=True)]
        if n_permutations > 0:
            _, _, p = permutation_null(
                curves_u,
                taus,
                lambda u, v: level_shifts(u, v, penalty=penalty),
                tol=1.0,
                n_null=n_permutations,
                seed=seed,
            )
            row |= {"p (permutation)": p}
        lags = []
        for _, _, c, sh in scored:
            near = sh[_near(sh, c.behaviour, tol)]
            if near.size:
                lags.append(float(near[np.argmin(np.abs(near - c.behaviour))] - c.behaviour))
        lag = bootstrap_ci(lags, level=level, seed=seed)
        row |= {"lag": lag.estimate, "lag lo": lag.low, "lag hi": lag.high, "lags": len(lags)}
    restart = [int(_near(sh, c.switch, tol).any()) for (_, _, c), sh in zip(windows, shifts_in)]
    r = ratio_ci(restart, [1] * len(restart), level=level, seed=seed)
    row |= {"restart alarms": r.estimate, "restart lo": r.low, "restart hi": r.high}
    learned, false = [], []
    for s, y, c in elsewhere:
        sh = switch_shifts(s, y, tol=tol, penalty=penalty)
        at = _near(sh, c.learning, tol)
        if np.isfinite(c.learning):
            learned.append(int(at.any()))
        false.append(float((~at).sum()))
    if learned:
        r = ratio_ci(learned, [1] * len(learned), level=level, seed=seed)
        row |= {"learning alarms": r.estimate, "learning lo": r.low, "learning hi": r.high}
    fa = bootstrap_ci(false, level=level, seed=seed)
    return row | {"false alarms": fa.estimate, "false lo": fa.low, "false hi": fa.high}
