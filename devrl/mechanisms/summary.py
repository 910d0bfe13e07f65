"""Which goal each agent pursues, per training seed and over seeds, with intervals.

One tidy table from the per-episode pursuit rows (:func:`devrl.mechanisms.pursuit_table`)
and the per-level decision-square choices (:func:`devrl.mechanisms.decision_choices`) of
several agents, so a paper section states each effect as "estimate [95% interval]" per
seed and over seeds. Per seed the intervals are over levels (Wilson for counts, a
bootstrap for means); over seeds they are the two-stage bootstrap of
:func:`devrl.mechanisms.seed_level_interval` (seeds, then levels within a seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from devrl.stats.intervals import mean_interval, seed_level_interval, wilson

GOAL_QUANTITIES = {
    "success": "reaches the cheese (all episodes)",
    "corner_seeker_success": "a pure corner-seeker reaches the cheese (same episodes)",
    "success_minus_seeker": "success minus the corner-seeker's (paired, same episodes)",
    "p_cheese_ds": "P(cheese action | decision square), mean over levels",
    "greedy_cheese_ds": "greedy action at the decision square goes to the cheese",
    "corner_first": "reaches the corner before the cheese (decision-square episodes)",
}
"""Rows of :func:`goal_summary`, by name (a pure corner-seeker scores 0, 0, 1 on the last three)."""


def _values(pursuit: pd.DataFrame, choices: pd.DataFrame) -> dict[str, tuple[np.ndarray, bool]]:
    """Per quantity: the per-episode or per-level values and whether they are 0/1 counts."""
    ds = pursuit[pursuit["decision_square"].astype(bool)]
    agent = pursuit["reached_cheese"].to_numpy(float)
    seeker = pursuit["corner_seeker_success"].to_numpy(float)
    return {
        "success": (agent, True),
        "corner_seeker_success": (seeker, True),
        "success_minus_seeker": (agent - seeker, False),
        "p_cheese_ds": (choices["p_cheese"].to_numpy(float), False),
        "greedy_cheese_ds": ((choices["branch"] == "cheese").to_numpy(float), True),
        "corner_first": (ds["corner_first"].to_numpy(float), True),
    }


def goal_summary(
    pursuit: pd.DataFrame,
    choices: pd.DataFrame,
    seed_column: str = "run_seed",
    level: float = 0.95,
    bootstrap_seed: int = 0,
) -> pd.DataFrame:
    """Per seed and over seeds: the :data:`GOAL_QUANTITIES` with intervals.

    Args:
        pursuit: Per-episode rows (columns of :func:`~devrl.mechanisms.pursuit_table`)
            with a ``seed_column``.
        choices: Per-level rows of :func:`~devrl.mechanisms.decision_choices` with a
            ``seed_column``.
        seed_column: The column naming each row's agent (training seed).
        level: Confidence level.
        bootstrap_seed: Seeds the bootstraps.

    Returns:
        Columns ``seed`` (the seed as a string, ``"all"`` over seeds), ``quantity``,
        ``estimate``, ``low``, ``high``, ``n`` (episodes or levels), one row per
        (seed, quantity); seeds in sorted order, then ``"all"``.
    """
    for name, frame in (("pursuit", pursuit), ("choices", choices)):
        if seed_column not in frame.columns:
            raise ValueError(f"{name} has no column {seed_column!r} naming the seed of each row.")
    seeds = sorted(set(pursuit[seed_column]) | set(choices[seed_column]))
    rows = []
    per_seed = {}
    for s in seeds:
        vals = _values(pursuit[pursuit[seed_column] == s], choices[choices[seed_column] == s])
        per_seed[s] = vals
        for q, (x, binary) in vals.items():
            if x.size == 0:
                raise ValueError(f"seed {s} has no rows for {q}.")
            if binary:
                est, lo, hi = wilson(int(x.sum()), x.size, level)
            else:
                est, lo, hi = mean_interval(x, level, seed=bootstrap_seed)
            rows.append((str(s), q, est, lo, hi, x.size))
    for q in GOAL_QUANTITIES:
        x = np.concatenate([per_seed[s][q][0] for s in seeds])
        g = np.concatenate([np.full(per_seed[s][q][0].size, i) for i, s in enumerate(seeds)])
        est, lo, hi = seed_level_interval(x, g, level, seed=bootstrap_seed)
        rows.append(("all", q, est, lo, hi, x.size))
    return pd.DataFrame(rows, columns=["seed", "quantity", "estimate", "low", "high", "n"])


def interval_text(estimate: float, low: float, high: float, digits: int = 3) -> str:
    """``"0.384 [0.381, 0.387]"``: an estimate with its interval, for tables."""
    return f"{estimate:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _text(row: pd.Series) -> str:
    return interval_text(row["estimate"], row["low"], row["high"])


GOAL_LABELS = {
    "success": "success",
    "corner_seeker_success": "corner-seeker",
    "success_minus_seeker": "difference",
    "p_cheese_ds": "P(cheese | d.s.)",
    "greedy_cheese_ds": "greedy to cheese",
    "corner_first": "corner first",
}
"""Column labels of :func:`goal_table`."""


def goal_table(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`goal_summary` as one row per seed (then ``"all seeds"``), cells "estimate [CI]"."""
    rows = []
    for seed, frame in summary.groupby("seed", sort=False):
        by = frame.set_index("quantity")
        rows.append(
            {"seed": "all seeds" if seed == "all" else seed}
            | {label: _text(by.loc[q]) for q, label in GOAL_LABELS.items()}
        )
    return pd.DataFrame(rows)


def seeker_table(baselines: pd.DataFrame) -> pd.DataFrame:
    """:func:`~devrl.mechanisms.seeker_baselines` rows as one row per maze size, cells "estimate [CI]".

    Columns: the corner-seeker's success for each corner region other than 1 (where
    both seekers always succeed) and anywhere, then the share of cheese-anywhere levels
    with a decision square and the cheese-seeker's corner-first rate there.
    """
    b = baselines.assign(corner=baselines["corner"].astype(str))
    corners = [c for c in dict.fromkeys(b["corner"]) if c not in ("1", "anywhere")]
    columns = [(f"corner-seeker, corner {c}", c, "corner_seeker_success") for c in corners]
    columns += [
        ("corner-seeker, anywhere", "anywhere", "corner_seeker_success"),
        ("P(decision square), anywhere", "anywhere", "decision_square"),
        ("cheese-seeker corner first, anywhere", "anywhere", "cheese_seeker_corner_first"),
    ]
    index = b.set_index(["size", "corner", "quantity"])
    rows = []
    for size in sorted(b["size"].unique()):
        row = {"size": f"{size}x{size}"}
        for label, corner, q in columns:
            row[label] = _text(index.loc[(size, corner, q)])
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "GOAL_LABELS",
    "GOAL_QUANTITIES",
    "goal_summary",
    "goal_table",
    "interval_text",
    "seeker_table",
]
