"""The outputs of ``experiments/goal_switch.py``: its saved tables, the figure, the detection
table and the macros the section's prose quotes, all from the saved tracks.

``goal_switch_report.py`` holds the analysis (switch times, detector scores),
``goal_switch_response.py`` the restart-response comparison; this module runs them on the
saved data and writes what the paper reads, so ``--figures-only`` rebuilds the section
without retraining.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from devrl.paper import count_phrase, data_dir, interval_text, number_latex, write_macros
from devrl.stats import bootstrap_ci

try:  # imported by goal_switch.py as a script, or from the repository root
    import goal_switch_report as report
    import goal_switch_response as response
except ImportError:  # pragma: no cover
    from experiments import goal_switch_report as report
    from experiments import goal_switch_response as response


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
    m |= {
        "gsTolPercent": round(100 * report.TOL),
        "gsMinChange": report.MIN_CHANGE,
        "gsBlock": report.BLOCK,
    }
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
        for label, row in report.DETECTORS.items()
        if f"{row}/healthy" in by_llc
    )
    llc = tracks[tracks["measure"].isin(report.LLC_ROWS)]["value"]  # NaN: a chain diverged
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
        if direction in report.CONTROLS:
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
    for direction in report.CONTROL_OF:
        row = strongest[strongest["direction"] == direction]
        phrase = response.phrase(row.iloc[0]) if len(row) else "n/a"
        m[f"gsResponse{_camel(direction)}"] = phrase
    controls = det[det["direction"].isin(report.CONTROLS)]
    control = controls.groupby("detector")["restart alarms"].mean()  # both controls' runs
    refined = report.DATA_REFINED
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
    sw = report.switches(tracks)
    sw.to_csv(out / "switches.csv", index=False)
    det = report.detection(tracks, sw, cfg["settings"])
    det.to_csv(out / "detection.csv", index=False)
    best = report.best_against_trivial(tracks, sw, det)
    best.to_csv(out / "best_against_trivial.csv", index=False)
    sizes = response.responses(tracks, sw, report.DETECTORS, report.TOL, report.CONTROL_OF)
    summary = response.summary(sizes)
    summary.to_csv(out / "restart_response.csv", index=False)
    strongest = response.best_pair(sizes, summary)
    strongest.to_csv(out / "restart_response_best.csv", index=False)
    report.figure_curves(tracks, sw, args.figures / f"{report.NAME}_curves", design["directions"])
    report.table_detection(det, args.tables / f"{report.NAME}.tex")
    macros(
        tracks,
        sw,
        det,
        best,
        strongest,
        cfg["settings"],
        cfg["cpu_seconds"],
        args.tables / f"{report.NAME}_macros.tex",
        design["size"],
    )
