"""TMS under reinforcement: do the k-gon transitions, and the LLC that detects them, survive RL?

The toy model of superposition (c = 6, m = 2) as a Gaussian-policy bandit (theory/tms_rl.md):
REINFORCE and PPO from a 4-gon (+ N(0, 0.01²)) and from random initialisation, 16 seeds each,
side by side with Chen et al.'s supervised SGD (paper/data/tms_sgd) and with online SGD on the
same fresh contexts. Then the LLC along every trajectory three ways (oracle TMS loss, action
likelihood, importance-weighted negative reward), change points of the LLC curves against the
loss transitions, the k-gon ground truths, and a ladder of RL difficulties (reward noise, drift
of the feature frequencies, delayed reward, actions that shape the next contexts).

    python experiments/tms_rl.py --quick            # 4 seeds, small budget, minutes
    python experiments/tms_rl.py --skip-existing     # reuse trained runs under --out
    python experiments/tms_rl.py --figures-only      # redraw from saved data
"""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd
import torch

from devrl import progress
from devrl.agents.tms_presets import TMS_LADDER, TMS_LEARNERS, TMS_SIGMA
from devrl.agents.tms_rl import TMSRLConfig, train_tms_rl
from devrl.agents.tms_runs import ensure_snapshots, is_tms_batch, load_tms_runs
from devrl.agents.tms_sgd import TMSSGDConfig, train_tms_sgd
from devrl.envs.tms import sample_contexts
from devrl.forms.detection import detection_table, transition_stats
from devrl.llc.geometry import kgon_curvature, kgon_llc
from devrl.llc.trajectories import attributed_llc, polished_llc, trajectory_llc
from devrl.paper import (
    count_phrase,
    experiment_parser,
    number_latex,
    save_figure,
    tms_panels,
    tms_rl_macros,
    tms_tables,
    write_macros,
)
from devrl.paper import tms as tms_paper
from devrl.stats import fisher_exact
from devrl.theory.tms import KGON_NAMES, kgon_critical_points

NAME = "tms_rl"
#: LLC along trajectories: per checkpoint n fresh contexts / rollouts; nβ for the oracle and
#: reward losses, 2σ²·nβ for the action loss (so its Gauss–Newton part has the same scale).
LLC_HP = {"lr": 1e-4, "nbeta": 2000.0, "localization": 30.0, "chains": 4, "burnin": 200}
LLC_HP |= {"draws": 400, "batch_size": 100}
LLC_N = 5000
#: Each LLC kind's own random stream (its contexts and rollouts). Keyed by name: the lengths
#: used before collided ("oracle", "action" and "reward" all have 6 letters).
KIND_KEYS = {"oracle": 0, "action": 1, "reward": 2, "oracle_initial": 3, "oracle_mixture": 4}
#: LLC kinds per trajectory: the oracle only where no policy acts; under drift also the two
#: oracles on other context distributions.
LLC_KINDS = {"rl": ["oracle", "action", "reward"], "tms_sgd": ["oracle"], "online_4gon": ["oracle"]}
LLC_KINDS["ladder_drift"] = [*LLC_KINDS["rl"], "oracle_initial", "oracle_mixture"]
KGON_HP = {"lr": 1e-5, "nbeta": 1e4, "localization": 30.0, "chains": 8, "burnin": 1000}
KGON_HP |= {"draws": 2000, "batch_size": 2000}
LABELS = {
    "tms_sgd": "SGD (n=1000)",
    "sgd_batch": "SGD (n=1000), batch 200",
    "online_4gon": "online SGD, 4-gon",
    "reinforce_4gon": "REINFORCE, 4-gon",
    "ppo_4gon": "PPO, 4-gon",
    "reinforce_random": "REINFORCE, random",
    "ppo_random": "PPO, random",
    **{f"ladder_{r}": f"ladder: {r}" for r in TMS_LADDER},
}
WORDS = {
    LABELS[k]: "".join(p.capitalize() for p in k.replace("_4gon", "").split("_")) for k in LABELS
}  # macro stems: Sgd -> TmsSgd, Reinforce, PpoRandom, LadderDrift, ...
TOL = 0.2  # detection tolerance in log-time: a level shift within ×/÷ e^0.2 ≈ 1.22 of τ
#: Smallest level shift that counts: a third of the smallest gap between plateaus, in loss
#: (4⁺ → 4⁺⁺: 0.0069) and in LLC (5-gon → 5⁺ or 6-gon: 1.5).
MIN_SHIFT = {"loss": 0.0023, "llc": 0.5}
#: Curves in the paper's tables (detection.csv has all, incl. the action/reward corrections and
#: the curvature parts of every dataset).
TABLE_CURVES = [
    *("loss (control)", "LLC oracle", "LLC oracle corrected", "first-order oracle"),
    *("curvature oracle", "LLC action"),
    *("LLC reward", "LLC reward corrected", "LLC oracle_initial", "LLC oracle_initial corrected"),
    *("LLC oracle_mixture", "LLC oracle attributed", "LLC oracle attributed corrected"),
    "LLC oracle polished",
]
#: Polishing before the LLC under drift: full-batch gradient steps on the checkpoint's own
#: oracle dataset (gradient-flow time 100, about 400 epochs of training; theory/tms_rl.md §6).
POLISH_STEPS, POLISH_LR = 500, 0.2
#: The runs of the main tables and figures (the rest: the SGD control and the ladder).
MAIN = ("tms_sgd", "online_4gon", "reinforce_4gon", "ppo_4gon", "reinforce_random", "ppo_random")
STEP_WINDOW = 0.5  # the step of a curve across a jump: median over (τ, τe^0.5] − over [τe^-0.5, τ)


def _budgets(quick: bool) -> dict:
    seeds, n, ckpt = (4, 300_000, (30, 40)) if quick else (16, 4_500_000, (100, 200))
    out = {"seeds": seeds, "main": n, "random": n, "ladder": n, "ckpt": ckpt}
    return out | {"llc_points": 24 if quick else 120, "kgon_n": 100_000 if quick else 1_000_000}


def run_specs(quick: bool) -> dict[str, TMSRLConfig]:
    """Every RL run of the experiment by name: learner × start, then the ladder's rungs."""
    bud = _budgets(quick)
    common = {"n_seeds": bud["seeds"], "n_log_checkpoints": bud["ckpt"][0]}
    common["n_linear_checkpoints"] = bud["ckpt"][1]
    runs = [(f"{lrn}_4gon", lrn, "4gon", bud["main"], {}) for lrn in ("online", "reinforce", "ppo")]
    runs += [(f"{lrn}_random", lrn, "random", bud["random"], {}) for lrn in ("reinforce", "ppo")]
    runs += [
        (f"ladder_{r}", "reinforce", "4gon", bud["ladder"], kw) for r, kw in TMS_LADDER.items()
    ]
    return {
        name: TMSRLConfig(**TMS_LEARNERS[lrn], init=init, contexts=n, run=name, **common, **kw)
        for name, lrn, init, n, kw in runs
    }


def sgd_control(quick: bool) -> TMSSGDConfig:
    """Chen et al.'s SGD (fixed n = 1000) at the RL learners' batch and rate (200, 0.05)."""
    bud = _budgets(quick)
    return TMSSGDConfig(
        n_seeds=bud["seeds"], batch_size=200, lr=0.05, epochs=bud["main"] // 1000, run="sgd_batch"
    )


def train_runs(args) -> None:
    if args.skip_existing and is_tms_batch(args.out / "sgd_batch"):
        ensure_snapshots(args.out / "sgd_batch")
    else:
        train_tms_sgd(sgd_control(args.quick), out=args.out / "sgd_batch")
    for name, cfg in run_specs(args.quick).items():
        if args.skip_existing and is_tms_batch(args.out / name):
            ensure_snapshots(args.out / name)  # runs saved before the snapshot tables
            continue
        res = train_tms_rl(cfg, out=args.out / name)
        print(f"{name}: {cfg.n_seeds} seeds x {cfg.contexts} contexts in {res.seconds:.0f} s")


def compute_llc(args) -> None:
    """The LLC along every trajectory (llc.csv.gz), plus attributed and polished paths under drift."""
    n_points = _budgets(args.quick)["llc_points"]
    kw = {"hp": LLC_HP, "n": LLC_N, "keys": KIND_KEYS, "sigma": TMS_SIGMA}
    runs = {"tms_sgd": load_tms_runs(args.sgd_dir)} if is_tms_batch(args.sgd_dir) else {}
    runs |= {name: load_tms_runs(args.out / name) for name in run_specs(args.quick)}
    kinds = {name: LLC_KINDS.get(name, LLC_KINDS["rl"]) for name in runs}
    todo = progress(runs.items(), "tms_rl LLC", unit="learner")
    llc = [trajectory_llc(r, kinds[k], n_points, args.seed, **kw) for k, r in todo]
    llc = pd.concat(llc)
    drift = runs["ladder_drift"]
    polished = polished_llc(drift, n_points, args.seed, steps=POLISH_STEPS, lr=POLISH_LR, **kw)
    llc = pd.concat([llc, attributed_llc(drift, llc, n_points, args.seed, **kw), polished])
    # gzip without a timestamp: the full mode's table is ~14 MB as text, and must not vary
    llc.to_csv(args.out / "llc.csv.gz", index=False, compression={"method": "gzip", "mtime": 0})


def compute_kgon(args) -> None:
    """LLC at the exact 5-gon (zero column's bias −1) and 6-gon, oracle loss, large n."""
    n = _budgets(args.quick)["kgon_n"]
    x = torch.from_numpy(sample_contexts(n, np.random.default_rng([args.seed, 11])))
    hp = kgon_hp(args.quick)
    kgon_llc(["5", "6"], x, hp, args.seed).to_csv(args.out / "kgon_llc.csv", index=False)


def kgon_hp(quick: bool) -> dict:
    """The sampler at the exact k-gons (quick: shorter chains)."""
    return KGON_HP | {"burnin": 300, "draws": 600} if quick else KGON_HP


def compute_geometry(args) -> None:
    """Hessian of L versus the action loss's Gauss–Newton 2E[JᵀJ] at the k-gons (geometry.csv)."""
    n = 20_000 if args.quick else 100_000
    x = torch.from_numpy(sample_contexts(n, np.random.default_rng([args.seed, 13]))).double()
    geo = kgon_curvature(KGON_NAMES, x, LLC_HP["nbeta"], LLC_HP["localization"])
    geo.to_csv(args.out / "geometry.csv", index=False)


def load_batches(args) -> dict:
    """Every batch by run name, W and b from the small snapshot tables (no checkpoints)."""
    runs = {"tms_sgd": args.sgd_dir} if is_tms_batch(args.sgd_dir) else {}
    runs |= {name: args.out / name for name in ["sgd_batch", *run_specs(args.quick)]}
    return {name: load_tms_runs(path, weights="snapshots") for name, path in runs.items()}


def figure_losses(runs: dict, figures) -> None:
    levels = {n: p.loss for n, p in kgon_critical_points(6, KGON_NAMES).items()}
    starts = dict(zip(("SGD (n=1000)", "online SGD", "REINFORCE", "PPO"), MAIN[:4]))
    random = {"REINFORCE": "reinforce_random", "PPO": "ppo_random"}
    ladder = {r: f"ladder_{r}" for r in TMS_LADDER}
    for suffix, shown, title in (
        ("_loss", starts, "from a 4-gon"),
        ("_random", random, "from random initialisation"),
        ("_ladder", ladder, "REINFORCE from a 4-gon, one difficulty each"),
    ):
        panels = {k: runs[v] for k, v in shown.items() if v in runs}
        save_figure(tms_panels.loss_panels(panels, levels, title), figures / f"{NAME}{suffix}")


def figure_llc(runs: dict, llc: pd.DataFrame, figures) -> None:
    shown = MAIN[2:]
    kinds = [f"llc/{k}{c}" for k in ("oracle", "action", "reward") for c in ("", " corrected")]
    fig = tms_panels.llc_grid({LABELS[r]: runs[r] for r in shown}, llc, kinds)
    save_figure(fig, figures / f"{NAME}_llc")


def make_figures(args) -> None:
    """Figures, tables and macros from the saved small tables only (no checkpoint is read)."""
    runs = load_batches(args)
    figure_losses(runs, args.figures)
    stats = pd.DataFrame([transition_stats(LABELS[k], v) for k, v in runs.items()])
    stats.to_csv(args.out / "transitions.csv", index=False)
    tms_tables.write_transitions_table(stats, args.tables / f"{NAME}_transitions.tex")
    macros = {}
    if (args.out / "llc.csv.gz").exists():
        llc = pd.read_csv(args.out / "llc.csv.gz")
        figure_llc(runs, llc, args.figures)
        det = detection_table(llc, runs, MIN_SHIFT, tol=TOL, step_window=STEP_WINDOW)
        det.insert(0, "learner", det.pop("run").map(LABELS))
        det.to_csv(args.out / "detection.csv", index=False)
        tms_tables.write_detection_tables(
            det,
            llc.groupby("run").step.nunique(),
            [LABELS[r] for r in MAIN],
            TABLE_CURVES,
            {"tol": TOL, "min_shift": MIN_SHIFT},
            (args.tables / f"{NAME}_detection.tex", args.tables / f"{NAME}_ladder.tex"),
        )
        macros |= precision_ratio_macros(det)
        macros |= tms_paper.detection_macros(det, WORDS) | tms_paper.final_llc_macros(
            llc, {r: WORDS[LABELS[r]] for r in LABELS}
        )
        macros |= tms_rl_macros.trajectory_macros(llc, runs, stats, LABELS)
    if (args.out / "geometry.csv").exists():
        geo = pd.read_csv(args.out / "geometry.csv")
        tms_tables.write_geometry_table(geo, args.tables / f"{NAME}_geometry.tex")
        macros |= tms_paper.geometry_macros(geo)
    if (args.out / "kgon_llc.csv").exists():
        macros |= tms_paper.kgon_macros(pd.read_csv(args.out / "kgon_llc.csv"))
    if "ladder_feedback" in runs:
        fb = runs["ladder_feedback"]
        W, b = np.asarray(fb.W)[:, -1], np.asarray(fb.b)[:, -1]
        macros |= tms_paper.feedback_macros(W, b, fb.config.sigma, fb.config.feedback)
    macros |= tms_paper.transition_macros(stats, WORDS)
    budget = runs["reinforce_4gon"].config.contexts  # every RL run's (run_specs)
    epochs = int(stats.set_index("learner").loc[LABELS["reinforce_4gon"], "epochs"])
    settings = json.loads((args.out / "settings.json").read_text())
    macros |= tms_rl_macros.learner_macros(runs) | tms_rl_macros.ladder_macros(runs)
    learner = runs["reinforce_4gon"].config
    macros |= tms_rl_macros.llc_setting_macros(settings, learner, budget / epochs)
    macros |= {"tmsRlContexts": number_latex(budget), "tmsRlEpochContexts": budget // epochs}
    episode = runs["ladder_delayed"].config.episode_length
    macros["tmsRlDelayedEpisodePhrase"] = count_phrase(episode, "context")
    macros |= sgd_online_fisher(stats)
    write_macros(args.tables / f"{NAME}_macros.tex", tms_paper.with_missing(macros, WORDS.values()))
    print(stats.to_string(index=False))


def sgd_online_fisher(stats: pd.DataFrame) -> dict:
    """Fisher's exact p of the jump counts of SGD on a fixed sample against online SGD."""
    rows = stats.set_index("learner")
    if not {LABELS["tms_sgd"], LABELS["online_4gon"]} <= set(rows.index):
        return {"tmsRlSgdOnlineFisherP": "n/a"}
    sgd, online = rows.loc[LABELS["tms_sgd"]], rows.loc[LABELS["online_4gon"]]
    test = fisher_exact(int(sgd.jumped), int(sgd.seeds), int(online.jumped), int(online.seeds))
    return {"tmsRlSgdOnlineFisherP": f"{test.p_value:.2f}"}


def precision_ratio_macros(det: pd.DataFrame) -> dict:
    """Precision over the highest null precision, for the main table's curves that beat it."""
    main = det[det.learner.isin([LABELS[r] for r in MAIN]) & det.curve.isin(TABLE_CURVES)]
    beat = main[main["beats null"].astype(bool)]
    nulls = [f"null precision ({k})" for k in ("random", "log", "circular")]
    ratio = beat["precision"] / beat[nulls].max(axis=1)
    return {
        f"tmsRlPrecRatio{k}": f"{v:.2g}"
        for k, v in (("Min", ratio.min()), ("Median", ratio.median()), ("Max", ratio.max()))
    }


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument("--skip-existing", action="store_true", help="reuse runs under --out")
    args = parser.parse_args()
    args.sgd_dir = args.out.parent / "tms_sgd" / ("quick" if args.quick else "")
    if args.quick:  # quick runs live apart so they never overwrite the full runs' data
        args.out = args.out / "quick"
    torch.set_num_threads(1)
    if not args.figures_only:
        args.out.mkdir(parents=True, exist_ok=True)
        settings = {"llc": LLC_HP, "llc_n": LLC_N, "kgon": kgon_hp(args.quick), "tol": TOL}
        settings |= {"min_shift": MIN_SHIFT, "polish": {"steps": POLISH_STEPS, "lr": POLISH_LR}}
        (args.out / "settings.json").write_text(json.dumps(settings | _budgets(args.quick)))
        train_runs(args)
        compute_geometry(args)
        compute_kgon(args)
        compute_llc(args)
    make_figures(args)


if __name__ == "__main__":
    main()
