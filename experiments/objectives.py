"""Objectives in weight space: reward families, weight differences, and Jozdien's patch.

Issue 14, items 1-3. From MA (a trained 9x9 maze agent of ``maze_baseline``), fine-tune on
K "reach cell k" rewards (the target is not in the observation); Delta_k = MB_k - MA, with
per-layer norms, pairwise cosines and the shared (mean over k) and specific parts. Then
Jozdien's patch MB*_k = MA - Delta_k, retrained briefly on RA (the cheese): does it visit
cell k less, or stay farther from it, than MA retrained the same way, and than MA minus a
random direction with Delta_k's per-layer norms?

    nice python experiments/objectives.py --quick --ma-dir /work/main/paper/data/maze_baseline
        # K=4, one MA seed, 3 retraining seeds (~8 CPU-minutes)
    python experiments/objectives.py --ma-dir ...     # K=16, three MA seeds, ~2.5 CPU-hours

Runs (checkpoints) go to ``--runs`` (git-ignored); tidy tables to ``--out``.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write, atomic_write_json, atomic_write_text
from devrl.agents import PPOConfig, train
from devrl.envs.rewards import CellReward
from devrl.objectives.deltas import (
    add_delta,
    cosine_matrix,
    layer_cosines,
    layer_norms,
    random_like,
    shared_specific,
    state_delta,
)
from devrl.objectives.families import (
    cell_targets,
    reward_family,
    sample_levels,
    value_correlation_matrix,
)
from devrl.objectives.patch import (
    lean,
    own_minus_others,
    target_visits,
    weights_run,
)
from devrl.paper import experiment_parser
from devrl.runs import Run
from devrl.stats import t_interval

NAME = "objectives"
SIZE = 9
TARGET_SEED = 14
EVAL_SEED = 12345
RETRAIN_SEED = 2000
"""The same seed for every retraining arm: common random numbers across arms."""


def settings(quick: bool) -> dict:
    """Sizes of the quick and full modes."""
    if quick:
        return {
            "K": 4,
            "ma_seeds": 1,
            "finetune": 4096 * 24,
            "retrain": 4096 * 8,
            "retrain_seeds": 3,
            "episodes": 200,
            "levels": 30,
        }
    return {
        "K": 16,
        "ma_seeds": 3,
        "finetune": 4096 * 48,
        "retrain": 4096 * 8,
        "retrain_seeds": 3,
        "episodes": 500,
        "levels": 100,
    }


def _base_config(ma: Run) -> dict:
    return {k: v for k, v in ma.config.items() if k not in ("model", "init_from")}


def _cached_eval(path: Path, policy_fn, env_kwargs, targets, episodes) -> pd.DataFrame:
    if path.is_file():
        return pd.read_csv(path)
    table = target_visits(policy_fn(), env_kwargs, targets, episodes=episodes, seed=EVAL_SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, table.to_csv(index=False))
    return table


def run_seed(ma: Run, seed: int, targets, cfg: dict, runs: Path, timing: dict):
    """Fine-tune, diff, patch and retrain for one MA seed; returns (norms, cosines, episodes)."""
    base = _base_config(ma)
    ma_step = ma.steps[-1]
    ma_state = ma.load_checkpoint(ma_step)["model"]
    env_ra = ma.env_kwargs
    root = runs / f"seed{seed}"
    cfg_batch = base["num_envs"] * base["num_steps"]
    evals = root / "evals"

    def ft(name, reward_spec, steps, parent, run_seed_, parent_step=None):
        run = train(
            PPOConfig.from_dict(
                {
                    **base,
                    "reward": reward_spec,
                    "total_timesteps": steps,
                    "checkpoints": 2,
                    "seed": run_seed_,
                }
            ),
            root / name,
            resume=True,
            init_from=(parent, parent_step),
        )
        # training time from the run's own log (so a resumed experiment still reports it)
        m = run.metrics
        timing.setdefault(name.split("_")[0], []).append(float((cfg_batch / m["charts/SPS"]).sum()))
        return run

    # --- item 2: fine-tune on each "reach cell k", diff against MA
    deltas, episodes = [], []
    for i, (r, c) in enumerate(targets):
        mb = ft(
            f"finetune_{r}_{c}",
            CellReward(r, c).to_spec(),
            cfg["finetune"],
            ma.path,
            1000 + i,
            ma_step,
        )
        deltas.append(state_delta(ma_state, mb.load_checkpoint(mb.steps[-1])["model"]))
        episodes.append(
            _cached_eval(
                evals / f"mb_{r}_{c}.csv", mb.policy, env_ra, targets, cfg["episodes"]
            ).assign(arm="mb", arm_target=f"cell_{r}_{c}")
        )
    shared, specific = shared_specific(deltas)
    names = [f"cell_{r}_{c}" for r, c in targets]
    norms = []
    for name, d, s in zip(names, deltas, specific, strict=True):
        for part, obj in (("delta", d), ("specific", s), ("shared", shared)):
            norms += [
                {"seed": seed, "target": name, "part": part, "layer": k, "norm": v}
                for k, v in layer_norms(obj).items()
            ]
    norms += [
        {"seed": seed, "target": "", "part": "ma_weights", "layer": k, "norm": v}
        for k, v in layer_norms(
            state_delta({k: 0 * w for k, w in ma_state.items()}, ma_state)
        ).items()
    ]
    cos_rows = []
    for part, objs in (("delta", deltas), ("specific", specific)):
        off = ~np.eye(len(objs), dtype=bool)
        cos_rows += [
            {
                "seed": seed,
                "part": part,
                "layer": layer,
                "a": "mean_offdiag",
                "b": "",
                "cosine": float(m[off].mean()),
            }
            for layer, m in layer_cosines(objs).items()
        ]
        m = cosine_matrix(objs)
        cos_rows += [
            {"seed": seed, "part": part, "layer": "all", "a": a, "b": b, "cosine": m[i, j]}
            for i, a in enumerate(names)
            for j, b in enumerate(names)
        ]

    # --- item 3: MA, MA - Delta_k, MA - random_k, each retrained on RA for the same budget,
    # several retraining seeds (the runs, not the episodes, are the units of the lean)
    episodes.append(
        _cached_eval(
            evals / "ma.csv", lambda: ma.policy(ma_step), env_ra, targets, cfg["episodes"]
        ).assign(arm="ma", arm_target="")
    )
    edited = {}
    for i, (name, d) in enumerate(zip(names, deltas, strict=True)):
        for arm, edit in (("patch", d), ("random", random_like(d, seed=100 * seed + i))):
            run = weights_run(
                root / f"{arm}_{name}_weights", ma.path, add_delta(ma_state, edit, alpha=-1.0)
            )
            edited[arm, name] = run
            episodes.append(
                _cached_eval(
                    evals / f"{arm}_raw_{name}.csv", run.policy, env_ra, targets, cfg["episodes"]
                ).assign(arm=f"{arm}_raw", arm_target=name)
            )
    for rs in range(cfg["retrain_seeds"]):
        jobs = [("ma", "", ma.path, ma_step)]
        jobs += [(arm, name, run.path, 0) for (arm, name), run in edited.items()]
        for arm, name, parent, step in jobs:
            tag = f"{arm}_{name}_r{rs}" if name else f"{arm}_r{rs}"
            rt = ft(
                f"retrain_{tag}", base["reward"], cfg["retrain"], parent, RETRAIN_SEED + rs, step
            )
            episodes.append(
                _cached_eval(
                    evals / f"retrained_{tag}.csv", rt.policy, env_ra, targets, cfg["episodes"]
                ).assign(
                    arm="ma_retrained" if arm == "ma" else arm, arm_target=name, retrain_seed=rs
                )
            )
    eps = pd.concat(episodes, ignore_index=True).assign(seed=seed)
    eps["retrain_seed"] = eps["retrain_seed"].fillna(-1).astype(int)
    return pd.DataFrame(norms), pd.DataFrame(cos_rows), eps


def lean_table(eps: pd.DataFrame) -> pd.DataFrame:
    """Per seed, retraining seed and target k: patch vs MA, random vs MA, patch vs random.

    Plus ``mb_vs_ma`` (did the fine-tune make the agent go to k at all?). Intervals here are
    over episodes of one run; :func:`lean_summary` puts them over runs.
    """
    rows = []
    for seed, e in eps.groupby("seed"):
        names = sorted(e.loc[e["arm"] == "patch", "arm_target"].unique())
        for name in names:
            on_k = e[e["target"] == name]
            mb = on_k[(on_k["arm"] == "mb") & (on_k["arm_target"] == name)]
            rows += (
                lean(mb, on_k[on_k["arm"] == "ma"], seed=seed)
                .assign(seed=seed, retrain_seed=-1, comparison="mb_vs_ma")
                .to_dict("records")
            )
            for rs, r in e[e["retrain_seed"] >= 0].groupby("retrain_seed"):
                pick = {
                    a: r[(r["arm"] == a) & (r["arm_target"] == name)] for a in ("patch", "random")
                }
                base = r[r["arm"] == "ma_retrained"]
                for comparison, arm, ref in (
                    ("patch_vs_ma", pick["patch"], base),
                    ("random_vs_ma", pick["random"], base),
                    ("patch_vs_random", pick["patch"], pick["random"]),
                ):
                    every = lean(arm, ref, seed=seed)  # on all targets: the edit's side effects
                    tags = {"seed": seed, "retrain_seed": int(rs)}
                    rows += (
                        every[every["target"] == name]
                        .assign(**tags, comparison=comparison)
                        .to_dict("records")
                    )
                    rows.append(
                        {
                            "target": name,
                            **own_minus_others(every, name),
                            **tags,
                            "comparison": f"{comparison}_own_minus_others",
                        }
                    )
    return pd.DataFrame(rows)


def lean_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per comparison and target: mean over retraining runs with a t interval; ``all`` over targets."""
    rows = []
    for (comparison, target), g in table.groupby(["comparison", "target"]):
        for col in ("d_visit", "d_dist"):
            m, lo, hi, n = t_interval(g[col])
            rows.append(
                {
                    "comparison": comparison,
                    "target": target,
                    "quantity": col,
                    "mean": m,
                    "low": lo,
                    "high": hi,
                    "runs": n,
                }
            )
    per_target = pd.DataFrame(rows)
    for (comparison, col), g in per_target.groupby(["comparison", "quantity"]):
        m, lo, hi, n = t_interval(g["mean"])
        rows.append(
            {
                "comparison": comparison,
                "target": "all",
                "quantity": col,
                "mean": m,
                "low": lo,
                "high": hi,
                "runs": n,
            }
        )
    return pd.DataFrame(rows)


def arm_summary(eps: pd.DataFrame) -> pd.DataFrame:
    """Cheese success and episode length of every arm (is the retrained network competent?)."""
    keys = ["seed", "arm", "arm_target", "retrain_seed"]
    one = eps.drop_duplicates([*keys, "episode"])
    return (
        one.groupby(keys, dropna=False)
        .agg(
            success=("reached_cheese", "mean"),
            length=("length", "mean"),
            episodes=("episode", "size"),
        )
        .reset_index()
    )


def run_experiment(args) -> None:
    """Every item in order; each stage skips work already on disk."""
    torch.set_num_threads(1)
    cfg = settings(args.quick)
    out, runs = args.out, args.runs
    out.mkdir(parents=True, exist_ok=True)
    targets = cell_targets(SIZE, cfg["K"], seed=TARGET_SEED)
    t0 = time.perf_counter()
    family = reward_family(targets, negations=False)
    levels = sample_levels(SIZE, cfg["levels"], corner=None, seed=TARGET_SEED)
    ortho = value_correlation_matrix(family, levels)
    atomic_write_text(out / "orthogonality.csv", ortho.to_csv(index=False))
    timing = {"orthogonality": [time.perf_counter() - t0]}
    parts = [
        run_seed(Run.load(args.ma_dir / f"run_seed{s}"), s, targets, cfg, runs, timing)
        for s in range(args.seed, args.seed + cfg["ma_seeds"])
    ]
    norms, cos, eps = (pd.concat(p, ignore_index=True) for p in zip(*parts, strict=True))
    atomic_write_text(out / "delta_norms.csv", norms.to_csv(index=False))
    atomic_write_text(out / "delta_cosines.csv", cos.to_csv(index=False))
    # per-episode rows are the bulk of the data: gzip with a fixed mtime (reproducible bytes)
    atomic_write(
        out / "episodes.csv.gz",
        lambda f: f.write(gzip.compress(eps.to_csv(index=False).encode(), mtime=0)),
    )
    lean_runs = lean_table(eps)
    atomic_write_text(out / "lean.csv", lean_runs.to_csv(index=False))
    atomic_write_text(out / "lean_summary.csv", lean_summary(lean_runs).to_csv(index=False))
    atomic_write_text(out / "arms.csv", arm_summary(eps).to_csv(index=False))
    atomic_write_json(
        out / "settings.json",
        {
            **cfg,
            "targets": [list(t) for t in targets],
            "timing_s": {k: [round(x, 1) for x in v] for k, v in timing.items()},
        },
    )


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--ma-dir",
        type=Path,
        default=Path("paper/data/maze_baseline"),
        help="folder holding the MA runs run_seed{0,1,2} (with checkpoints)",
    )
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="folder for the fine-tuning runs (default runs/objectives[/quick])",
    )
    args = parser.parse_args()
    if args.quick:
        args.out = args.out / "quick"
    if args.runs is None:
        args.runs = Path("runs") / NAME / ("quick" if args.quick else "full")
    if not args.figures_only:
        run_experiment(args)
    print(json.dumps(json.loads((args.out / "settings.json").read_text()), indent=1))


if __name__ == "__main__":
    main()
