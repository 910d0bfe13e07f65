"""``devrl paper``: rerun the experiments and rebuild figures, tables and main.tex.

Examples::

    devrl paper --quick
    devrl paper --figures-only
    devrl paper --quick --only maze_baseline,tms_sgd
"""

from __future__ import annotations

import argparse

from devrl.cli import UsageError


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
    parser.add_argument(
        "--retime",
        action="store_true",
        help="keep the times a recomputation measured even when its data are otherwise "
        "unchanged (by default the committed times, and the macros quoting them, stay)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="sections run side by side in this many processes (default: all cores)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``devrl paper``."""
    from devrl.paper.build import SECTIONS, build_paper

    only = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else None
    if only is not None:
        known = [section.name for section in SECTIONS]
        unknown = [name for name in only if name not in known]
        if unknown or not only:
            raise UsageError(
                f"--only: unknown section(s) {unknown or args.only!r}; choose from {', '.join(known)}"
            )
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be a positive integer, got {args.workers}")
    build_paper(
        quick=args.quick,
        figures_only=args.figures_only,
        only=only,
        seed=args.seed,
        force=args.force,
        workers=args.workers,
        retime=args.retime,
    )
    return 0
