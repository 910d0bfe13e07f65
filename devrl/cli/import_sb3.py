"""``devrl import-sb3 RUN_DIR ZIP...``: Stable-Baselines3 checkpoints become a devrl run.

Why: bring your own agent. A series of SB3 PPO checkpoints (MlpPolicy or CnnPolicy,
discrete actions) on a gymnasium environment becomes a run directory that
``devrl track`` measures like a maze run (return, length, entropy, llc-action,
llc-kl). Each zip's step is its ``num_timesteps`` (or the ``_<N>_steps`` of
CheckpointCallback's file name). Scripts call devrl.importers.import_sb3.

Examples::

    devrl import-sb3 runs/minigrid logs/rl_model_*_steps.zip \\
        --env MiniGrid-Empty-5x5-v0 --wrapper minigrid.wrappers:ImgObsWrapper
    devrl import-sb3 runs/cartpole a.zip b.zip --env CartPole-v1 --steps 0 10000
"""

from __future__ import annotations

import argparse

from devrl.cli._args import json_object, nonempty_path


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``devrl import-sb3``'s arguments."""
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", type=nonempty_path, help="run directory to write"
    )
    parser.add_argument("zips", metavar="ZIP", nargs="+", help="SB3 model zips of one run")
    parser.add_argument(
        "--env", required=True, help="gymnasium id the agent was trained on (pkg:Id imports pkg)"
    )
    parser.add_argument(
        "--env-kwargs",
        type=json_object,
        default=None,
        help="environment constructor arguments as JSON, e.g. '{\"max_steps\": 50}'",
    )
    parser.add_argument(
        "--wrapper",
        action="append",
        default=[],
        metavar="MODULE:CLASS",
        help="gymnasium wrapper the agent saw, innermost first (repeatable)",
    )
    parser.add_argument(
        "--steps", type=int, nargs="+", default=None, help="step of each zip (default: from it)"
    )
    parser.add_argument("--seed", type=int, default=None, help="run seed (default: SB3's)")


def run(args: argparse.Namespace) -> int:
    """Import the zips and print the run's checkpoints."""
    from devrl.importers import import_sb3

    imported = import_sb3(
        args.zips,
        args.run_dir,
        args.env,
        env_kwargs=args.env_kwargs,
        wrappers=args.wrapper,
        steps=args.steps,
        seed=args.seed,
    )
    steps = imported.steps
    print(
        f"imported {len(args.zips)} SB3 checkpoint(s) into {imported.path} "
        f"({len(steps)} checkpoints, steps {steps[0]}..{steps[-1]}); "
        f"measure it with: devrl track {imported.path} --measure return"
    )
    return 0
