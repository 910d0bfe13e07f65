"""What shapes the agent's goal: goal misgeneralization over corner size, share and maze size.

Runs the sweep of ``experiments/specs/goal_misgeneralization.json`` (issue 11's study) on
devrl's local process pool: maze agents trained with the cheese in a top-right region of
side 1-7 (9x9), with a share 0-0.1 of training levels with the cheese anywhere (corner
1), and on mazes of side 7, 9 and 11 (corner 1), several seeds per cell. Every
checkpoint of every run is tracked in distribution (success, corner visits, regret) and
with the cheese anywhere: success against the exact pure corner-seeker's on the same
episodes (``success-vs-corner``), reaching the corner before the cheese
(``corner-first``) and P(cheese | decision square) (``decision-cheese``).

The analysis (devrl.forms, devrl.stats): the functional form of each tracked quantity
over training per run, and the effects of the environment variables on the fitted
parameters (seed as a random effect); the form of the final off-distribution success and
P(cheese | decision square) as a function of corner size and of the share (logistic,
power, threshold, against constant and linear); when corner-seeking first appears
(``corner-first`` crossing a threshold) and whether the environment variables move it.

    nice -n 10 python experiments/goal_study.py --quick --workers 1   # 8 runs, ~7 CPU-min
    nice -n 10 python experiments/goal_study.py --workers 2           # 50 runs, ~2.9 CPU-h
    python experiments/goal_study.py --figures-only [--quick]         # redraw from saved data

Budget of the full mode (from measured speeds, see experiments/specs/goal_misgeneralization.md):
50 runs of 1M environment steps with 25 tracked checkpoints, about 2.9 CPU-hours (up to
~3.8 on a loaded machine; ~1.5 h wall on 2 free cores), plus ~3 CPU-min of analysis; resumable
(rerun the command: finished trials are skipped, interrupted ones resume from their last
checkpoint). Run directories stay under ``sweeps/`` (git-ignored) with their checkpoints,
so later studies (issue 12's shard measures on the corner 1/3/5 runs) can track them.
Only the tidy tables are copied to ``--out``/quick or ``--out``/full. Quick mode (measured):
52.5 CPU-s per run (41.4 training, 11.1 tracking), 7.0 CPU-minutes for the 8 runs (33 min
wall at nice 10 on a machine at load 7-9), ~0.6 CPU-min of analysis.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl._io import atomic_write_text
from devrl.forms import FORMS_ACROSS, compare_across, effects, fit_per_run, onset_times
from devrl.paper import (
    count_phrase,
    data_dir,
    experiment_parser,
    number_latex,
    save_figure,
    write_macros,
    write_table,
)
from devrl.stats import t_interval
from devrl.sweep import read_status, run_sweep

NAME = "goal_study"
ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "specs" / "goal_misgeneralization.json"
QUICK = {
    "name": "goal_study_quick",
    "base": {"size": 7, "total_timesteps": 300_000, "checkpoints": 10},
    "grid": [{"corner": [1, 3, 5]}, {"cheese_anywhere": [0.1]}],
    "seeds": 2,
    "out": "sweeps/goal_study_quick",
}
"""Quick mode: the full spec with these keys replaced (a reduced grid on 7x7)."""
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


def study_spec(quick: bool) -> dict:
    """The sweep spec: the committed full spec, or its quick reduction."""
    spec = json.loads(SPEC.read_text())
    if quick:
        base = {**spec["base"], **QUICK["base"]}
        spec = {**spec, **QUICK, "base": base}
    return spec


def run_experiment(args) -> Path:
    """Run (or resume) the sweep, then copy its tidy tables into the data folder."""
    folder = data_dir(args.out, args.quick)
    spec = study_spec(args.quick)
    # the runs (with their checkpoints) stay in the repository's git-ignored sweeps/
    result = run_sweep(spec, workers=args.workers, out=ROOT / spec["out"], progress=True)
    trials = result.trials.copy()
    info = [(read_status(result.out, name) or {}).get("info", {}) for name in trials["run"]]
    for key in ("train_cpu_seconds", "track_cpu_seconds", "final_step"):
        trials[key] = [i.get(key, np.nan) for i in info]
    folder.mkdir(parents=True, exist_ok=True)
    keep = [c for c in result.results.columns if c not in ("error", "attempts", "seconds")]
    atomic_write_text(folder / "results.csv", result.results[keep].to_csv(index=False))
    atomic_write_text(folder / "trials.csv", trials.to_csv(index=False))
    failed = trials[trials["status"] != "finished"]
    if len(failed):
        raise RuntimeError(f"{len(failed)} trial(s) did not finish: {list(failed['run'])}")
    return folder


# ---------------------------------------------------------------------------- analysis
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


def _interval(values) -> tuple[float, float, float, int]:
    return (
        t_interval(np.asarray(values, float)) if np.isfinite(values).any() else (np.nan,) * 3 + (0,)
    )


def study_table(final: pd.DataFrame) -> pd.DataFrame:
    """Per cell: seeds, and each final quantity's mean with a t-interval over seeds."""
    rows = []
    for cell, g in final.groupby(list(ENV), sort=True):
        row = dict(zip(ENV, cell)) | {"seeds": len(g)}
        for q in FINAL:
            m, lo, hi, _ = _interval(g[q])
            # rates: a t-interval over few seeds may leave [0, 1]; the rate cannot
            row |= {q: m, f"{q}_lo": max(lo, 0.0), f"{q}_hi": min(hi, 1.0)}
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


# ----------------------------------------------------------------------------- figures
def _load(folder: Path) -> dict[str, pd.DataFrame]:
    names = ("results", "trials", "final", "study_table", "forms_across", "curve_forms")
    names += ("curve_params", "onsets", "effects")
    return {n: pd.read_csv(folder / f"{n}.csv") for n in names}


def _cells(data: dict, base: dict, axis: str) -> list:
    runs = axis_runs(data["final"], base, axis)
    return sorted(runs[AXES[axis][0]].unique())


def _ticks(ax, axis: str, cells) -> None:
    """The axis's cell values as plain tick labels (share 0 drawn at SHARE_ZERO)."""
    ax.set_xticks(cells, ["0" if v == SHARE_ZERO else f"{v:g}" for v in cells])
    ax.minorticks_off()


def _label(axis: str, value) -> str:
    if axis == "share":
        return "share 0" if value == SHARE_ZERO else f"share {value:g}"
    return f"{AXES[axis][2].split()[0]} {value:g}"


def figure_curves(data: dict, base: dict, path_stem) -> None:
    """Three quantities over training (rows) along each axis of the design (columns).

    Lines: mean over seeds per cell, bands: min to max over seeds; the dashed line in the
    top row is the pure corner-seeker's success on the same episodes (the base cell's).
    """
    results = data["results"].assign(
        share_x=lambda d: d["cheese_anywhere"].where(d["cheese_anywhere"] > 0, SHARE_ZERO)
    )
    axes_used = [a for a in AXES if len(_cells(data, base, a)) > 1]
    rows = ["success-vs-corner/agent", "corner-first", "decision-cheese"]
    fig, axs = plt.subplots(
        len(rows), len(axes_used), figsize=(3.3 * len(axes_used), 6.6), squeeze=False
    )
    for j, axis in enumerate(axes_used):
        column = AXES[axis][0]
        cells = _cells(data, base, axis)
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(cells)))
        runs = set(axis_runs(data["final"], base, axis)["run"])
        for i, measure in enumerate(rows):
            ax = axs[i, j]
            sub = results[results["run"].isin(runs) & (results["measure"] == measure)]
            for colour, value in zip(colours, cells):
                cell = sub[np.isclose(sub[column], value)]
                curve = cell.groupby("step")["value"].agg(["mean", "min", "max"])
                ax.plot(curve.index, curve["mean"], color=colour, lw=1.3, label=_label(axis, value))
                ax.fill_between(curve.index, curve["min"], curve["max"], color=colour, alpha=0.15)
            if measure == rows[0]:
                seeker = results[
                    results["run"].isin(runs) & (results["measure"] == "success-vs-corner/seeker")
                ]
                ax.plot(*zip(*seeker.groupby("step")["value"].mean().items()), "k--", lw=0.8)
            ax.set(ylim=(-0.02, 1.02), xscale="symlog", xlim=(0, None))
            ax.set_xscale("symlog", linthresh=1e4)
            if j == 0:
                ax.set_ylabel(TRAINING[measure], fontsize=8)
            if i == len(rows) - 1:
                ax.set_xlabel("environment steps")
            if i == 0:
                ax.set_title(AXES[axis][2], fontsize=9)
                ax.legend(frameon=False, fontsize=6, loc="upper left")
    fig.tight_layout()
    save_figure(fig, path_stem)


def _form_curve(forms: pd.DataFrame, runs: pd.DataFrame, column: str, q: str):
    """The winning form's curve over the axis (refitted to the pooled runs)."""
    from devrl.forms import fit

    best = forms[(forms["status"] == "ok")].iloc[0]
    data = runs.dropna(subset=[q]).sort_values(["seed", column])
    res = fit(data[column], data[q], best["form"], groups=data["seed"].to_numpy(), ci="none")
    grid = np.geomspace(data[column].min(), data[column].max(), 200)
    return grid, res.predict(grid), best


def figure_dependence(data: dict, base: dict, path_stem) -> None:
    """Final success with the cheese anywhere and P(cheese | DS) against corner size and share.

    Dots: seeds; squares with bars: mean and 95% t-interval over seeds; dashed: the pure
    corner-seeker's success on the same episodes; line: the form with the best AICc
    (legend: its Akaike weight, 95% interval over seed resamples).
    """
    axes_used = [a for a in ("corner", "share") if len(_cells(data, base, a)) > 1]
    quantities = [
        ("success_anywhere", "success, cheese anywhere"),
        ("p_cheese", TRAINING["decision-cheese"]),
    ]
    fig, axs = plt.subplots(
        len(quantities), len(axes_used), figsize=(3.6 * len(axes_used), 5.4), squeeze=False
    )
    for j, axis in enumerate(axes_used):
        column = AXES[axis][0]
        runs = axis_runs(data["final"], base, axis)
        for i, (q, label) in enumerate(quantities):
            ax = axs[i, j]
            ax.plot(runs[column], runs[q], "o", ms=3, color="0.6", zorder=1)
            stats = runs.groupby(column)[q].apply(lambda v: pd.Series(_interval(v)[:3]))
            stats = stats.unstack().clip(0.0, 1.0)  # rates, as in the study table
            ax.errorbar(
                stats.index,
                stats[0],
                yerr=[stats[0] - stats[1], stats[2] - stats[0]],
                fmt="s",
                color="C0",
                ms=4,
                capsize=3,
                lw=1,
                zorder=3,
            )
            if q == "success_anywhere":
                seeker = runs.groupby(column)["seeker"].mean()
                ax.plot(seeker.index, seeker, "k--", lw=1, label="pure corner-seeker")
            forms = data["forms_across"]
            forms = forms[(forms["axis"] == axis) & (forms["quantity"] == q)]
            if len(forms):
                grid, curve, best = _form_curve(forms, runs, column, q)
                ax.plot(
                    grid,
                    curve,
                    color="C3",
                    lw=1.2,
                    label=f"{best['form'].replace('_', ' ')}: weight {best['weight']:.2f} "
                    f"[{best['weight_lo']:.2f}, {best['weight_hi']:.2f}]",
                )
            ax.set(xscale="log", ylim=(-0.02, 1.02), xlabel=AXES[axis][2])
            _ticks(ax, axis, _cells(data, base, axis))
            if j == 0:
                ax.set_ylabel(f"final {label}", fontsize=8)
            ax.legend(frameon=False, fontsize=6)
    fig.tight_layout()
    save_figure(fig, path_stem)


def figure_onset(data: dict, base: dict, path_stem) -> None:
    """When corner-seeking appears (corner-first first >= ONSET) along each axis, per seed.

    Dots: runs (triangles at the top: never crossed, censored at the last checkpoint);
    crosses: when in-distribution success first reached the same level.
    """
    onsets = data["onsets"].assign(
        share_x=lambda d: d["cheese_anywhere"].where(d["cheese_anywhere"] > 0, SHARE_ZERO)
    )
    axes_used = [a for a in AXES if len(_cells(data, base, a)) > 1]
    fig, axs = plt.subplots(1, len(axes_used), figsize=(3.2 * len(axes_used), 2.8), squeeze=False)
    last = float(data["results"]["step"].max())
    for j, axis in enumerate(axes_used):
        ax, column = axs[0, j], AXES[axis][0]
        runs = axis_runs(onsets, base, axis)
        rng = np.random.default_rng(0)
        jitter = np.exp(rng.uniform(-0.06, 0.06, len(runs)))
        x = runs[column].to_numpy(float) * jitter
        done = ~runs["censored"].to_numpy(bool)
        ax.plot(x[done], runs["onset"][done], "o", color="C1", ms=4, label="corner-seeking appears")
        ax.plot(
            x[~done],
            np.full((~done).sum(), last),
            "^",
            color="C1",
            mfc="none",
            ms=5,
            label="not by the last checkpoint",
        )
        ax.plot(x, runs["success_onset"], "x", color="C0", ms=4, label="success reaches the level")
        ax.set(xscale="log", yscale="log", xlabel=AXES[axis][2])
        _ticks(ax, axis, _cells(data, base, axis))
        if j == 0:
            ax.set_ylabel("environment steps")
            ax.legend(frameon=False, fontsize=6)
    fig.tight_layout()
    save_figure(fig, path_stem)


# ------------------------------------------------------------------- tables and macros
def _ci(m: float, lo: float, hi: float) -> str:
    return "--" if not np.isfinite(m) else f"{m:.2f} [{lo:.2f}, {hi:.2f}]"


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
        out[label] = [_ci(m, lo, hi) for m, lo, hi in study[[q, f"{q}_lo", f"{q}_hi"]].to_numpy()]
    return out


def table_forms(forms: pd.DataFrame) -> pd.DataFrame:
    """Forms of the final quantities against each axis: every candidate's weight and wins."""
    out = forms[["axis", "quantity", "form", "status", "k", "delta_aicc"]].copy()
    out["status"] = out["status"].map(lambda s: "ok" if s == "ok" else "too few points")
    out["quantity"] = out["quantity"].map(
        {"success_anywhere": "success", "p_cheese": "P(cheese at DS)"}
    )
    out["weight"] = [_ci(*r) for r in forms[["weight", "weight_lo", "weight_hi"]].to_numpy()]
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
            **_form_macros(data["forms_across"]),
            **_onset_macros(data["onsets"], data["effects"], last_step),
            **_curve_macros(data["curve_forms"]),
        },
    )


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--workers", type=int, default=None, help="trials side by side (default: all cores)"
    )
    parser.add_argument(
        "--boot", type=int, default=200, help="seed resamples of the form comparisons"
    )
    args = parser.parse_args()
    base = study_spec(args.quick)["base"]
    folder = data_dir(args.out, args.quick)
    if args.figures_only and not args.quick and not (folder / "results.csv").is_file():
        # the full sweep (~3 CPU-hours) has not been run here: its section says so
        print(f"[{NAME}] no full-mode data in {folder}: nothing to draw (run without --quick)")
        return
    if args.figures_only:
        data_dir(args.out, args.quick, reading="study_table.csv")  # says what to run if absent
    else:
        run_experiment(args)
        analyse(folder, base, args.boot)
    make_figures(args, base)


if __name__ == "__main__":
    main()
