"""Analysis, figures, tables and macros of ``experiments/goal_switch.py`` (imported by it, not a section).

Everything here reads the saved tracks, so ``--figures-only`` rebuilds the section without
retraining: the behavioural switch of every run, each detector's scores against it, and the
section's outputs.
"""

from __future__ import annotations

import json

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
    count_phrase,
    data_dir,
    interval_text,
    number_latex,
    save_figure,
    write_macros,
    write_table,
)
from devrl.stats import bootstrap_ci, f1_difference

try:  # imported by goal_switch.py as a script, or from the repository root
    import goal_switch_response as response
except ImportError:  # pragma: no cover
    from experiments import goal_switch_response as response

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
    for direction, d in det[det["f1"].notna()].groupby("direction"):
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


def cpu_costs(timing: dict) -> pd.DataFrame:
    """Each run's CPU seconds per part, tidy, with ``estimate`` for the mode's total.

    ``timing`` maps seed -> {"train <run>": s, "track <run>": s, "complete <run>": bool}. A
    run whose record is not ``complete`` (work from before records existed, or a session
    killed mid-way) is estimated by the mean of the complete runs of its kind (parent or
    child) and part; records without the flag count as complete."""
    rows = []
    for seed, t in timing.items():
        for key, seconds in t.items():
            part, run = key.split(" ", 1)
            if part in ("train", "track"):
                complete = bool(t.get(f"complete {run}", True))
                kind = "parent" if run.startswith("parent_") else "child"
                rows.append((seed, run, kind, part, float(seconds), complete))
    cpu = pd.DataFrame(rows, columns=["seed", "run", "kind", "part", "seconds", "complete"])
    mean = cpu[cpu["complete"]].groupby(["kind", "part"])["seconds"].mean()
    fill = [mean.get((k, p), np.nan) for k, p in zip(cpu["kind"], cpu["part"])]
    return cpu.assign(estimate=cpu["seconds"].where(cpu["complete"], fill))


def table_detection(det: pd.DataFrame, path) -> None:
    """The detection table, intervals in brackets."""
    d = det[det["direction"] != "control"]
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


def _camel(text: str) -> str:
    words = [w for w in "".join(c if c.isalpha() else " " for c in text).split()]
    return "".join(w.capitalize() for w in words)


def macros(tracks, sw, det, best, strongest, cfg, timing, path, size: int) -> None:
    """The numbers the section's prose quotes."""
    m = {"gsSeeds": count_phrase(int(sw["seed"].nunique()), "seed")}
    m["gsSize"] = int(size)
    m["gsParentSteps"] = number_latex(cfg["parent_steps"])
    m["gsChildSteps"] = number_latex(cfg["child_steps"])
    m |= {"gsCheckpoints": cfg["checkpoints"], "gsSamples": cfg["samples"]}
    m |= {"gsChains": cfg["chains"], "gsDraws": cfg["draws"], "gsLevels": cfg["levels"]}
    m |= {"gsTolPercent": round(100 * TOL), "gsMinChange": MIN_CHANGE, "gsBlock": BLOCK}
    m["gsTolSteps"] = number_latex(round(float(det["tol"].iloc[0]), -2))
    cpu = cpu_costs(timing)
    measured = cpu[cpu["complete"]]
    parents = measured[(measured["kind"] == "parent") & (measured["part"] == "train")]
    m["gsTrainCpu"] = float(parents["seconds"].mean())
    m["gsTrainCpuPerM"] = float(parents["seconds"].mean() / cfg["parent_steps"] * 1e6)
    n_ckpt = tracks.groupby(["direction", "seed"])["step"].nunique().mean() / 2  # per run
    tracked = measured[measured["part"] == "track"]["seconds"]
    m["gsTrackCpuPerCheckpoint"] = float(tracked.mean() / n_ckpt)
    m["gsTotalCpuMinutes"] = float(cpu["estimate"].sum() / 60)
    runs = cpu.drop_duplicates(["seed", "run"])
    m["gsCpuMeasuredRuns"] = f"{int(runs['complete'].sum())} of {len(runs)}"
    n_decision = tracks[tracks["measure"] == "llc-action-decision/n"]["value"]
    m["gsDecisionStates"] = int(n_decision.max())
    healthy = tracks[tracks["measure"].str.endswith("/healthy")]["value"]
    m["gsHealthyPercent"] = 100 * float(healthy.mean())
    by_llc = 100 * tracks.groupby("measure")["value"].mean()
    m["gsHealthyByLlc"] = "; ".join(
        f"{label} {by_llc[f'{row}/healthy']:.0f}\\%"
        for label, row in DETECTORS.items()
        if f"{row}/healthy" in by_llc
    )
    llc = tracks[tracks["measure"].isin(LLC_ROWS)]["value"]  # NaN: a chain diverged
    m["gsDivergedPercent"] = 100 * float(llc.isna().mean())
    for direction, s in sw.groupby("direction"):
        key = _camel(direction)
        n = int(np.isfinite(s["behaviour_switch"]).sum())
        m[f"gsSwitched{key}"] = f"{n} of {len(s)}"
        m[f"gsBefore{key}"] = float(s["behaviour_before"].mean())
        m[f"gsAfter{key}"] = float(s["behaviour_after"].mean())
        lag = bootstrap_ci(s["lag"] / 1e3, seed=0)
        m[f"gsLag{key}"] = interval_text(lag.estimate, lag.low, lag.high, ".0f")
        width = (s["behaviour_hi"] - s["behaviour_lo"]) / 1e3
        m[f"gsWidth{key}"] = float(width.mean()) if width.notna().any() else float("nan")
    if "f1" not in det:
        det = det.assign(f1=np.nan)
    for direction, d in det.groupby("direction"):
        key = _camel(direction)
        restart = d.set_index("detector")["restart alarms"]
        m[f"gsRestart{key}"] = ", ".join(f"{k} {v:.1f}" for k, v in restart.items())
        if direction == "control":
            continue
        row = best[best["direction"] == direction]
        if len(row):
            b = row.iloc[0]
            m[f"gsBestLlc{key}"] = str(b["llc"])
            m[f"gsBestTrivial{key}"] = str(b["trivial"])
            m[f"gsBestLlcFone{key}"] = float(b["llc f1"])
            m[f"gsBestTrivialFone{key}"] = float(b["trivial f1"])
            gap = (b["difference"], b["difference lo"], b["difference hi"])
            m[f"gsBestGap{key}"] = interval_text(*gap, fmt="+.2f")
            m[f"gsBestGapP{key}"] = float(b["p (paired permutation)"])
        else:
            for tag in ("Llc", "Trivial"):
                m[f"gsBest{tag}{key}"] = "none (no seed switched)"
                m[f"gsBest{tag}Fone{key}"] = float("nan")
            m[f"gsBestGap{key}"] = "n/a"
            m[f"gsBestGapP{key}"] = float("nan")
        p_random = d.set_index("detector")["p (random)"]
        for tag in ("Llc", "Trivial"):
            m[f"gsBest{tag}P{key}"] = float(p_random.get(m[f"gsBest{tag}{key}"], float("nan")))
        beats = d[(d["p (random)"] < 0.05) & (d["p (circular)"] < 0.05)]["detector"]
        m[f"gsBeating{key}"] = ", ".join(beats) if len(beats) else "none"
    m["gsLlcVerdict"] = llc_verdict(best)
    for direction in sw["direction"].unique()[sw["direction"].unique() != response.CONTROL]:
        row = strongest[strongest["direction"] == direction]
        phrase = response.phrase(row.iloc[0]) if len(row) else "n/a"
        m[f"gsResponse{_camel(direction)}"] = phrase
    control = det[det["direction"] == "control"].set_index("detector")["restart alarms"]
    refined = DATA_REFINED
    m["gsRestartDecisionControl"] = float(control.get(refined, float("nan")))
    others = [d for d in control.index if d.startswith("LLC") and d != refined]
    m["gsRestartOtherLlcControl"] = float(control[others].mean()) if others else float("nan")
    gap = m["gsRestartDecisionControl"] - m["gsRestartOtherLlcControl"]
    m["gsRestartDecisionComparison"] = (
        "less often than" if gap < 0 else "more often than" if gap > 0 else "as often as"
    )
    write_macros(path, m)


def llc_verdict(best: pd.DataFrame) -> str:
    """One sentence: in which directions the best LLC beats, loses to or ties the best
    trivial tracker, judged by the paired interval of their F1 difference."""
    if not len(best):
        return "No direction switched, so no detector could be compared."
    where = {"above": [], "below": [], "includes": []}
    for _, row in best.iterrows():
        low, high = row["difference lo"], row["difference hi"]
        side = "above" if low > 0 else "below" if high < 0 else "includes"
        where[side].append(row["direction"].replace("-", " "))
    if where["above"]:
        lead = f"The best LLC beats the best trivial tracker in {', '.join(where['above'])}"
    else:
        lead = "In no direction does the best LLC beat the best trivial tracker"
    text = {"below": "lies below zero in", "includes": "includes zero in"}
    rest = [f"{text[k]} {', '.join(where[k])}" for k in text if where[k]]
    if not rest:
        return f"{lead}."
    return f"{lead}; the paired interval of their difference {' and '.join(rest)}."


def make_figures(args, design: dict) -> None:
    """Switch times, the detection table, figure and macros from the saved tracks only.

    ``design`` names what the experiment configured: its ``directions`` (in order) and the
    maze ``size``."""
    try:
        out = data_dir(args.out, args.quick, reading="tracks.csv")
    except FileNotFoundError as err:
        if args.quick or not args.figures_only:
            raise
        # the section's prose shows "data pending" while its macros are undefined
        print(f"[goal_switch] {err}; full-mode outputs not written (data pending)")
        return
    cfg = json.loads((out / "timing.json").read_text())
    tracks = pd.read_csv(out / "tracks.csv")
    sw = switches(tracks)
    sw.to_csv(out / "switches.csv", index=False)
    det = detection(tracks, sw, cfg["settings"])
    det.to_csv(out / "detection.csv", index=False)
    best = best_against_trivial(tracks, sw, det)
    best.to_csv(out / "best_against_trivial.csv", index=False)
    sizes = response.responses(tracks, sw, DETECTORS, TOL)
    response.summary(sizes).to_csv(out / "restart_response.csv", index=False)
    strongest = response.best_pair(sizes, response.summary(sizes))
    strongest.to_csv(out / "restart_response_best.csv", index=False)
    figure_curves(tracks, sw, args.figures / f"{NAME}_curves", design["directions"])
    table_detection(det, args.tables / f"{NAME}.tex")
    macros(
        tracks,
        sw,
        det,
        best,
        strongest,
        cfg["settings"],
        cfg["cpu_seconds"],
        args.tables / f"{NAME}_macros.tex",
        design["size"],
    )
