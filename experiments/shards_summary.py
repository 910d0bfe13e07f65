"""Summaries over agents of ``experiments/shards.py`` (imported by it, not a section).

Everything here reads the per-agent tables under ``<data>/agents/``: one estimate per
corner size with its interval over seeds and levels, for each shard measure.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd

from devrl.stats import mean_interval, seed_level_interval
from devrl.stats.intervals import wilson

TRACKED = {
    "success": "success (in distribution)",
    "decision-cheese": "P(cheese | decision square)",
    "choice-regression/auc": "choice regression AUC",
    "cheese-vector": "cheese-vector effect",
    "cheese-channels": "cheese channels",
    "cheese-probe": "probe accuracy (cheese cell)",
    "retarget": "retargeting reach",
    "llc-action-uniform": "LLC (action, uniform states)",
}
"""Curves over training: measure -> label (the cheese-vector effect is negative: it removes)."""


def _agent_tables(root: Path, agents: pd.DataFrame, table: str) -> pd.DataFrame:
    """One per-agent table (``<table>.csv`` or ``.csv.gz``) of every agent, stacked."""
    frames = []
    for a in agents.itertuples():
        for name in (f"{table}.csv", f"{table}.csv.gz"):
            path = root / "agents" / a.run / name
            if path.is_file():
                frames.append(pd.read_csv(path).assign(run=a.run, corner=a.corner, seed=a.seed))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _interval(frame: pd.DataFrame, column: str) -> tuple[float, float, float]:
    """Mean over seeds and levels with the two-stage bootstrap (one seed: over levels)."""
    values, seeds = frame[column].to_numpy(float), frame["seed"].to_numpy()
    if len(np.unique(seeds)) > 1:
        return seed_level_interval(values, seeds)
    return mean_interval(values)


def summarize(root: Path, agents: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The over-agent tables of every item, per corner size (written next to ``agents/``)."""
    out: dict[str, pd.DataFrame] = {}
    choices = _agent_tables(root, agents, "choices")
    evals = _agent_tables(root, agents, "evaluation")
    rows = []
    for corner, grp in choices.groupby("corner"):
        grp = grp.assign(greedy=(grp["branch"] == "cheese").astype(float))
        p, plo, phi = _interval(grp, "p_cheese")
        g, glo, ghi = _interval(grp, "greedy")
        ev = evals[evals["corner"] == corner]
        rows.append(
            [
                corner,
                grp["seed"].nunique(),
                grp["level"].nunique(),
                p,
                plo,
                phi,
                g,
                glo,
                ghi,
                ev["success"].mean(),
                ev["length"].mean(),
            ]
        )
    out["decision"] = pd.DataFrame(
        rows,
        columns=[
            "corner",
            "seeds",
            "levels",
            "p_cheese",
            "p_low",
            "p_high",
            "greedy_cheese",
            "greedy_low",
            "greedy_high",
            "success_in",
            "length_in",
        ],
    )

    reg = _agent_tables(root, agents, "regression_reduced_summary")
    coef = _agent_tables(root, agents, "regression_reduced_coefficients")
    if len(reg):
        out["regression"] = (
            reg.groupby("corner")
            .agg(
                agents=("run", "size"),
                accuracy=("accuracy", "mean"),
                baseline=("baseline", "mean"),
                auc=("auc", "mean"),
                auc_min=("auc", "min"),
                auc_max=("auc", "max"),
                positives=("positives", "mean"),
                levels=("levels", "mean"),
            )
            .reset_index()
        )
        out["coefficients"] = (
            coef.groupby(["corner", "feature"])
            .agg(
                coef=("coef", "mean"),
                coef_min=("coef", "min"),
                coef_max=("coef", "max"),
                nonzero=("nonzero", "mean"),
                vif=("vif", "median"),
            )
            .reset_index()
        )

    for table, key in (("steering_effects", "steering"), ("corner_effects", "corner_vector")):
        eff = _agent_tables(root, agents, table)
        rows = []
        for (corner, layer, vector, coeff), grp in eff.groupby(
            ["corner", "layer", "vector", "coeff"], sort=False
        ):
            m, lo, hi = _interval(grp, "change")
            f, flo, fhi = _interval(grp.assign(fell=(grp["change"] < -1e-9).astype(float)), "fell")
            rows.append(
                [
                    corner,
                    layer,
                    vector,
                    coeff,
                    len(grp),
                    m,
                    lo,
                    hi,
                    float(grp["change"].median()),
                    f,
                    flo,
                    fhi,
                ]
            )
        out[key] = pd.DataFrame(
            rows,
            columns=[
                "corner",
                "layer",
                "vector",
                "coeff",
                "n",
                "mean_change",
                "low",
                "high",
                "median_change",
                "fell",
                "fell_low",
                "fell_high",
            ],
        )

    count = _agent_tables(root, agents, "channels_count")
    out["channels"] = (
        count.groupby(["corner", "layer"], sort=False)
        .agg(
            channels=("channels", "first"),
            both=("both", "mean"),
            both_min=("both", "min"),
            both_max=("both", "max"),
            share=("share", "mean"),
            tracking=("tracking", "mean"),
            mattering=("mattering", "mean"),
        )
        .reset_index()
    )

    ret = _agent_tables(root, agents, "retarget")
    rows = []
    for (corner, layer, scale, cond), grp in ret.groupby(
        ["corner", "layer", "scale", "condition"], sort=False
    ):
        r = _interval(grp.assign(hit=grp["reached"].astype(float)), "hit")
        g = _interval(grp, "path_gmean")
        touched = grp["touched"].mean() if cond in ("clamp", "random-channels") else 0.0
        reach = grp["within_reach"].mean()
        rows.append([corner, layer, scale, cond, len(grp), *r, *g, touched, reach])
    out["retarget"] = pd.DataFrame(
        rows,
        columns=[
            "corner",
            "layer",
            "scale",
            "condition",
            "n",
            "reached",
            "reached_low",
            "reached_high",
            "path_gmean",
            "gmean_low",
            "gmean_high",
            "touched",
            "within_reach",
        ],
    )

    em = _agent_tables(root, agents, "emmons")
    rows = []
    for (corner, target, cond), grp in em.groupby(["corner", "target", "condition"], sort=False):
        hits = int((grp["reached"] * grp["n"]).round().sum())
        n = int(grp["n"].sum())
        rate, low, high = wilson(hits, n)  # pooled over seeds: the seed range is beside it
        per_seed = grp["reached"].to_numpy()
        rows.append(
            [
                corner,
                target,
                cond,
                n,
                rate,
                low,
                high,
                per_seed.min(),
                per_seed.max(),
                grp["touched"].mean(),
                (grp["within_reach"] * grp["n"]).sum() / n,
            ]
        )
    out["emmons"] = pd.DataFrame(
        rows,
        columns=[
            "corner",
            "target",
            "condition",
            "n",
            "reached",
            "low",
            "high",
            "seed_min",
            "seed_max",
            "touched",
            "within_reach",
        ],
    )

    probe = _agent_tables(root, agents, "probe")
    out["probe"] = (
        probe.groupby(["corner", "layer"], sort=False)
        .agg(
            accuracy=("accuracy", "mean"),
            acc_min=("accuracy", "min"),
            acc_max=("accuracy", "max"),
            chance=("chance", "mean"),
            features=("features", "first"),
        )
        .reset_index()
    )
    return out
