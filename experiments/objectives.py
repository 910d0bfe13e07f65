"""Objectives in weight space: reward families, weight differences, Jozdien's patch, and edits.

Issue 14. Items 1-3: from MA (a trained 9x9 maze agent of ``maze_baseline``), fine-tune on
K "reach cell k" rewards (the target is not in the observation); Delta_k = MB_k - MA, with
per-layer norms, pairwise cosines and the shared (mean over k) and specific parts. Then
Jozdien's patch MB*_k = MA - Delta_k, retrained briefly on RA (the cheese): does it visit
cell k less, or stay farther from it, than MA retrained the same way, and than MA minus a
random direction with Delta_k's per-layer norms?
Item 4: the shared part applied alone; decoding k from the specific part on held-out
targets; transplants MA + alpha * specific_k and negations MA - alpha * specific_k against
random directions of equal per-layer norms; all as K grows. Item 5: where the specific parts
live (layers, channels, the dense layer's input positions) and the cheese (pointer) delta for
comparison. Item 7: items 4-5 again from MA's earlier checkpoints (step 0 is the
random-weight network), as tidy tracks beside MA's success.

    nice python experiments/objectives.py --quick   # K=4, one MA seed, 3 MA checkpoints,
                                                    # 8.7 CPU-min measured
    python experiments/objectives.py                # K=16, three MA seeds x 5 checkpoints,
                                                    # ~2.5-3.3 CPU-hours (estimate), resumable

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
from statsmodels.stats.proportion import confint_proportions_2indep

from devrl._io import atomic_write, atomic_write_json, atomic_write_text
from devrl.agents import PPOConfig, train
from devrl.envs.rewards import CellReward
from devrl.objectives.deltas import (
    add_delta,
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
    target_visits,
    weights_run,
)
from devrl.objectives.summary import (
    arm_summary,
    edit_summary,
    editability_track,
    interval,
    lean_summary,
    lean_table,
    track_relations,
)
from devrl.objectives.tables import decoding_rows, delta_tables, map_rows, target_names
from devrl.objectives.transplant import edit_effect, edited_policy
from devrl.paper import (
    count_phrase,
    experiment_parser,
    number_latex,
    save_figure,
    write_macros,
    write_table,
)
from devrl.runs import Run
from devrl.stats import binomial_interval

NAME = "objectives"
SIZE = 9
TARGET_SEED = 14
EVAL_SEED = 12345
RETRAIN_SEED = 2000
RANDOM_DRAWS = 20
"""Random directions per target for the null of the dense-layer position rank."""
"""The same seed for every retraining arm: common random numbers across arms."""


def settings(quick: bool) -> dict:
    """Sizes of the quick and full modes."""
    if quick:
        return {
            "K": 4,
            "ma_seeds": 1,
            "finetune": 4096 * 16,
            "retrain": 4096 * 8,
            "retrain_seeds": 2,
            "episodes": 200,
            "levels": 30,
            "alphas": [0.5, 1.0, 2.0],
            "k_levels": [2],
            "k_alpha": 1.0,
            "checkpoints": [0.0, 0.12],
            "subsets": 10,
        }
    return {
        "K": 16,
        "ma_seeds": 3,
        "finetune": 4096 * 32,
        "retrain": 4096 * 8,
        "retrain_seeds": 2,
        "episodes": 200,
        "levels": 100,
        "alphas": [0.5, 1.0, 2.0, 4.0],
        "k_levels": [2, 4, 8],
        "k_alpha": 1.0,
        "checkpoints": [0.0, 0.05, 0.12, 0.3],
        "subsets": 20,
    }


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
    for step in steps:
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
    several retraining seeds (the runs, not the episodes, are the units of the lean)."""
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
    for i, (name, d) in enumerate(zip(names, deltas, strict=True)):
        for arm, edit in (
            ("patch", d),
            ("random", random_like(d, seed=100 * ma.config["seed"] + i)),
        ):
            run = weights_run(
                root / f"{arm}_{name}_weights", ma.path, add_delta(state, edit, alpha=-1.0)
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
    frames = {k: pd.concat([p[k] for p in parts], ignore_index=True) for k in parts[0]}
    for name in TABLES:
        atomic_write_text(out / f"{name}.csv", frames[name].to_csv(index=False))
    eps = frames["episodes"]
    # per-episode rows are the bulk of the data: gzip with a fixed mtime (reproducible bytes)
    atomic_write(
        out / "episodes.csv.gz",
        lambda f: f.write(gzip.compress(eps.to_csv(index=False).encode(), mtime=0)),
    )
    lean_runs = lean_table(eps)
    atomic_write_text(out / "lean.csv", lean_runs.to_csv(index=False))
    atomic_write_text(out / "lean_summary.csv", lean_summary(lean_runs).to_csv(index=False))
    atomic_write_text(out / "arms.csv", arm_summary(eps).to_csv(index=False))
    track = editability_track(frames, cfg["k_alpha"])
    atomic_write_text(out / "track.csv", track.to_csv(index=False))
    atomic_write_text(out / "track_relations.csv", track_relations(track).to_csv(index=False))
    atomic_write_json(
        out / "settings.json",
        {
            **cfg,
            "targets": [list(t) for t in targets],
            "timing_s": {k: [round(x, 1) for x in v] for k, v in timing.items()},
        },
    )


def _put(macros: dict, key: str, est) -> None:
    """``key``, ``keyLow``, ``keyHigh`` from a ``(mean, low, high, n)`` tuple."""
    macros[key], macros[f"{key}Low"], macros[f"{key}High"] = (float(x) for x in est[:3])


def _macros(d: Path) -> dict:
    """Every number the section's prose uses, from the saved tables."""
    cfg = json.loads((d / "settings.json").read_text())
    read = {
        n: pd.read_csv(d / f"{n}.csv") for n in (*TABLES, "orthogonality", "lean_summary", "track")
    }
    ed, dec, pos, lay, ch, tr = (
        read[k] for k in ("edits", "decoding", "positions", "layers", "channels", "track")
    )
    final = int(ed["step"].max())
    K = int(cfg["K"])
    seeds = sorted(ed["seed"].unique())
    m: dict = {
        "objK": K,
        "objSeeds": len(seeds),
        "objSeedsPhrase": count_phrase(len(seeds), "MA seed"),
        "objFinetune": number_latex(cfg["finetune"]),
        "objRetrain": number_latex(cfg["retrain"]),
        "objRetrainSeeds": cfg["retrain_seeds"],
        "objEpisodes": cfg["episodes"],
        "objChance": 1.0 / K,
        "objCheckpoints": int(ed["step"].nunique()),
        "objFinalStep": number_latex(final),
    }
    # item 1: orthogonality of the reward family
    o = read["orthogonality"]
    cells = o["reward_a"].str.startswith("cell") & o["reward_b"].str.startswith("cell")
    off = cells & (o["reward_a"] != o["reward_b"])
    _put(m, "objOrthoCells", interval(o.loc[off, "correlation"]))
    m["objOrthoCellsMin"] = float(o.loc[off, "correlation"].min())
    m["objOrthoCellsMax"] = float(o.loc[off, "correlation"].max())
    _put(
        m,
        "objOrthoCheese",
        interval(
            o.loc[(o["reward_a"] == "cheese") & o["reward_b"].str.startswith("cell"), "correlation"]
        ),
    )
    # item 3: Jozdien's patch
    ls = read["lean_summary"].set_index(["comparison", "target", "quantity"])
    for key, comp in (
        ("objMbVisit", "mb_vs_ma"),
        ("objPatchVisit", "patch_vs_ma"),
        ("objPatchOwn", "patch_vs_ma_own_minus_others"),
        ("objRandomOwn", "random_vs_ma_own_minus_others"),
    ):
        row = ls.loc[(comp, "all", "d_visit")]
        _put(m, key, (row["mean"], row["low"], row["high"], row["runs"]))
    # item 4: the shared part alone (one network per MA seed: intervals over episodes,
    # pooled over seeds, Newcombe's for a difference of proportions)
    e = ed[ed["step"] == final]
    for key, direction in (("objShared", "shared"), ("objSharedRandom", "shared_random")):
        g = e[(e["direction"] == direction) & (e["sign"] == 1.0)]
        one = g.drop_duplicates("seed")
        hits_a = int(np.rint((one["success_arm"] * one["n_arm"]).sum()))
        hits_b = int(np.rint((one["success_base"] * one["n_base"]).sum()))
        lo, hi = confint_proportions_2indep(
            hits_a, int(one["n_arm"].sum()), hits_b, int(one["n_base"].sum()), method="newcomb"
        )
        m[f"{key}Success"] = float(one["d_success"].mean())
        m[f"{key}SuccessLow"], m[f"{key}SuccessHigh"] = float(lo), float(hi)
        m[f"{key}Base"] = float(one["success_base"].mean())
        m[f"{key}Length"] = float(one["d_length"].mean())
        _put(m, f"{key}Visits", interval(g["d_visit_own"]))  # change of visits to the K cells
    # item 4b, c: transplant and negation at alpha = k_alpha (MA + specific_k = MB_k - shared),
    # and specific minus random
    alpha = cfg["k_alpha"]
    m["objAlpha"] = alpha
    for sign, name in ((1.0, "Transplant"), (-1.0, "Negation")):
        pick = e[(e["alpha"] == alpha) & (e["sign"] == sign) & (e["K"] == K)]
        spec = pick[pick["direction"] == "specific"].set_index(["seed", "target"])
        rand = pick[pick["direction"] == "random"].set_index(["seed", "target"])
        _put(m, f"obj{name}", interval(spec["d_visit"]))
        _put(m, f"obj{name}Random", interval(rand["d_visit"]))
        _put(m, f"obj{name}Diff", interval(spec["d_visit"] - rand["d_visit"].reindex(spec.index)))
        _put(m, f"obj{name}Success", interval(spec["d_success"]))
        for k_sub in cfg["k_levels"]:
            g = e[(e["K"] == k_sub) & (e["sign"] == sign) & (e["direction"] == "specific")]
            word = {2: "Two", 4: "Four", 8: "Eight"}[k_sub]
            _put(m, f"obj{name}K{word}", interval(g["d_visit"]))
        kk = e[
            (e["K"] == K)
            & (e["sign"] == sign)
            & (e["direction"] == "specific")
            & (e["alpha"] == cfg["k_alpha"])
        ]
        _put(m, f"obj{name}KAll", interval(kk["d_visit"]))
    m["objKAlpha"] = cfg["k_alpha"]
    m["objKLevelsPhrase"] = ", ".join(str(k) for k in cfg["k_levels"])
    # item 4a: decoding of held-out targets with all K
    dk = dec[(dec["step"] == final) & (dec["K"] == K)]
    for part, key in (("specific", "objDecode"), ("random", "objDecodeRandom")):
        g = dk[dk["part"] == part]
        hits = int(np.rint((g["accuracy"] * g["K"]).sum()))
        trials = int(g["K"].sum())
        lo, hi = binomial_interval(hits, trials)
        m[key], m[f"{key}Low"], m[f"{key}High"] = hits / trials, lo, hi
        m[f"{key}Null"] = float(g["null_accuracy"].mean())
        m[f"{key}P"] = float(g["p_accuracy"].max())
    m["objDecodeTrials"] = int(dk[dk["part"] == "specific"]["K"].sum())
    # item 5: where the specific parts live
    pf = pos[pos["step"] == final]
    _put(m, "objRank", interval(pf.loc[pf["part"] == "specific", "rank"]))
    _put(m, "objRankRandom", interval(pf.loc[pf["part"] == "random", "rank"]))
    _put(m, "objRankDelta", interval(pf.loc[pf["part"] == "delta", "rank"]))
    m["objPeakCheese"] = float(pf.loc[pf["target"] == "cheese", "peak_share"].mean())
    _put(
        m,
        "objPeakCells",
        interval(pf.loc[(pf["part"] == "delta") & (pf["target"] != "cheese"), "peak_share"]),
    )
    m["objPeakUniform"] = 1.0 / ((SIZE + 1) // 2) ** 2
    m["objRankNull"] = 0.5
    lf = lay[(lay["step"] == final)]
    dense = lf[lf["layer"] == "trunk.dense.weight"]
    for key, sel in (
        ("objDenseSpecific", (dense["part"] == "specific")),
        ("objDenseCells", (dense["part"] == "delta") & (dense["target"] != "cheese")),
        ("objDenseRandom", dense["part"] == "random"),
    ):
        _put(m, key, interval(dense.loc[sel, "share"]))
    m["objDenseCheese"] = float(dense.loc[dense["target"] == "cheese", "share"].mean())
    m["objDenseParams"] = float(dense["param_share"].iloc[0])
    cf = ch[ch["step"] == final]
    for part, key in (("specific", "objChannels"), ("random", "objChannelsRandom")):
        _put(m, key, interval(cf.loc[cf["part"] == part, "consistency"]))
    # item 7: first and last checkpoint
    first = int(tr["step"].min())
    for measure, key in (
        ("decoding_specific", "Decode"),
        ("transplant_minus_random", "Transplant"),
        ("position_rank", "Rank"),
        ("specific_share", "Share"),
        ("ma_success", "Success"),
    ):
        for step, when in ((first, "First"), (final, "Last")):
            g = tr[(tr["measure"] == measure) & (tr["step"] == step)]
            m[f"objTrack{key}{when}"] = float(g["value"].mean())
            # one seed: its interval over targets; several: the interval over seeds
            lo, hi = (
                (g["low"].iloc[0], g["high"].iloc[0]) if len(g) == 1 else interval(g["value"])[1:3]
            )
            m[f"objTrack{key}{when}Low"], m[f"objTrack{key}{when}High"] = float(lo), float(hi)
    m["objShareLast"] = m["objTrackShareLast"]
    m["objShareOrthogonal"] = 1.0 - 1.0 / K
    return {**m, **verdicts(m)}


def _above(m: dict, key: str, ref: float = 0.0) -> bool:
    return bool(m[f"{key}Low"] > ref)


def _below(m: dict, key: str, ref: float = 0.0) -> bool:
    return bool(m[f"{key}High"] < ref)


def verdicts(m: dict) -> dict[str, str]:
    """The section's qualitative sentences, decided from the intervals (no number in them),
    so the prose cannot claim what the data of its mode do not show."""
    v = {}
    if _below(m, "objPatchOwn") and _below(m, "objPatchOwn", m["objRandomOwnLow"]):
        v["ObjPatchVerdict"] = (
            "The patch leans away from its own cell, beyond the random edit: the negative "
            "result does not reproduce here."
        )
    else:
        v["ObjPatchVerdict"] = (
            "The interval of the patch's lean includes zero or overlaps the random edit's: "
            "Jozdien's negative result reproduces."
        )
    v["ObjMbVerdict"] = (
        "the fine-tunes moved the agent toward its cell."
        if _above(m, "objMbVisit")
        else "within this budget the fine-tunes did not measurably move the agent toward its "
        "cell on this distribution, which bounds what any edit built from them can show."
    )
    v["ObjShareVerdict"] = (
        "specific to its target" if m["objShareLast"] > 0.5 else "shared by every target"
    )
    if m["objDecodeP"] <= 0.05 and m["objDecodeLow"] > m["objDecodeNull"]:
        v["ObjDecodeVerdict"] = "Decoding beats its null in every MA seed."
    else:
        v["ObjDecodeVerdict"] = (
            "Decoding does not beat its null: read linearly, the specific part does not name a "
            "held-out target. (The exact tabular model of the theory paragraph decodes held-out "
            "targets from a uniform policy but not from a saturated one.)"
        )
    t = _above(m, "objTransplantDiff")
    n = _below(m, "objNegationDiff")
    v["ObjEditVerdict"] = {
        (True, True): "Both edits beat the random direction: the specific part writes the "
        "objective in and, negated, writes it out.",
        (True, False): "The transplant beats the random direction; the negation does not "
        "make the agent avoid its cell beyond the random edit.",
        (False, True): "The negation beats the random direction; the transplant does not.",
        (False, False): "Neither edit beats the random direction of equal size.",
    }[t, n]
    overlap = not (
        m["objTransplantKAllLow"] > m["objTransplantKTwoHigh"]
        or m["objTransplantKTwoLow"] > m["objTransplantKAllHigh"]
    )
    v["ObjKVerdict"] = (
        "The intervals overlap: at these sizes averaging over more rewards does not measurably "
        "change the transplant."
        if overlap
        else (
            "Averaging over more rewards strengthens the transplant."
            if m["objTransplantKAll"] > m["objTransplantKTwo"]
            else "Averaging over more rewards weakens the transplant."
        )
    )
    if m["objRankLow"] > m["objRankNull"] and m["objRankLow"] > m["objRankRandomHigh"]:
        v["ObjMapVerdict"] = (
            "The specific parts concentrate on the dense-layer inputs of their own target "
            "cell, beyond random directions: the stored target has a place in the weights."
        )
    else:
        v["ObjMapVerdict"] = (
            "The specific parts show no preference for their target's input position beyond "
            "random directions."
        )
    early = (
        "Already at the random-weight network the transplant beats its random direction, so "
        "on this measure the network does not wait for competence to become objective-editable. "
        if _above(m, "objTrackTransplantFirst")
        else "At the random-weight network the transplant does not beat its random direction. "
    )
    v["ObjTrackVerdict"] = early + (
        "These are descriptive tracks over few checkpoints; functional forms and the relation "
        "to the LLC curves need the full mode's denser set."
    )
    return v


def figure(d: Path, path: Path) -> None:
    """Transplant and negation against random directions; position ranks; the track."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ed = pd.read_csv(d / "edits.csv")
    pos = pd.read_csv(d / "positions.csv")
    tr = pd.read_csv(d / "track.csv")
    final, K = int(ed["step"].max()), int(ed["K"].max())
    fig, ax = plt.subplots(1, 3, figsize=(10, 3.0))
    summ = edit_summary(ed[(ed["step"] == final) & (ed["K"] == K)])
    for direction, color in (("specific", "C0"), ("random", "C7")):
        g = summ[summ["direction"] == direction].assign(x=lambda t: t["sign"] * t["alpha"])
        g = g.sort_values("x")
        ax[0].errorbar(
            g["x"],
            g["d_visit"],
            yerr=[g["d_visit"] - g["low"], g["high"] - g["d_visit"]],
            marker="o",
            color=color,
            capsize=2,
            label=direction,
        )
    ax[0].axhline(0, color="k", lw=0.5)
    ax[0].set_xlabel(r"edit $\alpha$ (MA $+\alpha\,$direction)")
    ax[0].set_ylabel("visits to own target\nminus to others (vs MA)")
    ax[0].legend(fontsize=7)
    pf = pos[(pos["step"] == final) & (pos["target"] != "cheese")]
    parts = ["specific", "delta", "random"]
    for i, part in enumerate(parts):
        v = pf.loc[pf["part"] == part, "rank"].to_numpy()
        ax[1].scatter(np.full(v.size, i) + np.linspace(-0.15, 0.15, v.size), v, s=10, color="C0")
        ax[1].hlines(v.mean(), i - 0.3, i + 0.3, color="k")
    ax[1].axhline(0.5, color="C3", ls="--", lw=0.8, label="no position preference")
    ax[1].set_xticks(range(len(parts)), parts)
    ax[1].set_ylim(-0.05, 1.05)
    ax[1].set_ylabel("rank of the target's position\nin the dense-layer map")
    ax[1].legend(fontsize=7)
    for measure, label, color in (
        ("decoding_specific", "decoding accuracy", "C0"),
        ("transplant_minus_random", "transplant $-$ random", "C1"),
        ("position_rank", "position rank", "C2"),
        ("ma_success", "MA success", "k"),
    ):
        g = tr[tr["measure"] == measure].groupby("step")["value"].mean()
        ax[2].plot(g.index, g.to_numpy(), marker="o", label=label, color=color)
    ax[2].set_xscale("symlog", linthresh=1e4)
    ax[2].set_xlabel("MA checkpoint (environment steps)")
    ax[2].legend(fontsize=6)
    for a, letter in zip(ax, "abc", strict=True):
        a.set_title(f"({letter})", fontsize=9, loc="left")
        a.tick_params(labelsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def make_outputs(args) -> None:
    """Macros, table and figure; without this mode's data, only the pending flag."""
    macros = args.tables / f"{NAME}_macros.tex"
    if not (args.out / "track.csv").is_file():
        # no data of this mode yet (the full mode is not run): the section says so and
        # prints no number (paper/sections/objectives.tex tests \objPending)
        write_macros(macros, {"objPending": "yes"})
        return
    write_macros(macros, _macros(args.out))
    summ = edit_summary(pd.read_csv(args.out / "edits.csv"))
    final = int(summ["step"].max())
    table = summ[(summ["step"] == final) & summ["direction"].isin(["specific", "random"])]
    table = table.assign(edit=table["sign"] * table["alpha"])[
        ["K", "direction", "edit", "d_visit", "low", "high", "n", "d_success"]
    ]
    write_table(
        args.tables / f"{NAME}_edits.tex",
        table.sort_values(["K", "direction", "edit"]),
        caption="Edits of the final MA: own-minus-others visit change (95\\% t interval "
        "over targets and MA seeds) and cheese-success change.",
        label="tab:objectives_edits",
    )
    figure(args.out, args.figures / f"{NAME}_edits")


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--ma-dir",
        type=Path,
        default=None,
        help="folder holding the MA runs run_seed<k> with checkpoints (default: maze_baseline's "
        "data of the same mode, paper/data/maze_baseline[/quick])",
    )
    parser.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="folder for the fine-tuning runs (default runs/objectives[/quick])",
    )
    args = parser.parse_args()
    if (
        args.ma_dir is None
    ):  # quick mode fine-tunes the quick paper's own agents (a fresh clone has them)
        args.ma_dir = Path("paper/data/maze_baseline") / ("quick" if args.quick else "")
    if args.quick:
        args.out = args.out / "quick"
    if args.runs is None:
        args.runs = Path("runs") / NAME / ("quick" if args.quick else "full")
    if not args.figures_only:
        run_experiment(args)
    make_outputs(args)


if __name__ == "__main__":
    main()
