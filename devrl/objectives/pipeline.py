"""The objectives experiment's pipeline for one MA seed: fine-tunes, deltas, edits, patches.

Why: issue 14's experiment fine-tunes copies of a trained agent MA on K "reach cell k"
rewards and scores many edited networks built from the weight differences; every stage is
resumable (runs resume, each evaluation is cached as a CSV) and one MA seed's work is one
picklable job (:func:`seed_job`), so seeds run side by side in devrl's process pool.
``experiments/objectives.py`` holds the sizes; :mod:`devrl.objectives.summary` turns the
tables into estimates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write_text
from devrl._progress import progress
from devrl.agents import PPOConfig, train
from devrl.envs.rewards import CellReward
from devrl.objectives.deltas import add_delta, random_like, shared_specific, state_delta
from devrl.objectives.patch import target_visits, weights_run
from devrl.objectives.tables import decoding_rows, delta_tables, map_rows, target_names
from devrl.objectives.transplant import edit_effect, edited_policy
from devrl.runs import Run

__all__ = ["TABLES", "checkpoint_steps", "run_seed", "seed_job"]

EVAL_SEED = 12345
RETRAIN_SEED = 2000
"""The same seed for every retraining arm: common random numbers across arms."""
NEGATION_SEED = 50_000
"""Offset of the random directions of the retrained negation (apart from the patch's)."""
RANDOM_DRAWS = 20
"""Random directions per target for the null of the dense-layer position rank."""


def checkpoint_steps(ma: Run, fractions: list[float]) -> list[int]:
    """MA's checkpoints nearest to these fractions of its training, then its last one."""
    steps = np.asarray(ma.steps)
    picked = [int(steps[np.argmin(np.abs(steps - f * steps[-1]))]) for f in fractions]
    return sorted({*picked, int(steps[-1])})


def _base_config(ma: Run) -> dict:
    return {k: v for k, v in ma.config.items() if k not in ("model", "init_from")}


def _cached_eval(path: Path, policy_fn, env_kwargs, targets, episodes) -> pd.DataFrame:
    if path.is_file():
        return pd.read_csv(path)
    table = target_visits(policy_fn(), env_kwargs, targets, episodes=episodes, seed=EVAL_SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, table.to_csv(index=False))
    return table


def _finetune(
    ma: Run,
    root: Path,
    name: str,
    reward_spec,
    steps: int,
    parent,
    seed: int,
    parent_step,
    timing: dict,
    **overrides,
) -> Run:
    """Fine-tune ``parent`` (a run dir at ``parent_step``) with MA's config, resumably."""
    base = _base_config(ma)
    run = train(
        PPOConfig.from_dict(
            {
                **base,
                "reward": reward_spec,
                "total_timesteps": steps,
                "checkpoints": 2,
                "seed": seed,
                **overrides,
            }
        ),
        root / name,
        resume=True,
        init_from=(parent, parent_step),
    )
    # training time from the run's own log (so a resumed experiment still reports it)
    m = run.metrics
    batch = base["num_envs"] * base["num_steps"]
    timing.setdefault(name.split("_")[0], []).append(float((batch / m["charts/SPS"]).sum()))
    return run


def deltas_at(ma: Run, step: int, targets, cfg: dict, root: Path, timing: dict):
    """Item 2 at one MA checkpoint: MB_k fine-tuned on "reach cell k", Delta_k = MB_k - MA."""
    state = ma.load_checkpoint(step)["model"]
    deltas, mbs = [], []
    for i, (r, c) in enumerate(targets):
        mb = _finetune(
            ma,
            root,
            f"finetune_s{step}_{r}_{c}",
            CellReward(r, c).to_spec(),
            cfg["finetune"],
            ma.path,
            1000 + i,
            step,
            timing,
        )
        mbs.append(mb)
        deltas.append(state_delta(state, mb.load_checkpoint(mb.steps[-1])["model"]))
    return state, deltas, mbs


def edit_rows(
    ma: Run, step: int, seed: int, state, targets, deltas, alphas, cfg, evals: Path, k_scaling: bool
) -> tuple[list[dict], pd.DataFrame]:
    """Items 4 (shared part alone, transplant, negation, K) at one MA checkpoint.

    Every arm is scored against MA at the same checkpoint on the same evaluation episodes.
    """
    env, names, eps = ma.env_kwargs, target_names(targets), cfg["episodes"]
    where = evals / f"s{step}"

    def score(tag, delta, alpha):
        return _cached_eval(
            where / f"{tag}.csv", lambda: edited_policy(ma, state, delta, alpha), env, targets, eps
        )

    base = _cached_eval(
        where / "ma.csv", lambda: edited_policy(ma, state, {}, 0.0), env, targets, eps
    )
    shared, specific = shared_specific(deltas)
    rows = []
    tags = {"seed": seed, "step": step}
    for direction, d in (("shared", shared), ("shared_random", random_like(shared, seed=seed))):
        for sign in (1.0, -1.0):
            arm = score(f"{direction}_{sign:+.0f}", d, sign)
            for name in names:  # every target is "own" for the shared part: mean over them
                rows.append(
                    {
                        **tags,
                        "target": name,
                        "direction": direction,
                        "sign": sign,
                        "alpha": 1.0,
                        "K": len(deltas),
                        **edit_effect(arm, base, name),
                    }
                )
    for i, (name, sp) in enumerate(zip(names, specific, strict=True)):
        rand = random_like(sp, seed=1000 + 100 * seed + i)
        for direction, d in (("specific", sp), ("random", rand)):
            for alpha in alphas:
                for sign in (1.0, -1.0):
                    arm = score(f"{direction}_{name}_{sign * alpha:+g}", d, sign * alpha)
                    rows.append(
                        {
                            **tags,
                            "target": name,
                            "direction": direction,
                            "sign": sign,
                            "alpha": alpha,
                            "K": len(deltas),
                            **edit_effect(arm, base, name),
                        }
                    )
    if k_scaling:
        rng = np.random.default_rng(seed)
        for k_sub in cfg["k_levels"]:
            for i, name in enumerate(names):
                others = rng.choice(
                    [j for j in range(len(deltas)) if j != i], k_sub - 1, replace=False
                )
                _, sp = shared_specific([deltas[i], *(deltas[j] for j in others)])
                for sign in (1.0, -1.0):
                    alpha = sign * cfg["k_alpha"]
                    arm = score(f"specific_K{k_sub}_{name}_{alpha:+g}", sp[0], alpha)
                    rows.append(
                        {
                            **tags,
                            "target": name,
                            "direction": "specific",
                            "sign": sign,
                            "alpha": cfg["k_alpha"],
                            "K": k_sub,
                            **edit_effect(arm, base, name),
                        }
                    )
    return rows, base


def run_seed(ma: Run, seed: int, targets, cfg: dict, runs: Path, timing: dict) -> dict:
    """Items 2-5 and 7 for one MA seed; returns its tidy tables by name."""
    root = runs / f"seed{seed}"
    evals = root / "evals"
    names = target_names(targets)
    steps = checkpoint_steps(ma, cfg["checkpoints"])
    final = steps[-1]
    out: dict[str, list] = {
        k: []
        for k in (
            "norms",
            "cosines",
            "episodes",
            "decoding",
            "edits",
            "layers",
            "positions",
            "channels",
        )
    }
    # one line per MA checkpoint done (the final one, with the patch and the K sweep, is
    # the longest), beside the fine-tunes' own training lines
    for step in progress(steps, f"objectives MA seed {seed}", unit="checkpoint"):
        state, deltas, mbs = deltas_at(ma, step, targets, cfg, root, timing)
        norms, cos = delta_tables(seed, step, names, deltas, state)
        out["norms"] += norms
        out["cosines"] += cos
        out["decoding"] += decoding_rows(
            seed, step, targets, deltas, cfg["k_levels"], cfg["subsets"]
        )
        is_final = step == final
        alphas = cfg["alphas"] if is_final else [cfg["k_alpha"]]
        edits, base = edit_rows(
            ma, step, seed, state, targets, deltas, alphas, cfg, evals, k_scaling=is_final
        )
        out["edits"] += edits
        cheese = None
        if is_final:  # the pointer objective: the cheese anywhere (MA saw it in the corner)
            run = _finetune(
                ma,
                root,
                "finetune_cheese",
                {"type": "cheese"},
                cfg["finetune"],
                ma.path,
                999,
                step,
                timing,
                corner=None,
            )
            cheese = state_delta(state, run.load_checkpoint(run.steps[-1])["model"])
        layers, positions, channels = map_rows(
            ma.config["model"], seed, step, targets, deltas, cheese, RANDOM_DRAWS
        )
        out["layers"] += layers
        out["positions"] += positions
        out["channels"] += channels
        if is_final:
            out["episodes"] += patch_episodes(
                ma, step, state, targets, deltas, mbs, cfg, root, timing, base
            )
    frames = {k: pd.DataFrame(v) for k, v in out.items() if k != "episodes"}
    eps = pd.concat(out["episodes"], ignore_index=True).assign(seed=seed)
    eps["retrain_seed"] = eps["retrain_seed"].fillna(-1).astype(int)
    frames["episodes"] = eps
    return frames


def patch_episodes(
    ma: Run,
    step: int,
    state,
    targets,
    deltas,
    mbs,
    cfg,
    root: Path,
    timing: dict,
    base: pd.DataFrame,
) -> list[pd.DataFrame]:
    """Item 3: MA, MA - Delta_k and MA - random_k, each retrained on RA for the same budget,
    several retraining seeds (the runs, not the episodes, are the units of the lean). Item 4c
    the same way: MA - alpha * specific_k and MA - alpha * random (specific_k's layer norms)."""
    env_ra, names, evals = ma.env_kwargs, target_names(targets), root / "evals" / "patch"
    base_cfg = _base_config(ma)
    episodes = [base.assign(arm="ma", arm_target="")]
    for (r, c), mb in zip(targets, mbs, strict=True):
        episodes.append(
            _cached_eval(
                evals / f"mb_{r}_{c}.csv", mb.policy, env_ra, targets, cfg["episodes"]
            ).assign(arm="mb", arm_target=f"cell_{r}_{c}")
        )
    edited = {}
    _, specific = shared_specific(deltas)
    seed = ma.config["seed"]
    for i, (name, d, sp) in enumerate(zip(names, deltas, specific, strict=True)):
        for arm, edit, alpha in (
            ("patch", d, -1.0),
            ("random", random_like(d, seed=100 * seed + i), -1.0),
            # item 4c retrained: MA - alpha * specific_k, and its random direction
            ("negation", sp, -cfg["k_alpha"]),
            (
                "negation_random",
                random_like(sp, seed=NEGATION_SEED + 100 * seed + i),
                -cfg["k_alpha"],
            ),
        ):
            run = weights_run(
                root / f"{arm}_{name}_weights", ma.path, add_delta(state, edit, alpha=alpha)
            )
            edited[arm, name] = run
            episodes.append(
                _cached_eval(
                    evals / f"{arm}_raw_{name}.csv", run.policy, env_ra, targets, cfg["episodes"]
                ).assign(arm=f"{arm}_raw", arm_target=name)
            )
    for rs in range(cfg["retrain_seeds"]):
        jobs = [("ma", "", ma.path, step)]
        jobs += [(arm, name, run.path, 0) for (arm, name), run in edited.items()]
        for arm, name, parent, pstep in jobs:
            tag = f"{arm}_{name}_r{rs}" if name else f"{arm}_r{rs}"
            rt = _finetune(
                ma,
                root,
                f"retrain_{tag}",
                base_cfg["reward"],
                cfg["retrain"],
                parent,
                RETRAIN_SEED + rs,
                pstep,
                timing,
            )
            episodes.append(
                _cached_eval(
                    evals / f"retrained_{tag}.csv", rt.policy, env_ra, targets, cfg["episodes"]
                ).assign(
                    arm="ma_retrained" if arm == "ma" else arm, arm_target=name, retrain_seed=rs
                )
            )
    return episodes


TABLES = ("norms", "cosines", "decoding", "edits", "layers", "positions", "channels")
"""Tidy tables every MA seed contributes, written as ``<name>.csv`` (episodes: gzipped)."""


def seed_job(job: tuple) -> tuple[dict, dict]:
    """One MA seed's items 2-5 and 7 in a worker: (its tidy tables, its training seconds)."""
    ma_dir, seed, targets, cfg, runs = job
    torch.set_num_threads(1)
    timing: dict = {}
    frames = run_seed(Run.load(ma_dir), seed, targets, cfg, Path(runs), timing)
    return frames, timing
