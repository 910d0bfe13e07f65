"""How strongly each detector reacts to the goal switch, against the no-switch control.

Part of ``experiments/goal_switch.py``'s analysis (used by ``goal_switch_section.py``).
Timing-based scores cannot tell a goal switch from the fine-tune's optimizer restart when a
detector fires at every restart. The *size* of the reaction can: per seed, the largest move
of the curve within the matching window after the switch (``restart_response``), divided by
the same seed's move in the no-switch control from the same parent, on a log scale (0: it
reacts as to a bare restart).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from devrl.forms.switches import restart_response
from devrl.paper import interval_text
from devrl.stats import bootstrap_ci

try:  # imported from goal_switch_section.py as a script, or from the repository root
    import goal_switch_report as report
except ImportError:  # pragma: no cover
    from experiments import goal_switch_report as report

UNFAIR = ("return",)  # measured on the run's own task, which itself changes at the switch


def responses(
    tracks: pd.DataFrame, sw: pd.DataFrame, detectors: dict, tol: float, control_of: dict
) -> pd.DataFrame:
    """Per switch direction, seed and detector: the response within ``tol`` x the fine-tune's
    length after the switch, and its log ratio to the same seed's response in the direction's
    control (``control_of[direction]``, the no-switch fine-tune of the same parent)."""
    at = sw.set_index(["direction", "seed"])
    rows = []
    for (direction, seed), df in tracks.groupby(["direction", "seed"]):
        s = at.loc[(direction, seed)]
        window = tol * (s["end"] - s["switch"])
        for label, measure in detectors.items():
            t, y, _ = report.curve(df, measure)
            size = restart_response(t, y, at=s["switch"], window=window)
            rows.append({"direction": direction, "seed": seed, "detector": label, "response": size})
    r = pd.DataFrame(rows)
    control = r.set_index(["direction", "seed", "detector"])["response"]
    r = r[r["direction"].isin(control_of)].reset_index(drop=True)
    keys = zip(r["direction"].map(control_of), r["seed"], r["detector"])
    base = control.reindex(pd.MultiIndex.from_tuples(list(keys))).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(r["response"].to_numpy() / base)
    return r.assign(**{"log ratio": np.where(np.isfinite(ratio), ratio, np.nan)})


def _wilcoxon(x) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2 or np.all(x == 0):
        return float("nan")
    return float(stats.wilcoxon(x).pvalue)


def summary(r: pd.DataFrame) -> pd.DataFrame:
    """Per direction and detector: mean log ratio [seed-bootstrap 95%], Wilcoxon p, seeds."""
    rows = []
    for (direction, detector), d in r.groupby(["direction", "detector"], sort=False):
        ci = bootstrap_ci(d["log ratio"], seed=0)
        rows.append(
            {
                "direction": direction,
                "detector": detector,
                "log ratio": ci.estimate,
                "log ratio lo": ci.low,
                "log ratio hi": ci.high,
                "p (Wilcoxon)": _wilcoxon(d["log ratio"]),
                "seeds": ci.n,
            }
        )
    return pd.DataFrame(rows)


def best_pair(r: pd.DataFrame, summ: pd.DataFrame) -> pd.DataFrame:
    """Per direction: the LLC and the fair trivial tracker with the largest mean log ratio,
    and their paired difference (LLC minus trivial) over seeds [interval], Wilcoxon p."""
    rows = []
    for direction, d in summ.groupby("direction", sort=False):
        llc = d[d["detector"].str.startswith("LLC")]
        trivial = d[~d["detector"].str.startswith("LLC") & ~d["detector"].isin(UNFAIR)]
        if llc["log ratio"].isna().all() or trivial["log ratio"].isna().all():
            continue
        a = llc.loc[llc["log ratio"].idxmax()]
        b = trivial.loc[trivial["log ratio"].idxmax()]
        per_seed = r[r["direction"] == direction].pivot(
            index="seed", columns="detector", values="log ratio"
        )
        diff = per_seed[a["detector"]] - per_seed[b["detector"]]
        ci = bootstrap_ci(diff, seed=0)
        rows.append(
            {
                "direction": direction,
                "llc": a["detector"],
                "llc log ratio": a["log ratio"],
                "llc lo": a["log ratio lo"],
                "llc hi": a["log ratio hi"],
                "trivial": b["detector"],
                "trivial log ratio": b["log ratio"],
                "trivial lo": b["log ratio lo"],
                "trivial hi": b["log ratio hi"],
                "difference": ci.estimate,
                "difference lo": ci.low,
                "difference hi": ci.high,
                "p (Wilcoxon)": _wilcoxon(diff),
                "seeds": ci.n,
            }
        )
    return pd.DataFrame(rows)


def phrase(row: pd.Series) -> str:
    """The prose of one direction: both detectors' response ratios and the LLC's excess."""

    def ratio(*keys: str) -> str:
        return interval_text(*(float(np.exp(row[k])) for k in keys), ".2f")

    llc = ratio("llc log ratio", "llc lo", "llc hi")
    trivial = ratio("trivial log ratio", "trivial lo", "trivial hi")
    excess = ratio("difference", "difference lo", "difference hi")
    return (
        f"{row['llc']} {llc} times the control's, against {row['trivial']} {trivial}; "
        f"the LLC's over the tracker's {excess} (Wilcoxon p = {row['p (Wilcoxon)']:.2g}, "
        f"{int(row['seeds'])} seeds)"
    )
