"""``devrl fit TABLE --x step --y value --forms logistic,power,exp``: compare forms on a table.

Fits functional forms to y against x from a CSV or Parquet table and prints the
forms ranked by AICc (Akaike weights, BIC, extrapolation error). Rows with a
missing x, y, or sigma are dropped first, and the count is reported on stderr.

Examples::

    devrl fit runs/maze9/metrics.csv --x step --y charts/success_rate --forms logistic_log,exp
    devrl fit track.csv --query "measure == 'llc-action'" --sigma stderr --groups seed --by bic
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``devrl fit``'s arguments."""
    parser.add_argument("table", type=Path, help="CSV or Parquet file")
    parser.add_argument("--x", default="step", help="time column (default: step)")
    parser.add_argument("--y", default="value", help="value column (default: value)")
    parser.add_argument(
        "--forms",
        default=None,
        help="comma-separated forms (default: all default forms); see --list-forms",
    )
    parser.add_argument("--sigma", default=None, help="column of per-point standard errors")
    parser.add_argument("--groups", default=None, help="column identifying seeds, e.g. seed")
    parser.add_argument(
        "--query", default=None, help="pandas query selecting one curve, e.g. \"measure == 'llc'\""
    )
    parser.add_argument(
        "--by",
        default="aicc",
        choices=["aicc", "bic"],
        help="rank by AICc (default) or BIC (better when forms are nested)",
    )
    parser.add_argument("--list-forms", action="store_true", help="list registered forms and exit")


def _read(path: Path):
    import pandas as pd

    if not path.exists():
        raise SystemExit(f"devrl fit: no such file: {path}")
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def run(args: argparse.Namespace) -> int:
    """Run ``devrl fit``."""
    import pandas as pd

    from devrl.forms import available_forms, compare, drop_missing, get_form

    if args.list_forms:
        for name in available_forms():
            f = get_form(name)
            print(f"{name:<16} {f.formula}")
        return 0
    df = _read(args.table)
    if args.query:
        df = df.query(args.query)
    for col in [args.x, args.y] + [c for c in (args.sigma, args.groups) if c]:
        if col not in df.columns:
            raise SystemExit(f"devrl fit: column {col!r} not in {list(df.columns)}")
    n_rows = len(df)
    df, dropped = drop_missing(df, [c for c in (args.x, args.y, args.sigma) if c])
    if dropped:  # e.g. training updates in which no episode finished
        print(
            f"devrl fit: dropping {dropped} of {n_rows} rows with missing "
            f"{args.x!r}/{args.y!r} values",
            file=sys.stderr,
        )
    df = df.sort_values(([args.groups] if args.groups else []) + [args.x])
    forms = args.forms.split(",") if args.forms else None
    try:
        table = compare(
            df[args.x].to_numpy(),
            df[args.y].to_numpy(),
            forms,
            sigma=df[args.sigma].to_numpy() if args.sigma else None,
            groups=df[args.groups].to_numpy() if args.groups else None,
            sort_by=args.by,
        )
    except ValueError as err:
        raise SystemExit(f"devrl fit: {err}") from None
    cols = ["form", "k", "aicc", "delta_aicc", "weight", "bic", "extrap_rmse", "status"]
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0
