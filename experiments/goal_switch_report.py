"""Analysis, figure and table of ``experiments/goal_switch.py`` (imported by it, not a section).

Everything here reads the saved tracks: the behavioural switch of every run, each detector's
scores against it, the best LLC against the best trivial tracker, the curves' figure and the
detection table. ``goal_switch_section.py`` runs it on the saved data and writes the macros.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl.forms.switches import (
    SwitchCurve,
    behaviour_switch,
    crossing_time,
    switch_seed_shifts,
)
from devrl.forms.switches import score_switch_detector as score
from devrl.paper import (
    interval_text,
    save_figure,
    write_table,
)
from devrl.stats import f1_difference

# --------------------------------------------------------------------------- analysis


NAME = "goal_switch"
BEHAVIOUR = "decision-cheese"
BLOCK = "trunk.res3"  # the weight-refined LLC samples only this residual block
DATA_REFINED = "LLC action, decision squares"  # the data-refined LLC's label
# detector label -> tracked row; LLCs first, then the trivial trackers
DETECTORS = {
    "LLC action (uniform)": "llc-action-uniform",
    "LLC value (uniform)": "llc-value-uniform",
    f"LLC action, {BLOCK} only": "llc-action-block",
    DATA_REFINED: "llc-action-decision",
    "weight norm": "weight-norm",
    "distance moved": "weight-distance/per-kstep",
    "policy KL": "policy-kl/per-kstep",
    "policy entropy": "state-entropy",
    "return": "return",
}
LLC_ROWS = [v for k, v in DETECTORS.items() if k.startswith("LLC")]
# each switch direction is compared with the no-switch fine-tune of the same parent
CONTROL_OF = {
    "corner-to-anywhere": "control",
    "anywhere-to-corner": "control-anywhere",
    "cheese-to-cell": "control-anywhere",
}
CONTROLS = tuple(dict.fromkeys(CONTROL_OF.values()))
TOL = 0.15  # matching tolerance, as a share of the post-switch training length
MIN_CHANGE = 0.1  # a behavioural switch moves P(cheese | decision square) at least this much


def curve(df: pd.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = df[df["measure"] == measure].sort_values("step")
    return d["step"].to_numpy(float), d["value"].to_numpy(float), d["stderr"].to_numpy(float)


def switches(tracks: pd.DataFrame) -> pd.DataFrame:
    """Per direction and seed: goal change, behavioural switch [interval], first learning."""
    rows = []
    for (direction, seed), df in tracks.groupby(["direction", "seed"]):
        switch = float(df["switch"].iloc[0])
        t, y, se = curve(df, BEHAVIOUR)
        est, lo, hi = behaviour_switch(t, y, se, start=switch, min_change=MIN_CHANGE, seed=seed)
        tr, r, _ = curve(df[df["phase"] == "before"], "return")
        learning = crossing_time(tr, r, start=tr[0]) if np.ptp(r) >= MIN_CHANGE else np.nan
        at = np.flatnonzero(t <= switch)[-1]
        rows.append(
            {
                "direction": direction,
                "seed": seed,
                "switch": switch,
                "end": t[-1],
                "behaviour_before": y[at],
                "behaviour_after": float(np.mean(y[-3:])),
                "behaviour_switch": est,
                "behaviour_lo": lo,
                "behaviour_hi": hi,
                "lag": est - switch,
                "learning": learning,
            }
        )
    return pd.DataFrame(rows)


def _curves(dd: pd.DataFrame, at: pd.DataFrame, direction: str, measure: str) -> tuple:
    """One direction's :class:`SwitchCurve` per seed for one tracked row, and the tolerance."""
    curves, tol = [], np.nan
    for seed, df in dd.groupby("seed"):
        s = at.loc[(direction, seed)]
        tol = TOL * (s["end"] - s["switch"])
        t, y, _ = curve(df, measure)
        window = s["switch"] - (s["end"] - s["switch"])
        curves.append(SwitchCurve(t, y, s["switch"], s["behaviour_switch"], window, s["learning"]))
    return curves, tol


def detection(tracks: pd.DataFrame, sw: pd.DataFrame, cfg: dict) -> pd.DataFrame:
    """The detection table: detector x direction -> recall, precision, nulls, lag, alarms."""
    rows = []
    at = sw.set_index(["direction", "seed"])
    for direction, dd in tracks.groupby("direction"):
        for label, measure in DETECTORS.items():
            curves, tol = _curves(dd, at, direction, measure)
            row = score(
                curves,
                tol=tol,
                n_null=cfg["n_null"],
                n_permutations=cfg["n_permutations"],
                seed=0,
            )
            rows.append({"direction": direction, "detector": label, "tol": tol, **row})
    return pd.DataFrame(rows)


def best_against_trivial(tracks: pd.DataFrame, sw: pd.DataFrame, det: pd.DataFrame) -> pd.DataFrame:
    """Per direction with switched seeds: the best LLC and the best trivial tracker (pooled
    F1) and their F1 difference on the same seeds, with a paired seed-bootstrap interval and
    a paired permutation p (:func:`devrl.stats.f1_difference`)."""
    rows = []
    at = sw.set_index(["direction", "seed"])
    switched = det["f1"].notna() & ~det["direction"].isin(CONTROLS)
    for direction, d in det[switched].groupby("direction"):
        is_llc = d["detector"].str.startswith("LLC")
        groups = {"llc": d[is_llc], "trivial": d[~is_llc]}
        if any(part.empty for part in groups.values()):
            continue
        best = {k: part.loc[part["f1"].idxmax()] for k, part in groups.items()}
        dd = tracks[tracks["direction"] == direction]
        shifts = {}
        for k, b in best.items():
            curves, tol = _curves(dd, at, direction, DETECTORS[b["detector"]])
            shifts[k] = switch_seed_shifts(curves, tol=tol)
        diff, p = f1_difference(shifts["llc"], shifts["trivial"], tol=1.0, seed=0)
        rows.append(
            {
                "direction": direction,
                "llc": best["llc"]["detector"],
                "llc f1": best["llc"]["f1"],
                "trivial": best["trivial"]["detector"],
                "trivial f1": best["trivial"]["f1"],
                "difference": diff.estimate,
                "difference lo": diff.low,
                "difference hi": diff.high,
                "seeds": diff.n,
                "p (paired permutation)": p,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "direction",
            "llc",
            "llc f1",
            "trivial",
            "trivial f1",
            "difference",
            "difference lo",
            "difference hi",
            "seeds",
            "p (paired permutation)",
        ],
    )


# --------------------------------------------------------------------------- figures


def figure_curves(tracks: pd.DataFrame, sw: pd.DataFrame, path_stem, directions: list) -> None:
    """Per direction (columns): behaviour, then four detectors, one line per seed; dashed: the
    goal change; dotted: each seed's behavioural switch."""
    rows = [BEHAVIOUR, "llc-action-uniform", "llc-action-block", "weight-distance/per-kstep"]
    rows += ["policy-kl/per-kstep"]
    labels = ["P(cheese | decision sq.)", "LLC action", f"LLC {BLOCK}", "distance / kstep"]
    labels += ["policy KL / kstep"]
    fig, axes = plt.subplots(len(rows), len(directions), figsize=(7.5, 7.0), sharex="col")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    at = sw.set_index(["direction", "seed"])
    for j, direction in enumerate(directions):
        dd = tracks[tracks["direction"] == direction]
        for k, (seed, df) in enumerate(dd.groupby("seed")):
            s = at.loc[(direction, seed)]
            for i, measure in enumerate(rows):
                ax = axes[i, j]
                t, y, _ = curve(df, measure)
                ax.plot(t / 1e6, y, color=colors[k % len(colors)], lw=0.8, marker="o", ms=1.5)
                ax.axvline(s["switch"] / 1e6, color="0.4", ls="--", lw=0.7)
                if np.isfinite(s["behaviour_switch"]):
                    ax.axvline(s["behaviour_switch"] / 1e6, color=colors[k % len(colors)], ls=":")
        axes[0, j].set_title(direction, fontsize=8)
        axes[-1, j].set_xlabel("env steps (M)", fontsize=7)
    for i, label in enumerate(labels):
        axes[i, 0].set_ylabel(label, fontsize=7)
    for ax in axes.flat:
        ax.tick_params(labelsize=6)
    fig.tight_layout(h_pad=0.3, w_pad=0.3)
    save_figure(fig, path_stem)


def table_detection(det: pd.DataFrame, path) -> None:
    """The detection table, intervals in brackets."""
    d = det[~det["direction"].isin(CONTROLS)]
    table = pd.DataFrame(
        {
            "direction": d["direction"],
            "detector": d["detector"],
            "recall": [
                interval_text(*r) for r in d[["recall", "recall lo", "recall hi"]].to_numpy()
            ],
            "precision": [
                interval_text(*r)
                for r in d[["precision", "precision lo", "precision hi"]].to_numpy()
            ],
            "null R/P": [
                f"{r:.2f}/{p:.2f}" if np.isfinite(r) else "--"
                for r, p in d[["null recall (random)", "null precision (random)"]].to_numpy()
            ],
            "p (gaps/circ/perm)": [
                f"{a:.2f}/{b:.2f}/{c:.2f}" if np.isfinite(a) else "--"
                for a, b, c in d[["p (random)", "p (circular)", "p (permutation)"]].to_numpy()
            ],
            "lag (k steps)": [
                interval_text(*(np.asarray(r) / 1e3), fmt=".0f")
                for r in d[["lag", "lag lo", "lag hi"]].to_numpy()
            ],
            "at learning": d["learning alarms"].map(lambda v: f"{v:.2f}"),
        }
    )
    caption = (
        "Detectors of the behavioural switch, per switch direction: pooled recall and "
        "precision over seeds with seed-bootstrap 95\\% intervals, the random-gap null's "
        "recall/precision, p-values of F1 against random gaps, circular shifts and time "
        "permutations, the lag of the nearest matching shift behind the behavioural switch "
        "(thousands of env steps, 95\\% bootstrap interval over seeds), and the share of seeds "
        "with a shift at the first learning transition."
    )
    write_table(path, table, caption, "tab:goal-switch-detection", fit_width=True)
