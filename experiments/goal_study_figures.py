"""Figures of ``experiments/goal_study.py``: curves over training, the final quantities
against each variable with the winning form, and when corner-seeking appears.

Each reads the saved tidy tables of one mode (``goal_study_report._load``), so
``--figures-only`` redraws them without rerunning the sweep.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl.paper import save_figure
from devrl.stats import finite_t_interval

try:  # imported by the script (devrl paper) or from the repository root
    from goal_study_analysis import AXES, SHARE_ZERO, TRAINING, axis_runs
except ImportError:  # pragma: no cover
    from experiments.goal_study_analysis import AXES, SHARE_ZERO, TRAINING, axis_runs


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
            stats = runs.groupby(column)[q].apply(lambda v: pd.Series(finite_t_interval(v)[:3]))
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
