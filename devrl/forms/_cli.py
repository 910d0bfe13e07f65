"""``devrl fit TABLE --x step --y value --forms logistic,power,exp``: compare forms on a table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def register(subparsers) -> None:
    """Add the ``fit`` subcommand."""
    p = subparsers.add_parser(
        "fit",
        help="fit functional forms to a curve and print the comparison table",
        description="Fit functional forms to y against x from a CSV or Parquet table and print "
        "the forms ranked by AICc (Akaike weights, BIC, extrapolation error).",
    )
    p.add_argument("table", type=Path, help="CSV or Parquet file")
    p.add_argument("--x", default="step", help="time column (default: step)")
    p.add_argument("--y", default="value", help="value column (default: value)")
    p.add_argument(
        "--forms",
        default=None,
        help="comma-separated forms (default: all default forms); see --list-forms",
    )
    p.add_argument("--sigma", default=None, help="column of per-point standard errors")
    p.add_argument("--groups", default=None, help="column identifying seeds, e.g. seed")
    p.add_argument(
        "--query", default=None, help="pandas query selecting one curve, e.g. \"measure == 'llc'\""
    )
    p.add_argument(
        "--by",
        default="aicc",
        choices=["aicc", "bic"],
        help="rank by AICc (default) or BIC (better when forms are nested)",
    )
    p.add_argument("--list-forms", action="store_true", help="list registered forms and exit")
    p.set_defaults(func=_run)


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise SystemExit(f"devrl fit: no such file: {path}")
    if path.suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def _run(args: argparse.Namespace) -> int:
    from devrl.forms import available_forms, compare, get_form

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
    used = [args.x, args.y] + [c for c in (args.sigma, args.groups) if c]
    numeric = [c for c in used if c != args.groups]
    finite = df[numeric].apply(pd.to_numeric, errors="coerce").notna().all(axis=1)
    if not finite.all():  # e.g. training updates in which no episode finished
        print(
            f"devrl fit: dropping {int((~finite).sum())} of {len(df)} rows with missing "
            f"{args.x!r}/{args.y!r} values",
            file=sys.stderr,
        )
        df = df[finite]
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
