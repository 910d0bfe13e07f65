"""LLC over training: does the local learning coefficient move when behaviour does?

Trains maze PPO agents (9x9, cheese in the top-right cell, pinned in ``PPO`` below) with
dense checkpoints, calibrates SGLD on one checkpoint, then tracks at every checkpoint
the LLC on three rollout datasets (action likelihood, value regression, regret) and
the behaviour (success, episode regret, return, entropy). For each seed it finds the
checkpoint interval of the steepest success increase and of the steepest LLC change,
and reports the lag between them (in log10 env steps, and in env steps).

    python experiments/llc_over_training.py --quick          # 3 seeds x 24 checkpoints
    python experiments/llc_over_training.py                  # 8 seeds x 72 checkpoints
    python experiments/llc_over_training.py --figures-only   # redraw from saved data
    python experiments/llc_over_training.py --seeds 12       # more seeds (resumable)
    python experiments/llc_over_training.py --control --runs DIR   # Fisher/γ control only

``--control`` computes, at ``CONTROL_CHECKPOINTS`` checkpoints of each run (read from
``--runs``, default the data folder), the policy's Fisher spectrum on the fixed uniform
state buffer (measure ``fisher``) and the uniform-buffer action LLC at several γ, and
writes ``control.csv``; the weight norm is tracked at every checkpoint (``weights.csv``).
All of it is cached per checkpoint by ``devrl.track``, so an interrupted run resumes.

Data go to ``--out``/quick or ``--out``/full (run directories with their cached
tracks, calibration, the tidy table ``tracks.csv``, per-seed lags ``lags.csv``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from devrl import progress
from devrl.agents import PPOConfig, train
from devrl.forms import change_lags
from devrl.llc import (
    calibrate_datasets,
    estimate,
    plot_calibration,
    rollout_dataset,
    select_setting,
    vmap_safe,
)
from devrl.measures import (
    DEFAULT_MEASURE_SEED,
    LLC_DEFAULTS,
    NBETA,
    NBETA_REGRET,
    get_measure,
    uniform_llc,
)
from devrl.paper import data_dir, experiment_parser, save_figure, write_macros, write_table
from devrl.runs import Run
from devrl.track import track

try:  # run as a script (devrl paper) or imported from the repository root
    import llc_over_training_stats as stats
except ImportError:  # pragma: no cover
    from experiments import llc_over_training_stats as stats

NAME = "llc_over_training"
KINDS = ("action", "value", "regret")
BEHAVIOUR = ("success", "regret", "return", "entropy", "length")
# The measures' default SGLD settings (devrl.measures.defaults), cheap enough for many
# checkpoints; lr and γ come from the calibration below.
SAMPLER = {k: LLC_DEFAULTS[k] for k in ("chains", "draws", "burnin", "batch_size")}
LLC = {"samples": LLC_DEFAULTS["samples"], **SAMPLER}
GRID = 25  # points of the even grid the steepest changes are found on
ROW = 0.07  # largest height (axes fraction) of one seed's row of change markers in figure_curves
MARKER_BAND = 0.4  # share of a panel's height the rows of change markers may take
MAX_SPREAD = 0.5  # chains' std / |mean| above which a setting is too noisy to track

# The maze agent, pinned field by field (not through a preset) as it was when this was run (9x9,
# cheese in the top-right cell, 8 conv channels, discount 0.95, 1M env steps), pinned
# so later preset changes do not invalidate the saved runs.
PPO = {"size": 9, "corner": 1, "total_timesteps": 1_000_000, "num_envs": 64, "num_steps": 64}
PPO |= {"lr": 1e-3, "gamma": 0.95, "ent_coef": 0.01, "num_minibatches": 8, "update_epochs": 4}
PPO |= {"channels": 8, "hidden": 32, "readout_plane": None, "res_blocks": 1, "downsample": False}


CONTROL_CHECKPOINTS = {"quick": 4, "full": 12}  # checkpoints per run of the Fisher / γ control
FISHER_STATES = 256  # uniform states of the Fisher spectrum (its Gram matrix is 4N x 4N)
CONTROL_GAMMAS = (10.0, 1000.0)  # localizations added to the calibrated γ = 100


def settings(quick: bool, seeds: int | None = None) -> dict:
    """Seeds, checkpoints, evaluation episodes and the calibration grid of each mode."""
    return {
        "seeds": seeds or (3 if quick else 8),
        "checkpoints": 24 if quick else 72,
        "episodes": 64 if quick else 200,
        "lrs": (1e-4, 3e-4, 1e-3, 3e-3),
        "localizations": (100.0,) if quick else (30.0, 100.0),
    }


def calibrate_llc(run: Run, cfg: dict, out) -> dict:
    """Sweep lr × γ on the first seed's final checkpoint; pick one setting for all datasets.

    ``devrl.llc.select_setting``: the largest lr (then γ) at which both datasets whose w*
    is a minimum (action likelihood, value regression) are healthy and their chains agree
    within ``MAX_SPREAD``. The regret data (w* not a minimum) only get the nβ sweep recorded.
    """
    step, gamma = run.steps[-1], run.config["gamma"]
    policy = vmap_safe(run.policy(step))
    where = {"env_kwargs": run.env_variables, "seed": DEFAULT_MEASURE_SEED, "gamma": gamma}
    data = {k: rollout_dataset(k, policy, samples=LLC["samples"], **where) for k in KINDS}
    nbetas = {"action": (NBETA,), "value": (NBETA,), "regret": (NBETA, NBETA_REGRET)}
    grid = (cfg["lrs"], nbetas, cfg["localizations"])
    table = calibrate_datasets(policy, data, *grid, **SAMPLER, seed=DEFAULT_MEASURE_SEED)
    table.assign(step=step).to_csv(out / "calibration.csv", index=False)
    pick = select_setting(table, ("action", "value"), max_spread=MAX_SPREAD)
    # CPU time of one estimate at the chosen setting (wall time is inflated on a shared box).
    cpu = time.process_time()
    chosen = {"lr": pick["lr"], "localization": pick["localization"], "nbeta": NBETA}
    estimate(policy, data["action"], **chosen, **SAMPLER, seed=0, progress=False)
    record = {"step": step, **chosen, "nbeta_regret": NBETA_REGRET, "fallback": pick["fallback"]}
    record |= {"cpu_seconds_per_estimate": time.process_time() - cpu, **LLC}
    (out / "calibration.json").write_text(json.dumps(record, indent=2))
    return record


def llc_measures(calib: dict) -> list:
    """The three LLC measures at the calibrated setting, plus the action likelihood on a
    fixed uniform state buffer (``llc-action-uniform``), which separates the change of
    the parameters from the drift of the on-policy state distribution."""
    chosen = {"lr": calib["lr"], "localization": calib["localization"]}
    measures = [
        get_measure(f"llc-{k}", **LLC, **chosen, nbeta=NBETA_REGRET if k == "regret" else NBETA)
        for k in KINDS
    ]
    return [*measures, uniform_llc(calib)]


def control_steps(steps: list, k: int) -> list:
    """``k`` checkpoints evenly spaced in index over ``steps`` (the grid is log then linear)."""
    idx = np.unique(np.linspace(1, len(steps) - 1, min(k, len(steps) - 1)).round().astype(int))
    return [steps[i] for i in idx]


def run_control(args) -> None:
    """Fisher spectrum and LLC at several γ at a subset of checkpoints; weight norm at all."""
    out = data_dir(args.out, args.quick)
    runs_dir = args.runs or out
    calib = json.loads((out / "calibration.json").read_text())
    seeds = json.loads((out / "seeds.json").read_text())
    uniform = llc_measures(calib)[-1]
    gammas = [uniform.with_params(localization=g) for g in CONTROL_GAMMAS]
    gammas = [
        dataclasses.replace(m, name=f"llc-action-uniform-g{g:g}")
        for m, g in zip(gammas, CONTROL_GAMMAS)
    ]
    measures = [get_measure("fisher", nbeta=calib["nbeta"], samples=FISHER_STATES), *gammas]
    k = CONTROL_CHECKPOINTS["quick" if args.quick else "full"]
    torch.set_num_threads(1)
    frames, norms = [], []
    for seed in progress(seeds, "llc_over_training control", unit="run"):
        run = Run.load(runs_dir / f"run_seed{seed}")
        cache = out / f"run_seed{seed}" / "tracks"
        norms.append(track(run, ["weight-norm"], cache_dir=cache, progress=False))
        steps = control_steps(run.steps, k)
        frames.append(track(run, measures, steps, cache_dir=cache, workers=args.workers))
    pd.concat(frames, ignore_index=True).to_csv(out / "control.csv", index=False)
    pd.concat(norms, ignore_index=True).to_csv(out / "weights.csv", index=False)


def run_experiment(args) -> None:
    """Train every seed, calibrate on one checkpoint, track everything; save under args.out."""
    out, cfg = data_dir(args.out, args.quick), settings(args.quick, args.seeds)
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [args.seed + i for i in range(cfg["seeds"])]
    runs = {}
    for seed in progress(seeds, "llc_over_training training", unit="run"):
        config = PPOConfig(**PPO, seed=seed, checkpoints=cfg["checkpoints"])
        runs[seed] = train(config, out / f"run_seed{seed}", resume=True)
    calib_file = out / "calibration.json"
    if calib_file.is_file():
        calib = json.loads(calib_file.read_text())
    else:
        calib = calibrate_llc(runs[seeds[0]], cfg, out)
    measures = llc_measures(calib)
    measures += [get_measure(name, episodes=cfg["episodes"]) for name in BEHAVIOUR]
    tracking = progress(seeds, "llc_over_training tracking", unit="run")
    frames = [track(runs[seed], measures, workers=args.workers) for seed in tracking]
    pd.concat(frames, ignore_index=True).to_csv(out / "tracks.csv", index=False)
    (out / "seeds.json").write_text(json.dumps(seeds))


# --------------------------------------------------------------------------- figures


def figure_curves(tracks: pd.DataFrame, lag: pd.DataFrame, path_stem) -> None:
    """Behaviour (top) beside the LLC on three datasets (bottom), one colour per seed; each
    seed's steepest success increase and steepest LLC change as markers staggered by seed."""
    from matplotlib.lines import Line2D

    labels = ("success rate", "regret per episode", "policy entropy (nats)")
    labels += ("LLC, action likelihood", "LLC, value regression", "regret-LLC")
    panels = list(zip(("success", "regret", "entropy", *(f"llc-{k}" for k in KINDS)), labels))
    fig, axes = plt.subplots(2, 3, figsize=(6.5, 4.9), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    at = lag.set_index("seed")
    seeds = list(tracks.groupby("seed").groups)
    step = min(ROW, MARKER_BAND / len(seeds))  # rows fit in the top MARKER_BAND of a panel
    for i, (seed, df) in enumerate(tracks.groupby("seed")):
        c = colors[i % len(colors)]
        style = {"color": c, "lw": 0.8, "marker": "o", "ms": 1.5}
        # markers in axes fraction, one row per seed, so none overlap
        row = 0.97 - step * i
        for ax, (measure, label) in zip(axes.flat, panels):
            d = df[(df["measure"] == measure) & (df["step"] > 0)].sort_values("step")
            marks = ax.get_xaxis_transform()
            if measure.startswith("llc-"):
                std = df[df["measure"] == f"{measure}/std"].set_index("step")["value"]
                yerr = std.reindex(d["step"]).to_numpy()
                ax.errorbar(d["step"], d["value"], yerr=yerr, elinewidth=0.5, capsize=0, **style)
                ax.plot(
                    at.loc[seed, f"{measure[4:]}_at"],
                    row,
                    "o",
                    mfc="white",
                    mec=c,
                    ms=4,
                    mew=1,
                    transform=marks,
                    clip_on=False,
                )
            else:
                ax.plot(d["step"], d["value"], **style)
            if measure == "llc-action" and "llc-action-uniform" in set(df["measure"]):
                u = df[(df["measure"] == "llc-action-uniform") & (df["step"] > 0)]
                u = u.sort_values("step")
                ax.plot(u["step"], u["value"], color=c, lw=1.1, ls=(0, (3, 1.5)), zorder=4)
            ax.plot(
                at.loc[seed, "success_at"],
                row,
                "v",
                color=c,
                ms=4,
                transform=marks,
                clip_on=False,
            )
            ax.set_ylabel(label, fontsize=8)
            ax.set_xscale("log")
            ax.tick_params(labelsize=7)
    band = 0.05 + step * len(seeds)  # headroom for the markers above the curves
    for ax in axes.flat:
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, lo + (hi - lo) / (1 - band))
    for ax in axes[1]:
        ax.set_xlabel("environment steps", fontsize=8)
    handles = [Line2D([], [], color=colors[i % len(colors)], lw=1.5) for i in range(len(seeds))]
    names = [f"seed {s}" for s in seeds]
    handles += [
        Line2D([], [], ls="", marker="v", color="0.3", ms=4),
        Line2D([], [], ls="", marker="o", mfc="white", mec="0.3", ms=4),
    ]
    names += ["steepest success increase", "steepest LLC change"]
    if "llc-action-uniform" in set(tracks["measure"]):
        handles.append(Line2D([], [], color="0.3", lw=1.1, ls=(0, (3, 1.5))))
        names.append("LLC on uniform states")
    fig.legend(
        handles,
        names,
        loc="lower center",
        ncol=4,
        fontsize=7,
        frameon=False,
        title="error bars: std over SGLD chains",
        title_fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.15, 1, 1), h_pad=0.6, w_pad=0.6)
    save_figure(fig, path_stem)


def table_lags(lag: pd.DataFrame, path) -> None:
    """Per seed: when success rises fastest, and each LLC's lag behind it."""
    thousands = {f"{k} (k)": (lag[f"{k}_lag_steps"] / 1000).round().astype(int) for k in KINDS}
    rise = (lag["success_at"] / 1000).round().astype(int)
    lags = {f"{k}": lag[f"{k}_lag"] for k in KINDS}
    table = pd.DataFrame({"seed": lag["seed"], "rise (k)": rise, **lags, **thousands})
    caption = (
        "Per seed: thousands of env steps at the steepest success increase (rise) "
        "(log axis); lag of the steepest change of each LLC behind it, in log10 "
        "env steps (log axis; columns action, value, regret) and in thousands "
        "of env steps (linear axis; columns marked k); negative: the LLC "
        "moves first."
    )
    write_table(path, table, caption, "tab:llc-over-training", float_format="%.2f")


def macros(tracks: pd.DataFrame, lag: pd.DataFrame, chosen: dict, seeds: list, path) -> dict:
    """The numbers the section's prose quotes, in the order of the macro file."""
    wide = tracks.pivot_table(index=["seed", "step"], columns="measure", values="value")
    final = wide.groupby(level="seed").tail(1).droplevel("step")  # each seed's last checkpoint
    health = tracks[tracks["measure"].str.endswith("/healthy")].groupby("measure")["value"]
    seconds = tracks[tracks["measure"].str.endswith("/seconds")]["value"]
    m = {
        "llcSeeds": len(seeds),
        "llcGrid": GRID,
        "llcMazeSize": int(tracks["size"].iloc[0]),
        "llcCheckpoints": int(tracks.groupby("seed")["step"].nunique().min()),
        "llcSteps": int(tracks["step"].max()),
    }
    for key in ("lr", "localization", "nbeta", "nbeta_regret", "chains", "draws", "burnin"):
        m["llc" + key.title().replace("_", "")] = chosen[key]
    m |= {"llcSamples": chosen["samples"], "llcBatch": chosen["batch_size"]}
    m["llcCpuSecondsPerEstimate"] = chosen["cpu_seconds_per_estimate"]
    m["llcWallSecondsPerEstimate"] = float(seconds.median())
    m["llcFinalSuccess"] = float(final["success"].mean())
    m["llcLagMedian"] = float(lag["action_lag"].median())
    names = ("Final", "FinalStd", "FinalSeedSd", "LagMedian", "LagMin", "LagMax", "Rho")
    for kind in KINDS:
        llc, lags, rho = final[f"llc-{kind}"], lag[f"{kind}_lag"], lag[f"{kind}_rho"]
        stats = [llc.mean(), final[f"llc-{kind}/std"].mean(), llc.std(ddof=1)]
        stats += [*lags.agg(["median", "min", "max"]), *rho.agg(["median", "min"])]
        stats += [health.mean()[f"llc-{kind}/healthy"]]
        keys = [f"llc{kind.capitalize()}{n}" for n in (*names, "RhoMin", "Healthy")]
        m |= {key: float(v) for key, v in zip(keys, stats, strict=True)}
    if "llc-action-uniform" in final.columns:
        pair = wide[["llc-action-uniform", "success"]]
        rho = [pair.loc[seed].corr(method="spearman").iloc[0, 1] for seed in seeds]
        early = wide.xs(tracks[tracks["step"] > 0]["step"].min(), level="step")
        m["llcActionUniformFinal"] = float(final["llc-action-uniform"].mean())
        m["llcActionUniformFinalSeedSd"] = float(final["llc-action-uniform"].std(ddof=1))
        m["llcActionUniformRho"] = float(np.median(rho))
        m["llcActionUniformFirst"] = float(early["llc-action-uniform"].mean())
        m["llcActionFirst"] = float(early["llc-action"].mean())
    regret = tracks[tracks["measure"] == "llc-regret"]["value"]
    first = tracks[tracks["step"] > 0].groupby("seed")["step"].min().max()
    last = tracks["step"].max()
    m |= {"llcRegretNegative": int((regret < 0).sum()), "llcRegretEstimates": len(regret)}
    m["llcSuccessAtMedian"] = float(lag["success_at"].median())
    m["llcGridLog"] = float(np.log10(last / first) / (GRID - 1))
    m["llcGridSteps"] = float(last / (GRID - 1))
    for kind in KINDS:
        m[f"llc{kind.capitalize()}LagStepsMedian"] = float(lag[f"{kind}_lag_steps"].median())
    if path is not None:
        write_macros(path, m)
    return m


def make_figures(args) -> None:
    """Figures, table and number macros from the saved data only."""
    out = data_dir(args.out, args.quick, reading="tracks.csv")
    seeds = json.loads((out / "seeds.json").read_text())
    tracks = pd.read_csv(out / "tracks.csv")
    chosen = json.loads((out / "calibration.json").read_text())
    lag = change_lags(tracks, "success", {k: f"llc-{k}" for k in KINDS}, grid=GRID)
    lag = lag.assign(seed=lag["seed"].astype(int))
    lag.to_csv(out / "lags.csv", index=False)
    figure_curves(tracks, lag, args.figures / f"{NAME}_curves")
    sweep = pd.read_csv(out / "calibration.csv")
    calibration = plot_calibration(
        sweep,
        KINDS,
        chosen["lr"],
        chosen["localization"],
        checked=("action", "value"),  # select_setting's kinds: the regret's w* is no minimum
    )
    save_figure(calibration, args.figures / f"{NAME}_calibration")
    table_lags(lag, args.tables / f"{NAME}.tex")
    m = macros(tracks, lag, chosen, seeds, None)
    # the regret's loss at w* against the action likelihood's: why its nβ is larger
    init = sweep.groupby("kind")["init_loss"].median()
    m["llcRegretLossRatio"] = float(init["action"] / init["regret"])
    gammas = (CONTROL_GAMMAS[0], chosen["localization"], *CONTROL_GAMMAS[1:])
    m |= stats.null_statistics(
        out,
        tracks,
        lag,
        seeds,
        (args.tables / f"{NAME}_stats.tex", args.tables / f"{NAME}_control.tex"),
        kinds=KINDS,
        grid=GRID,
        gammas=gammas,
        fisher_states=FISHER_STATES,
    )
    write_macros(args.tables / f"{NAME}_macros.tex", m)


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--seeds", type=int, default=None, help="seeds to train (default 8; quick 3)"
    )
    parser.add_argument("--control", action="store_true", help="only the Fisher/γ control")
    parser.add_argument("--runs", type=Path, default=None, help="folder of the trained runs")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes tracking a run's checkpoints (default 1)"
    )
    args = parser.parse_args()
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.control:
        run_control(args)
    elif not args.figures_only:
        run_experiment(args)
        run_control(args)
    make_figures(args)


if __name__ == "__main__":
    main()
