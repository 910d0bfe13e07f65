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


def halfway_onsets(
    tracks: pd.DataFrame,
    measures: list[str] | tuple[str, ...],
    *,
    by: str = "run",
    keep: tuple[str, ...] = (),
    persist: int = 2,
    min_move: float = 2.0,
) -> pd.DataFrame:
    """When each curve first covers half its way from its first to its last value.

    For curves on different scales, rising or falling (a probability that falls as one
    goal wins, an effect that grows negative), the level is relative: the onset is
    :func:`onset_time` of ``(y - y_first) / (y_last - y_first)`` at 0.5. A curve counts as
    moving only when ``|y_last - y_first|`` exceeds ``min_move`` times its mean ``stderr``
    (when the frame has one); otherwise its onset is NaN and ``moved`` is False. Step 0
    (the initialisation) is left out, so the log-time interpolation is defined.

    Args:
        tracks: Tidy frame with ``by, step, measure, value`` (``stderr`` optional).
        measures: The curves to read.
        by, keep: As in :func:`onset_times`.
        persist: Checkpoints a curve must stay past half its way.
        min_move: Movement needed, in mean standard errors.

    Returns:
        One row per run and measure with at least 4 checkpoints: ``by``, ``keep``,
        ``measure``, ``rise`` (last minus first), ``moved``, ``onset``, ``onset_low``,
        ``onset_high``.
    """
    check_columns(tracks, [by, "step", "measure", "value", *keep], "halfway_onsets")
    persist = check_count("persist", persist, minimum=1)
    rows = []
    chosen = tracks[tracks["measure"].isin(list(measures)) & (tracks["step"] > 0)]
    for (key, measure), g in chosen.groupby([by, "measure"], sort=True):
        g = g.dropna(subset=["value"]).sort_values("step")
        if len(g) < 4:
            continue
        y = g["value"].to_numpy(float)
        rise = float(y[-1] - y[0])
        se = g["stderr"] if "stderr" in g else pd.Series(dtype=float)
        noise = min_move * float(np.nanmean(se)) if se.notna().any() else 0.0
        moved = abs(rise) > max(noise, 1e-12)
        at, lo, hi = (
            onset_time(g["step"].to_numpy(float), (y - y[0]) / rise, 0.5, persist=persist)
            if moved
            else (np.nan, np.nan, np.nan)
        )
        rows.append(
            {by: key, **{c: g[c].iloc[0] for c in keep}, "measure": measure, "rise": rise}
            | {"moved": moved, "onset": at, "onset_low": lo, "onset_high": hi}
        )
    columns = [by, *keep, "measure", "rise", "moved", "onset", "onset_low", "onset_high"]
    return pd.DataFrame(rows, columns=columns)


def onset_lags(
    onsets: pd.DataFrame, reference: str, *, by: str = "run", seed: int = 0
) -> pd.DataFrame:
    """Each measure's onset against the ``reference`` measure's, run by run.

    The lag is ``log10(onset) - log10(reference onset)`` (negative: earlier), over runs
    where both have an onset: its mean with a 95% percentile bootstrap interval, and an
    exact two-sided sign test (scipy's ``binomtest``) of "earlier" against "later" (ties
    dropped), which does not assume the lags are symmetric or on one scale.

    Args:
        onsets: :func:`halfway_onsets` (or any frame with ``by, measure, onset``).
        reference: The measure the others are compared with (e.g. ``"success"``).
        by: Column that tells runs apart.
        seed: Seeds the bootstrap.

    Returns:
        One row per other measure: ``measure, runs, mean_log10_lag, low, high,
        before, after, sign_p``.
    """
    from scipy.stats import binomtest

    from devrl.stats import mean_interval

    check_columns(onsets, [by, "measure", "onset"], "onset_lags")
    wide = onsets.pivot(index=by, columns="measure", values="onset")
    if reference not in wide:
        raise ValueError(f"onset_lags: no onsets of the reference {reference!r}.")
    rows = []
    for measure in [m for m in wide.columns if m != reference]:
        pair = wide[[reference, measure]].dropna()
        lag = np.log10(pair[measure].to_numpy()) - np.log10(pair[reference].to_numpy())
        before, after = int((lag < 0).sum()), int((lag > 0).sum())
        p = binomtest(before, before + after).pvalue if before + after else np.nan
        mid, lo, hi = mean_interval(lag, seed=seed) if lag.size > 1 else (np.nan,) * 3
        rows.append(
            {"measure": measure, "runs": len(pair), "mean_log10_lag": mid, "low": lo}
            | {"high": hi, "before": before, "after": after, "sign_p": p}
        )
    return pd.DataFrame(rows)


__all__ = ["halfway_onsets", "onset_lags", "onset_time", "onset_times"]
