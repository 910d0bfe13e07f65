"""Do the level shifts of a curve find known transitions? Scoring, per run and per curve.

The transitions are those of the TMS k-gon plateaus (a run's classified snapshots,
:meth:`~devrl.agents.tms_runs.TMSResult.phases`); the curves are any tidy measure over the
same steps (the LLC, its corrections, the loss as a control). A transition at step τ is
*detected* when a level shift of the seed's curve (:func:`devrl.forms.level_shifts`) lies
within a factor e^tol of τ (:func:`devrl.forms.match_transitions`). Every score comes with
its chance level: recall and precision with bootstrap intervals over seeds, against shifts
placed at random checkpoint gaps and against the seed's shift pattern circularly shifted in
time (:func:`devrl.stats.score_shifts`), and the step across jumps with its interval and a
sign test.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from devrl.agents.tms_sgd import phase_sequences, transition_summary
from devrl.forms.changes import level_shifts, match_transitions, step_across
from devrl.stats import SeedShifts, bootstrap_ci, score_shifts, sign_test

__all__ = ["detect", "detection_table", "loss_transitions", "steps_per_epoch", "transition_stats"]


def steps_per_epoch(config) -> float:
    """Updates per 1000 contexts (RL) or per pass over the n samples (SGD) of a TMS config."""
    if hasattr(config, "steps_per_epoch"):
        return config.steps_per_epoch()
    return config.n_samples / config.batch_size


def loss_transitions(phases: pd.DataFrame) -> pd.DataFrame:
    """Step τ of every change of plateau (first snapshot of the new plateau), per seed.

    Args:
        phases: columns seed, step, phase (and run), as :meth:`TMSResult.phases` returns.

    Returns:
        Columns seed, tau, to (the plateau entered).
    """
    seq = phase_sequences(phases)
    rows = [(r.seed, r.first_step, r.phase) for r in seq.itertuples() if r.order > 0]
    return pd.DataFrame(rows, columns=["seed", "tau", "to"])


def _rate(a: int, b: int) -> float:
    return a / b if b else float("nan")


def detect(
    curves: pd.DataFrame,
    transitions: pd.DataFrame,
    first_plateau: Mapping[int, float],
    min_shift: float,
    tol: float = 0.2,
    step_window: float = 0.5,
    n_null: int = 999,
    seed: int = 0,
) -> dict:
    """Match level shifts of each seed's curve to its transitions (within ``tol`` in log t).

    Shifts come from :func:`devrl.forms.level_shifts` (piecewise-constant levels, noise
    estimated from the curve, shifts smaller than ``min_shift`` merged). Only transitions
    between the curve's 3rd and 3rd-to-last point count (a shift needs points on both sides),
    and shifts before the seed's first plateau are ignored (the descent onto it is no
    transition); 'jumps' are the transitions into a 5- or 6-gon, and 'step at jumps' is the
    median over jumps of the curve's step across them (:func:`devrl.forms.step_across` with
    half-width ``step_window`` in log t). Seeds with fewer than 8 finite points are skipped.

    Args:
        curves: tidy rows (seed, step, value) of one measure.
        transitions: columns seed, tau, to (:func:`loss_transitions`).
        first_plateau: seed -> first step of its first plateau.
        min_shift: the smallest level shift that counts, in the curve's units.
        tol: detection tolerance in log-time.
        step_window: half-width in log-time of the windows of 'step at jumps'.
        n_null: draws of each null of :func:`devrl.stats.score_shifts`.
        seed: seeds the nulls and bootstraps.

    Returns:
        transitions, detected (share), jumps, jumps detected, false alarms (share of shifts
        near no transition), lag (steps; median signed, positive: the curve changes later),
        step at jumps (median over jumps, with a 95% bootstrap interval 'step lo', 'step hi'),
        jumps rising (share of jumps with a positive step) and 'p rising' (two-sided sign
        test); then :meth:`devrl.stats.ShiftScore.as_row`: recall and precision (= detected
        and 1 − false alarms) with intervals over seeds, each null's recall, precision and
        p-value, 'beats null' and the number of seeds.
    """
    tot = dict.fromkeys(("transitions", "detected", "shifts", "false_alarms"), 0)
    jumps = jump_hits = 0
    lags, steps, per_seed = [], [], []
    for seed_id, df in curves.groupby("seed"):
        df = df[(df.step > 0) & np.isfinite(df.value)].sort_values("step")
        t = df.step.to_numpy(float)
        if t.size < 8:  # too few estimates left (NaN: no quadratic prediction); nothing to match
            continue
        shifts = level_shifts(t, df.value.to_numpy(), min_shift=min_shift)
        start = first_plateau.get(seed_id, 0)
        shifts = shifts[shifts >= start]
        tr = transitions[
            (transitions.seed == seed_id) & (transitions.tau >= t[2]) & (transitions.tau <= t[-3])
        ]
        taus = tr.tau.to_numpy(float)
        per_seed.append(SeedShifts(t, shifts, taus, start=start))
        m = match_transitions(shifts, taus, tol=tol)
        jump = pd.to_numeric(tr.to.str.rstrip("+"), errors="coerce").to_numpy() >= 5
        jm = match_transitions(shifts, taus[jump], tol=tol)
        for key in tot:
            tot[key] += m[key]
        jumps += jm["transitions"]
        jump_hits += jm["detected"]
        lags += m["lags"]
        steps += [
            step_across(t, df.value.to_numpy(), tau, window=step_window) for tau in taus[jump]
        ]
    steps = np.asarray(steps, dtype=float)
    seen = np.isfinite(steps)
    step_ci = bootstrap_ci(steps, np.median, seed=seed)
    null = score_shifts(per_seed, tol=tol, n_null=n_null, seed=seed).as_row() if per_seed else {}
    return {
        "transitions": tot["transitions"],
        "detected": _rate(tot["detected"], tot["transitions"]),
        "jumps": jumps,
        "jumps detected": _rate(jump_hits, jumps),
        "false alarms": _rate(tot["false_alarms"], tot["shifts"]),
        "lag (steps)": float(np.median(lags)) if lags else float("nan"),
        "step at jumps": float(np.nanmedian(steps)) if seen.any() else float("nan"),
        "step lo": step_ci.low,
        "step hi": step_ci.high,
        "jumps rising": float(np.mean(steps[seen] > 0)) if seen.any() else float("nan"),
        "p rising": sign_test(steps).p_value,
        **null,
    }


def detection_table(
    curves: pd.DataFrame,
    results: Mapping,
    min_shift: Mapping[str, float],
    tol: float = 0.2,
    step_window: float = 0.5,
    n_null: int = 999,
) -> pd.DataFrame:
    """:func:`detect` for every (run, measure) of ``curves``, with the loss as a control.

    Every measure is scored, the parts of the LLC included (``first-order/...``, the descent
    term, and ``curvature/...``), so that what each part detects is reported apart. The
    control is the run's ``loss/population`` at the curves' steps.

    Args:
        curves: tidy rows run, seed, step, measure, value.
        results: run name -> its :class:`~devrl.agents.tms_runs.TMSResult` (phases, metrics).
        min_shift: ``{"loss": ..., "llc": ...}``; the LLC's applies to every non-loss curve.
        tol, step_window, n_null: as for :func:`detect`.

    Returns:
        One row per (run, curve): run, curve ('loss (control)', 'LLC oracle', ...), the
        scores of :func:`detect` with the lag in epochs (``lag (epochs)``).
    """
    rows = []
    for run, df in curves.groupby("run"):
        res = results[run]
        phases = res.phases()
        trans = loss_transitions(phases)
        seq = phase_sequences(phases)
        first = seq[seq.order == 0].set_index("seed")["first_step"].to_dict()
        spe = steps_per_epoch(res.config)
        loss = res.metrics.query("measure == 'loss/population'")
        loss = loss[loss.step.isin(df.step.unique())]
        curves_of = list(df.groupby("measure"))
        for measure, curve in [("loss (control)", loss), *curves_of]:
            shift = min_shift["loss" if measure.startswith("loss") else "llc"]
            d = detect(curve, trans, first, shift, tol=tol, step_window=step_window, n_null=n_null)
            d["lag (epochs)"] = d.pop("lag (steps)") / spe
            name = measure.replace("llc/", "LLC ").replace("curvature/", "curvature ")
            name = name.replace("first-order/", "first-order ")
            rows.append({"run": run, "curve": name, **d})
    return pd.DataFrame(rows)


def transition_stats(label: str, res, min_dwell: int = 3) -> dict:
    """One row summarising a batch's plateaus: which k-gons, how many seeds jumped, when.

    Args:
        label: the row's ``learner``.
        res: a :class:`~devrl.agents.tms_runs.TMSResult`.
        min_dwell: snapshots a phase must persist to count as a plateau.

    Returns:
        learner, seeds, epochs, plateaus (sorted by k), jumped (seeds reaching k >= 5),
        jump epoch (median), jump epochs, final (phase:seeds at the end).
    """
    spe = steps_per_epoch(res.config)
    summ = transition_summary(phase_sequences(res.phases(), min_dwell), spe)
    plateaus = sorted(
        {p for path in summ.path for p in path.split(" > ")}, key=lambda p: (len(p.rstrip("+")), p)
    )
    jumps = summ.jump_epoch.dropna()
    finals = summ.final.value_counts()
    return {
        "learner": label,
        "seeds": len(summ),
        "epochs": int(np.rint(res.steps[-1] / spe)),
        "plateaus": ", ".join(plateaus),
        "jumped": int(summ.jumped.sum()),
        "jump epoch (median)": float(jumps.median()) if len(jumps) else float("nan"),
        "jump epochs": ", ".join(f"{j:.0f}" for j in sorted(jumps)) or "--",
        "final": ", ".join(f"{k}:{v}" for k, v in sorted(finals.items())),
    }
