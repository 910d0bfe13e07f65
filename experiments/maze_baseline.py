"""Maze baseline: PPO on cheese-in-the-corner, then the cheese moved anywhere.

Trains one agent per seed on the 9x9 maze with the cheese in the top-right cell
(``corner=1``), evaluates it in distribution and with the cheese anywhere
(``corner=None``), and asks which goal it pursues (``devrl.mechanisms``): its choice at
each level's decision square, whether it reaches the corner before the cheese, and its
success against the exact success of a pure corner-seeker and a pure cheese-seeker
(solver-computed for every maze size and corner region). The goal-misgeneralization
baseline later experiments build on.

    python experiments/maze_baseline.py --quick          # 1 seed, minutes
    python experiments/maze_baseline.py                  # 3 seeds (~8 min on 2 busy cores
                                                         # with the checkpoints present)
    python experiments/maze_baseline.py --figures-only   # redraw from saved data
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from devrl import progress
from devrl._io import atomic_write_text
from devrl.agents import PPOConfig, train
from devrl.envs import sample_level
from devrl.maps import policy_map
from devrl.measures import get_measure
from devrl.mechanisms import (
    decision_choices,
    pursuit_episodes,
    sample_decision_levels,
    seeker_baselines,
)
from devrl.paper import experiment_parser
from devrl.rollouts import evaluate
from devrl.track import track

try:  # run as a script (devrl paper) or imported from the repository root
    from maze_baseline_report import NAME, make_figures
except ImportError:  # pragma: no cover
    from experiments.maze_baseline_report import NAME, make_figures

LEVEL_SEED = 2024
"""Seeds the decision-square levels: the same levels for every agent and checkpoint."""
BASELINE_SIZES = tuple(range(5, 26, 2))
BASELINE_CORNERS = (1, 3, 5, None)
"""Every maze size devrl makes, and the corner regions of the jaxgmg sweeps plus anywhere."""
CHOICE_COLUMNS = ["level", "ds_row", "ds_col", "ds_steps", "p_cheese", "p_corner", "branch"]
PURSUIT_COLUMNS = [
    "episode",
    "reached_cheese",
    "reached_corner",
    "corner_first",
    "decision_square",
    "corner_seeker_success",
]


def run_experiment(args) -> None:
    """Train (or resume) every seed, evaluate, and save tables under ``args.out``."""
    torch.set_num_threads(1)
    seeds = [args.seed] if args.quick else [args.seed + i for i in range(3)]
    episodes = 200 if args.quick else 1000
    n_levels, mazes, every = (200, 300, 2) if args.quick else (1000, 2000, 4)
    evals, maps, choices, pursuits, tracks = [], {}, [], [], []
    levels = None
    measures = [
        get_measure("decision-cheese", levels=n_levels // 2),
        get_measure("corner-first", episodes=128),
        get_measure("success-vs-corner", episodes=128),
    ]
    for seed in progress(seeds, "maze_baseline seeds", unit="seed"):
        overrides = {"total_timesteps": args.timesteps} if args.timesteps else {}
        config = PPOConfig.preset(
            "quick", seed=seed, checkpoints=32 if args.quick else 100, **overrides
        )
        run = train(config, args.out / f"run_seed{seed}", resume=True)
        policy = run.policy(run.steps[-1])
        for label, corner in (("in-distribution", 1), ("cheese anywhere", None)):
            frame = evaluate(
                policy,
                {"size": config.size, "corner": corner},
                episodes=episodes,
                seed=10_000 + seed,
                gamma=config.gamma,
            )
            evals.append(frame.assign(run_seed=seed, condition=label))
        pursuit = pursuit_episodes(
            policy, config.size, episodes, seed=10_000 + seed, gamma=config.gamma
        )
        if not (pursuit["length"].to_numpy() == frame["length"].to_numpy()).all():
            raise RuntimeError("pursuit episodes differ from the cheese-anywhere evaluation's")
        pursuits.append(pursuit[PURSUIT_COLUMNS].assign(run_seed=seed))
        if levels is None:
            levels, _ = sample_decision_levels(config.size, n_levels, seed=LEVEL_SEED)
        choice = decision_choices(policy, levels)[CHOICE_COLUMNS]
        choices.append(choice.assign(run_seed=seed))
        steps = sorted(set(run.steps[::every]) | {run.steps[-1]})
        curve = track(run, measures, steps=steps, progress=False)
        tracks.append(curve[["step", "measure", "value", "stderr"]].assign(run_seed=seed))
        if seed == seeds[0]:
            walls, _ = sample_level(config.size, None, np.random.default_rng(7))
            size = config.size
            bottom_right = (size - 1, size - 1)  # far from both the start and the corner
            for label, cheese in (("corner", (0, size - 1)), ("moved", bottom_right)):
                pm = policy_map(policy, walls, cheese, gamma=config.gamma)
                maps[label] = {
                    "walls": walls,
                    "cheese": np.array(cheese),
                    "probs": pm.probs,
                    "regret": pm.regret,
                }
    args.out.mkdir(parents=True, exist_ok=True)
    pd.concat(evals, ignore_index=True).to_csv(args.out / "evaluations.csv", index=False)
    np.savez_compressed(
        args.out / "policy_maps.npz",
        **{f"{k}_{f}": v for k, d in maps.items() for f, v in d.items()},
    )
    (args.out / "seeds.json").write_text(json.dumps(seeds))
    baselines = pd.concat(
        [seeker_baselines(s, BASELINE_CORNERS, mazes, seed=args.seed) for s in BASELINE_SIZES],
        ignore_index=True,
    )
    for name, frames in (
        ("pursuit", pursuits),
        ("decision_choices", choices),
        ("decision_tracks", tracks),
        ("seeker_baselines", [baselines]),
    ):
        text = pd.concat(frames, ignore_index=True).to_csv(index=False)
        atomic_write_text(args.out / f"{name}.csv", text)


def main() -> None:
    parser = experiment_parser(__doc__.splitlines()[0], NAME)
    parser.add_argument(
        "--timesteps",
        type=int,
        default=None,
        help="override the preset's training length (environment steps)",
    )
    args = parser.parse_args()
    if args.quick:  # quick runs (fewer checkpoints) live apart from the full runs
        args.out = args.out / "quick"
    if not args.figures_only:
        run_experiment(args)
    make_figures(args)


if __name__ == "__main__":
    main()
