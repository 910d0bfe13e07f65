"""``devrl train``: train an actor-critic with PPO on the maze into a run directory.

Writes config.json, checkpoints/ and metrics.csv. Every PPOConfig field is a flag.
Flags not given take the preset's value, then PPOConfig's default (the help shows
both); with --resume they default to the run's recorded config.

Examples::

    devrl train --preset quick --run-dir runs/maze9 --seed 0 --checkpoints 64
    devrl train --run-dir runs/maze9 --resume
    devrl train --preset quick --run-dir runs/rb --reward corner --init-from runs/maze9
"""

from __future__ import annotations

import argparse

from devrl.cli import UsageError
from devrl.cli._args import nonempty_path


def _parse_init_from(text: str) -> tuple[str, int | None]:
    """``RUN`` or ``RUN:STEP`` -> ``(RUN, STEP or None)``."""
    head, sep, tail = text.rpartition(":")
    if sep and tail.isdigit():
        return str(nonempty_path(head)), int(tail)
    return str(nonempty_path(text)), None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``devrl train``'s arguments (one flag per PPOConfig field).

    Imports only the config and the presets (no torch), so ``devrl train --help`` is fast.
    """
    from devrl._config import add_dataclass_arguments
    from devrl.agents.config import PPOConfig
    from devrl.agents.presets import PRESETS

    parser.add_argument("--run-dir", required=True, type=nonempty_path, help="run directory")
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
    group = parser.add_argument_group(
        "PPO config", "flags not given take the --preset's value, else the default"
    )
    add_dataclass_arguments(group, PPOConfig)
    _show_presets(group, PRESETS)


def _show_presets(group: argparse._ArgumentGroup, presets: dict[str, dict]) -> None:
    """Append each preset's value to the help of the flags it sets: ``(default: 1000000;
    --preset quick: 2000000)``, so ``--help`` shows what a preset run really uses."""
    for action in group._group_actions:
        values = [
            f"--preset {name}: {preset[action.dest]!r}"
            for name, preset in sorted(presets.items())
            if action.dest in preset
        ]
        if values and action.help and action.help.endswith(")"):
            action.help = f"{action.help[:-1]}; {'; '.join(values)})"


def run(args: argparse.Namespace) -> int:
    """Run ``devrl train``."""
    from devrl._config import args_to_dict
    from devrl.agents.config import PPOConfig
    from devrl.agents.ppo import train
    from devrl.agents.presets import PRESETS
    from devrl.runs import Run

    base: dict = dict(PRESETS[args.preset]) if args.preset else {}
    init_from = args.init_from
    recorded_from = None
    if args.resume and (args.run_dir / "config.json").is_file():
        recorded_from = args.run_dir / "config.json"
        recorded = Run.load(args.run_dir).config
        base = {k: v for k, v in recorded.items() if k not in ("model", "init_from")}
        parent = recorded.get("init_from")
        if init_from is None and parent is not None:
            init_from = (parent["run"], parent["step"])
    try:
        config = PPOConfig.from_dict({**base, **args_to_dict(PPOConfig, args)})
    except (ValueError, TypeError) as exc:
        if recorded_from is not None:  # the run's recorded config, not the flags, is wrong
            raise ValueError(f"{recorded_from}: {exc}") from exc
        raise UsageError(str(exc)) from exc
    run = train(config, args.run_dir, resume=args.resume, init_from=init_from)
    print(f"wrote {run.path} ({len(run.steps)} checkpoints, final step {run.steps[-1]})")
    return 0
