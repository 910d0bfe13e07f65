"""``devrl fit TABLE --x step --y value --forms logistic,power,exp``: compare forms on a table.

Fits functional forms to y against x from a CSV or Parquet table and prints the
forms ranked by AICc (Akaike weights, BIC, extrapolation error). Rows with a
missing or non-numeric x, y, or sigma are dropped first, and the count is reported
on stderr; the command fails if no row is left or no form can be fit.

Examples::

    devrl fit runs/maze9/metrics.csv --x step --y charts/success_rate --forms logistic_log,exp
    devrl fit track.csv --query "measure == 'llc-action'" --sigma stderr --groups seed --by bic
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devrl.cli import UsageError


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
    """The table at ``path`` (CSV, or Parquet by suffix); errors name the file and the format."""
    import pandas as pd

    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; expected a CSV or Parquet file")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    parquet = path.suffix in (".parquet", ".pq")
    try:
        return pd.read_parquet(path) if parquet else pd.read_csv(path)
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path} is empty; expected a CSV table with a header row") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not a text CSV table (byte {exc.start} is not UTF-8); "
            "for Parquet give it a .parquet suffix"
        ) from exc
    except (ValueError, OSError) as exc:  # pandas' ParserError, pyarrow's ArrowInvalid, ...
        kind = "Parquet" if parquet else "CSV"
        raise ValueError(f"{path} is not a readable {kind} table: {exc}") from exc


def _select(df, query: str, path: Path):
    """``df.query(query)``; a malformed query is a usage error, a failing one names the file."""
    try:
        return df.query(query)
    except SyntaxError as exc:
        raise UsageError(f"--query {query!r} is not a valid pandas query ({exc.msg})") from exc
    except Exception as exc:  # pandas raises many types: undefined names, bad comparisons
        raise ValueError(
            f"--query {query!r} failed on {path} ({type(exc).__name__}: {exc}); "
            f"its columns are {list(df.columns)}"
        ) from exc


def run(args: argparse.Namespace) -> int:
    """Run ``devrl fit``."""
    import numpy as np
    import pandas as pd

    from devrl.forms import available_forms, compare, drop_missing, get_form

    if args.list_forms:
        for name in available_forms():
            f = get_form(name)
            print(f"{name:<16} {f.formula}")
        return 0
    forms = [f.strip() for f in args.forms.split(",") if f.strip()] if args.forms else None
    if forms is not None:
        unknown = [f for f in forms if f not in available_forms()]
        if unknown or not forms:
            raise UsageError(
                f"--forms: unknown form(s) {unknown or args.forms!r}; "
                f"choose from {', '.join(available_forms())} (see --list-forms)"
            )
    df = _read(args.table)
    if args.query:
        df = _select(df, args.query, args.table)
    for col in [args.x, args.y] + [c for c in (args.sigma, args.groups) if c]:
        if col not in df.columns:
            raise ValueError(
                f"column {col!r} not in {args.table}; its columns are {list(df.columns)}"
            )
    n_rows = len(df)
    df, dropped = drop_missing(df, [c for c in (args.x, args.y, args.sigma) if c])
    if dropped:  # e.g. training updates in which no episode finished
        print(
            f"devrl fit: dropping {dropped} of {n_rows} rows with missing or non-numeric "
            f"{'/'.join(repr(c) for c in (args.x, args.y, args.sigma) if c)} values",
            file=sys.stderr,
        )
    if df.empty:
        what = f"after --query {args.query!r}" if args.query else "in the table"
        raise ValueError(f"{args.table}: no usable rows {what} ({n_rows} rows, {dropped} dropped)")
    df = df.assign(**{c: pd.to_numeric(df[c]) for c in (args.x, args.y, args.sigma) if c})
    df = df.sort_values(([args.groups] if args.groups else []) + [args.x])
    table = compare(
        df[args.x].to_numpy(),
        df[args.y].to_numpy(),
        forms,
        sigma=df[args.sigma].to_numpy() if args.sigma else None,
        groups=df[args.groups].to_numpy() if args.groups else None,
        sort_by=args.by,
    )
    cols = ["form", "k", "aicc", "delta_aicc", "weight", "bic", "extrap_rmse", "status"]
    with pd.option_context("display.width", 160, "display.max_colwidth", 60):
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if not np.isfinite(table[args.by].to_numpy(dtype=float)).any():
        raise ValueError(
            f"no form could be fit to the {len(df)} rows of {args.table} (see the status column)"
        )
    return 0
