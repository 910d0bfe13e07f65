"""``devrl paper``: rerun the experiments and rebuild figures, tables and main.tex.

Examples::

    devrl paper --quick
    devrl paper --figures-only
    devrl paper --quick --only maze_baseline,tms_sgd
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``devrl paper``'s arguments."""
    parser.add_argument("--quick", action="store_true", help="fewer seeds and steps")
    parser.add_argument(
        "--figures-only", action="store_true", help="redraw from saved data without recomputing"
    )
    parser.add_argument("--only", default=None, help="comma-separated section names")
    parser.add_argument("--seed", type=int, default=0, help="base seed for every experiment")
    parser.add_argument(
        "--force",
        action="store_true",
        help="rerun sections whose inputs (code, arguments, data read) are unchanged since "
        "their last run, instead of only redrawing them",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``devrl paper``."""
    from devrl.paper.build import build_paper

    try:
        build_paper(
            quick=args.quick,
            figures_only=args.figures_only,
            only=args.only.split(",") if args.only else None,
            seed=args.seed,
            force=args.force,
        )
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"devrl paper: {exc}")
        return 1
    return 0
