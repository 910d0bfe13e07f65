"""Maze baseline: PPO on cheese-in-the-corner, then the cheese moved anywhere.

Trains one agent per seed on the 9x9 maze with the cheese in the top-right cell
(``corner=1``), evaluates it in distribution and with the cheese anywhere
(``corner=None``), and records how often it runs to the corner instead: the
goal-misgeneralization baseline later experiments build on.

    python experiments/maze_baseline.py --quick          # 1 seed, minutes
    python experiments/maze_baseline.py                  # 3 seeds
    python experiments/maze_baseline.py --figures-only   # redraw from saved data
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl.agents import PPOConfig, train
from devrl.agents.registry import build_model
from devrl.envs import plot_policy, sample_level
from devrl.forms import compare
from devrl.maps import policy_map
from devrl.paper import experiment_parser, save_figure, write_macros, write_table
from devrl.rollouts import evaluate
from devrl.runs import Run

NAME = "maze_baseline"


def run_experiment(args) -> None:
    """Train (or resume) every seed, evaluate, and save tables under ``args.out``."""
    seeds = [args.seed] if args.quick else [args.seed + i for i in range(3)]
    episodes = 200 if args.quick else 1000
    evals, maps = [], {}
    for seed in seeds:
        overrides = {"total_timesteps": args.timesteps} if args.timesteps else {}
        config = PPOConfig.preset(
            "quick", seed=seed, checkpoints=32 if args.quick else 100, **overrides
        )
        run = train(config, args.out / f"run_seed{seed}", resume=True)
        policy = run.policy(run.steps[-1])
        for label, corner in (("in-distribution", 1), ("cheese anywhere", None)):
            frame = evaluate(
                policy,
                {"size": config.size, "corner": corner},
                episodes=episodes,
                seed=10_000 + seed,
                gamma=config.gamma,
            )
            evals.append(frame.assign(run_seed=seed, condition=label))
        if seed == seeds[0]:
            walls, _ = sample_level(config.size, None, np.random.default_rng(7))
            size = config.size
            bottom_right = (size - 1, size - 1)  # far from both the start and the corner
            for label, cheese in (("corner", (0, size - 1)), ("moved", bottom_right)):
                pm = policy_map(policy, walls, cheese, gamma=config.gamma)
                maps[label] = {
                    "walls": walls,
                    "cheese": np.array(cheese),
                    "probs": pm.probs,
                    "regret": pm.regret,
                }
    args.out.mkdir(parents=True, exist_ok=True)
    pd.concat(evals, ignore_index=True).to_csv(args.out / "evaluations.csv", index=False)
    np.savez_compressed(
        args.out / "policy_maps.npz",
        **{f"{k}_{f}": v for k, d in maps.items() for f, v in d.items()},
    )
    (args.out / "seeds.json").write_text(json.dumps(seeds))


def _load(args):
    seeds = json.loads((args.out / "seeds.json").read_text())
    evals = pd.read_csv(args.out / "evaluations.csv")
    runs = {seed: Run.load(args.out / f"run_seed{seed}") for seed in seeds}
    maps = dict(np.load(args.out / "policy_maps.npz"))
    return seeds, evals, runs, maps


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
    """The trained policy's action probabilities on one maze, cheese in and out of the corner."""
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
    for ax, label, title in (
        (axes[0], "corner", "cheese in the corner (training)"),
        (axes[1], "moved", "cheese moved (test)"),
    ):
        plot_policy(
            ax,
            maps[f"{label}_walls"],
            maps[f"{label}_probs"],
            cheese=tuple(maps[f"{label}_cheese"]),
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


def figure_generalization(table: pd.DataFrame, path_stem) -> None:
    """Success and corner-visit rates in distribution vs with the cheese anywhere."""
    fig, ax = plt.subplots(figsize=(4.5, 3))
    x = np.arange(len(table))
    ax.bar(x - 0.18, table["success"], 0.36, label="reached cheese")
    ax.bar(x + 0.18, table["corner"], 0.36, label="reached top-right corner")
    ax.set_xticks(x, table["condition"])
    ax.set(ylim=(0, 1.05), ylabel="fraction of episodes")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    save_figure(fig, path_stem)


def make_figures(args) -> None:
    """Figures, table and number macros from the saved data only."""
    seeds, evals, runs, maps = _load(args)
    figure_training_curve(runs, args.figures / f"{NAME}_training")
    figure_policy_maps(maps, args.figures / f"{NAME}_policy")
    table = summarize(evals)
    figure_generalization(table, args.figures / f"{NAME}_generalization")
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
            "mazeParams": int(build_model(first.config["model"]).num_parameters()),
            "mazeSteps": int(m["step"].iloc[-1]),
            "mazeSuccessIn": float(by.loc["in-distribution", "success"]),
            "mazeSuccessAnywhere": float(by.loc["cheese anywhere", "success"]),
            "mazeCornerAnywhere": float(by.loc["cheese anywhere", "corner"]),
            "mazeRegretAnywhere": float(by.loc["cheese anywhere", "regret"]),
            "mazeBestForm": str(forms.loc[0, "form"]).replace("_", " "),
        },
    )


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--timesteps",
        type=int,
        default=None,
        help="override the preset's training length (environment steps)",
    )
    args = parser.parse_args()
    if args.quick:  # quick runs (fewer checkpoints) live apart from the full runs
        args.out = args.out / "quick"
    if not args.figures_only:
        run_experiment(args)
    make_figures(args)


if __name__ == "__main__":
    main()
