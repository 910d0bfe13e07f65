"""The tables of the TMS reinforcement section (tms_rl): shaped for the page, with captions.

Each writer takes a tidy table the experiment saved (transitions.csv, detection.csv,
geometry.csv) and writes one LaTeX table with :func:`devrl.paper.write_table`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from devrl.forms.detection import detection_table, transition_stats
from devrl.paper.script import interval_text, write_table

__all__ = [
    "detection_for_table",
    "geometry_for_table",
    "transitions_for_table",
    "write_detection_tables",
    "write_geometry_table",
    "write_transitions_table",
]


def transitions_for_table(stats: pd.DataFrame) -> pd.DataFrame:
    """The transitions table (:func:`devrl.forms.detection.transition_stats` rows) narrowed
    for the page: no seeds or jump-epoch list, only k-gon plateaus, finals space-separated."""
    narrow = stats.drop(columns=["jump epochs", "seeds"]).rename(
        columns={"jump epoch (median)": "median jump"}
    )
    narrow["plateaus"] = narrow["plateaus"].map(
        lambda p: ", ".join(q for q in p.split(", ") if q[0] in "456")
    )
    narrow["final"] = narrow["final"].str.replace(", ", " ")
    return narrow


def _p(p: float) -> str:
    return "--" if np.isnan(p) else (f"{p:.2g}" if p >= 0.001 else "<0.001")


NULLS = ("random", "log", "circular")


def _nulls(row: pd.Series, column: str) -> str:
    return "/".join(f"{row[column.format(k)]:.2f}" for k in NULLS)


def detection_for_table(det: pd.DataFrame, curves: Iterable[str]) -> pd.DataFrame:
    """Rows of a detection table whose curve is in ``curves``, shaped for the page: recall and
    precision with their 95% intervals over seeds next to the three nulls (random gaps, random
    log-times, circular shift), the largest p-value, and the step across jumps with its
    interval."""
    rows = det[det.curve.isin(list(curves))]
    null = "null recall ({})", "null precision ({})"
    return pd.DataFrame(
        {
            "learner": rows.learner,
            "curve": rows.curve,
            "trans.": rows.transitions,
            "recall [95% CI]": [
                interval_text(r["recall"], r["recall lo"], r["recall hi"])
                for _, r in rows.iterrows()
            ],
            "null (gap/log/circ.)": [_nulls(r, null[0]) for _, r in rows.iterrows()],
            "precision [95% CI]": [
                interval_text(r["precision"], r["precision lo"], r["precision hi"])
                for _, r in rows.iterrows()
            ],
            "null (gap/log/circ.) ": [_nulls(r, null[1]) for _, r in rows.iterrows()],
            "p": [_p(max(r[f"p ({k})"] for k in NULLS)) for _, r in rows.iterrows()],
            "jumps det.": rows["jumps detected"],
            "step [95% CI]": [
                interval_text(r["step at jumps"], r["step lo"], r["step hi"], ".3g")
                for _, r in rows.iterrows()
            ],
            "rising": rows["jumps rising"],
        }
    )


def geometry_for_table(geo: pd.DataFrame) -> pd.DataFrame:
    """geometry.csv with short names for the two matrices and the columns."""
    return geo.replace(
        {"TMS loss (Hessian)": "TMS Hessian", "action loss (Gauss-Newton)": "action GN"}
    ).rename(
        columns={
            "loss": "matrix",
            "positive": "pos.",
            "min eigenvalue": "min eig.",
            "curvature +v": "Q(+v)",
            "curvature -v": "Q(-v)",
            "min one-sided": "min Q",
            "theory LLC": "theory",
        }
    )


def write_transitions_table(stats: pd.DataFrame, path: Path) -> None:
    """The plateaus each learner visits (:func:`transitions_for_table` of ``stats``)."""
    seeds = " or ".join(str(n) for n in sorted(stats["seeds"].unique()))
    dwell = inspect.signature(transition_stats).parameters["min_dwell"].default
    write_table(
        path,
        transitions_for_table(stats),
        caption=f"k-gon plateaus under supervised and reinforcement learning (c = 6, {seeds} "
        f"seeds each). Epoch = 1000 contexts seen. Plateaus: k-gons held for {dwell} or more "
        "checkpoints (3-gons and unclassified shapes on the way from random "
        "initialisation omitted). 'jumped': seeds that reached a 5- or 6-gon; "
        "final: phase:seeds at the end.",
        label="tab:tms-rl-transitions",
        float_format="%.0f",
        fit_width=True,  # 36 pt wider than the text at \small
    )


def write_detection_tables(
    det: pd.DataFrame,
    n_checkpoints: pd.Series,
    main: Iterable[str],
    curves: Iterable[str],
    settings: Mapping,
    paths: tuple[Path, Path],
) -> None:
    """Detection scores of the main learners, then of the ladder's rungs (the other rows).

    Args:
        det: detection.csv (a ``learner`` column and :func:`detection_table`'s scores).
        n_checkpoints: LLC checkpoints per run (for the caption's range).
        main: the learners of the first table.
        curves: the curves shown (:func:`detection_for_table`).
        settings: ``tol`` and ``min_shift`` (``{"loss": .., "llc": ..}``) of the detector.
        paths: the two tables' files.
    """
    shown = detection_for_table(det, curves)
    is_main = shown.learner.isin(list(main))
    tol, min_shift = settings["tol"], settings["min_shift"]
    n_null = inspect.signature(detection_table).parameters["n_null"].default
    write_table(
        paths[0],
        shown[is_main],
        caption=f"Do level shifts of the LLC curve find the loss transitions? A "
        f"transition is detected (recall) when a level shift (piecewise-constant fit, "
        f"penalty $3\\sigma^2\\ln n$, shifts under {min_shift['llc']} LLC or "
        f"{min_shift['loss']} loss merged) lies within a factor $e^{{{tol}}}$ of "
        "it; precision: share of shifts near a transition (1 $-$ false alarms). "
        f"Intervals: 95\\% cluster bootstrap over the {int(det.seeds.max())} seeds. null: the same score "
        "with each seed's shifts placed at random checkpoint gaps / at random log-times / "
        f"its shift pattern circularly shifted in time ({n_null} draws each, same number of "
        "shifts); p: Monte Carlo p-value of the F1 score against the hardest null. "
        "'loss (control)': the same detector on the loss curve. Only transitions between "
        f"the 3rd and 3rd-to-last of the {n_checkpoints.min()}--{n_checkpoints.max()} LLC "
        "checkpoints of a run count; 'jumps': into a 5- or 6-gon; step: median over jumps "
        "of the curve's step across them (median over $(\\tau,\\tau e^{0.5}]$ minus "
        "over $[\\tau e^{-0.5},\\tau)$), rising: share of jumps with a positive "
        "step. 'corrected': SGLD estimate minus its predicted first-order (descent) part; "
        "'first-order' and 'curvature': the two predicted parts (quadratic model of the "
        "dataset loss at the checkpoint, theory/tms\\_rl.md).",
        label="tab:tms-rl-detection",
        float_format="%.2f",
        fit_width=True,
    )
    write_table(
        paths[1],
        shown[~is_main],
        caption="The ladder: detection for each difficulty (REINFORCE, 4-gon start), "
        "columns as in Table~\\ref{tab:tms-rl-detection}. Drift rung: oracle\\_initial uses the initial context distribution, "
        "oracle\\_mixture an even mixture of initial and current. Only "
        "transitions between the 3rd and 3rd-to-last LLC checkpoint count.",
        label="tab:tms-rl-ladder",
        float_format="%.2f",
        fit_width=True,
    )


def write_geometry_table(geo: pd.DataFrame, path: Path) -> None:
    """Hessian against Gauss–Newton eigenvalues, and one-sided curvatures, at the k-gons."""
    write_table(
        path,
        geometry_for_table(geo),
        caption="Curvature at the k-gons: the TMS loss's Hessian against the action "
        "loss's Gauss--Newton matrix (TMS-loss units). The 4-gon family sits on ReLU kinks, "
        "where the loss has no Hessian: 'min eig.' there is autograd's, the Hessian of one "
        "smooth piece. Q($\\pm v$): the one-sided second derivative "
        "$\\partial_t^2 L(w^*\\pm tv)|_{t\\to0^+}$ along the eigenvector $v$ of 'min eig.'; "
        "min Q: its minimum over all unit directions except the rotation and the flat unused "
        "columns (positive: a minimum modulo those). 'visible LLC': "
        "$\\tfrac12\\sum_i n\\beta h_i/(n\\beta h_i+\\gamma)$ at the trajectory "
        "settings, negative $h_i$ dropped; not defined at kinks.",
        label="tab:tms-rl-geometry",
        float_format="%.3g",
        fit_width=True,
    )
