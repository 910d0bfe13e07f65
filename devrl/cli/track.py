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

from devrl.cli import UsageError
from devrl.cli._args import nonempty_path


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
        "run",
        metavar="RUN",
        nargs="?",
        type=nonempty_path,
        help="run directory (written by `devrl train`)",
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
    parser.add_argument("--cache-dir", default=None, help="cache here, not in RUN/tracks")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="checkpoints measured in parallel processes (default: all cores)",
    )
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

    from devrl.cli._args import check_output, write_csv
    from devrl.measures import DEFAULT_MEASURE_SEED, get_measure
    from devrl.track import track

    torch.set_num_threads(1)  # tiny nets: one thread per process is fastest (docs/architecture.md)

    if args.list:
        print(_list_measures())
        return 0
    if args.run is None or not args.measure:
        raise UsageError("give a RUN directory and at least one --measure NAME (see --list)")
    repeated = sorted({m for m in args.measure if args.measure.count(m) > 1})
    if repeated:
        raise UsageError(f"--measure {', '.join(repeated)} given more than once")
    overrides: dict[str, dict[str, Any]] = {}
    for name, param, value in args.settings:
        if name not in args.measure:
            raise UsageError(
                f"--set {name}.{param}: measure {name!r} is not requested with --measure"
            )
        overrides.setdefault(name, {})[param] = value
    try:  # every measure and parameter is checked before any work (or cache folder)
        measures = [get_measure(name, **overrides.get(name, {})) for name in args.measure]
    except (ValueError, TypeError) as exc:
        raise UsageError(str(exc)) from exc
    check_output(args.out)
    frame = track(
        args.run,
        measures,
        steps=args.steps,
        recompute=args.recompute,
        measure_seed=DEFAULT_MEASURE_SEED if args.seed is None else args.seed,
        cache_dir=args.cache_dir,
        workers=args.workers,
    )
    _all_diverged(frame, args.measure)
    main_rows = frame[frame["measure"].isin(args.measure)]
    wide = main_rows.pivot_table(index="step", columns="measure", values="value", sort=True)
    print(wide[[m for m in args.measure if m in wide.columns]].to_string(float_format="%.4g"))
    if args.out:
        write_csv(frame, args.out)
        print(f"wrote {len(frame)} rows to {args.out}")
    return 0


def _all_diverged(frame, names: list[str]) -> None:
    """An LLC measure whose chains diverged at every checkpoint asked for gave nothing
    usable: an error (the library records each divergence as NaN and goes on, so a long
    tracked run keeps its other checkpoints; here the user can just lower the step size)."""
    from devrl.llc import ChainDivergedError

    for name in names:
        flags = frame.loc[frame["measure"] == f"{name}/diverged", "value"]
        n = int(frame["measure"].eq(name).sum())
        if n and len(flags) == n and bool((flags == 1.0).all()):
            raise ChainDivergedError(
                f"{name}: the SGLD chains diverged at every checkpoint asked for ({n}); "
                "nothing was estimated"
            )
