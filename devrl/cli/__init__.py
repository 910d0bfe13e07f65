"""The ``devrl`` command: one subcommand per station of the pipeline.

Each subcommand is a module ``devrl.cli.<name>`` whose docstring is the command's
description and which defines ``configure(parser)`` (add the arguments) and
``run(args) -> int`` (do it, print, return the exit code). Modules parse and print
only; what a command computes lives in the library, where scripts call it too.

:data:`COMMANDS` lists the commands statically, so ``devrl --help`` imports no
command module and ``devrl CMD ...`` imports only ``CMD``'s: parsing arguments
should not cost the imports (torch, pandas, ...) of every other command. Adding a
command means adding its module and one row here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NamedTuple


class Command(NamedTuple):
    """One ``devrl`` subcommand: its name, the module that implements it, its help line."""

    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command(
        "train", "devrl.cli.train", "train a maze agent with PPO (dense checkpoints, resumable)"
    ),
    Command(
        "eval",
        "devrl.cli.eval",
        "success and corner rates of a checkpoint, in distribution and cheese anywhere",
    ),
    Command(
        "track",
        "devrl.cli.track",
        "evaluate measures (LLC, success, regret, ...) at every checkpoint of a run",
    ),
    Command(
        "fit", "devrl.cli.fit", "fit functional forms to a curve and print the comparison table"
    ),
    Command(
        "import-sb3",
        "devrl.cli.import_sb3",
        "import Stable-Baselines3 PPO checkpoints (.zip) as a devrl run",
    ),
    Command(
        "paper",
        "devrl.cli.paper",
        "rerun experiments and regenerate paper/ (figures, tables, main.tex)",
    ),
)


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first positional argument (the top level has
    no options taking values), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser; only ``command``'s module is imported to add its arguments.

    The other commands get an empty parser carrying their help line, enough for
    ``devrl --help`` and for argparse to name the valid choices.
    """
    parser = argparse.ArgumentParser(
        prog="devrl",
        description="Developmental interpretability of values in reinforcement learning.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS:
        if cmd.name != command:
            subparsers.add_parser(cmd.name, help=cmd.help)
            continue
        module = importlib.import_module(cmd.module)
        sub = subparsers.add_parser(
            cmd.name,
            help=cmd.help,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.configure(sub)
        sub.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``devrl`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_chosen(argv))
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)
