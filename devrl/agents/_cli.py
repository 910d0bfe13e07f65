"""``devrl train``: PPO on the maze into a run directory; every PPOConfig field is a flag."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devrl._config import add_dataclass_arguments, args_to_dict


def _parse_init_from(text: str) -> tuple[str, int | None]:
    """``RUN`` or ``RUN:STEP`` -> ``(RUN, STEP or None)``."""
    head, sep, tail = text.rpartition(":")
    if sep and tail.isdigit():
        return head, int(tail)
    return text, None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    from devrl.agents.ppo import PRESETS, PPOConfig

    parser = subparsers.add_parser(
        "train",
        help="train a maze agent with PPO (dense checkpoints, resumable)",
        description="Train an actor-critic with PPO on the maze and write a run directory "
        "(config.json, checkpoints/, metrics.csv). Flags not given take the preset's value, "
        "then PPOConfig's default; with --resume they default to the run's recorded config.",
    )
    parser.add_argument("--run-dir", required=True, type=Path, help="run directory to write")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="start from a tuned config")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run already in --run-dir (same config required)",
    )
    parser.add_argument(
        "--init-from",
        metavar="RUN[:STEP]",
        type=_parse_init_from,
        help="fine-tune from another run's checkpoint (default step: its latest)",
    )
    add_dataclass_arguments(parser.add_argument_group("PPO config"), PPOConfig)
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from devrl.agents.ppo import PRESETS, PPOConfig, train
    from devrl.runs import Run

    base: dict = dict(PRESETS[args.preset]) if args.preset else {}
    init_from = args.init_from
    if args.resume and (args.run_dir / "config.json").is_file():
        recorded = Run.load(args.run_dir).config
        base = {k: v for k, v in recorded.items() if k not in ("model", "init_from")}
        parent = recorded.get("init_from")
        if init_from is None and parent is not None:
            init_from = (parent["run"], parent["step"])
    try:
        config = PPOConfig.from_dict({**base, **args_to_dict(PPOConfig, args)})
        run = train(config, args.run_dir, resume=args.resume, init_from=init_from)
    except ValueError as exc:
        print(f"devrl train: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {run.path} ({len(run.steps)} checkpoints, final step {run.steps[-1]})")
    return 0
