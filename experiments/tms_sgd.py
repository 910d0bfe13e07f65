"""TMS under SGD: which k-gon plateaus appear from a 4-gon start, and when runs jump.

Reproduces the supervised protocol of Chen et al. (2023), "Dynamical versus Bayesian phase
transitions in a toy model of superposition": c = 6 features, 2 hidden dimensions,
n = 1000 samples, batch 20, lr 0.005, 4,500 epochs, 4-gon + N(0, 0.01²) initialisation.
Every snapshot is classified into a k-gon phase (4, 4+, 4++, 5, 5+, 6, other).

    python experiments/tms_sgd.py --quick          # 8 seeds, full protocol, ~1 minute
    python experiments/tms_sgd.py                  # 16 seeds, full protocol, minutes
    python experiments/tms_sgd.py --figures-only   # redraw from saved data
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl.agents.tms_runs import load_tms_runs
from devrl.agents.tms_sgd import (
    TMSSGDConfig,
    phase_sequences,
    train_tms_sgd,
    transition_summary,
)
from devrl.paper import experiment_parser, save_figure, write_macros, write_table
from devrl.paper.tms import draw_polygon
from devrl.theory.tms import KGON_NAMES, kgon_critical_points

NAME = "tms_sgd"
_KGON_WORDS = {
    "4": "Four",
    "5": "Five",
    "5+": "FivePlus",
    "6": "Six",
}  # macro names of the k-gons the prose quotes


def run_experiment(args) -> None:
    """Train all seeds at once; one run per seed under ``args.out``, and the phases table."""
    config = TMSSGDConfig(
        n_seeds=8 if args.quick else 16,
        seed0=args.seed,
        epochs=4500,
        n_log_checkpoints=100,
        n_linear_checkpoints=100 if args.quick else 400,
        run=NAME,
    )
    result = train_tms_sgd(config, out=args.out)
    result.phases().to_csv(args.out / "phases.csv", index=False)
    print(f"trained {config.n_seeds} seeds x {config.epochs} epochs in {result.seconds:.0f} s")


def figure_loss(result, path_stem, levels: dict[str, float]) -> None:
    """Population loss of every seed over SGD steps, with the k-gon critical losses."""
    m = result.metrics.query("measure == 'loss/population'")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for seed, df in m.groupby("seed"):
        ax.plot(df["step"].clip(lower=1), df["value"], lw=1, alpha=0.8)
    for name, loss in levels.items():
        ax.axhline(loss, color="0.6", ls="--", lw=0.6)
        ax.text(1.02, loss, name, transform=ax.get_yaxis_transform(), va="center", fontsize=7)
    ax.set(
        xscale="log",
        xlabel="SGD step",
        ylabel="population loss L(W, b)",
        title=f"{result.config.n_seeds} seeds from a 4-gon",
    )
    fig.tight_layout()
    save_figure(fig, path_stem)


def figure_polygons(result, phases: pd.DataFrame, summary: pd.DataFrame, path_stem) -> None:
    """W's columns as arrows (one colour per feature) at chosen checkpoints for a few seeds.

    Marker area grows with a positive bias (black edge: counted as '+').
    """
    jumped = summary.query("jumped").seed.tolist()
    stayed = summary.query("not jumped").seed.tolist()
    seeds = (jumped[:2] + stayed[:2])[:4] or list(result.config.seeds[:4])
    steps = result.steps
    picks = [0, int(np.searchsorted(steps, 1000)), len(steps) // 2, len(steps) - 1]
    fig, axes = plt.subplots(
        len(seeds), len(picks), figsize=(1.6 * len(picks), 1.6 * len(seeds)), squeeze=False
    )
    ph = phases.set_index(["seed", "step"])["phase"]
    for r, seed in enumerate(seeds):
        s = result.config.seeds.index(seed)
        for col, t in enumerate(picks):
            step = int(steps[t])
            draw_polygon(
                axes[r, col],
                result.W[s, t],
                result.b[s, t],
                f"seed {seed}, step {step}: {ph[(seed, step)]}",
            )
    fig.tight_layout()
    save_figure(fig, path_stem)


def make_figures(args) -> None:
    """Figures, table and number macros from the saved small tables only (no checkpoint)."""
    result = load_tms_runs(args.out, weights="snapshots")
    phases = pd.read_csv(args.out / "phases.csv", dtype={"phase": str})
    cfg = result.config
    summary = transition_summary(phase_sequences(phases), cfg.n_samples // cfg.batch_size)
    summary.to_csv(args.out / "transitions.csv", index=False)
    levels = {n: p.loss for n, p in kgon_critical_points(cfg.c, KGON_NAMES).items()}
    figure_loss(result, args.figures / f"{NAME}_loss", levels)
    figure_polygons(result, phases, summary, args.figures / f"{NAME}_polygons")
    write_table(
        args.tables / f"{NAME}.tex",
        summary[["seed", "path", "final", "jump_epoch"]],
        caption="TMS trained by SGD from a 4-gon: plateaus visited by each seed and the "
        "epoch at which it reached a 5-gon (blank: never).",
        label="tab:tms-sgd",
        float_format="%.0f",
    )
    jumps = summary["jump_epoch"].dropna()
    kgons = kgon_critical_points(cfg.c, KGON_NAMES)
    write_macros(
        args.tables / f"{NAME}_macros.tex",
        {
            # the model, the protocol and the closed-form k-gons the prose quotes
            "tmsSgdC": cfg.c,
            "tmsSgdM": cfg.m,
            "tmsSgdN": cfg.n_samples,
            "tmsSgdBatch": cfg.batch_size,
            "tmsSgdLr": cfg.lr,
            "tmsSgdInitNoise": cfg.init_noise,
            **{f"tmsLoss{w}": f"{kgons[k].loss:.4g}" for k, w in _KGON_WORDS.items()},
            **{f"tmsLlc{w}": f"{kgons[k].llc:g}" for k, w in _KGON_WORDS.items() if kgons[k].llc},
            "tmsSgdSeeds": cfg.n_seeds,
            "tmsSgdEpochs": cfg.epochs,
            "tmsSgdJumped": int(summary["jumped"].sum()),
            "tmsSgdJumpEpochMedian": float(jumps.median()) if len(jumps) else float("nan"),
            "tmsSgdFinalFour": int(summary["final"].str.rstrip("+").eq("4").sum()),
        },
    )
    print(summary.to_string(index=False))


def main() -> None:
    args = experiment_parser(__doc__.splitlines()[0], NAME).parse_args()
    if args.quick:  # quick runs live apart so they never overwrite the full runs' data
        args.out = args.out / "quick"
    if not args.figures_only:
        run_experiment(args)
    make_figures(args)


if __name__ == "__main__":
    main()
