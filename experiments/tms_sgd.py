"""TMS under SGD: which k-gon plateaus appear from a 4-gon start, and when runs jump.

Reproduces the supervised protocol of Chen et al. (2023), "Dynamical versus Bayesian phase
transitions in a toy model of superposition": c = 6 features, 2 hidden dimensions,
n = 1000 samples, batch 20, lr 0.005, 4,500 epochs, 4-gon + N(0, 0.01²) initialisation.
Every snapshot is classified into a k-gon phase (4, 4+, 4++, 5, 5+, 6, other).

    python experiments/tms_sgd.py --quick          # 8 seeds, full protocol, ~1 minute
    python experiments/tms_sgd.py                  # 16 seeds, full protocol, minutes
    python experiments/tms_sgd.py --figures-only   # redraw from saved data
    python experiments/tms_sgd.py --resample-only  # only the resampling runs (resumable)

Resampling (resample/*.csv, one file per batch, so an interrupted run resumes): do the jumps
come from the fixed sample or from gradient noise? The initialisation is held fixed and the
sample is redrawn (64 samples), the sample is held fixed too and only the minibatch order
varies (8 samples x 8 orders), and n varies at a fixed number of SGD steps
(the 225,000 of the protocol), so that the gradient noise of a batch of 20 stays the same while
the sample grows towards the population.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write_text
from devrl.agents.tms_runs import load_tms_runs
from devrl.agents.tms_sgd import (
    TMSSGDConfig,
    jump_outcomes,
    phase_sequences,
    train_tms_sgd,
    transition_summary,
)
from devrl.paper import experiment_parser, number_latex, save_figure, write_macros, write_table
from devrl.paper.tms_panels import draw_polygon, level_labels, polygon_key
from devrl.paper.tms_resample import resample_macros, resample_summary
from devrl.theory.tms import KGON_NAMES, kgon_critical_points

NAME = "tms_sgd"
_KGON_WORDS = {
    "4": "Four",
    "5": "Five",
    "5+": "FivePlus",
    "6": "Six",
}  # macro names of the k-gons the prose quotes


STEPS = 225_000  # SGD steps of the protocol: 4500 epochs of 1000 samples in batches of 20
RESAMPLE_N = (300, 1000, 3000, 10_000, 30_000)


def resample_design(quick: bool) -> dict[str, TMSSGDConfig]:
    """The resampling batches by name, most telling first (an interrupted run keeps those)."""
    runs, samples = (16, 4) if quick else (64, 8)
    sizes = (1000, 30_000, 300) if quick else (1000, 30_000, 300, 3000, 10_000)

    def cfg(run, n=1000, **kw):
        kw = {"init_seed": 0, "n_log_checkpoints": 50, "n_linear_checkpoints": 100} | kw
        return TMSSGDConfig(n_seeds=runs, n_samples=n, epochs=STEPS * 20 // n, run=run, **kw)

    design = {f"init0_n{n}": cfg(f"init0_n{n}", n) for n in sizes[:2]}
    # sample and init fixed, only the minibatch order varies: runs cycle over a few samples
    design["init0_samples"] = cfg("init0_samples", seed0=100, samples=samples)
    design |= {f"init0_n{n}": cfg(f"init0_n{n}", n) for n in sizes[2:]}
    if not quick:  # a second init, which did not jump on its own sample in the main runs
        design["init1_n1000"] = cfg("init1_n1000", init_seed=1)
    return design


def run_resampling(args) -> None:
    """Train every resampling batch not yet saved under ``out/resample`` (resumable)."""
    folder = args.out / "resample"
    for name, config in resample_design(args.quick).items():
        path = folder / f"{name}.csv"
        if path.exists():
            continue
        result = train_tms_sgd(config, progress=False)
        atomic_write_text(path, jump_outcomes(result).to_csv(index=False))
        print(f"{name}: {config.n_seeds} runs in {result.seconds:.0f} s", flush=True)


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


def figure_loss(
    result, path_stem, levels: dict[str, float], final: pd.Series | None = None
) -> None:
    """Population loss of every seed over SGD steps, with the k-gon critical losses; each
    seed coloured by the plateau it ends on (``final``: seed -> phase), with a legend."""
    m = result.metrics.query("measure == 'loss/population'")
    fig, ax = plt.subplots(figsize=(4.6, 2.9))
    phases = sorted(set(final)) if final is not None else []
    colors = dict(zip(phases, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for seed, df in m.groupby("seed"):
        c = colors[final[seed]] if final is not None else None
        ax.plot(df["step"], df["value"], lw=0.8, alpha=0.8, color=c)
    for loss in levels.values():
        ax.axhline(loss, color="0.6", ls="--", lw=0.5)
    ax.set_xscale("symlog", linthresh=1, linscale=0.3)  # step 0 drawn, log after step 1
    last = m["step"].max()
    ax.set_xticks([0, *(10.0**k for k in range(1, int(np.log10(last)) + 1))])
    ax.set_xlim(0, last)
    ax.set_xlabel("SGD step", fontsize=8)
    ax.set_ylabel("population loss L(W, b)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(
        f"{result.config.n_seeds} seeds from a 4-gon; dashed: k-gon critical losses", fontsize=8
    )
    if final is not None:
        counts = final.value_counts()
        handles = [plt.Line2D([], [], color=colors[p], lw=1.5) for p in phases]
        ax.legend(
            handles,
            [f"{p} ({counts[p]} seed{'s' * int(counts[p] > 1)})" for p in phases],
            title="final plateau",
            fontsize=6.5,
            title_fontsize=6.5,
            frameon=False,
            loc="lower left",
        )
    fig.tight_layout()
    level_labels(ax, levels)  # spaced by the laid-out axes' height
    fig.tight_layout()
    save_figure(fig, path_stem)


def figure_polygons(result, phases: pd.DataFrame, summary: pd.DataFrame, path_stem) -> None:
    """W's columns as arrows (one colour per feature) at chosen checkpoints for a few seeds:
    rows are seeds, columns checkpoints, each panel's k-gon phase in its corner; a key under
    the figure explains the markers (area: bias; ring: a '+')."""
    jumped = summary.query("jumped").seed.tolist()
    stayed = summary.query("not jumped").seed.tolist()
    seeds = (jumped[:2] + stayed[:2])[:4] or list(result.config.seeds[:4])
    steps = result.steps
    picks = [0, int(np.searchsorted(steps, 1000)), len(steps) // 2, len(steps) - 1]
    fig, axes = plt.subplots(
        len(seeds),
        len(picks),
        figsize=(1.25 * len(picks) + 0.3, 1.25 * len(seeds) + 0.7),
        squeeze=False,
    )
    ph = phases.set_index(["seed", "step"])["phase"]
    for r, seed in enumerate(seeds):
        s = result.config.seeds.index(seed)
        axes[r, 0].set_ylabel(f"seed {seed}", fontsize=7)
        for col, t in enumerate(picks):
            step = int(steps[t])
            ax = axes[r, col]
            draw_polygon(ax, result.W[s, t], result.b[s, t])
            ax.text(
                0.04, 0.04, ph[(seed, step)], transform=ax.transAxes, fontsize=7, fontweight="bold"
            )
            if r == 0:
                ax.set_title(f"step {step}", fontsize=7)
    polygon_key(fig)
    fig.tight_layout(rect=(0, 0.1, 1, 1), h_pad=0.3, w_pad=0.3)
    save_figure(fig, path_stem)


def make_figures(args) -> None:
    """Figures, table and number macros from the saved small tables only (no checkpoint)."""
    result = load_tms_runs(args.out, weights="snapshots")
    phases = pd.read_csv(args.out / "phases.csv", dtype={"phase": str})
    cfg = result.config
    summary = transition_summary(phase_sequences(phases), cfg.n_samples // cfg.batch_size)
    summary.to_csv(args.out / "transitions.csv", index=False)
    levels = {n: p.loss for n, p in kgon_critical_points(cfg.c, KGON_NAMES).items()}
    final = summary.set_index("seed")["final"]
    figure_loss(result, args.figures / f"{NAME}_loss", levels, final)
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
    macros = {
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
        "tmsSgdSteps": number_latex(cfg.epochs * cfg.n_samples // cfg.batch_size),
        "tmsSgdJumped": int(summary["jumped"].sum()),
        "tmsSgdJumpEpochMedian": float(jumps.median()) if len(jumps) else float("nan"),
        "tmsSgdFinalFour": int(summary["final"].str.rstrip("+").eq("4").sum()),
        # the last step at which a seed first reached a 4+ or 4++ plateau
        "tmsSgdPlusBy": int(
            phases[phases.phase.isin(["4+", "4++"])].groupby("seed").step.min().max()
        ),
    }
    files = sorted((args.out / "resample").glob("*.csv"))
    if files:
        outcomes = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        table, tests = resample_summary(outcomes)
        write_table(
            args.tables / f"{NAME}_resample.tex",
            table,
            caption="Where do the SGD jumps come from? Runs from one fixed initialisation "
            "(4-gon + noise of seed 0 or 1) with the sample redrawn per run, or the sample "
            "fixed (its seed in brackets) and only the minibatch order redrawn; every run has "
            "its own minibatch order and takes the protocol's "
            f"{STEPS:,} SGD steps (batch {cfg.batch_size}, rate {cfg.lr:g}), so n changes the sample, not the "
            "gradient noise of a step. Rate: share of runs that reached a 5- or 6-gon, with "
            "its Clopper--Pearson 95\\% interval.",
            label="tab:tms-sgd-resample",
            float_format="%.2f",
        )
        macros |= resample_macros(table, tests)
        print(table.to_string(index=False))
    write_macros(args.tables / f"{NAME}_macros.tex", macros)
    print(summary.to_string(index=False))


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--resample-only", action="store_true", help="train only the missing resampling runs"
    )
    args = parser.parse_args()
    if args.quick:  # quick runs live apart so they never overwrite the full runs' data
        args.out = args.out / "quick"
    torch.set_num_threads(1)
    if not args.figures_only:
        if not args.resample_only:
            run_experiment(args)
        run_resampling(args)
    make_figures(args)


if __name__ == "__main__":
    main()
