"""LLC over training: does the local learning coefficient move when behaviour does?

Trains maze PPO agents (the ``quick`` preset, 9x9, cheese in the top-right cell) with
dense checkpoints, calibrates SGLD on one checkpoint, then tracks at every checkpoint
the LLC on three rollout datasets (action likelihood, value regression, regret) and
the behaviour (success, episode regret, return, entropy). For each seed it finds the
checkpoint interval of the steepest success increase and of the steepest LLC change,
and reports the lag between them (in log10 env steps, and in env steps).

    python experiments/llc_over_training.py --quick          # 3 seeds x 24 checkpoints
    python experiments/llc_over_training.py                  # 3 seeds x 72 checkpoints
    python experiments/llc_over_training.py --figures-only   # redraw from saved data

Data go to ``--out``/quick or ``--out``/full (run directories with their cached
tracks, calibration, the tidy table ``tracks.csv``, per-seed lags ``lags.csv``).
"""

from __future__ import annotations

import dataclasses
import json
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from devrl.agents import PPOConfig, train
from devrl.forms import change_lags
from devrl.llc import calibrate, estimate
from devrl.llc.datasets import rollout_dataset, vmap_safe
from devrl.measures import DEFAULT_MEASURE_SEED, get_measure
from devrl.paper import experiment_parser, save_figure, write_macros, write_table
from devrl.runs import Run
from devrl.track import track

NAME = "llc_over_training"
KINDS = ("action", "value", "regret")
BEHAVIOUR = ("success", "regret", "return", "entropy", "length")
# Cheap SGLD settings for many checkpoints (one estimate ~ 1.5 s of one CPU core); lr
# and γ come from the calibration below. nβ = batch/ln(batch) for the likelihoods;
# the regret loss lives on a scale ~(1 − γ_discount) ≈ 20x smaller than a
# log-likelihood, so its nβ is 10x larger to keep nβ·ΔL of order one.
LLC = {"samples": 1024, "chains": 4, "draws": 60, "burnin": 40, "batch_size": 64}
NBETA = 64 / np.log(64)
NBETA_REGRET = 10 * NBETA
GRID = 25  # points of the even grid the steepest changes are found on
MAX_SPREAD = 0.5  # chains' std / |mean| above which a setting is too noisy to track


# The maze agent, pinned field by field (not through a preset) as it was when this was run (9x9,
# cheese in the top-right cell, 8 conv channels, discount 0.95, 1M env steps), pinned
# so later preset changes do not invalidate the saved runs.
PPO = {
    "size": 9,
    "corner": 1,
    "total_timesteps": 1_000_000,
    "num_envs": 64,
    "num_steps": 64,
    "lr": 1e-3,
    "gamma": 0.95,
    "ent_coef": 0.01,
    "num_minibatches": 8,
    "update_epochs": 4,
    "channels": 8,
    "hidden": 32,
    "readout_plane": None,
    "res_blocks": 1,
    "downsample": False,
}


def settings(quick: bool) -> dict:
    return {
        "seeds": 3,
        "checkpoints": 24 if quick else 72,
        "episodes": 64 if quick else 200,
        "lrs": (1e-4, 3e-4, 1e-3, 3e-3),
        "localizations": (100.0,) if quick else (30.0, 100.0),
    }


def _nbeta(kind: str) -> float:
    return NBETA_REGRET if kind == "regret" else NBETA


def calibrate_llc(run: Run, cfg: dict, out) -> dict:
    """Sweep lr × γ on the first seed's final checkpoint; pick one setting for all datasets.

    The pick is the largest lr (then γ) at which both datasets whose w* is a minimum
    (action likelihood, value regression) are healthy by ``devrl.llc``'s diagnostics
    and their chains agree to within ``MAX_SPREAD``. The regret data never pass the
    health checks (w* is not a minimum), so they only get the nβ sweep recorded.
    """
    step = run.steps[-1]
    policy = run.policy(step)
    gamma = run.config["gamma"]
    rows = []
    for kind in KINDS:
        data = rollout_dataset(
            kind,
            policy,
            env_kwargs=run.env_variables,
            samples=LLC["samples"],
            seed=DEFAULT_MEASURE_SEED,
            gamma=gamma,
        )
        nbetas = (NBETA, NBETA_REGRET) if kind == "regret" else (NBETA,)
        frame = calibrate(
            vmap_safe(policy),
            data,
            cfg["lrs"],
            nbetas,
            cfg["localizations"],
            chains=LLC["chains"],
            draws=LLC["draws"],
            burnin=LLC["burnin"],
            batch_size=LLC["batch_size"],
            seed=DEFAULT_MEASURE_SEED,
        )
        rows.append(frame.assign(kind=kind, step=step))
    table = pd.concat(rows, ignore_index=True)
    table.to_csv(out / "calibration.csv", index=False)
    ok = table[table["kind"].isin(["action", "value"])].assign(
        good=lambda d: d["healthy"].astype(bool) & (d["llc_std"] < MAX_SPREAD * d["llc"].abs())
    )
    good = ok.groupby(["lr", "localization"])["good"].all()
    good = good[good]
    lr, loc = max(good.index) if len(good) else (1e-3, 100.0)
    # CPU time of one estimate at the chosen setting (wall time is inflated on a shared box).
    data = rollout_dataset(
        "action",
        policy,
        env_kwargs=run.env_variables,
        samples=LLC["samples"],
        seed=DEFAULT_MEASURE_SEED,
        gamma=gamma,
    )
    cpu = time.process_time()
    estimate(
        vmap_safe(policy),
        data,
        lr=lr,
        nbeta=NBETA,
        localization=loc,
        chains=LLC["chains"],
        draws=LLC["draws"],
        burnin=LLC["burnin"],
        batch_size=LLC["batch_size"],
        seed=0,
        progress=False,
    )
    record = {
        "step": step,
        "lr": float(lr),
        "localization": float(loc),
        "nbeta": NBETA,
        "nbeta_regret": NBETA_REGRET,
        "fallback": not len(good),
        "cpu_seconds_per_estimate": time.process_time() - cpu,
        **LLC,
    }
    (out / "calibration.json").write_text(json.dumps(record, indent=2))
    return record


def llc_measures(calib: dict) -> list:
    """The three LLC measures at the calibrated setting, plus the action likelihood on a
    fixed uniform state buffer (``llc-action-uniform``), which separates the change of
    the parameters from the drift of the on-policy state distribution."""
    measures = [
        get_measure(
            f"llc-{kind}",
            **LLC,
            lr=calib["lr"],
            localization=calib["localization"],
            nbeta=_nbeta(kind),
        )
        for kind in KINDS
    ]
    uniform = measures[0].with_params(states="uniform")
    return [*measures, dataclasses.replace(uniform, name="llc-action-uniform")]


def data_dir(args, reading: bool = False):
    """``args.out/quick`` or ``args.out/full``: the two modes' runs differ (checkpoints).

    When only reading (``--figures-only``) and this mode has no data but the other
    has, the other is used, so ``devrl paper`` can redraw whatever was computed.
    """
    mode, other = ("quick", "full") if args.quick else ("full", "quick")
    out = args.out / mode
    if (
        reading
        and not (out / "tracks.csv").is_file()
        and (args.out / other / "tracks.csv").is_file()
    ):
        print(f"{NAME}: no {mode} data under {args.out}; drawing the {other} data")
        return args.out / other
    return out


def run_experiment(args) -> None:
    """Train every seed, calibrate on one checkpoint, track everything; save under args.out."""
    out = data_dir(args)
    cfg = settings(args.quick)
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [args.seed + i for i in range(cfg["seeds"])]
    runs = {}
    for seed in seeds:
        config = PPOConfig(**PPO, seed=seed, checkpoints=cfg["checkpoints"])
        runs[seed] = train(config, out / f"run_seed{seed}", resume=True)
    calib_file = out / "calibration.json"
    calib = (
        json.loads(calib_file.read_text())
        if calib_file.is_file()
        else calibrate_llc(runs[seeds[0]], cfg, out)
    )
    measures = llc_measures(calib)
    measures += [get_measure(name, episodes=cfg["episodes"]) for name in BEHAVIOUR]
    frames = []
    for seed in seeds:
        frames.append(track(runs[seed], measures))
    pd.concat(frames, ignore_index=True).to_csv(out / "tracks.csv", index=False)
    (out / "seeds.json").write_text(json.dumps(seeds))


# --------------------------------------------------------------------------- analysis


def lags(tracks: pd.DataFrame) -> pd.DataFrame:
    """Per seed: steepest success rise, steepest change of each LLC, and the lags."""
    lag = change_lags(tracks, "success", {k: f"llc-{k}" for k in KINDS}, grid=GRID)
    return lag.assign(seed=lag["seed"].astype(int))


# --------------------------------------------------------------------------- figures


def figure_curves(tracks: pd.DataFrame, lag: pd.DataFrame, path_stem) -> None:
    """Behaviour (top) beside the LLC on three datasets (bottom), one colour per seed."""
    panels = [
        ("success", "success rate"),
        ("regret", "episode regret"),
        ("entropy", "policy entropy (nats)"),
        ("llc-action", "LLC, action likelihood"),
        ("llc-value", "LLC, value regression"),
        ("llc-regret", "regret-LLC"),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.6), sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (seed, df) in enumerate(tracks.groupby("seed")):
        c = colors[i % len(colors)]
        s_at = lag.set_index("seed").loc[seed, "success_at"]
        for ax, (measure, label) in zip(axes.flat, panels):
            d = df[(df["measure"] == measure) & (df["step"] > 0)].sort_values("step")
            if measure.startswith("llc-"):
                std = df[df["measure"] == f"{measure}/std"].set_index("step")["value"]
                ax.errorbar(
                    d["step"],
                    d["value"],
                    yerr=std.reindex(d["step"]).to_numpy(),
                    color=c,
                    lw=1,
                    ms=2.5,
                    marker="o",
                    elinewidth=0.6,
                    capsize=0,
                    label=f"seed {seed}",
                )
                at = lag.set_index("seed").loc[seed, f"{measure[4:]}_at"]
                ax.axvline(at, color=c, ls=":", lw=1)
            else:
                ax.plot(
                    d["step"], d["value"], color=c, lw=1, marker="o", ms=2.5, label=f"seed {seed}"
                )
            if measure == "llc-action" and "llc-action-uniform" in set(df["measure"]):
                u = df[(df["measure"] == "llc-action-uniform") & (df["step"] > 0)]
                u = u.sort_values("step")
                ax.plot(u["step"], u["value"], color=c, lw=1, ls="--", alpha=0.8)
                if i == 0:
                    ax.plot([], [], color="k", lw=1, ls="--", label="uniform states")
            ax.axvline(s_at, color=c, ls="--", lw=0.8, alpha=0.6)
            ax.set_title(label, fontsize=9)
            ax.set_xscale("log")
    for ax in axes[1]:
        ax.set_xlabel("environment steps")
    axes[0, 0].legend(frameon=False, fontsize=7)
    if axes[1, 0].get_legend_handles_labels()[1]:
        axes[1, 0].legend(frameon=False, fontsize=7)
    fig.text(
        0.5,
        0.005,
        "dashed: steepest success increase; dotted: steepest LLC change "
        "(error bars: std over chains)",
        ha="center",
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    save_figure(fig, path_stem)


def figure_calibration(calib: pd.DataFrame, chosen: dict, path_stem) -> None:
    """Calibration sweep on one checkpoint: estimate vs lr per dataset; unhealthy hollow."""
    fig, axes = plt.subplots(1, len(KINDS), figsize=(10, 2.8))
    for ax, kind in zip(axes, KINDS):
        d = calib[calib["kind"] == kind]
        for (gamma, nbeta), g in d.groupby(["localization", "nbeta"]):
            ok = g["healthy"].astype(bool)
            line = ax.errorbar(
                g["lr"],
                g["llc"],
                yerr=g["llc_std"],
                marker="o",
                lw=1,
                ms=4,
                label=f"γ={gamma:g}, nβ={nbeta:.3g}",
                mfc="none",
            )
            ax.plot(g.loc[ok, "lr"], g.loc[ok, "llc"], "o", color=line[0].get_color(), ms=4)
        ax.axvline(chosen["lr"], color="k", ls=":", lw=1)
        ax.set(xscale="log", xlabel="SGLD lr", title=kind)
    axes[0].set_ylabel("LLC estimate")
    for ax in axes:
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(
        "calibration on one checkpoint (filled: healthy chains; dotted: chosen lr)", fontsize=9
    )
    fig.tight_layout()
    save_figure(fig, path_stem)


def make_figures(args) -> None:
    """Figures, table and number macros from the saved data only."""
    out = data_dir(args, reading=True)
    seeds = json.loads((out / "seeds.json").read_text())
    tracks = pd.read_csv(out / "tracks.csv")
    calib = pd.read_csv(out / "calibration.csv")
    chosen = json.loads((out / "calibration.json").read_text())
    lag = lags(tracks)
    lag.to_csv(out / "lags.csv", index=False)
    figure_curves(tracks, lag, args.figures / f"{NAME}_curves")
    figure_calibration(calib, chosen, args.figures / f"{NAME}_calibration")

    last = tracks[tracks["step"] == tracks.groupby("seed")["step"].transform("max")]
    final = last.pivot_table(index="seed", columns="measure", values="value")
    table = pd.DataFrame(
        {
            "seed": lag["seed"],
            "rise (k)": (lag["success_at"] / 1000).round().astype(int),
            **{f"{k}": lag[f"{k}_lag"] for k in KINDS},
            **{f"{k} (k)": (lag[f"{k}_lag_steps"] / 1000).round().astype(int) for k in KINDS},
        }
    )
    write_table(
        args.tables / f"{NAME}.tex",
        table,
        float_format="%.2f",
        caption="Per seed: thousands of env steps at the steepest success increase (rise) "
        "(log axis); lag of the steepest change of each LLC behind it, in log10 "
        "env steps (log axis; columns action, value, regret) and in thousands "
        "of env steps (linear axis; columns marked k); negative: the LLC "
        "moves first.",
        label="tab:llc-over-training",
    )
    n_ckpt = tracks.groupby("seed")["step"].nunique()
    spread = {k: final[f"llc-{k}/std"] for k in KINDS}
    seconds = tracks[tracks["measure"].str.endswith("/seconds")]["value"]
    healthy = tracks[tracks["measure"].str.endswith("/healthy")]
    macros = {
        "llcSeeds": len(seeds),
        "llcCheckpoints": int(n_ckpt.min()),
        "llcSteps": int(tracks["step"].max()),
        "llcLr": chosen["lr"],
        "llcLocalization": chosen["localization"],
        "llcNbeta": chosen["nbeta"],
        "llcNbetaRegret": chosen["nbeta_regret"],
        "llcChains": chosen["chains"],
        "llcDraws": chosen["draws"],
        "llcBurnin": chosen["burnin"],
        "llcSamples": chosen["samples"],
        "llcBatch": chosen["batch_size"],
        "llcCpuSecondsPerEstimate": chosen["cpu_seconds_per_estimate"],
        "llcWallSecondsPerEstimate": float(seconds.median()),
        "llcFinalSuccess": float(final["success"].mean()),
        "llcLagMedian": float(lag["action_lag"].median()),
    }
    for kind in KINDS:
        K = kind.capitalize()
        macros[f"llc{K}Final"] = float(final[f"llc-{kind}"].mean())
        macros[f"llc{K}FinalStd"] = float(spread[kind].mean())
        macros[f"llc{K}FinalSeedSd"] = float(final[f"llc-{kind}"].std(ddof=1))
        macros[f"llc{K}LagMedian"] = float(lag[f"{kind}_lag"].median())
        macros[f"llc{K}LagMin"] = float(lag[f"{kind}_lag"].min())
        macros[f"llc{K}LagMax"] = float(lag[f"{kind}_lag"].max())
        macros[f"llc{K}Rho"] = float(lag[f"{kind}_rho"].median())
        macros[f"llc{K}RhoMin"] = float(lag[f"{kind}_rho"].min())
        h = healthy[healthy["measure"] == f"llc-{kind}/healthy"]["value"]
        macros[f"llc{K}Healthy"] = float(h.mean())
    if "llc-action-uniform" in final.columns:
        rho = [
            tracks[
                (tracks["seed"] == seed) & tracks["measure"].isin(["llc-action-uniform", "success"])
            ]
            .pivot_table(index="step", columns="measure", values="value")
            .corr(method="spearman")
            .iloc[0, 1]
            for seed in seeds
        ]
        macros["llcActionUniformFinal"] = float(final["llc-action-uniform"].mean())
        macros["llcActionUniformFinalSeedSd"] = float(final["llc-action-uniform"].std(ddof=1))
        macros["llcActionUniformRho"] = float(np.median(rho))
        first_step = tracks[tracks["step"] > 0]["step"].min()
        early = tracks[(tracks["step"] == first_step)].pivot_table(
            index="seed", columns="measure", values="value"
        )
        macros["llcActionUniformFirst"] = float(early["llc-action-uniform"].mean())
        macros["llcActionFirst"] = float(early["llc-action"].mean())
    regret_llc = tracks[tracks["measure"] == "llc-regret"]["value"]
    macros["llcRegretNegative"] = int((regret_llc < 0).sum())
    macros["llcRegretEstimates"] = len(regret_llc)
    macros["llcSuccessAtMedian"] = float(lag["success_at"].median())
    first = tracks[tracks["step"] > 0].groupby("seed")["step"].min().max()
    macros["llcGridLog"] = float(np.log10(tracks["step"].max() / first) / (GRID - 1))
    macros["llcGridSteps"] = float(tracks["step"].max() / (GRID - 1))
    for kind in KINDS:
        K = kind.capitalize()
        macros[f"llc{K}LagStepsMedian"] = float(lag[f"{kind}_lag_steps"].median())
    write_macros(args.tables / f"{NAME}_macros.tex", macros)


def main() -> None:
    args = experiment_parser(__doc__.splitlines()[0], NAME).parse_args()
    if not args.figures_only:
        run_experiment(args)
    make_figures(args)


if __name__ == "__main__":
    main()
