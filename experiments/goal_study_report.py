"""Tables and macros of ``experiments/goal_study.py`` (its figures: ``goal_study_figures``).

Everything here reads the saved tidy tables of one mode, so ``--figures-only`` redraws the
section without rerunning the sweep.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from devrl.forms import FORMS_ACROSS
from devrl.paper import (
    count_phrase,
    data_dir,
    interval_text,
    number_latex,
    write_macros,
    write_table,
)
from devrl.paper.verdicts import trend
from devrl.stats import t_interval

try:  # imported by the script (devrl paper) or from the repository root
    from goal_study_analysis import AXES, ENV, ONSET, TRAINING, axis_runs, study_table
    from goal_study_figures import figure_curves, figure_dependence, figure_onset
except ImportError:  # pragma: no cover
    from experiments.goal_study_analysis import (
        AXES,
        ENV,
        ONSET,
        TRAINING,
        axis_runs,
        study_table,
    )
    from experiments.goal_study_figures import figure_curves, figure_dependence, figure_onset

NAME = "goal_study"


def _load(folder: Path) -> dict[str, pd.DataFrame]:
    names = ("results", "trials", "final", "study_table", "forms_across", "curve_forms")
    names += ("curve_params", "onsets", "effects")
    return {n: pd.read_csv(folder / f"{n}.csv") for n in names}


def table_study(study: pd.DataFrame) -> pd.DataFrame:
    """The study table for the paper: per cell, estimates with 95% t-intervals over seeds."""
    out = pd.DataFrame(
        {
            "corner": study["corner"],
            "share": study["cheese_anywhere"].map(lambda v: f"{v:g}"),
            "size": study["size"],
            "seeds": study["seeds"],
        }
    )
    for q, label in (
        ("success_in", "success (training)"),
        ("seeker_train", "corner-seeker (training)"),
        ("success_anywhere", "success (anywhere)"),
        ("seeker", "corner-seeker"),
        ("p_cheese", "P(cheese at DS)"),
        ("corner_first", "corner first"),
    ):
        out[label] = [
            interval_text(m, lo, hi) for m, lo, hi in study[[q, f"{q}_lo", f"{q}_hi"]].to_numpy()
        ]
    return out


def table_forms(forms: pd.DataFrame) -> pd.DataFrame:
    """Forms of the final quantities against each axis: every candidate's weight and wins."""
    out = forms[["axis", "quantity", "form", "status", "k", "delta_aicc"]].copy()
    out["status"] = out["status"].map(lambda s: "ok" if s == "ok" else "too few points")
    out["quantity"] = out["quantity"].map(
        {"success_anywhere": "success", "p_cheese": "P(cheese at DS)"}
    )
    out["weight"] = [
        interval_text(*r) for r in forms[["weight", "weight_lo", "weight_hi"]].to_numpy()
    ]
    out["wins"] = forms["wins"]
    return out


def table_effects(eff: pd.DataFrame) -> pd.DataFrame:
    """Slopes of the fitted parameters and the onset on each axis's variable."""
    if eff.empty:
        return pd.DataFrame({"note": ["no axis with two values and two seeds"]})
    return pd.DataFrame(
        {
            "quantity": eff["measure"].map(lambda m: TRAINING.get(m, m)),
            "parameter": eff["param"].map(
                {"log_t0": "midpoint (ln steps)", "b": "end level", "onset": "onset (log10 steps)"}
            ),
            "term": eff["term"],
            "slope [95% CI]": [
                f"{c:.3g} [{lo:.3g}, {hi:.3g}]"
                for c, lo, hi in eff[["coef", "ci_low", "ci_high"]].to_numpy()
            ],
            "p": eff["pvalue"],
            "runs": eff["n"],
            "model": eff["method"],
            "fit": eff["warnings"].fillna("").map(lambda w: "boundary" if w else "ok"),
        }
    )


def _form_macros(forms: pd.DataFrame) -> dict:
    out = {}
    for axis, q, key in (
        ("corner", "success_anywhere", "CornerSuccess"),
        ("corner", "p_cheese", "CornerCheese"),
        ("share", "success_anywhere", "ShareSuccess"),
        ("share", "p_cheese", "ShareCheese"),
    ):
        f = forms[(forms["axis"] == axis) & (forms["quantity"] == q) & (forms["status"] == "ok")]
        if f.empty:
            continue
        best = f.iloc[0]
        tried = forms[(forms["axis"] == axis) & (forms["quantity"] == q)]
        out |= {
            f"goalForm{key}": best["form"].replace("_", " "),
            f"goalWeight{key}": float(best["weight"]),
            f"goalWeightLo{key}": float(best["weight_lo"]),
            f"goalWeightHi{key}": float(best["weight_hi"]),
            f"goalWins{key}": float(best["wins"]),
            f"goalSecond{key}": f.iloc[1]["form"].replace("_", " ") if len(f) > 1 else "none",
            f"goalDelta{key}": float(f.iloc[1]["delta_aicc"]) if len(f) > 1 else float("nan"),
            f"goalFailed{key}": len(tried) - len(f),
        }
    share, corner = out.get("goalFailedShareSuccess", 0), out.get("goalFailedCornerSuccess", 0)
    out["goalFailedSentence"] = (
        "no form has more parameters than the design has points on either axis"
        if share == corner == 0
        else f"{count_phrase(share, 'form')} {'has' if share == 1 else 'have'} more parameters "
        "than the design has points "
        f"on the share axis, against {corner} on the corner axis"
    )
    return out


def _cell_macros(study: pd.DataFrame, base: dict) -> dict:
    """Estimates at the base cell, the largest corner and the largest share."""
    out = {}
    is_base = np.ones(len(study), bool)
    for var in ENV:
        is_base &= np.isclose(study[var].astype(float), float(base[var]))
    on = {
        "Base": study[is_base],
        "MaxCorner": study[
            np.isclose(study["cheese_anywhere"], base["cheese_anywhere"])
            & (study["size"] == base["size"])
        ]
        .sort_values("corner")
        .tail(1),
        "MaxShare": study[(study["corner"] == base["corner"]) & (study["size"] == base["size"])]
        .sort_values("cheese_anywhere")
        .tail(1),
    }
    out["goalMaxCorner"] = int(on["MaxCorner"]["corner"].iloc[0])
    out["goalMaxShare"] = float(on["MaxShare"]["cheese_anywhere"].iloc[0])
    for key, row in on.items():
        row = row.iloc[0]
        for q, name in (
            ("seeker_train", "SeekerTrain"),
            ("success_anywhere", "Anywhere"),
            ("seeker", "Seeker"),
            ("p_cheese", "Cheese"),
            ("success_in", "In"),
            ("corner_first", "CornerFirst"),
        ):
            out[f"goal{name}{key}"] = float(row[q])
            out[f"goal{name}{key}Lo"] = float(row[f"{q}_lo"])
            out[f"goal{name}{key}Hi"] = float(row[f"{q}_hi"])
    return out


TRENDS = {
    "Anywhere": ("success_anywhere", "success with the cheese anywhere"),
    "Gap": ("gap", "its margin over the corner-seeker"),
    "Cheese": ("p_cheese", r"P(cheese $\mid$ decision square)"),
    "CornerFirst": ("corner_first", "reaching the corner first"),
    "In": ("success_in", "success in distribution"),
}
"""Quantities of the study table whose trend along each axis the prose states:
macro key -> (column, words)."""
SENTENCE = {"non-monotone": "is non-monotone", "flat": "is flat"}


def _trend_macros(study: pd.DataFrame, base: dict) -> dict:
    """How each quantity moves along each axis (:func:`devrl.paper.verdicts.trend` of the
    cells' intervals over seeds), as a verb phrase: ``goalTrend<Axis><Quantity>``."""
    out = {}
    for axis in AXES:
        var = {"share": "cheese_anywhere"}.get(axis, axis)
        cells = axis_runs(study, base, axis).sort_values(var)
        if len(cells) < 2:
            continue
        for key, (q, _) in TRENDS.items():
            word = trend(cells[q], cells[f"{q}_lo"], cells[f"{q}_hi"])
            out[f"goalTrend{axis.capitalize()}{key}"] = SENTENCE.get(word, word)
    return out


LEARNED = 0.5
"""Final in-distribution success below which a run has not learned its training task."""


def _learned_macros(final: pd.DataFrame, base: dict, trends: dict) -> dict:
    """How many runs did not learn the training task, and whether the trend verdicts hold
    without them (their off-distribution behaviour says little about a goal)."""
    failed = final[final["success_in"] < LEARNED]
    seeds = failed["seed"].value_counts()
    kept = _trend_macros(study_table(final[final["success_in"] >= LEARNED]), base)
    changed = [k for k in trends if kept.get(k) != trends[k]]
    names = {f"goalTrend{a.capitalize()}{q}": f"{TRENDS[q][1]} along {AXES[a][2]}"
             for a in AXES for q in TRENDS}  # fmt: skip
    verdicts = (
        "every verdict above is unchanged"
        if not changed
        else "these verdicts change: "
        + "; ".join(f"{names[k]} {kept.get(k, 'cannot be judged')}" for k in changed)
    )
    if failed.empty:
        sentence = f"Every run learned its training task (final success at least {LEARNED})."
    else:
        n_top, top_seed = int(seeds.iloc[0]), int(seeds.index[0])
        top = "all" if n_top == len(failed) else f"{n_top} of them"
        sentence = (
            f"{count_phrase(len(failed), 'run').capitalize()} of {len(final)} did not learn "
            f"the training task in the steps given (final in-distribution success below "
            f"{LEARNED}), {top} with seed {top_seed}, which is why seed "
            f"enters the models below as a random effect. Without them, {verdicts}."
        )
    return {"goalLearnedSentence": sentence}


def _onset_macros(onsets: pd.DataFrame, eff: pd.DataFrame, last_step: float) -> dict:
    crossed = onsets[~onsets["censored"]]
    out = {
        "goalOnsetLevel": ONSET,
        "goalOnsetTotal": len(onsets),
        "goalOnsetCrossed": len(crossed),
    }
    if len(crossed) >= 2:
        frac, lo, hi, _ = t_interval(crossed["onset"] / last_step)
        out |= {"goalOnsetFraction": frac, "goalOnsetFractionLo": lo, "goalOnsetFractionHi": hi}
        both = crossed.dropna(subset=["success_onset"])
        lag = np.log10(both["onset"]) - np.log10(both["success_onset"])
        m, lo, hi, n = t_interval(lag)
        out |= {
            "goalOnsetLag": m,
            "goalOnsetLagLo": lo,
            "goalOnsetLagHi": hi,
            "goalOnsetLagRuns": n,
        }
    for axis, key in (("corner", "Corner"), ("share", "Share"), ("size", "Size")):
        row = eff[(eff["axis"] == axis) & (eff["param"] == "onset")] if len(eff) else eff
        if len(row):
            r = row.iloc[0]
            out |= {
                f"goalOnsetEffect{key}": float(r["coef"]),
                f"goalOnsetEffect{key}Lo": float(r["ci_low"]),
                f"goalOnsetEffect{key}Hi": float(r["ci_high"]),
            }
    return out


def _curve_macros(best: pd.DataFrame) -> dict:
    out = {}
    for measure, key in (("success", "Success"), ("corner-first", "CornerFirst")):
        counts = best[best["measure"] == measure]["form"].value_counts()
        out[f"goalCurveForm{key}"] = counts.index[0].replace("_", " ")
        out[f"goalCurveForm{key}Share"] = float(counts.iloc[0] / counts.sum())
    return out


def make_figures(args, base: dict) -> None:
    """Figures, tables and number macros from the saved tables only."""
    folder = data_dir(args.out, args.quick)
    data = _load(folder)
    figure_curves(data, base, args.figures / f"{NAME}_curves")
    figure_dependence(data, base, args.figures / f"{NAME}_dependence")
    figure_onset(data, base, args.figures / f"{NAME}_onset")
    study, trials = data["study_table"], data["trials"]
    write_table(
        args.tables / f"{NAME}.tex",
        table_study(study),
        caption="Final checkpoint of every cell: success in the training distribution and "
        "the exact success of a pure corner-seeker there (95\\% interval over random "
        "mazes; a pure cheese-seeker succeeds on every level), success with the cheese "
        "anywhere and the exact success of a pure corner-seeker on the same episodes, "
        "P(cheese $\\mid$ decision square (DS)), and the rate of reaching "
        "the corner before the cheese on decision-square levels; mean over seeds with its "
        "95\\% t-interval over seeds.",
        label="tab:goal-study",
        fit_width=True,
    )
    write_table(
        args.tables / f"{NAME}_forms.tex",
        table_forms(data["forms_across"]),
        caption="Functional form of the final success with the cheese anywhere and of "
        "P(cheese $\\mid$ decision square) against corner size and against the share of "
        "cheese-anywhere training levels (runs pooled; k counts the noise scale): AICc "
        "difference to the best form, Akaike weight with its 95\\% interval over seed "
        "resamples, and the share of resamples the form wins. Forms with more parameters "
        "than the design supports are marked.",
        label="tab:goal-forms",
        fit_width=True,
    )
    write_table(
        args.tables / f"{NAME}_effects.tex",
        table_effects(data["effects"]),
        caption="How each axis's variable moves the logistic-in-log-steps fits of each run's "
        "curves (midpoint and end level) and the onset of corner-seeking: slope with its "
        "95\\% interval, a random intercept per seed (mixed model; OLS with errors "
        "clustered by seed where the mixed model cannot be fitted). fit: boundary when the "
        "seed variance was estimated at zero or the fit warned (the interval is then less "
        "reliable).",
        label="tab:goal-effects",
        fit_width=True,
    )
    cpu = trials["train_cpu_seconds"] + trials["track_cpu_seconds"]
    trends = _trend_macros(study, base)
    last_step = float(trials["final_step"].max())
    write_macros(
        args.tables / f"{NAME}_macros.tex",
        {
            "goalRuns": count_phrase(len(trials), "run"),
            "goalCells": len(study),
            "goalSeeds": count_phrase(int(study["seeds"].min()), "seed"),
            "goalSteps": number_latex(last_step),
            "goalCheckpoints": int(data["results"].query("measure == 'success'")["step"].nunique()),
            "goalSize": int(base["size"]),
            "goalFormsTried": count_phrase(len(FORMS_ACROSS), "form"),
            "goalTrainCpu": float(trials["train_cpu_seconds"].mean()),
            "goalTrackCpu": float(trials["track_cpu_seconds"].mean()),
            "goalTotalCpuMin": float(cpu.sum() / 60),
            **_cell_macros(study, base),
            **trends,
            **_learned_macros(data["final"], base, trends),
            **_form_macros(data["forms_across"]),
            **_onset_macros(data["onsets"], data["effects"], last_step),
            **_curve_macros(data["curve_forms"]),
        },
    )
