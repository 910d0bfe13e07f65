"""When a behaviour first appears in training: the first checkpoint a tracked value crosses a level.

Why a crossing and not a fitted midpoint: "corner-seeking has appeared" is a statement
about a level (the agent reaches the corner before the cheese on most decision-square
levels), and some runs never get there (the crossing is then censored, not guessed).
The crossing is bracketed by the last checkpoint below the level and the first one at
or above it; ``persist`` asks the value to stay above for that many checkpoints, so one
noisy checkpoint does not count as an onset.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from devrl.forms._problem import check_columns, check_count


def onset_time(t, y, threshold: float, *, persist: int = 1) -> tuple[float, float, float]:
    """``(onset, low, high)``: when ``y`` first reaches ``threshold`` and stays for ``persist`` points.

    ``onset`` interpolates linearly in log10 time between the bracketing checkpoints
    (log-spaced checkpoints make log time the natural scale); ``low``/``high`` are the
    bracketing checkpoints (``low`` is NaN when the first checkpoint is already above).
    A curve that never crosses gives ``(nan, t[-1], inf)``: censored after the last
    checkpoint.

    Args:
        t: Checkpoint steps, increasing (> 0 for the interpolation).
        y: Values at ``t``.
        threshold: The level.
        persist: Consecutive checkpoints at or above the level that make an onset.
    """
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    if t.ndim != 1 or t.shape != y.shape or t.size == 0:
        raise ValueError(f"t and y must be 1-d of one length > 0, got {t.shape} and {y.shape}.")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be strictly increasing (sort the checkpoints first).")
    persist = check_count("persist", persist, minimum=1)
    above = y >= threshold
    for i in range(t.size - persist + 1):
        if above[i : i + persist].all():
            if i == 0:
                return float(t[0]), float("nan"), float(t[0])
            lo, hi = t[i - 1], t[i]
            frac = (threshold - y[i - 1]) / (y[i] - y[i - 1])
            if lo > 0:
                at = 10 ** (np.log10(lo) + frac * (np.log10(hi) - np.log10(lo)))
            else:
                at = lo + frac * (hi - lo)
            return float(at), float(lo), float(hi)
    return float("nan"), float(t[-1]), float("inf")


def onset_times(
    tracks: pd.DataFrame,
    measure: str,
    threshold: float,
    *,
    by: str = "run",
    keep: tuple[str, ...] = (),
    persist: int = 1,
) -> pd.DataFrame:
    """:func:`onset_time` of ``measure`` for each run of a tidy frame.

    Args:
        tracks: Tidy frame with ``by, step, measure, value`` (and the ``keep`` columns).
        measure: Which measure's curve.
        threshold, persist: As in :func:`onset_time`.
        by: Column that tells runs apart.
        keep: Columns constant within a run to carry along (seed, environment variables).

    Returns:
        One row per run: ``by``, ``keep``, ``onset``, ``onset_low``, ``onset_high``,
        ``censored`` (never crossed) and ``log10_onset``.
    """
    check_columns(tracks, [by, "step", "measure", "value", *keep], "onset_times")
    curves = tracks[tracks["measure"] == measure]
    if curves.empty:
        raise ValueError(f"onset_times: no rows of measure {measure!r}.")
    rows = []
    for key, g in curves.groupby(by, sort=True):
        g = g.dropna(subset=["value"]).sort_values("step")
        at, lo, hi = onset_time(g["step"], g["value"], threshold, persist=persist)
        rows.append(
            {by: key, **{c: g[c].iloc[0] for c in keep}}
            | {"onset": at, "onset_low": lo, "onset_high": hi, "censored": bool(np.isnan(at))}
        )
    out = pd.DataFrame(rows)
    out["log10_onset"] = np.log10(out["onset"].where(out["onset"] > 0))
    return out


__all__ = ["onset_time", "onset_times"]
