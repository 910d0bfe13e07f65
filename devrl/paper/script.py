"""The shared command-line convention and output helpers of experiment scripts."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from devrl._pool import exit_with_inherited_parent


class ExperimentParser(argparse.ArgumentParser):
    """The parser of :func:`experiment_parser`: ``--quick`` moves the default outputs.

    Without ``--figures``/``--tables`` a quick run writes under ``paper/quick/`` (where
    ``devrl paper --quick`` puts them), so running a script by hand in quick mode never
    overwrites the full paper's figures and tables.
    """

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        exit_with_inherited_parent()  # run by `devrl paper`: stop when the builder dies
        parsed, rest = super().parse_known_args(args, namespace)
        if getattr(parsed, "figures", None) is None:
            parsed.figures = Path("paper") / ("quick" if parsed.quick else "") / "figures"
        if getattr(parsed, "tables", None) is None:
            parsed.tables = Path("paper") / ("quick" if parsed.quick else "") / "tables"
        return parsed, rest


def experiment_parser(description: str, name: str) -> argparse.ArgumentParser:
    """Argument parser every experiment script uses, so ``devrl paper`` can drive them.

    Args:
        description: What the experiment measures (shown by ``--help``).
        name: The experiment's name; default output folders are derived from it.

    Returns:
        A parser with ``--out``, ``--figures``, ``--tables``, ``--quick``,
        ``--figures-only`` and ``--seed``; scripts may add their own flags. Figures and
        tables default to ``paper/figures`` and ``paper/tables``, or ``paper/quick/...``
        with ``--quick``.
    """
    parser = ExperimentParser(description=description, allow_abbrev=False)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("paper/data") / name,
        help="folder for the experiment's data (runs, CSV tables)",
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=None,
        help="folder for figures (PDF and PNG; default paper/figures, or paper/quick/figures "
        "with --quick)",
    )
    parser.add_argument(
        "--tables",
        type=Path,
        default=None,
        help="folder for LaTeX tables and number macros (default paper/tables, or "
        "paper/quick/tables with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer seeds and steps: minutes instead of hours"
    )
    parser.add_argument(
        "--figures-only",
        action="store_true",
        help="redraw figures and tables from saved data without recomputing",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed")
    return parser


def llc_calibration(quick: bool) -> dict:
    """The LLC section's SGLD calibration of one mode (``paper/data/llc_over_training/<mode>/
    calibration.json``), which the sections that track the LLC of other agents reuse so that
    every section's LLC is one estimator (:func:`devrl.measures.uniform_llc`). A section that
    reads it lists ``llc_over_training`` among the sections it reads."""
    from devrl.paper.build import repo_root

    path = repo_root() / "paper" / "data" / "llc_over_training"
    return json.loads((path / ("quick" if quick else "full") / "calibration.json").read_text())


def data_dir(out: Path, quick: bool, reading: str | None = None) -> Path:
    """``out/quick`` or ``out/full``: the data of one mode, never the other's.

    Quick data must not stand in for full data (or the reverse): a figure drawn from the
    other mode's data would contradict the prose of its paper.

    Args:
        out: The experiment's ``--out``.
        quick: The ``--quick`` flag.
        reading: When only reading (``--figures-only``), a file the data always include
            (e.g. ``"tracks.csv"``); its absence is an error that says what to run.
    """
    folder = out / ("quick" if quick else "full")
    if reading and not (folder / reading).is_file():
        raise FileNotFoundError(
            f"no {folder.name} data under {out} ({reading} is missing): run the experiment "
            f"{'with' if quick else 'without'} --quick and without --figures-only first"
        )
    return folder


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _macro_name(key: str) -> str:
    if not re.fullmatch(r"[A-Za-z]+", key):
        raise ValueError(
            f"LaTeX macro names may contain only letters, got {key!r}; "
            "use camelCase such as 'mazeSuccessIn'."
        )
    return key


def _format_value(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if 100 <= abs(value) < 1e7:
            return f"{value:.0f}"
        return f"{value:.3g}"
    return str(value)


_WORDS = [
    "no",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]


def count_phrase(n: int, noun: str, plural: str | None = None) -> str:
    """``"one seed"``, ``"sixteen seeds"``, ``"24 seeds"``: a count for prose, as a macro.

    Prose that types a count ("sixteen seeds") contradicts a run with another count, and
    ``seed(s)`` reads badly; experiments write the phrase instead. Counts up to twenty are
    spelled out, larger ones are digits with thousands separators.

    Args:
        n: The count (a non-negative integer).
        noun: The singular noun.
        plural: The plural noun (default ``noun + "s"``).
    """
    n = _count(n)
    number = _WORDS[n] if n < len(_WORDS) else number_latex(n)
    return f"{number} {noun if n == 1 else plural or noun + 's'}"


def interval_text(est: float, low: float, high: float, fmt: str = ".2f") -> str:
    """``"0.42 [0.31, 0.55]"`` for a table cell; ``"--"`` without an estimate, the estimate
    alone without bounds (one seed)."""
    if not np.isfinite(est):
        return "--"
    if not (np.isfinite(low) and np.isfinite(high)):
        return format(est, fmt)
    return f"{est:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def share_phrase(k: int, n: int, noun: str, plural: str | None = None) -> str:
    """``"none of three seeds"``, ``"two of three seeds"``: how many of a count, for prose."""
    k = _count(k)
    number = "none" if k == 0 else _WORDS[k] if k < len(_WORDS) else number_latex(k)
    return f"{number} of {count_phrase(n, noun, plural)}"


def _count(n) -> int:
    if isinstance(n, bool) or not float(n).is_integer() or n < 0:
        raise ValueError(f"count_phrase needs a non-negative integer count, got {n!r}")
    return int(n)


def number_latex(x: float, digits: int = 3) -> str:
    """A number for prose: ``"300{,}000"``, ``"$4.5\\times10^{6}$"`` (from a million on).

    Args:
        x: The number.
        digits: Significant digits of the mantissa in scientific form.
    """
    if not math.isfinite(x):
        raise ValueError(f"number_latex needs a finite number, got {x!r}")
    if abs(x) >= 1e6:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"${mantissa}\\times10^{{{int(exponent)}}}$"
    if float(x).is_integer():
        return f"{int(x):,}".replace(",", "{,}")
    return f"{x:.{digits}g}"


def save_figure(fig, path_stem: Path) -> None:
    """Save a matplotlib figure as ``<stem>.pdf`` (for LaTeX) and ``<stem>.png``, then close it."""
    import matplotlib.pyplot as plt

    path_stem = Path(path_stem)
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    # a fixed creation date (SOURCE_DATE_EPOCH's, 0 when unset, as the paper builder sets it)
    # keeps a redrawn PDF byte-identical to its data, also when a script is run by hand
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    created = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    fig.savefig(path_stem.with_suffix(".pdf"), metadata={"CreationDate": created})
    fig.savefig(path_stem.with_suffix(".png"), dpi=150)
    plt.close(fig)


def write_macros(path: Path, values: Mapping[str, object]) -> None:
    """Write computed numbers as LaTeX macros (``\\newcommand{\\key}{value}``).

    The prose in ``paper/sections`` uses these macros, so the text always shows the
    numbers of the last run.
    """
    lines = ["% generated by an experiment script; do not edit"]
    for key, value in values.items():
        lines.append(f"\\newcommand{{\\{_macro_name(key)}}}{{{_format_value(value)}}}")
    _atomic_write_text(Path(path), "\n".join(lines) + "\n")


def _latex_escape(text: str) -> str:
    for char, repl in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
        ("$", r"\$"),
        (">", r"\textgreater{}"),
        ("<", r"\textless{}"),
        ("|", r"\textbar{}"),  # a bare | prints as an em dash in the default font
    ):
        text = text.replace(char, repl)
    return text


def _format_cell(value: object, float_format: str) -> str:
    if isinstance(value, float):
        return "--" if math.isnan(value) else float_format % value
    return _latex_escape(str(value))


def write_table(
    path: Path,
    frame: pd.DataFrame,
    caption: str,
    label: str,
    float_format: str = "%.3g",
    fit_width: bool = False,
) -> None:
    """Write a DataFrame as a LaTeX ``table`` environment (no jinja2 needed).

    ``fit_width`` scales the tabular down to the text width (``\\resizebox``, graphicx) for
    tables with many columns.
    """
    columns = " & ".join(_latex_escape(str(c)) for c in frame.columns)
    rows = [
        " & ".join(_format_cell(v, float_format) for v in row) + r" \\"
        for row in frame.itertuples(index=False)
    ]
    text = "\n".join(
        [
            "% generated by an experiment script; do not edit",
            "\\begin{table}[t]",
            "\\centering",
            "\\small",
            *(["\\resizebox{\\linewidth}{!}{%"] if fit_width else []),
            "\\begin{tabular}{" + "l" * len(frame.columns) + "}",
            "\\hline",
            columns + r" \\",
            "\\hline",
            *rows,
            "\\hline",
            "\\end{tabular}" + ("}" if fit_width else ""),
            f"\\caption{{{caption}}}",
            f"\\label{{{label}}}",
            "\\end{table}",
            "",
        ]
    )
    _atomic_write_text(Path(path), text)
