"""``devrl track RUN --measure NAME ...``: measures over a run's checkpoints, cached in the run.

Prints one line per checkpoint (one column per measure) and optionally saves the
tidy table. Results are cached under ``RUN/tracks/``; running the command again
computes only what is missing, so an interrupted job can simply be restarted.

Examples::

    devrl track runs/maze --measure success --measure return
    devrl track runs/maze --measure llc-action --set llc-action.draws=200 --out llc.csv
    devrl track --list
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def _setting(text: str) -> tuple[str, str, Any]:
    """Parse ``measure.param=value`` (value as JSON when it parses, else a string)."""
    key, sep, raw = text.partition("=")
    name, dot, param = key.rpartition(".")
    if not sep or not dot or not name or not param:
        raise argparse.ArgumentTypeError(
            f"expected MEASURE.PARAM=VALUE (e.g. llc-action.draws=200), got {text!r}"
        )
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, param, value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``devrl track``'s arguments."""
    parser.add_argument(
        "run", metavar="RUN", nargs="?", help="run directory (written by `devrl train`)"
    )
    parser.add_argument(
        "--measure",
        "-m",
        action="append",
        default=[],
        metavar="NAME",
        help="a registered measure (repeatable); see --list",
    )
    parser.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=None,
        help="checkpoint steps to evaluate (default: all)",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        type=_setting,
        action="append",
        default=[],
        metavar="MEASURE.PARAM=VALUE",
        help="override a measure's parameter (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=None, help="measurement seed (default 12345)")
    parser.add_argument("--recompute", action="store_true", help="ignore cached results")
    parser.add_argument("--out", default=None, help="also write the tidy table to this CSV")
    parser.add_argument("--list", action="store_true", help="list the registered measures and exit")


def _list_measures() -> str:
    from devrl.measures import MEASURES

    lines = []
    for name, m in MEASURES.items():
        params = ", ".join(f"{k}={v!r}" for k, v in m.params.items())
        lines.append(f"{name:<14} {m.help}\n{'':<14} ({params})")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``devrl track``."""
    import torch

    from devrl.measures import DEFAULT_MEASURE_SEED, get_measure
    from devrl.track import track

    torch.set_num_threads(1)  # tiny nets: one thread per process is fastest (docs/architecture.md)

    if args.list:
        print(_list_measures())
        return 0
    if args.run is None or not args.measure:
        print("devrl track: give a RUN directory and at least one --measure (see --list)")
        return 2
    overrides: dict[str, dict[str, Any]] = {}
    for name, param, value in args.settings:
        if name not in args.measure:
            print(f"devrl track: --set {name}.{param} names a measure not requested with --measure")
            return 2
        overrides.setdefault(name, {})[param] = value
    try:
        measures = [get_measure(name, **overrides.get(name, {})) for name in args.measure]
        frame = track(
            args.run,
            measures,
            steps=args.steps,
            recompute=args.recompute,
            measure_seed=DEFAULT_MEASURE_SEED if args.seed is None else args.seed,
        )
    except (ValueError, FileNotFoundError) as err:
        print(f"devrl track: {err}")
        return 2
    main_rows = frame[frame["measure"].isin(args.measure)]
    wide = main_rows.pivot_table(index="step", columns="measure", values="value", sort=True)
    print(wide[[m for m in args.measure if m in wide.columns]].to_string(float_format="%.4g"))
    if args.out:
        frame.to_csv(args.out, index=False)
        print(f"wrote {len(frame)} rows to {args.out}")
    return 0
