"""Shards over training: which goal maze agents pursue, the mechanisms behind it, and when they form.

Issue 12 on agents trained with the cheese in the top-right region of side 1, 3 and 5
(``experiments/specs/shard_agents_9.json``: 9x9, 3 seeds each, 2M steps, 30
checkpoints; devrl's sweep pool). At the final checkpoint of each agent, on the same
seeded cheese-anywhere levels with a decision square (:mod:`devrl.mechanisms`):

* ``choices.csv``: the greedy choice and P(cheese action) at the decision square;
* ``regression_*.csv``: L1 logistic regression of "goes to the cheese" on z-scored
  geometry, accuracy and ROC AUC over 50 random 80/20 splits against the majority class,
  bootstrap coefficients, VIFs; ``_reduced`` without ``path_cheese_corner`` (the sum of
  two other path features in a perfect maze);
* ``steering_*.csv`` / ``corner_*.csv``: the cheese vector (the corner vector) subtracted
  and added at every hook point, with a same-norm random vector and another level's
  vector as controls;
* ``channels_*.csv``: per channel, correlation of its map with the cheese and the change
  in the policy when it is resampled from the maze with the cheese elsewhere;
* ``retarget.csv``: the 3 most cheese-correlated channels of two layers clamped (1x and 5x
  their largest activation) at a random cell off the ways to the cheese and the corner,
  against no intervention, the cheese moved there and 3 random channels;
* ``emmons.csv``: Scott Emmons' statistics (:mod:`devrl.mechanisms.emmons`) with the
  cheese where training puts it; ``probe.csv``: a linear probe for the cheese's cell.

Over training, ``tracks.csv``: ``choice-regression``, ``cheese-vector``,
``cheese-channels``, ``cheese-probe`` and ``retarget`` (at ``trunk.res1.hook_out``) at
~12 (quick: 5) checkpoints per agent, with the sweep's ``success`` and
``decision-cheese`` at all of them; onsets and functional forms (:mod:`devrl.forms`).

    nice -n 10 python experiments/shards.py --workers 2          # full: ~1.5 CPU-h, resumable
    python experiments/shards.py --quick                         # 7x7, 3 agents: ~4 CPU-min
    python experiments/shards.py --figures-only [--quick]        # redraw from saved tables

The run directories (with checkpoints) stay in the git-ignored ``sweeps/``; only the
tidy tables are committed under ``paper/data/shards/{quick,full}/``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write_text
from devrl._pool import parallel_map
from devrl.checkpoints import nearest_checkpoints
from devrl.envs import sample_level
from devrl.forms import compare, halfway_onsets, onset_lags
from devrl.measures import Measure, get_measure
from devrl.mechanisms import (
    channel_correlations,
    cheese_channels,
    cheese_edit,
    cheese_probe,
    choice_regression,
    decision_choices,
    emmons_statistics,
    level_features,
    off_path_targets,
    resampling_ablation,
    retarget_scores,
    sample_decision_levels,
    steering_effects,
    steering_summary,
    touched_fraction,
)
from devrl.mechanisms.channels import cheese_indicator
from devrl.mechanisms.emmons import NEAR_SIDE
from devrl.paper import (
    data_dir,
    experiment_parser,
    number_latex,
    save_figure,
    write_macros,
    write_table,
)
from devrl.rollouts import evaluate
from devrl.runs import Run
from devrl.stats import mean_interval, seed_level_interval
from devrl.stats.intervals import wilson
from devrl.sweep import run_sweep
from devrl.track import track

NAME = "shards"
ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "experiments" / "specs" / "shard_agents_9.json"
LLC_CALIBRATION = ROOT / "paper" / "data" / "llc_over_training"
"""Where the LLC section's calibration lives (``<mode>/calibration.json``)."""
QUICK = {
    "name": "shards_quick",
    "base": {"size": 7, "total_timesteps": 300_000, "checkpoints": 10},
    "seeds": 1,
    "measures": ["success", "corner", {"name": "decision-cheese", "levels": 200}],
    "out": "sweeps/shards_quick",
}
"""Quick mode: the full spec with these keys replaced (7x7, one seed per corner size)."""
LEVEL_SEED = 2024
"""Seeds the decision-square levels of the final-checkpoint analyses."""
LAYER = "trunk.res1.hook_out"
"""The layer of the tracked vector, channels, probe and retargeting (first block's output)."""
RETARGET_LAYERS = ("trunk.conv2.hook_out", LAYER)
VALUE_SCALES = (1.0, 5.0)
"""Clamp values, in units of the largest activation of the clamped channels on the levels."""
REG_SPLITS = 50
"""Random train/test splits behind the regression's accuracy."""
PROBE_THRESHOLD = 0.9
"""Emmons' bar for a probe that recovers the cheese's exact cell."""
SIZES = {
    "quick": {"reg": 300, "mech": 50, "probe": 500, "episodes": 64, "k": 5},
    "full": {"reg": 3000, "mech": 200, "probe": 3000, "episodes": 256, "k": 12},
}
"""Levels per analysis, evaluation episodes and tracked checkpoints per agent."""
TRACKED = {
    "success": "success (in distribution)",
    "decision-cheese": "P(cheese | decision square)",
    "choice-regression/auc": "choice regression AUC",
    "cheese-vector": "cheese-vector effect",
    "cheese-channels": "cheese channels",
    "cheese-probe": "probe accuracy (cheese cell)",
    "retarget": "retargeting reach",
    "llc-action-uniform": "LLC (action likelihood, uniform states)",
}
"""Curves over training: measure -> label (the cheese-vector effect is negative: it removes)."""
TRACK_COLUMNS = ["run", "seed", "corner", "size", "step", "measure", "value", "stderr"]
"""Columns of ``tracks.csv``: the sweep's measures at every checkpoint, the rest at ~k."""
PERSIST = 2
"""Checkpoints a curve must stay past half its way for an onset (one noisy point is not one)."""


def _write(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))


def sweep_spec(quick: bool) -> dict:
    """The committed full spec, or its quick reduction."""
    spec = json.loads(SPEC.read_text())
    if quick:
        spec = {**spec, **QUICK, "base": {**spec["base"], **QUICK["base"]}}
    return spec


# ----------------------------------------------------------------- one agent, final checkpoint
def analyse_agent(run: Run, out: Path, sizes: dict) -> None:
    """Every final-checkpoint table of one agent, written under ``out`` (resumable)."""
    if (out / "done.txt").is_file():
        return
    out.mkdir(parents=True, exist_ok=True)
    policy = run.policy(run.steps[-1])
    size, corner = int(run.config["size"]), int(run.config["corner"])
    in_dist = evaluate(policy, {"size": size, "corner": corner}, episodes=sizes["episodes"])
    max_steps = round(float(in_dist["length"].mean()))
    _write(
        pd.DataFrame([{"success": in_dist["reached_cheese"].mean(), "length": max_steps}]),
        out / "evaluation.csv",
    )
    levels, _ = sample_decision_levels(size, sizes["reg"], seed=LEVEL_SEED)
    choices = decision_choices(policy, levels).set_index("level")
    _write(choices.reset_index()[["level", "p_cheese", "p_corner", "branch"]], out / "choices.csv")
    feats = level_features(levels).set_index("level")
    y = (choices.loc[feats.index, "branch"] == "cheese").to_numpy()
    if 0 < y.sum() < len(y) - 1:  # a regression needs both choices
        for label, frame in (("", feats), ("_reduced", feats.drop(columns="path_cheese_corner"))):
            res = choice_regression(frame, y, splits=REG_SPLITS, resamples=200, seed=0)
            _write(res.coefficients, out / f"regression{label}_coefficients.csv")
            _write(pd.DataFrame([res.summary()]), out / f"regression{label}_summary.csv")

    mech = levels[: sizes["mech"]]
    effects = steering_effects(policy, mech, coeffs=(-1.0, 1.0), seed=0)
    _write(effects, out / "steering_effects.csv")
    _write(steering_summary(effects), out / "steering_summary.csv")
    corner_eff = steering_effects(policy, mech, coeffs=(1.0, -1.0), seed=0, goal="corner")
    _write(corner_eff, out / "corner_effects.csv")

    corr = channel_correlations(policy, mech, seed=0)
    abl = resampling_ablation(policy, mech, [str(x) for x in corr["layer"].unique()], seed=0)
    _write(corr, out / "channels_correlation.csv")
    _write(cheese_channels(corr, abl), out / "channels_count.csv")
    _write(retarget(policy, mech, corr, max_steps), out / "retarget.csv")

    rng = np.random.default_rng(LEVEL_SEED)
    trained = [sample_level(size, corner, rng) for _ in range(sizes["mech"])]
    channels, value = cheese_edit(policy, mech, LAYER, corr, k=3, scale=5.0)
    emmons = emmons_statistics(
        policy, trained, LAYER, channels, value=value, max_steps=max_steps, seed=0
    )
    _write(emmons, out / "emmons.csv")
    anywhere = [sample_level(size, None, rng) for _ in range(sizes["probe"])]
    _write(cheese_probe(policy, anywhere, seed=0), out / "probe.csv")
    atomic_write_text(out / "done.txt", "all tables of this agent are written\n")


def retarget(
    policy: torch.nn.Module, levels: list, corr: pd.DataFrame, max_steps: int
) -> pd.DataFrame:
    """The cheese edit at each of ``RETARGET_LAYERS`` x ``VALUE_SCALES``, scored on ``levels``."""
    targets = off_path_targets(levels, seed=LEVEL_SEED)
    keep = [i for i, t in enumerate(targets) if t is not None]
    levels, targets = [levels[i] for i in keep], [targets[i] for i in keep]
    size = levels[0][0].shape[0]
    frames = []
    for layer in RETARGET_LAYERS:
        for scale in VALUE_SCALES:
            channels, value = cheese_edit(policy, levels, layer, corr, k=3, scale=scale)
            scores = retarget_scores(
                policy, levels, targets, layer, channels, value=value, max_steps=max_steps
            )
            shape = _spatial_shape(policy, levels, layer)
            units = float(cheese_indicator(np.array(targets), size, shape).sum((1, 2)).mean())
            frames.append(
                scores.assign(
                    layer=layer,
                    scale=scale,
                    channels=" ".join(map(str, channels)),
                    touched=touched_fraction(policy, layer, channels, size, units=units),
                )
            )
    return pd.concat(frames, ignore_index=True)


def _spatial_shape(policy: torch.nn.Module, levels: list, layer: str) -> tuple[int, int]:
    from devrl.envs import mouse_start, observation
    from devrl.hooks import run_with_cache

    walls, cheese = levels[0]
    obs = torch.as_tensor(observation(walls, mouse_start(walls.shape[0]), tuple(cheese)))
    _, cache = run_with_cache(policy, obs[None].float(), [layer])
    return tuple(cache[layer].shape[2:])


# ----------------------------------------------------------------- over training
def llc_measure(quick: bool) -> Measure:
    """The action-likelihood LLC on uniform states at the setting the LLC section calibrated.

    ``experiments/llc_over_training.py`` calibrated SGLD (step size, localization, nβ) on
    agents of the same preset; its committed ``calibration.json`` of the same mode is
    reused, so the two sections' LLCs are the same estimator.
    """
    calib = json.loads(
        (LLC_CALIBRATION / ("quick" if quick else "full") / "calibration.json").read_text()
    )
    chosen = {k: calib[k] for k in ("lr", "localization", "nbeta")}
    measure = get_measure("llc-action", **chosen, states="uniform")
    return dataclasses.replace(measure, name="llc-action-uniform")


def over_training(runs: dict[str, Run], k: int, workers: int | None, llc: Measure) -> pd.DataFrame:
    """The shard measures and the LLC at ~``k`` checkpoints of each agent."""
    measures = [
        llc,
        get_measure("choice-regression", levels=300),
        get_measure("cheese-vector", levels=100),
        get_measure("cheese-channels", levels=100),
        get_measure("cheese-probe", levels=1000),
        get_measure("retarget", levels=100),
    ]
    frames = []
    for run in runs.values():
        steps = [run.steps[i] for i in nearest_checkpoints(run.steps, k)]
        frames.append(track(run, measures, steps=steps, workers=workers, progress=True))
    return pd.concat(frames, ignore_index=True)[TRACK_COLUMNS]


def training_forms(tracks: pd.DataFrame) -> pd.DataFrame:
    """Functional form of each curve per corner size, seeds as groups (AICc weights)."""
    rows = []
    for (corner, measure), c in tracks[tracks["measure"].isin(TRACKED)].groupby(
        ["corner", "measure"]
    ):
        c = c[c["step"] > 0].replace([np.inf, -np.inf], np.nan).dropna(subset=["value"])
        if c["step"].nunique() < 5:
            continue
        res = compare(
            c["step"].to_numpy(float),
            c["value"].to_numpy(float),
            forms=["constant", "linear", "logistic_log", "exp"],
            groups=c["seed"].to_numpy() if c["seed"].nunique() > 1 else None,
            holdout=0.0,
        )
        keep = ["form", "status", "k", "aicc", "delta_aicc", "weight"]
        rows.append(res[keep].assign(corner=corner, measure=measure))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


# ----------------------------------------------------------------- over agents
def _agent_tables(root: Path, agents: pd.DataFrame, table: str) -> pd.DataFrame:
    frames = [
        pd.read_csv(root / "agents" / a.run / f"{table}.csv").assign(
            run=a.run, corner=a.corner, seed=a.seed
        )
        for a in agents.itertuples()
        if (root / "agents" / a.run / f"{table}.csv").is_file()
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _interval(frame: pd.DataFrame, column: str) -> tuple[float, float, float]:
    """Mean over seeds and levels with the two-stage bootstrap (one seed: over levels)."""
    values, seeds = frame[column].to_numpy(float), frame["seed"].to_numpy()
    if len(np.unique(seeds)) > 1:
        return seed_level_interval(values, seeds)
    return mean_interval(values)


def summarize(root: Path, agents: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The over-agent tables of every item, per corner size (written next to ``agents/``)."""
    out: dict[str, pd.DataFrame] = {}
    choices = _agent_tables(root, agents, "choices")
    evals = _agent_tables(root, agents, "evaluation")
    rows = []
    for corner, grp in choices.groupby("corner"):
        grp = grp.assign(greedy=(grp["branch"] == "cheese").astype(float))
        p, plo, phi = _interval(grp, "p_cheese")
        g, glo, ghi = _interval(grp, "greedy")
        ev = evals[evals["corner"] == corner]
        rows.append(
            [
                corner,
                grp["seed"].nunique(),
                grp["level"].nunique(),
                p,
                plo,
                phi,
                g,
                glo,
                ghi,
                ev["success"].mean(),
                ev["length"].mean(),
            ]
        )
    out["decision"] = pd.DataFrame(
        rows,
        columns=[
            "corner",
            "seeds",
            "levels",
            "p_cheese",
            "p_low",
            "p_high",
            "greedy_cheese",
            "greedy_low",
            "greedy_high",
            "success_in",
            "length_in",
        ],
    )

    reg = _agent_tables(root, agents, "regression_reduced_summary")
    coef = _agent_tables(root, agents, "regression_reduced_coefficients")
    if len(reg):
        out["regression"] = (
            reg.groupby("corner")
            .agg(
                agents=("run", "size"),
                accuracy=("accuracy", "mean"),
                baseline=("baseline", "mean"),
                auc=("auc", "mean"),
                auc_min=("auc", "min"),
                auc_max=("auc", "max"),
                positives=("positives", "mean"),
                levels=("levels", "mean"),
            )
            .reset_index()
        )
        out["coefficients"] = (
            coef.groupby(["corner", "feature"])
            .agg(
                coef=("coef", "mean"),
                coef_min=("coef", "min"),
                coef_max=("coef", "max"),
                nonzero=("nonzero", "mean"),
                vif=("vif", "median"),
            )
            .reset_index()
        )

    for table, key in (("steering_effects", "steering"), ("corner_effects", "corner_vector")):
        eff = _agent_tables(root, agents, table)
        rows = []
        for (corner, layer, vector, coeff), grp in eff.groupby(
            ["corner", "layer", "vector", "coeff"], sort=False
        ):
            m, lo, hi = _interval(grp, "change")
            f, flo, fhi = _interval(grp.assign(fell=(grp["change"] < -1e-9).astype(float)), "fell")
            rows.append(
                [
                    corner,
                    layer,
                    vector,
                    coeff,
                    len(grp),
                    m,
                    lo,
                    hi,
                    float(grp["change"].median()),
                    f,
                    flo,
                    fhi,
                ]
            )
        out[key] = pd.DataFrame(
            rows,
            columns=[
                "corner",
                "layer",
                "vector",
                "coeff",
                "n",
                "mean_change",
                "low",
                "high",
                "median_change",
                "fell",
                "fell_low",
                "fell_high",
            ],
        )

    count = _agent_tables(root, agents, "channels_count")
    out["channels"] = (
        count.groupby(["corner", "layer"], sort=False)
        .agg(
            channels=("channels", "first"),
            both=("both", "mean"),
            both_min=("both", "min"),
            both_max=("both", "max"),
            share=("share", "mean"),
            tracking=("tracking", "mean"),
            mattering=("mattering", "mean"),
        )
        .reset_index()
    )

    ret = _agent_tables(root, agents, "retarget")
    rows = []
    for (corner, layer, scale, cond), grp in ret.groupby(
        ["corner", "layer", "scale", "condition"], sort=False
    ):
        r = _interval(grp.assign(hit=grp["reached"].astype(float)), "hit")
        g = _interval(grp, "path_gmean")
        touched = grp["touched"].mean() if cond in ("clamp", "random-channels") else 0.0
        rows.append([corner, layer, scale, cond, len(grp), *r, *g, touched])
    out["retarget"] = pd.DataFrame(
        rows,
        columns=[
            "corner",
            "layer",
            "scale",
            "condition",
            "n",
            "reached",
            "reached_low",
            "reached_high",
            "path_gmean",
            "gmean_low",
            "gmean_high",
            "touched",
        ],
    )

    em = _agent_tables(root, agents, "emmons")
    rows = []
    for (corner, target, cond), grp in em.groupby(["corner", "target", "condition"], sort=False):
        hits = int((grp["reached"] * grp["n"]).round().sum())
        n = int(grp["n"].sum())
        rate, low, high = wilson(hits, n)  # pooled over seeds: the seed range is beside it
        per_seed = grp["reached"].to_numpy()
        rows.append(
            [
                corner,
                target,
                cond,
                n,
                rate,
                low,
                high,
                per_seed.min(),
                per_seed.max(),
                grp["touched"].mean(),
            ]
        )
    out["emmons"] = pd.DataFrame(
        rows,
        columns=[
            "corner",
            "target",
            "condition",
            "n",
            "reached",
            "low",
            "high",
            "seed_min",
            "seed_max",
            "touched",
        ],
    )

    probe = _agent_tables(root, agents, "probe")
    out["probe"] = (
        probe.groupby(["corner", "layer"], sort=False)
        .agg(
            accuracy=("accuracy", "mean"),
            acc_min=("accuracy", "min"),
            acc_max=("accuracy", "max"),
            chance=("chance", "mean"),
            features=("features", "first"),
        )
        .reset_index()
    )
    return out


# ----------------------------------------------------------------- figures
CORNER_COLOR = {1: "C0", 3: "C1", 5: "C2"}


def figure_over_training(tracks: pd.DataFrame, onset: pd.DataFrame, path_stem: Path) -> None:
    """Every tracked curve of every agent, coloured by corner size; onsets as ticks."""
    names = [m for m in TRACKED if m in set(tracks["measure"])]
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.4 * rows), squeeze=False)
    for ax, measure in zip(axes.flat, names, strict=False):
        for (run, corner), grp in tracks[tracks["measure"] == measure].groupby(["run", "corner"]):
            grp = grp[grp["step"] > 0].sort_values("step")
            ax.plot(
                grp["step"], grp["value"], color=CORNER_COLOR.get(corner, "k"), lw=1, alpha=0.75
            )
            at = onset[(onset["run"] == run) & (onset["measure"] == measure)]["onset"]
            if len(at) and np.isfinite(at.iloc[0]):
                ax.axvline(at.iloc[0], color=CORNER_COLOR.get(corner, "k"), lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_title(TRACKED[measure], fontsize=9)
        ax.set_xlabel("environment steps", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=c, label=f"corner {k}") for k, c in CORNER_COLOR.items()]
    fig.legend(handles=handles, loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    save_figure(fig, path_stem)
    plt.close(fig)


def figure_final(summary: dict[str, pd.DataFrame], path_stem: Path) -> None:
    """P(cheese | decision square), the cheese vector per layer, Emmons' reach rates."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    dec = summary["decision"]
    ax = axes[0]
    ax.errorbar(
        dec["corner"],
        dec["p_cheese"],
        yerr=[dec["p_cheese"] - dec["p_low"], dec["p_high"] - dec["p_cheese"]],
        fmt="o-",
        capsize=3,
    )
    ax.set_xlabel("corner region side in training")
    ax.set_ylabel("P(cheese action | decision square)")
    ax.set_xticks(dec["corner"])
    ax = axes[1]
    st = summary["steering"]
    layers = list(dict.fromkeys(st["layer"]))
    x = np.arange(len(layers))
    for corner, grp in st[(st["coeff"] == -1)].groupby("corner"):
        for vector, style in (("cheese", "-"), ("random", ":")):
            g = grp[grp["vector"] == vector].set_index("layer").reindex(layers)
            ax.plot(
                x,
                g["mean_change"],
                style,
                marker="o" if vector == "cheese" else None,
                ms=3,
                color=CORNER_COLOR.get(corner, "k"),
                label=f"corner {corner}, {vector}",
            )
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xticks(
        x,
        [ln.replace("trunk.", "").replace(".hook_out", "").replace(".hook_", " ") for ln in layers],
        rotation=60,
        fontsize=7,
    )
    ax.set_ylabel("change of P(cheese action)")
    ax.set_title("vector subtracted (-1)", fontsize=9)
    ax.legend(fontsize=6, frameon=False)
    ax = axes[2]
    em = summary["emmons"]
    conds = ["none", "move-cheese", "clamp", "random-channels"]
    keys = [(t, c) for t in ("top-left", "bottom-right", "near-start") for c in conds]
    width = 0.8 / max(1, em["corner"].nunique())
    for j, (corner, grp) in enumerate(em.groupby("corner")):
        g = grp.set_index(["target", "condition"]).reindex(keys)
        ax.bar(
            np.arange(len(keys)) + j * width,
            g["reached"],
            width,
            yerr=np.clip([g["reached"] - g["low"], g["high"] - g["reached"]], 0, None),
            error_kw={"elinewidth": 0.6, "capsize": 1.5},
            color=CORNER_COLOR.get(corner, "k"),
            label=f"corner {corner}",
        )
    ax.set_xticks(
        np.arange(len(keys)) + 0.4 - width / 2,
        [f"{t}\n{c}" for t, c in keys],
        rotation=90,
        fontsize=6,
    )
    ax.set_ylabel("reached within in-distribution length")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_figure(fig, path_stem)
    plt.close(fig)


# ----------------------------------------------------------------- macros and tables
WORD = {1: "One", 2: "Two", 3: "Three", 5: "Five", 7: "Seven"}


def _default(fn, name: str):
    """A library function's default parameter: the prose names the value actually used."""
    return inspect.signature(fn).parameters[name].default


def _and_list(items: list) -> str:
    """``"1, 3 and 5"``."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _pct(x: float) -> float:
    return round(100 * float(x), 1)


def _sci(x: float, digits: int = 2) -> str:
    """``number_latex`` of a finite number; ``n/a`` when there is none (e.g. no onsets)."""
    return number_latex(float(x), digits) if np.isfinite(x) else "n/a"


def make_macros(
    summary: dict[str, pd.DataFrame],
    order: pd.DataFrame,
    agents: pd.DataFrame,
    spec: dict,
    path: Path,
) -> None:
    """Every number of the section's prose."""
    m: dict[str, object] = {
        "shSize": int(spec["base"]["size"]),
        "shSteps": number_latex(float(spec["base"]["total_timesteps"])),
        "shCheckpoints": int(spec["base"]["checkpoints"]),
        "shCheckpointsTracked": SIZES["quick" if "quick" in spec["name"] else "full"]["k"],
        "shAgents": len(agents),
        "shSeedsPerCorner": int(agents.groupby("corner").size().min()),
        "shLayer": LAYER.replace("_", r"\_"),
        "shCornerSides": _and_list(sorted(agents["corner"].unique())),
        "shRegSplits": REG_SPLITS,
        "shRegTrainPercent": round(100 * (1 - _default(choice_regression, "test_size"))),
        "shMinR": _default(cheese_channels, "min_r"),
        "shMinTv": _default(cheese_channels, "min_tv"),
        "shNearSide": NEAR_SIDE,
        "shProbeThreshold": round(100 * PROBE_THRESHOLD),
        "shPersist": {1: "one", 2: "two", 3: "three"}.get(PERSIST, PERSIST),
    }
    for row in summary["decision"].itertuples():
        w = WORD[row.corner]
        m |= {
            f"shPCheese{w}": round(row.p_cheese, 3),
            f"shPCheese{w}Low": round(row.p_low, 3),
            f"shPCheese{w}High": round(row.p_high, 3),
            f"shGreedy{w}": round(row.greedy_cheese, 3),
            f"shSuccessIn{w}": round(row.success_in, 3),
            f"shLength{w}": round(row.length_in, 1),
            "shDecisionLevels": int(row.levels),
        }
    for row in summary.get("regression", pd.DataFrame()).itertuples():
        w = WORD[row.corner]
        m |= {
            f"shRegAcc{w}": round(row.accuracy, 3),
            f"shRegBase{w}": round(row.baseline, 3),
            f"shRegAuc{w}": round(row.auc, 3),
            f"shRegAucMin{w}": round(row.auc_min, 3),
            f"shRegAucMax{w}": round(row.auc_max, 3),
        }
    if "coefficients" in summary:
        vif = summary["coefficients"]
        m["shVifMax"] = number_latex(float(vif["vif"].replace(np.inf, np.nan).max()))
    st, cv = summary["steering"], summary["corner_vector"]
    for corner in sorted(st["corner"].unique()):
        w = WORD[corner]
        at = st[(st["corner"] == corner) & (st["layer"] == LAYER)].set_index(["vector", "coeff"])
        own = at.loc[("cheese", -1)]
        m |= {
            f"shVec{w}": round(own.mean_change, 3),
            f"shVec{w}Low": round(own.low, 3),
            f"shVec{w}High": round(own.high, 3),
            f"shVecFell{w}": _pct(own.fell),
            f"shVecMedian{w}": number_latex(own.median_change, 2),
            f"shVecPlus{w}": round(at.loc[("cheese", 1)].mean_change, 3),
            f"shVecRandom{w}": round(at.loc[("random", -1)].mean_change, 3),
            f"shVecOther{w}": round(at.loc[("other-level", -1)].mean_change, 3),
        }
        best = st[(st["corner"] == corner) & (st["vector"] == "cheese") & (st["coeff"] == -1)]
        best = best.loc[best["mean_change"].idxmin()]
        m |= {
            f"shVecBest{w}": round(best.mean_change, 3),
            f"shVecBestLayer{w}": best.layer.replace("trunk.", "").replace("_", r"\_"),
        }
        c = cv[(cv["corner"] == corner) & (cv["layer"] == LAYER)].set_index(["vector", "coeff"])
        m |= {
            f"shCornerVec{w}": round(c.loc[("corner", 1)].mean_change, 3),
            f"shCornerVec{w}Low": round(c.loc[("corner", 1)].low, 3),
            f"shCornerVec{w}High": round(c.loc[("corner", 1)].high, 3),
            f"shCornerVecRandom{w}": round(c.loc[("random", 1)].mean_change, 3),
        }
    ch = summary["channels"]
    for row in ch[ch["layer"] == LAYER].itertuples():
        w = WORD[row.corner]
        m |= {
            f"shChannels{w}": round(row.both, 2),
            f"shChannelsMin{w}": int(row.both_min),
            f"shChannelsMax{w}": int(row.both_max),
            "shChannelsOf": int(row.channels),
            f"shChannelsTracking{w}": round(row.tracking, 2),
        }
    for corner, grp in ch.groupby("corner"):
        m[f"shChannelsAll{WORD[corner]}"] = round(float(grp["both"].sum()), 1)
        m["shChannelsAllOf"] = int(grp["channels"].sum())
    rt = summary["retarget"]
    for corner in sorted(rt["corner"].unique()):
        w = WORD[corner]
        at = rt[
            (rt["corner"] == corner) & (rt["layer"] == LAYER) & (rt["scale"] == max(VALUE_SCALES))
        ].set_index("condition")
        for cond, key in (
            ("clamp", "Clamp"),
            ("none", "None"),
            ("random-channels", "Random"),
            ("move-cheese", "Move"),
        ):
            m[f"shRet{key}{w}"] = _pct(at.loc[cond, "reached"])
        m |= {
            f"shRetClamp{w}Low": _pct(at.loc["clamp", "reached_low"]),
            f"shRetClamp{w}High": _pct(at.loc["clamp", "reached_high"]),
            f"shRetGmean{w}": round(at.loc["clamp", "path_gmean"], 3),
            f"shRetGmeanNone{w}": round(at.loc["none", "path_gmean"], 3),
            f"shRetTouched{w}": number_latex(100 * at.loc["clamp", "touched"], 2),
        }
    em = summary["emmons"]
    for row in em.itertuples():
        w = WORD[row.corner]
        t = {"top-left": "TopLeft", "bottom-right": "BottomRight", "near-start": "NearStart"}[
            row.target
        ]
        c = {"none": "None", "clamp": "Clamp", "move-cheese": "Move", "random-channels": "Random"}[
            row.condition
        ]
        m[f"shEm{t}{c}{w}"] = _pct(row.reached)
        if row.condition == "clamp":
            m[f"shEmTouched{w}"] = number_latex(100 * row.touched, 2)
        m["shEmLevels"] = int(row.n)
    pr = summary["probe"]
    for corner, grp in pr.groupby("corner"):
        w = WORD[corner]
        deep = grp[
            grp["layer"] != grp["layer"].iloc[0]
        ]  # past the first conv (which sees the input)
        best = deep.loc[deep["accuracy"].idxmax()]
        m |= {
            f"shProbeFirst{w}": _pct(grp["accuracy"].iloc[0]),
            f"shProbeBest{w}": _pct(best.accuracy),
            f"shProbeBestLayer{w}": best.layer.replace("trunk.", "").replace("_", r"\_"),
            f"shProbeLayer{w}": _pct(grp.set_index("layer").loc[LAYER, "accuracy"]),
            f"shProbeAbove{w}": int((grp["accuracy"] > PROBE_THRESHOLD).sum()),
            "shProbeLayers": len(grp),
            f"shProbeChance{w}": _pct(grp["chance"].mean()),
        }
    names = {
        "decision-cheese": "DecisionCheese",
        "choice-regression/auc": "RegAuc",
        "cheese-vector": "Vector",
        "cheese-channels": "Channels",
        "cheese-probe": "Probe",
        "retarget": "Retarget",
        "llc-action-uniform": "Llc",
    }
    for row in order.itertuples():
        n = names[row.measure]
        m |= {
            f"shLag{n}": round(row.mean_log10_lag, 2),
            f"shLag{n}Low": round(row.low, 2),
            f"shLag{n}High": round(row.high, 2),
            f"shLagBefore{n}": row.before,
            f"shLagAfter{n}": row.after,
            f"shLagAgents{n}": row.runs,
            f"shLagP{n}": _sci(row.sign_p),
        }
    m = {
        k: ("n/a" if not np.isfinite(v) else v + 0.0) if isinstance(v, float) else v
        for k, v in m.items()
    }  # + 0.0 turns a rounded -0.0 into 0.0
    write_macros(path, m)


def write_tables(summary: dict[str, pd.DataFrame], forms: pd.DataFrame, tables: Path) -> None:
    """The per-corner summary table and the winning form of each curve."""
    dec = summary["decision"].set_index("corner")
    reg = summary.get("regression", pd.DataFrame(columns=["corner"])).set_index("corner")
    st = summary["steering"]
    st = st[(st["layer"] == LAYER) & (st["vector"] == "cheese") & (st["coeff"] == -1)].set_index(
        "corner"
    )
    ch = summary["channels"]
    ch = ch[ch["layer"] == LAYER].set_index("corner")
    rt = summary["retarget"]
    rt = rt[(rt["layer"] == LAYER) & (rt["scale"] == max(VALUE_SCALES))]
    rows = []
    for corner in dec.index:
        r = rt[rt["corner"] == corner].set_index("condition")["reached"]
        rows.append(
            {
                "corner": corner,
                "seeds": int(dec.loc[corner, "seeds"]),
                "success in dist.": dec.loc[corner, "success_in"],
                "P(cheese | d.s.)": f"{dec.loc[corner, 'p_cheese']:.3f} [{dec.loc[corner, 'p_low']:.3f}, {dec.loc[corner, 'p_high']:.3f}]",
                "regression AUC": reg["auc"].get(corner, np.nan),
                "cheese vector (-1)": f"{st.loc[corner, 'mean_change']:.3f} [{st.loc[corner, 'low']:.3f}, {st.loc[corner, 'high']:.3f}]",
                "cheese channels": ch.loc[corner, "both"],
                "retarget reach": f"{r['clamp']:.2f} (none {r['none']:.2f})",
            }
        )
    write_table(
        tables / f"{NAME}.tex",
        pd.DataFrame(rows),
        caption="Shards at the final checkpoint, per corner-region side of training "
        "(means over seeds and levels, 95\\% two-stage bootstrap intervals; vector, "
        f"channels and retargeting at {LAYER.replace('_', chr(92) + '_')}).",
        label="tab:shards",
        fit_width=True,
    )
    if len(forms):
        best = forms.loc[forms.groupby(["corner", "measure"])["weight"].idxmax()]
        table = best.assign(curve=best["measure"].map(TRACKED))[
            ["corner", "curve", "form", "weight"]
        ]
        write_table(
            tables / f"{NAME}_forms.tex",
            table,
            caption="Functional form of each curve over training with the largest "
            "AICc weight (seeds as groups), per corner size.",
            label="tab:shards-forms",
        )


# ----------------------------------------------------------------- main
def _analyse_one(job: tuple[str, str, dict]) -> str:
    """Pool task: one agent's final-checkpoint tables (module level: it is pickled)."""
    run_dir, out, sizes = job
    torch.set_num_threads(1)
    analyse_agent(Run.load(run_dir), Path(out), sizes)
    return out


def run_experiment(args, spec: dict, root: Path) -> None:
    """Train (or resume) the agents, analyse each final checkpoint, track them over training."""
    sizes = SIZES["quick" if args.quick else "full"]
    result = run_sweep(spec, workers=args.workers, out=ROOT / spec["out"], progress=True)
    trials = result.trials
    failed = trials[trials["status"] != "finished"]
    if len(failed):
        raise SystemExit(f"error: {len(failed)} agent(s) did not finish: {list(failed['run'])}")
    agents = trials[["run", "corner", "seed"]].copy()
    root.mkdir(parents=True, exist_ok=True)
    runs = {name: Run.load(result.out / "runs" / name) for name in agents["run"]}
    jobs = [(str(runs[n].path), str(root / "agents" / n), sizes) for n in agents["run"]]
    for i, done in enumerate(parallel_map(_analyse_one, jobs, workers=args.workers), 1):
        print(f"[{NAME}] agent {i}/{len(jobs)} analysed: {Path(done).name}", flush=True)
    llc = llc_measure(args.quick)
    swept = result.results[result.results["measure"].isin(TRACKED)][TRACK_COLUMNS]
    tracked = over_training(runs, sizes["k"], args.workers, llc)
    _write(pd.concat([swept, tracked], ignore_index=True), root / "tracks.csv")
    _write(agents, root / "agents.csv")


def analyse(root: Path) -> dict[str, pd.DataFrame]:
    """Over-agent summaries, onsets, their order and forms, written next to the agents."""
    agents = pd.read_csv(root / "agents.csv")
    summary = summarize(root, agents)
    for key, frame in summary.items():
        _write(frame, root / f"summary_{key}.csv")
    tracks = pd.read_csv(root / "tracks.csv")
    onset = halfway_onsets(tracks, list(TRACKED), keep=("corner", "seed"), persist=PERSIST)
    _write(onset, root / "onsets.csv")
    _write(onset_lags(onset, "success"), root / "onset_order.csv")
    _write(training_forms(tracks), root / "forms.csv")
    return summary


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--workers", type=int, default=None, help="processes side by side (default: all cores)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = sweep_spec(args.quick)
    root = data_dir(args.out, args.quick)
    if args.figures_only and not args.quick and not (root / "agents.csv").is_file():
        print(f"[{NAME}] no full-mode data in {root}: nothing to draw (run without --quick)")
        return
    if args.figures_only:
        data_dir(args.out, args.quick, reading="agents.csv")  # says what to run if absent
    else:
        run_experiment(args, spec, root)
    analyse(root)  # the summaries are rebuilt from the per-agent tables (seconds)
    agents = pd.read_csv(root / "agents.csv")
    summary = {
        key: pd.read_csv(root / f"summary_{key}.csv")
        for key in (
            "decision",
            "steering",
            "corner_vector",
            "channels",
            "retarget",
            "emmons",
            "probe",
        )
    }
    for key in ("regression", "coefficients"):
        if (root / f"summary_{key}.csv").is_file():
            summary[key] = pd.read_csv(root / f"summary_{key}.csv")
    tracks, onset = pd.read_csv(root / "tracks.csv"), pd.read_csv(root / "onsets.csv")
    forms = (
        pd.read_csv(root / "forms.csv")
        if (root / "forms.csv").stat().st_size > 1
        else pd.DataFrame()
    )
    order = pd.read_csv(root / "onset_order.csv")
    args.figures.mkdir(parents=True, exist_ok=True)
    figure_over_training(tracks, onset, args.figures / f"{NAME}_over_training")
    figure_final(summary, args.figures / f"{NAME}_final")
    write_tables(summary, forms, args.tables)
    make_macros(summary, order, agents, spec, args.tables / f"{NAME}_macros.tex")
    print(f"[{NAME}] wrote {root}, figures and tables")


if __name__ == "__main__":
    main()
