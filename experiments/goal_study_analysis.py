"""The analysis of ``experiments/goal_study.py`` (imported by it and by its report).

From the sweep's tidy tables: final values per run and cell, the exact training-distribution
seeker baselines, the form of final values across corner size and share
(:func:`devrl.forms.compare_across`), per-run forms of the training curves, and the effects
of the environment variables on their fitted parameters and on the onset of corner-seeking.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from devrl._io import atomic_write_text
from devrl.forms import compare_across, effects, fit_per_run, onset_times
from devrl.stats import finite_t_interval

ENV = ("corner", "cheese_anywhere", "size")
ONSET = 0.5
"""corner-first above this: the agent reaches the corner before the cheese on most
decision-square levels, i.e. corner-seeking has appeared."""
SEEKER_MAZES, SEEKER_SEED = 2000, 0
"""Random mazes behind the exact training-distribution seeker baselines (as maze_baseline)."""
SHARE_ZERO = 1e-4
"""Where share 0 sits on the share axis of the forms (a decade below the smallest share)."""
FINAL = {
    "success_anywhere": "success-vs-corner/agent",
    "seeker": "success-vs-corner/seeker",
    "gap": "success-vs-corner",
    "p_cheese": "decision-cheese",
    "corner_first": "corner-first",
    "success_in": "success",
}
"""Final-checkpoint quantities of the study table: column -> measure."""
DIFFERENCES = {"gap"}
"""Of these, differences of two rates (range [-1, 1]); the others are rates (range [0, 1])."""


TRAINING = {
    "success": "success in distribution",
    "success-vs-corner/agent": "success, cheese anywhere",
    "corner-first": "corner before cheese",
    "decision-cheese": "P(cheese | decision square)",
}
"""Measures whose form over training is fitted per run: measure -> label."""
CURVE_FORMS = ("constant", "linear", "exp", "logistic_log", "power", "piecewise1")
"""Candidates for a curve over training (each run compared on its own checkpoints)."""
AXES = {
    "corner": ("corner", "np.log2(corner)", "corner size"),
    "share": ("share_x", "np.log10(share_x)", "share of cheese-anywhere levels"),
    "size": ("size", "size", "maze size"),
}
"""Axis -> (column, patsy term of its effect, label): each axis is the runs that differ
from the base cell in that variable only."""


def axis_runs(final: pd.DataFrame, base: dict, axis: str) -> pd.DataFrame:
    """The runs of one axis of the design: the base cell's values in the other two variables."""
    others = {"corner": ("cheese_anywhere", "size"), "share": ("corner", "size")}
    others["size"] = ("corner", "cheese_anywhere")
    mask = np.ones(len(final), bool)
    for var in others[axis]:
        mask &= np.isclose(final[var].astype(float), float(base[var]))
    return final[mask]


def final_values(results: pd.DataFrame) -> pd.DataFrame:
    """One row per run: the study's quantities at the run's last tracked checkpoint."""
    tracked = results[results["measure"].isin(FINAL.values())]
    last = tracked[tracked["step"] == tracked.groupby("run")["step"].transform("max")]
    wide = last.pivot_table(index="run", columns="measure", values="value")
    wide = wide.rename(columns={v: k for k, v in FINAL.items()}).reset_index()
    runs = results.drop_duplicates("run")[["run", "seed", *ENV]]
    final = runs.merge(wide, on="run")
    final["share_x"] = (
        final["cheese_anywhere"].astype(float).where(final["cheese_anywhere"] > 0, SHARE_ZERO)
    )
    return final


def study_table(final: pd.DataFrame) -> pd.DataFrame:
    """Per cell: seeds, and each final quantity's mean with a t-interval over seeds."""
    rows = []
    for cell, g in final.groupby(list(ENV), sort=True):
        row = dict(zip(ENV, cell)) | {"seeds": len(g)}
        for q in FINAL:
            m, lo, hi, _ = finite_t_interval(g[q])
            # a t-interval over few seeds may leave the quantity's range; the quantity cannot
            floor = -1.0 if q in DIFFERENCES else 0.0
            row |= {q: m, f"{q}_lo": max(lo, floor), f"{q}_hi": min(hi, 1.0)}
        rows.append(row)
    return pd.DataFrame(rows)


def training_seekers(study: pd.DataFrame, mazes: int = SEEKER_MAZES) -> pd.DataFrame:
    """The exact pure corner-seeker's success on each cell's training distribution.

    A share s of cheese-anywhere levels mixes the two distributions, so the rate (and its
    interval over mazes, bound by bound) is (1 - s) * corner-region rate + s * anywhere
    rate. The pure cheese-seeker succeeds on every level of every distribution.
    """
    from devrl.mechanisms import seeker_baselines

    rows = []
    for size, cells in study.groupby("size"):
        corners = sorted(set(cells["corner"].astype(int)))
        table = seeker_baselines(int(size), [*corners, None], mazes, seed=SEEKER_SEED)
        table = table[table["quantity"] == "corner_seeker_success"]
        table = table.set_index(table["corner"].astype(str))[["estimate", "low", "high"]]
        for _, cell in cells.iterrows():
            share = float(cell["cheese_anywhere"])
            mix = (1 - share) * table.loc[str(int(cell["corner"]))] + share * table.loc["anywhere"]
            rows.append(
                {v: cell[v] for v in ENV}
                | {"seeker_train": mix["estimate"], "seeker_train_lo": mix["low"]}
                | {"seeker_train_hi": mix["high"], "seeker_mazes": mazes}
            )
    return pd.DataFrame(rows).astype({v: study[v].dtype for v in ENV})


def forms_across(final: pd.DataFrame, base: dict, n_boot: int) -> pd.DataFrame:
    """Form of final cheese-anywhere success and P(cheese | DS) along the corner and share axes."""
    frames = []
    for axis in ("corner", "share"):
        runs = axis_runs(final, base, axis)
        column = AXES[axis][0]
        if runs[column].nunique() < 2:
            continue
        for q in ("success_anywhere", "p_cheese"):
            table = compare_across(runs, column, q, n_boot=n_boot)
            frames.append(table.assign(axis=axis, quantity=q))
    return pd.concat(frames, ignore_index=True)


def curve_forms(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per run and measure: the best form over training, and the logistic's parameters.

    Returns ``(best, params)``: ``best`` one row per (run, measure) with the form of best
    AICc and its Akaike weight among :data:`CURVE_FORMS`; ``params`` the logistic-in-log-
    steps fit (:func:`devrl.forms.fit_per_run`), whose midpoint ``log_t0`` and end level
    ``b`` the environment variables may move.
    """
    from devrl.forms import compare

    best, params = [], []
    for measure in TRAINING:
        curves = results[(results["measure"] == measure) & (results["step"] > 0)]
        for run, g in curves.groupby("run"):
            g = g.sort_values("step")
            table = compare(g["step"], g["value"], CURVE_FORMS, holdout=0.0)
            ok = table[table["status"] == "ok"]
            best.append(
                {"run": run, "measure": measure, "seed": g["seed"].iloc[0]}
                | {v: g[v].iloc[0] for v in ENV}
                | {"form": ok["form"].iloc[0], "weight": ok["weight"].iloc[0]}
            )
        fitted = fit_per_run(curves, "logistic_log", keep=("seed", *ENV))
        params.append(fitted.assign(measure=measure))
    return pd.DataFrame(best), pd.concat(params, ignore_index=True)


def parameter_effects(params: pd.DataFrame, onsets: pd.DataFrame, base: dict) -> pd.DataFrame:
    """Effects of each axis's variable on fitted parameters and on the onset (seed random)."""
    import warnings

    wide = params[params["status"] == "ok"].pivot_table(
        index=["run", "seed", *ENV, "measure"], columns="param", values="value"
    )
    wide = wide.reset_index()
    responses = [(m, p) for m in TRAINING for p in ("log_t0", "b")]
    frames = []
    for axis, (column, term, _) in AXES.items():
        for measure, param in [*responses, ("corner-first", "onset")]:
            if param == "onset":
                data = onsets.rename(columns={"log10_onset": "response"})
            else:
                data = wide[wide["measure"] == measure].rename(columns={param: "response"})
            data = data.assign(
                share_x=data["cheese_anywhere"]
                .astype(float)
                .where(data["cheese_anywhere"] > 0, SHARE_ZERO)
            )
            data = axis_runs(data, base, axis).dropna(subset=["response"])
            if data[column].nunique() < 2 or data["seed"].nunique() < 2:
                continue
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    table = effects(data, "response", [term], method="mixedlm")
                except (ValueError, np.linalg.LinAlgError):
                    table = effects(data, "response", [term], method="ols")
            note = "; ".join(sorted({type(w.message).__name__ for w in caught}))
            table = table[table["term"] != "Intercept"]
            frames.append(table.assign(axis=axis, measure=measure, param=param, warnings=note))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def analyse(folder: Path, base: dict, n_boot: int) -> None:
    """Every derived table, from the sweep's tidy results only (so figures redraw fast)."""
    results = pd.read_csv(folder / "results.csv")
    tracked = results[results["measure"].isin(set(FINAL.values()) | set(TRAINING))]
    final = final_values(tracked)
    onsets = onset_times(tracked, "corner-first", ONSET, keep=("seed", *ENV))
    learned = onset_times(tracked, "success", ONSET, keep=("seed", *ENV))
    onsets = onsets.merge(
        learned[["run", "onset"]].rename(columns={"onset": "success_onset"}), on="run"
    )
    best, params = curve_forms(tracked)
    study = study_table(final)
    study = study.merge(training_seekers(study), on=list(ENV))
    tables = {
        "final": final,
        "study_table": study,
        "forms_across": forms_across(final, base, n_boot),
        "curve_forms": best,
        "curve_params": params,
        "onsets": onsets,
        "effects": parameter_effects(params, onsets, base),
    }
    for name, table in tables.items():
        atomic_write_text(folder / f"{name}.csv", table.to_csv(index=False))
