"""Look-ahead probes in the maze agent: is its own future path decodable, cell by cell?

Applies issue 13's items 2-3 (:mod:`devrl.mechanisms.lookahead`) to the final checkpoint
of each trained 9x9 agent of ``experiments/maze_baseline.py`` (read-only). Each agent
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

Each seed is written once (resumable); summaries are rebuilt from the seed tables.

    nice python experiments/lookahead.py --quick --agents /path/to/maze_baseline  # 3.1 CPU-min
    python experiments/lookahead.py --quick --figures-only   # rebuild the summaries
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from devrl._io import atomic_write_text
from devrl.agents.registry import build_model
from devrl.envs import MazeVecEnv
from devrl.mechanisms.lookahead import (
    KINDS,
    fit_probe,
    layer_activations,
    predict,
    rollout_states,
    score,
)
from devrl.paper import experiment_parser
from devrl.rollouts import collect
from devrl.runs import Run
from devrl.stats import t_interval

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
    for s in [] if args.figures_only else args.seeds:
        out = root / f"seed{s}"
        if (out / "own_vs_cheese.csv").is_file():
            print(f"seed {s}: done already")
            continue
        run_dir = args.agents / f"run_seed{s}"
        try:
            run = Run.load(run_dir)
        except (FileNotFoundError, ValueError) as err:
            raise SystemExit(f"error: cannot open the agent {run_dir}: {err}") from None
        if len(run.steps) < 2:
            raise SystemExit(f"error: {run_dir} needs an initial and a final checkpoint.")
        print(f"seed {s}: final checkpoint, step {run.steps[-1]}")
        run_seed(run, s, SIZES[mode], out)
    done = [s for s in args.seeds if (root / f"seed{s}" / "own_vs_cheese.csv").is_file()]
    if not done:
        raise SystemExit(f"error: no seed tables under {root}; run without --figures-only.")
    keys = ["network", "layer", "kind", "horizon"]
    _write(summarize(root, done, "scores", keys), root / "summary.csv")
    keys = ["layer", "kind", "fit", "labels", "horizon"]
    _write(summarize(root, done, "own_vs_cheese", keys), root / "own_vs_cheese_summary.csv")
    print(f"wrote {root}")


if __name__ == "__main__":
    main()
