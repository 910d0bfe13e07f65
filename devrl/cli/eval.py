"""``devrl eval RUN``: how often a checkpoint finds the cheese, and how often the corner.

Why: the core goal-misgeneralization check. A policy trained with the cheese in the
top-right corner is scored in distribution (the run's own environment) and with the
cheese anywhere; a policy that learned "go to the corner" keeps its corner rate but
loses its success rate out of distribution. Scripts call devrl.evaluation.evaluate_run.

Examples::

    devrl eval runs/maze9
    devrl eval runs/maze9 --step 0 --corner none --greedy --out eval.csv
"""

from __future__ import annotations

import argparse

from devrl.cli._args import nonempty_path, positive_int


def _corner_arg(text: str) -> int | str | None:
    if text == "run":  # argparse passes the string default through ``type``
        return text
    if text.strip().lower() in ("none", "null", "anywhere"):
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an integer or 'none', got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"corner must be >= 1 or 'none', got {value}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``devrl eval``'s arguments."""
    parser.add_argument(
        "run", metavar="RUN", type=nonempty_path, help="run directory (written by `devrl train`)"
    )
    parser.add_argument("--step", type=int, default=None, help="checkpoint step (default: latest)")
    parser.add_argument("--episodes", type=positive_int, default=200, help="episodes per condition")
    parser.add_argument(
        "--corner",
        type=_corner_arg,
        default="run",
        help="cheese region for the in-distribution condition: side K of the top-right "
        "region, or 'none' for anywhere (default: the run's own)",
    )
    parser.add_argument("--size", type=int, default=None, help="maze size (default: the run's own)")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the evaluation mazes")
    parser.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    parser.add_argument("--out", default=None, help="also write the per-episode table to this CSV")


def _format(summary) -> str:
    """The :func:`devrl.evaluation.summarize` table as aligned text, one line per condition."""
    lines = [
        (
            f"{'condition':<22}{'episodes':>9}{'success':>16}{'corner':>16}"
            f"{'return':>9}{'regret':>9}{'length':>8}"
        )
    ]
    for cond, r in summary.iterrows():
        lines.append(
            f"{cond:<22}{int(r['episodes']):>9}"
            f"{r['success']:>9.3f} ±{r['success_se']:.3f}"
            f"{r['corner']:>9.3f} ±{r['corner_se']:.3f}"
            f"{r['return']:>9.3f}{r['regret']:>9.3f}{r['length']:>8.1f}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``devrl eval``."""
    from devrl.cli._args import check_output, write_csv
    from devrl.evaluation import evaluate_run, summarize

    check_output(args.out)
    table = evaluate_run(
        args.run,
        step=args.step,
        episodes=args.episodes,
        corner=args.corner,
        size=args.size,
        seed=args.seed,
        greedy=args.greedy,
    )
    step = int(table["step"].iloc[0])
    mode = "greedy" if args.greedy else "sampled"
    gamma = float(table["gamma"].iloc[0])
    print(f"{args.run} @ step {step} ({mode} actions, seed {args.seed}, regret at gamma={gamma})")
    print(_format(summarize(table)))
    if args.out:
        write_csv(table, args.out)
        print(f"per-episode table -> {args.out}")
    return 0
