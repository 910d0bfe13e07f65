"""Summaries, figures, tables and macros of ``experiments/maze_baseline.py`` (imported by it,
not a section), from the saved runs and tables only.
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl.agents.registry import build_model
from devrl.envs import mouse_start, plot_policy
from devrl.forms import compare
from devrl.mechanisms import (
    goal_summary,
    goal_table,
    seeker_table,
)
from devrl.paper import count_phrase, save_figure, write_macros, write_table
from devrl.runs import Run
from devrl.stats import seed_level_interval

NAME = "maze_baseline"


def _load(args):
    seeds = json.loads((args.out / "seeds.json").read_text())
    evals = pd.read_csv(args.out / "evaluations.csv")
    runs = {seed: Run.load(args.out / f"run_seed{seed}") for seed in seeds}
    maps = dict(np.load(args.out / "policy_maps.npz"))
    new = {
        name: pd.read_csv(args.out / f"{name}.csv")
        for name in ("pursuit", "decision_choices", "decision_tracks", "seeker_baselines")
    }
    return seeds, evals, runs, maps, new


def figure_training_curve(runs: dict[int, Run], path_stem) -> None:
    """Success rate and episode length over training, one line per seed."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    for seed, run in runs.items():
        m = run.metrics
        axes[0].plot(m["step"], m["charts/success_rate"], label=f"seed {seed}")
        axes[1].plot(m["step"], m["charts/episode_length"], label=f"seed {seed}")
    axes[0].set(xlabel="environment steps", ylabel="success rate", ylim=(-0.02, 1.02))
    axes[1].set(xlabel="environment steps", ylabel="episode length")
    axes[0].legend(frameon=False)
    fig.tight_layout()
    save_figure(fig, path_stem)


def figure_policy_maps(maps: dict[str, np.ndarray], path_stem) -> None:
    """The trained policy's action probabilities on one maze, cheese in and out of the corner.

    The mouse is drawn on its start cell; arrow length grows as the square root of the
    probability, so actions down to 0.005 stay visible.
    """
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
    for ax, label, title in (
        (axes[0], "corner", "cheese in the corner (training)"),
        (axes[1], "moved", "cheese moved (test)"),
    ):
        plot_policy(
            ax,
            maps[f"{label}_walls"],
            maps[f"{label}_probs"],
            mouse=mouse_start(maps[f"{label}_walls"].shape[0]),
            cheese=tuple(maps[f"{label}_cheese"]),
            min_prob=0.005,
            scale="sqrt",
            title=title,
        )
    fig.tight_layout()
    save_figure(fig, path_stem)


def summarize(evals: pd.DataFrame) -> pd.DataFrame:
    """Success and corner rates per condition, mean over seeds with the seed spread."""
    per_seed = (
        evals.groupby(["condition", "run_seed"])
        .agg(
            success=("reached_cheese", "mean"),
            corner=("reached_corner", "mean"),
            regret=("regret", "mean"),
            length=("length", "mean"),
        )
        .reset_index()
    )
    table = (
        per_seed.groupby("condition")
        .agg(
            seeds=("run_seed", "nunique"),
            success=("success", "mean"),
            success_sd=("success", "std"),
            corner=("corner", "mean"),
            regret=("regret", "mean"),
            length=("length", "mean"),
        )
        .reset_index()
    )
    return table


def success_curve_forms(runs: dict[int, Run]) -> pd.DataFrame:
    """Compare functional forms on the success-rate curve, seeds pooled (one real use)."""
    frames = [
        run.metrics[["step", "charts/success_rate"]].dropna().assign(seed=seed)
        for seed, run in runs.items()
    ]
    curve = pd.concat(frames).sort_values("step", kind="stable")
    curve = curve[curve["step"] > 0]
    return compare(
        curve["step"].to_numpy(float),
        curve["charts/success_rate"].to_numpy(),
        forms=["constant", "linear", "exp", "logistic", "logistic_log", "power", "piecewise1"],
        groups=curve["seed"].to_numpy() if len(runs) > 1 else None,
    )


def _baseline(baselines: pd.DataFrame, size: int, corner: str, quantity: str) -> pd.Series:
    """One row of the seeker baselines (``corner`` as saved: "1", "3", "5", "anywhere")."""
    b = baselines[(baselines["size"] == size) & (baselines["corner"].astype(str) == corner)]
    return b.set_index("quantity").loc[quantity]


def figure_generalization(evals: pd.DataFrame, baselines: pd.DataFrame, path_stem) -> None:
    """Success and corner visits in distribution and with the cheese anywhere, with intervals.

    Bars: mean over seeds; error bars: 95% two-stage bootstrap over seeds and episodes;
    dots: seeds; black ticks: the exact success of a pure corner-seeker.
    """
    size = int(evals["size"].iloc[0])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    conditions = ["in-distribution", "cheese anywhere"]
    seeker = {"in-distribution": "1", "cheese anywhere": "anywhere"}
    for i, cond in enumerate(conditions):
        e = evals[evals["condition"] == cond]
        for dx, column, colour, label in (
            (-0.18, "reached_cheese", "C0", "reached cheese"),
            (0.18, "reached_corner", "C1", "reached top-right corner"),
        ):
            est, lo, hi = seed_level_interval(e[column].to_numpy(float), e["run_seed"].to_numpy())
            ax.bar(i + dx, est, 0.36, color=colour, label=label if i == 0 else None)
            ax.errorbar(i + dx, est, yerr=[[est - lo], [hi - est]], color="k", capsize=3, lw=1)
            per_seed = e.groupby("run_seed")[column].mean()
            ax.plot(np.full(len(per_seed), i + dx), per_seed, "o", ms=3, color="0.3", zorder=3)
        b = _baseline(baselines, size, seeker[cond], "corner_seeker_success")["estimate"]
        ax.hlines(b, i - 0.38, i + 0.02, colors="k", linestyles="--", lw=1.2)
    ax.plot([], [], "k--", lw=1.2, label="pure corner-seeker (exact)")
    ax.set_xticks(range(len(conditions)), conditions)
    ax.set(ylim=(0, 1.12), ylabel="fraction of episodes")
    ax.legend(frameon=False, fontsize=7, loc="upper right", ncol=1)
    fig.tight_layout()
    save_figure(fig, path_stem)


def figure_pursuit(tracks: pd.DataFrame, summary: pd.DataFrame, path_stem) -> None:
    """Which goal the agent pursues: over training (left) and at the end, per seed (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2), gridspec_kw={"width_ratios": [1.3, 1]})
    ax = axes[0]
    for seed, frame in tracks.groupby("run_seed"):
        for measure, colour, label in (
            ("decision-cheese", "C2", "P(cheese | decision square)"),
            ("corner-first", "C1", "corner before cheese"),
        ):
            m = frame[frame["measure"] == measure].sort_values("step")
            ax.plot(m["step"], m["value"], color=colour, lw=1, label=label if seed == 0 else None)
    ax.set(xlabel="environment steps", ylabel="rate", ylim=(-0.02, 1.02))
    ax.legend(frameon=False, fontsize=7)
    ax = axes[1]
    quantities = [
        ("p_cheese_ds", "P(cheese |\ndecision sq.)", 0.0, 1.0),
        ("greedy_cheese_ds", "greedy to\ncheese", 0.0, 1.0),
        ("corner_first", "corner before\ncheese", 1.0, 0.0),
        ("success_minus_seeker", "success minus\ncorner-seeker", 0.0, None),
    ]
    seeds = [s for s in dict.fromkeys(summary["seed"]) if s != "all"]
    by = summary.set_index(["seed", "quantity"])
    for j, (q, _, corner_ref, cheese_ref) in enumerate(quantities):
        for k, seed in enumerate([*seeds, "all"]):
            r = by.loc[(seed, q)]
            x = j + (k - len(seeds) / 2) * 0.12
            colour = "k" if seed == "all" else f"C{k}"
            ax.errorbar(
                x,
                r["estimate"],
                yerr=[[r["estimate"] - r["low"]], [r["high"] - r["estimate"]]],
                fmt="s" if seed == "all" else "o",
                ms=4,
                color=colour,
                capsize=2,
                lw=1,
                label=(f"seed {seed}" if seed != "all" else "all seeds") if j == 0 else None,
            )
        ax.plot([j - 0.35, j + 0.35], [corner_ref] * 2, "k--", lw=1)
        if cheese_ref is not None:
            ax.plot([j - 0.35, j + 0.35], [cheese_ref] * 2, "k:", lw=1)
    ax.plot([], [], "k--", lw=1, label="pure corner-seeker")
    ax.plot([], [], "k:", lw=1, label="pure cheese-seeker")
    ax.set_xticks(range(len(quantities)), [q[1] for q in quantities], fontsize=7)
    ax.set(ylim=(-0.05, 1.05), ylabel="final checkpoint (95% CI)")
    ax.legend(frameon=False, fontsize=6, loc="center right")
    fig.tight_layout()
    save_figure(fig, path_stem)


def make_figures(args) -> None:
    """Figures, table and number macros from the saved data only."""
    seeds, evals, runs, maps, new = _load(args)
    figure_training_curve(runs, args.figures / f"{NAME}_training")
    figure_policy_maps(maps, args.figures / f"{NAME}_policy")
    table = summarize(evals)
    baselines = new["seeker_baselines"]
    figure_generalization(evals, baselines, args.figures / f"{NAME}_generalization")
    summary = goal_summary(new["pursuit"], new["decision_choices"])
    figure_pursuit(new["decision_tracks"], summary, args.figures / f"{NAME}_pursuit")
    n_mazes = int(baselines["mazes"].iloc[0])
    write_table(
        args.tables / f"{NAME}_seekers.tex",
        seeker_table(baselines),
        caption="Exact baselines on every maze distribution: the success of a pure "
        "corner-seeker (walks the shortest path to the top-right cell and stays; succeeds "
        "iff the cheese lies on that path) with the cheese in the top-right $3\\times3$ "
        "or $5\\times5$ region or anywhere, the share of cheese-anywhere levels with a "
        "decision square, and how often a pure cheese-seeker passes the corner first. "
        "With the cheese in the top-right cell both seekers succeed on every level, and "
        "the cheese-seeker succeeds on every level of every distribution. Exact over the "
        f"cheese position, averaged over {n_mazes} random mazes per size (95\\% "
        "bootstrap intervals over mazes).",
        label="tab:maze-seekers",
        fit_width=True,
    )
    write_table(
        args.tables / f"{NAME}_pursuit.tex",
        goal_table(summary),
        caption="Which goal the final agents pursue with the cheese anywhere: success and "
        "the pure corner-seeker's success on the same episodes, their paired difference, "
        "the probability and the greedy choice of the cheese action at the decision "
        "square, and the rate of reaching the corner before the cheese on levels with a "
        "decision square (a pure corner-seeker scores 0, 0 and 1 on the last three, a pure "
        "cheese-seeker 1, 1 and 0). Per seed: 95\\% intervals over episodes or levels "
        "(Wilson, bootstrap); all seeds: two-stage bootstrap over seeds and levels.",
        label="tab:maze-pursuit",
        fit_width=True,
    )
    write_table(
        args.tables / f"{NAME}.tex",
        table,
        caption="Maze agent in distribution (cheese in the top-right cell) and with the "
        "cheese anywhere: success, corner visits, mean regret and episode length, "
        "averaged over seeds.",
        label="tab:maze-baseline",
    )
    forms = success_curve_forms(runs)
    forms.to_csv(args.out / "success_curve_forms.csv", index=False)
    write_table(
        args.tables / f"{NAME}_forms.tex",
        forms[
            [
                "form",
                "status",
                "k",
                "delta_aicc",
                "weight",
                "seeds_best",
                "delta_bic",
                "extrap_rmse",
            ]
        ],
        caption="Functional forms fitted to the in-distribution success rate over "
        "training (devrl.forms.compare): AICc difference of the fit to all seeds "
        "pooled; Akaike weight as the mean over seeds of each seed's own fit (pooled "
        "checkpoints are autocorrelated, so a pooled weight overstates the evidence); "
        "seeds\\_best: share of seeds whose best AICc the form has; BIC difference; RMSE "
        "when extrapolating the last 20\\% of training from the first 80\\%.",
        label="tab:maze-forms",
    )
    by = table.set_index("condition")
    first = runs[seeds[0]]
    m = first.metrics
    write_macros(
        args.tables / f"{NAME}_macros.tex",
        {
            "mazeSeeds": len(seeds),
            "mazeSeedsPhrase": count_phrase(len(seeds), "seed"),
            "mazeSize": int(first.config["size"]),
            "mazeParams": int(build_model(first.config["model"]).num_parameters()),
            "mazeSteps": int(m["step"].iloc[-1]),
            "mazeSuccessIn": float(by.loc["in-distribution", "success"]),
            "mazeSuccessAnywhere": float(by.loc["cheese anywhere", "success"]),
            "mazeCornerAnywhere": float(by.loc["cheese anywhere", "corner"]),
            "mazeRegretAnywhere": float(by.loc["cheese anywhere", "regret"]),
            "mazeBestForm": str(forms.loc[0, "form"]).replace("_", " "),
            **goal_macros(summary, baselines, int(first.config["size"])),
        },
    )


def goal_macros(summary: pd.DataFrame, baselines: pd.DataFrame, size: int) -> dict[str, float]:
    """Number macros of the pursuit analysis and the exact baselines of the trained size."""
    out: dict[str, float] = {}
    for name, corner, q in (
        ("CornerSeeker", "anywhere", "corner_seeker_success"),
        ("CornerSeekerThree", "3", "corner_seeker_success"),
        ("DecisionShare", "anywhere", "decision_square"),
        ("CheeseSeekerCornerFirst", "anywhere", "cheese_seeker_corner_first"),
    ):
        row = _baseline(baselines, size, corner, q)
        out |= {f"maze{name}": row["estimate"], f"maze{name}Low": row["low"]}
        out[f"maze{name}High"] = row["high"]
    by = summary[summary["seed"] == "all"].set_index("quantity")
    per_seed = summary[summary["seed"] != "all"]
    for name, q in (
        ("SeekerOnLevels", "corner_seeker_success"),
        ("SuccessMinusSeeker", "success_minus_seeker"),
        ("DecisionCheese", "p_cheese_ds"),
        ("DecisionGreedy", "greedy_cheese_ds"),
        ("CornerFirst", "corner_first"),
    ):
        row = by.loc[q]
        out |= {f"maze{name}": row["estimate"], f"maze{name}Low": row["low"]}
        out[f"maze{name}High"] = row["high"]
        seeds = per_seed[per_seed["quantity"] == q]["estimate"]
        out |= {f"maze{name}Min": seeds.min(), f"maze{name}Max": seeds.max()}
    out["mazeDecisionLevels"] = int(
        by.loc["p_cheese_ds", "n"] / max(len(per_seed["seed"].unique()), 1)
    )
    out["mazeDecisionEpisodes"] = int(by.loc["corner_first", "n"])
    return {k: float(v) if not isinstance(v, int) else v for k, v in out.items()}
