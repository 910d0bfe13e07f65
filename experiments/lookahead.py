"""Does the maze agent look ahead? Probes, patching, steering, and their course over training.

Applies issue 13's items 2-5 to the trained 9x9 agents of ``experiments/maze_baseline.py``
(read-only), and tracks them over each agent's checkpoints.

**Probes** (:mod:`devrl.mechanisms.lookahead`), at the final checkpoint. Each agent
plays greedy cheese-anywhere episodes on the same seeded levels; the first
``MAX_STATES`` states of each finished episode are kept, labelled with the cells the
mouse enters within N = 1, 2, 4, 8, 16 steps. Probes (1x1, 3x3, bilinear) are fitted on
70% of the episodes and scored (F1, AUROC) on the other 30%, at the node cells (the
stride-2 layers have one unit per node; the observation is scored at the same cells).

* ``seed<k>/scores.csv``: per network (``trained``; ``initial``, the run's step-0
  checkpoint; ``random``, the same architecture freshly initialised), layer, probe kind
  and horizon, on the trained agent's states and labels; the raw observation is layer
  ``observation`` (network ``trained``, its input).
* ``seed<k>/own_vs_cheese.csv``: on the held-out episodes where the agent reached the
  top-right corner before the cheese, the trained network's probes fitted to the own
  path (``fit=own``) or to the shortest path to the cheese (``fit=cheese``), scored
  against the own, cheese and corner label sets (``labels``).
* ``summary.csv`` / ``own_vs_cheese_summary.csv``: mean over seeds with a 95% t
  interval (3 seeds: df = 2).

**Patching** (:mod:`devrl.mechanisms.lookahead_patching`): on the same greedy episodes,
one passage is closed on the agent's future path or off it at the same maze distance,
and the corrupted activations are patched into the clean run at the passage's units.
``seed<k>/patching.csv``: :func:`~devrl.mechanisms.lookahead_patching.patching_summary`
per network (the trained agent's pairs; each network's own greedy action);
``patching_summary.csv`` over seeds.

**Steering** (:mod:`devrl.mechanisms.plan_steering`): on decision-square levels, each
network's horizon-8 1x1 probe direction is written along the branch the network did not
choose. ``seed<k>/steering.csv`` per network, layer and coefficient;
``steering_summary.csv`` over seeds.

**Over training**: ``lookahead`` (3x3 probe), ``lookahead-patching`` and
``plan-steering`` at ``trunk.res1.hook_out`` through :func:`devrl.track.track`, every
checkpoint on the final checkpoint's episodes (``episodes_of="final"``, one task across
training), at a subset of checkpoints in quick mode; the training success rate joins
them. ``tracks.csv`` (tidy), ``lags.csv`` (steepest changes against success,
:func:`devrl.forms.change_lags`), ``forms.csv`` (:func:`devrl.forms.compare`, seeds
pooled).

**More thinking** (item 6, :mod:`devrl.agents.thinking`): a ConvLSTM agent trained with
3 ticks per step (quick: one seed, 1.5M steps), then evaluated with 1-8 ticks: success
in distribution and with the cheese anywhere, and held-out 3x3 probe AUROC on its final
hidden state. ``thinking/run_seed<k>`` (the run), ``thinking/seed<k>.csv``,
``thinking.csv``.

Each step of each seed is written once (resumable; the tracks are cached in the runs);
summaries, figures and macros are rebuilt from the tables. Quick mode reads the full
agents when their checkpoints exist, else maze_baseline's quick agents.

    nice python experiments/lookahead.py --quick   # 7 CPU-min, plus ~15 to train the ConvLSTM
    python experiments/lookahead.py --quick --figures-only   # rebuild from the tables
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write_text
from devrl.agents import PPOConfig, train
from devrl.agents.presets import PRESETS
from devrl.agents.registry import build_model
from devrl.envs import MazeVecEnv
from devrl.forms import change_lags, compare_curves
from devrl.measures import get_measure
from devrl.mechanisms.decision import sample_decision_levels
from devrl.mechanisms.lookahead import (
    KINDS,
    fit_probe,
    layer_activations,
    predict,
    rollout_states,
    score,
)
from devrl.mechanisms.lookahead_patching import (
    patching_effects,
    patching_summary,
    wall_pairs,
)
from devrl.mechanisms.plan_steering import (
    probe_direction,
    route_steering,
    route_steering_summary,
)
from devrl.paper import count_phrase, experiment_parser, number_latex, save_figure, write_macros
from devrl.rollouts import collect, evaluate
from devrl.runs import Run
from devrl.stats import t_interval, wilson
from devrl.track import track

NAME = "lookahead"
LEVEL_SEED = 2024
"""Seeds the levels and the train/test split of episodes (the same for every agent)."""
SIZES = {"quick": 150, "full": 600}
"""Greedy cheese-anywhere episodes per agent."""
MAX_STATES = 32
LAYERS = (
    "trunk.conv1.hook_out",
    "trunk.conv2.hook_out",
    "trunk.res1.hook_mid",
    "trunk.res1.hook_out",
    "trunk.res2.hook_mid",
    "trunk.res2.hook_out",
    "trunk.res3.hook_mid",
    "trunk.res3.hook_out",
)
"""Every spatial hook point of the trunk (conv1 at the maze's resolution, the rest stride 2)."""
TEST_SHARE = 0.3
CAUSAL_LAYERS = tuple(x for x in LAYERS if x.endswith("hook_out"))
"""Layers patched and steered: every block's output."""
MAIN_LAYER = "trunk.res1.hook_out"
"""The layer of the headline numbers and the tracks (the probes' best, see summary.csv)."""
STEER_LEVELS = {"quick": 200, "full": 500}
"""Decision-square levels steered (the same seeded levels for every network)."""
COEFFS = (1.0, 2.0, 4.0, 8.0)
"""Steering strengths, in units of the layer's mean unit-activation norm."""
STEER_HORIZON = 8
TRACK_CHECKPOINTS = {"quick": 10, "full": None}
"""Checkpoints tracked per agent (evenly spaced over the run's list); None: all."""
TRACK_EPISODES = {"quick": 60, "full": 100}
THINK_SEEDS = {"quick": [0], "full": [0, 1, 2]}
THINK_STEPS = {"quick": 1_500_000, "full": 2_000_000}
THINK_TRAIN_TICKS = 3
THINK_TICKS = (1, 2, 3, 4, 6, 8)
"""Ticks at test time for the thinking agent (trained with :data:`THINK_TRAIN_TICKS`)."""
THINK_LAYER = "trunk.lstm.hook_h"


def _write(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_text(path, frame.to_csv(index=False, float_format="%.6g"))


def _networks(run: Run, seed: int) -> dict[str, torch.nn.Module]:
    """The trained (final) and initial checkpoints, and a fresh init of the architecture."""
    steps = run.steps
    torch.manual_seed(10_000 + seed)
    fresh = build_model(run.load_checkpoint(steps[-1])["model_config"]).eval()
    return {"trained": run.policy(steps[-1]), "initial": run.policy(steps[0]), "random": fresh}


def run_seed(run: Run, seed: int, episodes: int, out: Path) -> None:
    """Write one agent's ``scores.csv`` and ``own_vs_cheese.csv``."""
    nets = _networks(run, seed)
    env = MazeVecEnv(num_envs=64, size=9, corner=None, seed=LEVEL_SEED)
    try:
        roll = collect(nets["trained"], env, episodes=episodes, seed=LEVEL_SEED, greedy=True)
    finally:
        env.close()
    st = rollout_states(roll, max_states=MAX_STATES)
    eps = np.unique(st.episode)
    rng = np.random.default_rng(LEVEL_SEED)
    test = np.isin(st.episode, rng.choice(eps, round(TEST_SHARE * len(eps)), replace=False))
    diverge = st.corner_first[test]
    print(
        f"  {len(st.obs)} states of {len(eps)} episodes; test {int(test.sum())}, of which "
        f"{int(diverge.sum())} in {len(np.unique(st.episode[test][diverge]))} corner-first episodes"
    )
    jobs = [("trained", "observation")] + [(n, layer) for n in nets for layer in LAYERS]
    rows, ovc = [], []
    for net, layer in jobs:
        acts = st.obs if layer == "observation" else layer_activations(nets[net], st.obs, layer)
        own = st.probe_data(acts, "own")
        train_d, test_d = own.subset(~test), own.subset(test)
        for kind in KINDS:
            probs = predict(fit_probe(kind, train_d, seed=seed), test_d)
            rows.append(
                score(probs, test_d.labels, test_d.mask, st.horizons).assign(
                    network=net, layer=layer, kind=kind, states=len(test_d)
                )
            )
            if net != "trained" or layer == "observation" or not diverge.any():
                continue
            fits = {"own": probs}
            ch = st.probe_data(acts, "cheese")
            fits["cheese"] = predict(fit_probe(kind, ch.subset(~test), seed=seed), test_d)
            for fit, p in fits.items():
                for labels in ("own", "cheese", "corner"):
                    lab = st.probe_data(acts, labels).subset(test).labels[diverge]
                    ovc.append(
                        score(p[diverge], lab, test_d.mask[diverge], st.horizons).assign(
                            layer=layer, kind=kind, fit=fit, labels=labels
                        )
                    )
        print(f"  {net} {layer}: done")
    _write(pd.concat(rows, ignore_index=True), out / "scores.csv")
    _write(pd.concat(ovc, ignore_index=True), out / "own_vs_cheese.csv")


def run_causal(run: Run, seed: int, mode: str, out: Path) -> None:
    """Write one agent's ``patching.csv`` and ``steering.csv`` (items 4 and 5)."""
    nets = _networks(run, seed)
    env = MazeVecEnv(num_envs=64, size=9, corner=None, seed=LEVEL_SEED)
    try:
        roll = collect(nets["trained"], env, episodes=SIZES[mode], seed=LEVEL_SEED, greedy=True)
    finally:
        env.close()
    pairs = wall_pairs(roll, max_states=MAX_STATES, seed=LEVEL_SEED)
    st = rollout_states(roll, (STEER_HORIZON,), max_states=MAX_STATES)
    levels, _ = sample_decision_levels(9, STEER_LEVELS[mode], seed=LEVEL_SEED)
    patch, steer = [], []
    for net, policy in nets.items():
        eff = patching_effects(policy, roll.obs, pairs, CAUSAL_LAYERS, seed=seed)
        patch.append(patching_summary(eff, seed=seed).assign(network=net))
        for layer in CAUSAL_LAYERS:
            probe = fit_probe("1x1", st.probe_data(layer_activations(policy, st.obs, layer)))
            d = probe_direction(probe, 0)
            try:
                e = route_steering(policy, levels, layer, d, coeffs=COEFFS, seed=seed)
            except ValueError as err:  # e.g. a network that never takes a branch
                print(f"  {net} {layer}: no steering ({err})")
                continue
            steer.append(route_steering_summary(e).assign(network=net, layer=layer))
        print(f"  {net}: patched {len(pairs)} pairs, steered {len(levels)} levels")
    _write(pd.concat(patch, ignore_index=True), out / "patching.csv")
    _write(pd.concat(steer, ignore_index=True), out / "steering.csv")


def track_measures(mode: str) -> list:
    """The three look-ahead measures at :data:`MAIN_LAYER`, on the final agent's episodes."""
    common = {"layer": MAIN_LAYER, "episodes": TRACK_EPISODES[mode], "episodes_of": "final"}
    return [
        get_measure("lookahead", kind="3x3", **common),
        get_measure("lookahead-patching", distance=4, **common),
        get_measure("plan-steering", horizon=STEER_HORIZON, coeff=4.0, **common),
    ]


def run_tracks(run: Run, seed: int, mode: str, out: Path) -> None:
    """Write one agent's ``tracks.csv``: the measures at its checkpoints, and success."""
    steps = run.steps
    n = TRACK_CHECKPOINTS[mode]
    if n is not None:
        steps = [steps[i] for i in np.unique(np.linspace(0, len(steps) - 1, n).round().astype(int))]
    frame = track(run, track_measures(mode), steps=steps, progress=True)
    m = run.metrics[["step", "charts/success_rate"]].dropna()
    # a 5-update running median: the first updates finish only a few episodes each
    rate = m["charts/success_rate"].rolling(5, center=True, min_periods=1).median()
    success = np.interp(steps, m["step"], rate)
    success[np.asarray(steps) < m["step"].iloc[0]] = np.nan  # no episode had finished yet
    succ = pd.DataFrame({"step": steps, "measure": "success", "value": success, "stderr": np.nan})
    frame = pd.concat([frame[["step", "measure", "value", "stderr"]], succ], ignore_index=True)
    _write(frame.assign(seed=seed), out / "tracks.csv")


def run_thinking(seed: int, mode: str, out: Path) -> None:
    """Item 6: train the ConvLSTM agent (resumable, ``run_seed<k>``), then its success and
    probe AUROC against the ticks it is given at test time; writes ``seed<k>.csv``."""
    cfg = PPOConfig(**{**PRESETS["quick"], "ticks": THINK_TRAIN_TICKS, "seed": seed,
                       "total_timesteps": THINK_STEPS[mode], "checkpoints": 20})  # fmt: skip
    run = train(cfg, out / f"run_seed{seed}", resume=True)
    policy = run.policy(run.steps[-1])
    env = MazeVecEnv(num_envs=64, size=9, corner=None, seed=LEVEL_SEED)
    try:  # states and future paths of the agent at its training ticks, fixed for all ticks
        roll = collect(policy, env, episodes=SIZES[mode], seed=LEVEL_SEED, greedy=True)
    finally:
        env.close()
    st = rollout_states(roll, max_states=MAX_STATES)
    eps = np.unique(st.episode)
    rng = np.random.default_rng(LEVEL_SEED)
    test = np.isin(st.episode, rng.choice(eps, round(TEST_SHARE * len(eps)), replace=False))
    rows = []
    for ticks in THINK_TICKS:
        policy.ticks = ticks
        for corner, name in ((1, "in-distribution"), (None, "cheese anywhere")):
            ev = evaluate(policy, {"size": 9, "corner": corner}, SIZES[mode], seed=LEVEL_SEED)
            rows.append({"ticks": ticks, "quantity": f"success, {name}",
                         "value": float(ev["reached_cheese"].mean())})  # fmt: skip
        data = st.probe_data(layer_activations(policy, st.obs, THINK_LAYER))
        probs = predict(fit_probe("3x3", data.subset(~test), seed=seed), data.subset(test))
        sc = score(probs, data.subset(test).labels, data.subset(test).mask, st.horizons)
        for _, r in sc.iterrows():
            rows.append(
                {"ticks": ticks, "quantity": f"auroc-{int(r['horizon'])}", "value": r["auroc"]}
            )
    policy.ticks = THINK_TRAIN_TICKS
    _write(pd.DataFrame(rows).assign(seed=seed, trained_ticks=THINK_TRAIN_TICKS),
           out / f"seed{seed}.csv")  # fmt: skip


def summarize(root: Path, seeds: list[int], table: str, keys: list[str]) -> pd.DataFrame:
    """Mean over seeds of F1 and AUROC per ``keys`` group, with a 95% t interval."""
    frames = [pd.read_csv(root / f"seed{s}" / f"{table}.csv").assign(seed=s) for s in seeds]
    data = pd.concat(frames, ignore_index=True)
    out = []
    for key, g in data.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True)) | {"seeds": g["seed"].nunique()}
        for metric in ("f1", "auroc"):
            x = g[metric].dropna().to_numpy()
            mean, low, high = t_interval(x)[:3] if len(x) else (np.nan,) * 3
            row |= {metric: mean, f"{metric}_low": low, f"{metric}_high": high}
        out.append(row)
    return pd.DataFrame(out)


def seed_summary(
    root: Path,
    seeds: list[int],
    table: str,
    keys: list[str],
    values: list[str],
    shares: tuple[str, ...] = (),
    data: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Mean over seeds of each of ``values`` per ``keys`` group, with a 95% t interval.

    The intervals of ``shares`` (proportions) are clipped to [0, 1]. ``data`` replaces the
    seed tables (with a ``seed`` column).
    """
    if data is None:
        frames = [pd.read_csv(root / f"seed{s}" / f"{table}.csv").assign(seed=s) for s in seeds]
        data = pd.concat(frames, ignore_index=True)
    out = []
    for key, g in data.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True)) | {"seeds": g["seed"].nunique()}
        for v in values:
            x = g[v].replace([np.inf, -np.inf], np.nan).dropna().to_numpy()
            mean, low, high = t_interval(x)[:3] if len(x) else (np.nan,) * 3
            if v in shares:
                low, high = max(low, 0.0), min(high, 1.0)
            row |= {v: mean, f"{v}_low": low, f"{v}_high": high}
            row |= {f"{v}_min": x.min() if len(x) else np.nan}
            row |= {f"{v}_max": x.max() if len(x) else np.nan}
        out.append(row)
    return pd.DataFrame(out)


WORDS = {"auroc-1": "AurocOne", "auroc-4": "AurocFour", "auroc-16": "AurocSixteen",
         "patching": "Patching", "steering": "Steering"}  # fmt: skip


def steering_difference(root: Path, seeds: list[int]) -> pd.DataFrame:
    """Per network, layer and coefficient: switched share of the probe minus the random
    direction's, per seed, then its mean over seeds with a 95% t interval."""
    frames = [pd.read_csv(root / f"seed{s}" / "steering.csv").assign(seed=s) for s in seeds]
    wide = pd.concat(frames).pivot_table(
        index=["seed", "network", "layer", "coeff"], columns="vector", values="switched"
    )
    diff = (wide["probe"] - wide["random"]).rename("difference").reset_index()
    keys = ["network", "layer", "coeff"]
    return seed_summary(root, seeds, "", keys, ["difference"], data=diff)


TRACKED = {
    "auroc-1": "lookahead/auroc-1",
    "auroc-4": "lookahead/auroc-4",
    "auroc-16": "lookahead/auroc-16",
    "patching": "lookahead-patching",
    "steering": "plan-steering",
}


def training_forms(tracks: pd.DataFrame) -> pd.DataFrame:
    """Functional forms of each tracked curve, seeds pooled (AICc ranks)."""
    res = compare_curves(tracks, list(TRACKED.values()), min_checkpoints=6)
    if res.empty:
        return res
    label = {name: label for label, name in TRACKED.items()}
    res = res.assign(curve=res["measure"].map(label))
    return res[["curve", "form", "status", "k", "aicc", "delta_aicc", "weight"]]


NET_STYLE = {"trained": ("C0", "o"), "initial": ("C1", "s"), "random": ("C2", "^")}


def figure_patching(summary: pd.DataFrame, path_stem: Path) -> None:
    """On/off-path ratio of patching at each layer and distance, per network, with the nulls."""
    dists = sorted(summary["distance"].unique())
    fig, axes = plt.subplots(1, len(dists), figsize=(8, 2.8), sharey=True)
    layers = [x for x in CAUSAL_LAYERS if x in set(summary["layer"])]
    xs = np.arange(len(layers))
    for ax, d in zip(np.atleast_1d(axes), dists, strict=True):
        for k, (net, (color, marker)) in enumerate(NET_STYLE.items()):
            for patch, fill in (("cell", color), ("random", "none")):
                g = summary[(summary["network"] == net) & (summary["patch"] == patch)]
                g = g[g["distance"] == d].set_index("layer").reindex(layers)
                y = g["ratio"].to_numpy()
                err = np.abs(np.vstack([y - g["ratio_low"], g["ratio_high"] - y]))
                ax.errorbar(xs + 0.12 * (k - 1) + (0.04 if patch == "random" else 0), y,
                            yerr=np.nan_to_num(err), fmt=marker, color=color, mfc=fill,
                            ms=4, lw=0.8, label=f"{net}, {patch}" if d == dists[0] else None)  # fmt: skip
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        ax.set_xticks(xs, [x.split(".")[1] for x in layers], rotation=45, fontsize=7)
        ax.set_title(f"wall {d} steps ahead", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(0.5, None)  # t intervals of three seeds can reach below zero
    np.atleast_1d(axes)[0].set_ylabel("on-path / off-path effect")
    fig.legend(loc="upper center", ncol=6, fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.88))
    save_figure(fig, path_stem)


def figure_steering(summary: pd.DataFrame, path_stem: Path) -> None:
    """Share of decision squares switched to the other branch, against the coefficient."""
    layers = [x for x in CAUSAL_LAYERS if x in set(summary["layer"])]
    fig, axes = plt.subplots(1, len(layers), figsize=(8, 2.6), sharey=True)
    for ax, layer in zip(np.atleast_1d(axes), layers, strict=True):
        for net, (color, marker) in NET_STYLE.items():
            for vec, ls in (("probe", "-"), ("random", "--"), ("chosen", ":")):
                g = summary[(summary["network"] == net) & (summary["layer"] == layer)]
                g = g[g["vector"] == vec].sort_values("coeff")
                if g.empty:
                    continue
                ax.plot(g["coeff"], g["switched"], ls=ls, marker=marker, color=color, ms=3,
                        lw=0.9, label=f"{net}, {vec}" if layer == layers[0] else None)  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_title(layer.split(".")[1], fontsize=8)
        ax.set_xlabel("coefficient", fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("levels switched")
    fig.legend(loc="upper center", ncol=5, fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.84))
    save_figure(fig, path_stem)


def figure_tracks(tracks: pd.DataFrame, path_stem: Path) -> None:
    """The look-ahead measures and the success rate over training, one line per seed."""
    panels = [
        ("probe AUROC", ["lookahead/auroc-1", "lookahead/auroc-4", "lookahead/auroc-16"]),
        ("patching ratio (N = 4)", ["lookahead-patching"]),
        ("steering", ["plan-steering", "plan-steering/random"]),
        ("training success", ["success"]),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(9, 2.4), sharex=True)
    for ax, (title, names) in zip(axes, panels, strict=True):
        for j, name in enumerate(names):
            for seed, g in tracks[tracks["measure"] == name].groupby("seed"):
                g = g.sort_values("step")
                ax.plot(g["step"], g["value"], color=f"C{j}", lw=0.9, alpha=0.8,
                        ls="--" if name.endswith("random") else "-",
                        label=name.split("/")[-1] if seed == tracks["seed"].min() else None)  # fmt: skip
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("environment steps", fontsize=7)
        ax.tick_params(labelsize=6)
        if len(names) > 1:
            ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    save_figure(fig, path_stem)


def figure_thinking(thinking: pd.DataFrame, path_stem: Path) -> None:
    """The ConvLSTM agent's success and probe AUROC against its ticks at test time."""
    fig, axes = plt.subplots(1, 2, figsize=(6.5, 2.5))
    for ax, prefix in zip(axes, ("success", "auroc"), strict=True):
        names = [q for q in thinking["quantity"].unique() if q.startswith(prefix)]
        for j, q in enumerate(names):
            for seed, g in thinking[thinking["quantity"] == q].groupby("seed"):
                g = g.sort_values("ticks")
                ax.plot(g["ticks"], g["value"], marker="o", ms=3, color=f"C{j}",
                        label=q if seed == thinking["seed"].min() else None)  # fmt: skip
        ax.axvline(THINK_TRAIN_TICKS, color="grey", lw=0.6, ls=":")
        ax.set_xlabel("ticks at test time", fontsize=7)
        ax.set_title("success" if prefix == "success" else "probe AUROC", fontsize=8)
        ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    save_figure(fig, path_stem)


def _pick(frame: pd.DataFrame, **where) -> pd.Series:
    g = frame
    for k, v in where.items():
        g = g[g[k] == v]
    if len(g) != 1:
        raise ValueError(f"expected one row for {where}, got {len(g)}.")
    return g.iloc[0]


def _triple(row: pd.Series, col: str, name: str) -> dict[str, float]:
    return {name: float(row[col]), f"{name}Low": float(row[f"{col}_low"]),
            f"{name}High": float(row[f"{col}_high"])}  # fmt: skip


def make_macros(root: Path, seeds: list[int], cpu: dict[str, float], path: Path) -> None:
    """Every number of the section's prose."""
    probes = pd.read_csv(root / "summary.csv")
    ovc = pd.read_csv(root / "own_vs_cheese_summary.csv")
    patching = pd.read_csv(root / "patching_summary.csv")
    steer = pd.read_csv(root / "steering_summary.csv")
    m: dict[str, object] = {
        "laSeeds": len(seeds),
        "laSeedsPhrase": count_phrase(len(seeds), "seed"),
    }
    for net, tag in (("trained", "Trained"), ("initial", "Initial"), ("random", "Random")):
        for n in (1, 4, 16):
            r = _pick(probes, network=net, layer=MAIN_LAYER, kind="3x3", horizon=n)
            m |= _triple(
                r, "auroc", f"laAuroc{tag}{['One', 'Four', 'Sixteen'][[1, 4, 16].index(n)]}"
            )
    for n in (1, 4, 16):
        word = ["One", "Four", "Sixteen"][[1, 4, 16].index(n)]
        r = _pick(probes, network="trained", layer="observation", kind="3x3", horizon=n)
        m |= _triple(r, "auroc", f"laAurocObs{word}")
    for labels in ("own", "cheese"):
        for n in (4, 16):
            word = "Four" if n == 4 else "Sixteen"
            r = _pick(ovc, layer=MAIN_LAYER, kind="3x3", fit="own", labels=labels, horizon=n)
            m |= _triple(r, "auroc", f"laOvc{labels.capitalize()}{word}")
    for net, tag in (("trained", "Trained"), ("initial", "Initial"), ("random", "Random")):
        for d, word in ((1, "One"), (4, "Four"), (8, "Eight")):
            for patch in ("cell", "random", "other", "total"):
                r = _pick(patching, network=net, layer=MAIN_LAYER, distance=d, patch=patch)
                key = f"laPatch{tag}{patch.capitalize()}{word}"
                m |= _triple(r, "ratio", f"{key}Ratio")
                m |= {f"{key}On": float(r["on_path"]), f"{key}Off": float(r["off_path"])}
                m |= {f"{key}Pairs": int(r["pairs_min"])}
                m |= {f"{key}Min": float(r["ratio_min"]), f"{key}Max": float(r["ratio_max"])}
    per_seed_patch = [pd.read_csv(root / f"seed{s}" / "patching.csv") for s in seeds]
    for d, word in ((4, "Four"), (8, "Eight")):
        for where, tag in (("on_path", "On"), ("off_path", "Off")):
            share = [
                _pick(t, network="trained", layer=MAIN_LAYER, distance=d, patch="cell")[where]
                / _pick(t, network="trained", layer=MAIN_LAYER, distance=d, patch="total")[where]
                for t in per_seed_patch
            ]
            mean, low, high, _ = t_interval(share)
            m |= {f"laCarried{tag}{word}": mean, f"laCarried{tag}{word}Low": low}
            m[f"laCarried{tag}{word}High"] = high
    for net, tag in (("trained", "Trained"), ("initial", "Initial"), ("random", "Random")):
        for vec in ("probe", "random", "chosen"):
            for c, word in ((1.0, "One"), (4.0, "Four"), (8.0, "Eight")):
                sel = steer[(steer["network"] == net) & (steer["layer"] == MAIN_LAYER)]
                sel = sel[(sel["vector"] == vec) & (sel["coeff"] == c)]
                if len(sel) != 1:
                    continue
                m |= _triple(sel.iloc[0], "switched", f"laSteer{tag}{vec.capitalize()}{word}")
    diff = pd.read_csv(root / "steering_difference.csv")
    per_seed = [pd.read_csv(root / f"seed{s}" / "steering.csv") for s in seeds]
    for layer, word in ((MAIN_LAYER, ""), ("trunk.conv2.hook_out", "ConvTwo")):
        above = sum(
            _pick(t, network="trained", layer=layer, vector="probe", coeff=4.0)["switched"]
            > _pick(t, network="trained", layer=layer, vector="random", coeff=4.0)["switched"]
            for t in per_seed
        )
        m[f"laSteerAbove{word}"] = int(above)
    for net, tag in (("trained", "Trained"), ("initial", "Initial"), ("random", "Random")):
        for layer, word in ((MAIN_LAYER, ""), ("trunk.conv2.hook_out", "ConvTwo")):
            r = _pick(diff, network=net, layer=layer, coeff=4.0)
            m |= _triple(r, "difference", f"laSteerDiff{tag}{word}Four")
    r = _pick(steer, network="trained", layer="trunk.conv2.hook_out", vector="probe", coeff=4.0)
    m |= _triple(r, "switched", "laSteerConvTwoProbeFour")
    r = _pick(steer, network="trained", layer="trunk.conv2.hook_out", vector="random", coeff=4.0)
    m |= _triple(r, "switched", "laSteerConvTwoRandomFour")
    m["laSteerLevels"] = int(_pick(steer, network="trained", layer=MAIN_LAYER, vector="probe",
                                   coeff=4.0)["levels_min"])  # fmt: skip
    lags_path, forms_path = root / "lags.csv", root / "forms.csv"
    if lags_path.is_file():
        lags = pd.read_csv(lags_path)
        for label in TRACKED:
            word = WORDS[label]
            x = lags[f"{label}_lag"].dropna().to_numpy()
            if len(x):
                mean, low, high, _ = t_interval(x)
                m |= {f"laLag{word}": mean, f"laLag{word}Low": low, f"laLag{word}High": high}
        m["laSuccessAt"] = float(np.median(lags["success_at"]))
        m["laTrackCheckpoints"] = int(pd.read_csv(root / "tracks.csv")["step"].nunique())
    if forms_path.is_file():
        forms = pd.read_csv(forms_path)
        for label in TRACKED:
            word = WORDS[label]
            f = forms[(forms["curve"] == label) & (forms["status"] == "ok")]
            if len(f):
                m[f"laForm{word}"] = str(f.iloc[0]["form"]).replace("_", " ")
    if (root / "thinking.csv").is_file():
        th = pd.read_csv(root / "thinking.csv").groupby(["quantity", "ticks"])["value"].mean()
        th_seeds = pd.read_csv(root / "thinking.csv")["seed"].nunique()
        m["laThinkSeedsPhrase"] = count_phrase(
            pd.read_csv(root / "thinking.csv")["seed"].nunique(), "seed"
        )
        m["laThinkTrainTicks"] = THINK_TRAIN_TICKS
        m["laThinkSteps"] = number_latex(THINK_STEPS["quick" if "quick" in root.name else "full"])
        n = SIZES["quick" if "quick" in root.name else "full"]  # episodes per evaluation
        for t, word in ((1, "One"), (THINK_TRAIN_TICKS, "Train"), (max(THINK_TICKS), "Max")):
            for q, tag in (("in-distribution", "In"), ("cheese anywhere", "Any")):
                share = float(th[(f"success, {q}", t)])
                _, low, high = wilson(round(share * n * th_seeds), n * th_seeds)
                m |= {f"laThinkSuccess{tag}{word}": share}
                m |= {f"laThinkSuccess{tag}{word}Low": low, f"laThinkSuccess{tag}{word}High": high}
            m[f"laThinkAurocFour{word}"] = float(th[("auroc-4", t)])
            m[f"laThinkAurocSixteen{word}"] = float(th[("auroc-16", t)])
        m["laThinkMaxTicks"] = max(THINK_TICKS)
    m |= {f"laCpu{k.capitalize()}": round(v / 60, 1) for k, v in cpu.items()}
    write_macros(path, m)


def _agents(args, mode: str) -> Path:
    """The agents' folder: the full ones when their checkpoints exist, else quick ones."""
    full = args.agents
    if mode == "full" or (full / f"run_seed{args.seeds[0]}" / "checkpoints").is_dir():
        return full
    return full / "quick"


def _steps_done(out: Path) -> dict[str, bool]:
    return {
        "probes": (out / "own_vs_cheese.csv").is_file(),
        "causal": (out / "steering.csv").is_file(),
        "tracks": (out / "tracks.csv").is_file(),
    }


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--agents",
        type=Path,
        default=Path("paper/data/maze_baseline"),
        help="maze_baseline's data folder: run_seed<k>/ with checkpoints",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    mode = "quick" if args.quick else "full"
    root = args.out / mode
    cpu_path = root / "cpu_seconds.csv"
    cpu = (
        pd.read_csv(cpu_path)
        if cpu_path.is_file()
        else pd.DataFrame(columns=["seed", "part", "seconds"])
    )
    agents = _agents(args, mode)
    if agents != args.agents:  # maze_baseline's quick agents: as many seeds as it trained
        print(f"no checkpoints under {args.agents}: using the quick agents in {agents}")
        # seeds whose tables are committed stay (a fresh clone redraws them as they are)
        args.seeds = [
            s
            for s in args.seeds
            if (agents / f"run_seed{s}").is_dir() or all(_steps_done(root / f"seed{s}").values())
        ] or args.seeds
    for s in [] if args.figures_only else args.seeds:
        out = root / f"seed{s}"
        done = _steps_done(out)
        if all(done.values()):
            print(f"seed {s}: done already")
            continue
        run_dir = agents / f"run_seed{s}"
        try:
            run = Run.load(run_dir)
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f"error: cannot open the agent {run_dir}: {err}") from None
        if len(run.steps) < 2:
            raise SystemExit(f"error: {run_dir} needs an initial and a final checkpoint.")
        print(f"seed {s}: final checkpoint, step {run.steps[-1]}")
        parts = {
            "probes": (run_seed, (run, s, SIZES[mode], out)),
            "causal": (run_causal, (run, s, mode, out)),
            "tracks": (run_tracks, (run, s, mode, out)),
        }
        for part, (fn, fn_args) in parts.items():
            if done[part]:
                continue
            t0 = time.process_time()
            fn(*fn_args)
            row = pd.DataFrame([{"seed": s, "part": part, "seconds": time.process_time() - t0}])
            cpu = pd.concat([cpu[~((cpu["seed"] == s) & (cpu["part"] == part))], row])
            _write(cpu, cpu_path)
    for s in [] if args.figures_only else THINK_SEEDS[mode]:
        out = root / "thinking"
        if (out / f"seed{s}.csv").is_file():
            continue
        t0 = time.process_time()
        run_thinking(s, mode, out)
        row = pd.DataFrame([{"seed": s, "part": "thinking", "seconds": time.process_time() - t0}])
        cpu = pd.concat([cpu[~((cpu["seed"] == s) & (cpu["part"] == "thinking"))], row])
        _write(cpu, cpu_path)
    seeds = [s for s in args.seeds if all(_steps_done(root / f"seed{s}").values())]
    if not seeds:
        if args.figures_only and mode == "full":  # the full paper builds without this section
            print(f"no full data under {root}: nothing to draw (run without --figures-only)")
            return
        raise SystemExit(f"error: no seed tables under {root}; run without --figures-only.")
    keys = ["network", "layer", "kind", "horizon"]
    _write(summarize(root, seeds, "scores", keys), root / "summary.csv")
    keys = ["layer", "kind", "fit", "labels", "horizon"]
    _write(summarize(root, seeds, "own_vs_cheese", keys), root / "own_vs_cheese_summary.csv")
    keys = ["network", "layer", "distance", "patch"]
    patch = seed_summary(root, seeds, "patching", keys, ["ratio", "on_path", "off_path", "pairs"])
    _write(patch, root / "patching_summary.csv")
    keys = ["network", "layer", "vector", "coeff"]
    steer = seed_summary(root, seeds, "steering", keys, ["switched", "levels"], ("switched",))
    _write(steer, root / "steering_summary.csv")
    _write(steering_difference(root, seeds), root / "steering_difference.csv")
    tracks = pd.concat([pd.read_csv(root / f"seed{s}" / "tracks.csv") for s in seeds])
    _write(tracks, root / "tracks.csv")
    lags = change_lags(tracks[tracks["step"] > 0], "success", TRACKED)
    _write(lags, root / "lags.csv")
    _write(training_forms(tracks), root / "forms.csv")
    figure_patching(pd.read_csv(root / "patching_summary.csv"), args.figures / f"{NAME}_patching")
    figure_steering(pd.read_csv(root / "steering_summary.csv"), args.figures / f"{NAME}_steering")
    figure_tracks(tracks, args.figures / f"{NAME}_tracks")
    think = sorted((root / "thinking").glob("seed*.csv"))
    if think:
        thinking = pd.concat([pd.read_csv(p) for p in think], ignore_index=True)
        _write(thinking, root / "thinking.csv")
        figure_thinking(thinking, args.figures / f"{NAME}_thinking")
    cpu = pd.read_csv(cpu_path)
    cpu = cpu[cpu["seed"].isin(seeds)].groupby("part")["seconds"].sum().to_dict()
    cpu["total"] = sum(cpu.values())
    make_macros(root, seeds, cpu, args.tables / f"{NAME}_macros.tex")
    print(f"wrote {root}")


if __name__ == "__main__":
    main()
