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
training), at a subset of checkpoints in quick mode, with the success rate of evaluation
episodes (``success``). ``tracks.csv`` (tidy), ``lags.csv`` (steepest changes against success,
:func:`devrl.forms.change_lags`), ``forms.csv`` (:func:`devrl.forms.compare`, seeds
pooled).

**More thinking** (item 6, :mod:`devrl.agents.thinking`): a ConvLSTM agent trained with
3 ticks per step (quick: one seed, 1.5M steps; full: three seeds, 2M steps), then evaluated with 1-8 ticks: success
in distribution and with the cheese anywhere, and held-out 3x3 probe AUROC on its final
hidden state. ``thinking/run_seed<k>`` (the run), ``thinking/seed<k>.csv``,
``thinking.csv``.

Each step of each seed is written once (resumable; the tracks are cached in the runs);
summaries, figures and macros are rebuilt from the tables. Quick mode reads the full
agents when their checkpoints exist, else maze_baseline's quick agents.

    nice python experiments/lookahead.py --quick   # 7.5 CPU-min, plus ~15 to train the ConvLSTM
    nice python experiments/lookahead.py           # full: 58.1 CPU-min + 3 x ~20 (ConvLSTM)
    python experiments/lookahead.py --quick --figures-only   # rebuild from the tables
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write_text
from devrl.agents import PPOConfig, train
from devrl.agents.presets import PRESETS
from devrl.agents.registry import build_model
from devrl.envs import MazeVecEnv
from devrl.forms import change_lags
from devrl.measures import get_measure, uniform_llc
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
from devrl.paper import experiment_parser, llc_calibration
from devrl.rollouts import collect, evaluate
from devrl.runs import Run
from devrl.track import track

try:  # run as a script (devrl paper) or imported from the repository root
    import lookahead_report as report
except ImportError:  # pragma: no cover
    from experiments import lookahead_report as report

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
    """Write one agent's ``tracks.csv``: the measures, the success rate and the LLC at its
    checkpoints (the LLC section's estimator: action likelihood on uniform states at its
    calibrated SGLD setting).

    Success is the ``success`` measure (evaluation episodes of each checkpoint, in
    distribution), not the training log's rate: in the first updates only short episodes
    finish, and those are the successful ones, so the logged rate starts near one.
    """
    steps = run.steps
    n = TRACK_CHECKPOINTS[mode]
    if n is not None:
        steps = [steps[i] for i in np.unique(np.linspace(0, len(steps) - 1, n).round().astype(int))]
    calib = llc_calibration(mode == "quick")
    measures = [*track_measures(mode), get_measure("success"), uniform_llc(calib)]
    frame = track(run, measures, steps=steps, progress=True)
    _write(frame[["step", "measure", "value", "stderr"]].assign(seed=seed), out / "tracks.csv")


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


def _agents(args, mode: str) -> Path:
    """The agents' folder: the full ones when their checkpoints exist, else quick ones."""
    full = args.agents
    if mode == "full" or (full / f"run_seed{args.seeds[0]}" / "checkpoints").is_dir():
        return full
    return full / "quick"


def _record(cpu: pd.DataFrame, seed: int, part: str, seconds: float) -> pd.DataFrame:
    """``cpu`` with the part's CPU seconds; a rerun keeps the largest recorded time, since it
    reads the cached measurements of the first run and only measures what is new."""
    old = cpu[(cpu["seed"] == seed) & (cpu["part"] == part)]["seconds"]
    seconds = max([seconds, *old.astype(float)])
    row = pd.DataFrame([{"seed": seed, "part": part, "seconds": seconds}])
    return pd.concat([cpu[~((cpu["seed"] == seed) & (cpu["part"] == part))], row])


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
            cpu = _record(cpu, s, part, time.process_time() - t0)
            _write(cpu, cpu_path)
    for s in [] if args.figures_only else THINK_SEEDS[mode]:
        out = root / "thinking"
        if (out / f"seed{s}.csv").is_file():
            continue
        t0 = time.process_time()
        run_thinking(s, mode, out)
        cpu = _record(cpu, s, "thinking", time.process_time() - t0)
        _write(cpu, cpu_path)
    seeds = [s for s in args.seeds if all(_steps_done(root / f"seed{s}").values())]
    if not seeds:
        if args.figures_only and mode == "full":  # the full paper builds without this section
            print(f"no full data under {root}: nothing to draw (run without --figures-only)")
            return
        raise SystemExit(f"error: no seed tables under {root}; run without --figures-only.")
    keys = ["network", "layer", "kind", "horizon"]
    _write(report.summarize(root, seeds, "scores", keys), root / "summary.csv")
    keys = ["layer", "kind", "fit", "labels", "horizon"]
    _write(report.summarize(root, seeds, "own_vs_cheese", keys), root / "own_vs_cheese_summary.csv")
    keys = ["network", "layer", "distance", "patch"]
    patch = report.seed_summary(
        root, seeds, "patching", keys, ["ratio", "on_path", "off_path", "pairs"]
    )
    _write(patch, root / "patching_summary.csv")
    keys = ["network", "layer", "vector", "coeff"]
    steer = report.seed_summary(
        root, seeds, "steering", keys, ["switched", "levels"], ("switched",)
    )
    _write(steer, root / "steering_summary.csv")
    _write(report.steering_difference(root, seeds), root / "steering_difference.csv")
    tracks = pd.concat([pd.read_csv(root / f"seed{s}" / "tracks.csv") for s in seeds])
    _write(tracks, root / "tracks.csv")
    lags = change_lags(tracks[tracks["step"] > 0], "success", report.TRACKED)
    _write(lags, root / "lags.csv")
    _write(report.training_forms(tracks), root / "forms.csv")
    patching = pd.read_csv(root / "patching_summary.csv")
    report.figure_patching(patching, args.figures / f"{NAME}_patching", CAUSAL_LAYERS)
    steering = pd.read_csv(root / "steering_summary.csv")
    report.figure_steering(steering, args.figures / f"{NAME}_steering", CAUSAL_LAYERS)
    report.figure_tracks(tracks, args.figures / f"{NAME}_tracks")
    think = sorted((root / "thinking").glob("seed*.csv"))
    if think:
        thinking = pd.concat([pd.read_csv(p) for p in think], ignore_index=True)
        _write(thinking, root / "thinking.csv")
        report.figure_thinking(thinking, args.figures / f"{NAME}_thinking", THINK_TRAIN_TICKS)
    cpu = pd.read_csv(cpu_path)
    cpu = cpu[cpu["seed"].isin(seeds)].groupby("part")["seconds"].sum().to_dict()
    cpu["total"] = sum(cpu.values())
    design = {
        "main_layer": MAIN_LAYER,
        "think_train_ticks": THINK_TRAIN_TICKS,
        "think_ticks": THINK_TICKS,
        "think_steps": THINK_STEPS[mode],
        "episodes": SIZES[mode],
    }
    report.make_macros(root, seeds, cpu, args.tables / f"{NAME}_macros.tex", design)
    print(f"wrote {root}")


if __name__ == "__main__":
    main()
