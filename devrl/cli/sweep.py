"""``devrl sweep SPEC``: train a grid of runs x seeds and track measures on each.

SPEC is a JSON file (YAML too when pyyaml is installed): a grid over PPOConfig fields
(environment variables included), seeds and measures; see devrl.sweep.spec. Every
trial is a run directory under OUT/runs/; OUT/results.csv is the sweep's tidy table.
Running the command again skips finished trials and resumes interrupted ones.

Examples::

    devrl sweep experiments/specs/goal_misgeneralization.json --workers 2
    devrl sweep spec.json --backend ray                    # Ray on this machine
    devrl sweep spec.json --backend ray --address auto     # the Ray cluster of this node
    devrl sweep spec.json --list                           # the trials, without running
"""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``devrl sweep``'s arguments."""
    parser.add_argument("spec", metavar="SPEC", type=Path, help="sweep spec (.json, .yaml)")
    parser.add_argument(
        "--backend", choices=("local", "ray"), default="local", help="where trials run"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="parallel trials (default: all cores)"
    )
    parser.add_argument(
        "--address", default=None, help="Ray cluster to join: auto or ray://HOST:10001"
    )
    parser.add_argument("--out", type=Path, default=None, help="sweep directory (default: spec's)")
    parser.add_argument(
        "--retries", type=int, default=1, help="retries of a trial whose worker died (default 1)"
    )
    parser.add_argument("--list", action="store_true", help="print the trials and exit")


def run(args: argparse.Namespace) -> int:
    """Run ``devrl sweep``."""
    from devrl.cli import UsageError
    from devrl.sweep import load_spec, run_sweep

    if args.address is not None and args.backend != "ray":
        raise UsageError("--address needs --backend ray")
    try:  # a spec that does not load or expand is a usage error: nothing has run yet
        spec = load_spec(args.spec)
        trials = spec.trials()
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from exc
    if args.list:
        for trial in trials:
            print(trial.name)
        print(f"{len(trials)} trials -> {args.out or spec.out}")
        return 0
    result = run_sweep(
        spec,
        backend=args.backend,
        workers=args.workers,
        address=args.address,
        out=args.out,
        retries=args.retries,
    )
    failed = result.trials[result.trials["status"] == "failed"]
    for _, row in failed.iterrows():
        print(f"FAILED {row['run']}: {row['error']}")
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    print(f"{len(result.trials)} trials ({counts}); wrote {result.out / 'results.csv'}")
    return 1 if len(failed) else 0
