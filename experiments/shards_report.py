"""Tables and macros of ``experiments/shards.py`` (imported by it, not a section).

Everything here reads the summaries and tracks; the settings the prose names come in a
``design`` dict from the experiment (its layer, clamp scale, splits, thresholds), so this
module holds no experiment configuration.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pandas as pd

from devrl.mechanisms import cheese_channels, choice_regression
from devrl.mechanisms.emmons import NEAR_SIDE
from devrl.paper import count_phrase, number_latex, write_macros, write_table

try:  # imported by the script (devrl paper) or from the repository root
    from shards_summary import TRACKED
except ImportError:  # pragma: no cover
    from experiments.shards_summary import TRACKED

PILOT_WINDOW = 100_000
"""Steps at the start and at the end of each pilot run over which its success is averaged."""
WORD = {1: "One", 2: "Two", 3: "Three", 5: "Five", 7: "Seven"}


def _default(fn, name: str):
    """A library function's default parameter: the prose names the value actually used."""
    return inspect.signature(fn).parameters[name].default


def _and_list(items: list) -> str:
    """``"1, 3 and 5"``."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def tracks_first(tracks: pd.DataFrame, measure: str) -> tuple[float, float, float]:
    """Mean, min and max over agents of ``measure`` at each agent's first tracked step."""
    c = tracks[tracks["measure"] == measure].sort_values("step").groupby("run").first()
    return float(c["value"].mean()), float(c["value"].min()), float(c["value"].max())


def _short(layer: str) -> str:
    """A hook name as the prose prints it: ``res1.hook\\_out``."""
    return layer.replace("trunk.", "").replace("_", r"\_")


def _pct(x: float) -> float:
    return round(100 * float(x), 1)


def _sci(x: float, digits: int = 2) -> str:
    """``number_latex`` of a finite number; ``n/a`` when there is none (e.g. no onsets)."""
    return number_latex(float(x), digits) if np.isfinite(x) else "n/a"


def make_macros(
    summary: dict[str, pd.DataFrame],
    order: pd.DataFrame,
    agents: pd.DataFrame,
    design: dict,
    path: Path,
) -> None:
    """Every number of the section's prose (``design``: the settings the prose names)."""
    layer = design["layer"]
    m: dict[str, object] = {
        "shSize": design["size"],
        "shSteps": number_latex(float(design["steps"])),
        "shCheckpoints": design["checkpoints"],
        "shCheckpointsTracked": design["tracked"],
        "shAgents": len(agents),
        "shSeedsPerCorner": int(agents.groupby("corner").size().min()),
        "shSeedsPhrase": count_phrase(int(agents.groupby("corner").size().min()), "seed"),
        "shLayer": layer.replace("_", r"\_"),
        "shConvLayer": _short(design["retarget_layers"]["Conv"]),
        "shEmScale": {1.0: "one", 5.0: "five"}.get(design["emmons_scale"], design["emmons_scale"]),
        "shCornerSides": _and_list(sorted(agents["corner"].unique())),
        "shRegSplits": design["reg_splits"],
        "shRegTrainPercent": round(100 * (1 - _default(choice_regression, "test_size"))),
        "shMinR": _default(cheese_channels, "min_r"),
        "shMinTv": _default(cheese_channels, "min_tv"),
        "shNearSide": NEAR_SIDE,
        "shProbeThreshold": round(100 * design["probe_threshold"]),
        "shPersist": {1: "one", 2: "two", 3: "three"}.get(design["persist"], design["persist"]),
    }
    for row in summary["decision"].itertuples():
        w = WORD[row.corner]
        m |= {
            f"shPCheese{w}": round(row.p_cheese, 3),
            f"shPCheese{w}Low": round(row.p_low, 3),
            f"shPCheese{w}High": round(row.p_high, 3),
            f"shGreedy{w}": round(row.greedy_cheese, 3),
            f"shSuccessIn{w}": round(row.success_in, 3),
            f"shLength{w}": round(row.length_in, 1),
            "shDecisionLevels": int(row.levels),
        }
    for row in summary.get("regression", pd.DataFrame()).itertuples():
        w = WORD[row.corner]
        m |= {
            f"shRegAcc{w}": round(row.accuracy, 3),
            f"shRegBase{w}": round(row.baseline, 3),
            f"shRegAuc{w}": round(row.auc, 3),
            f"shRegAucMin{w}": round(row.auc_min, 3),
            f"shRegAucMax{w}": round(row.auc_max, 3),
        }
    if "coefficients" in summary:
        vif = summary["coefficients"]
        m["shVifMax"] = number_latex(float(vif["vif"].replace(np.inf, np.nan).max()))
    st, cv = summary["steering"], summary["corner_vector"]
    for corner in sorted(st["corner"].unique()):
        w = WORD[corner]
        at = st[(st["corner"] == corner) & (st["layer"] == layer)].set_index(["vector", "coeff"])
        own = at.loc[("cheese", -1)]
        m |= {
            f"shVec{w}": round(own.mean_change, 3),
            f"shVec{w}Low": round(own.low, 3),
            f"shVec{w}High": round(own.high, 3),
            f"shVecFell{w}": _pct(own.fell),
            f"shVecMedian{w}": number_latex(own.median_change, 2),
            f"shVecPlus{w}": round(at.loc[("cheese", 1)].mean_change, 3),
            f"shVecRandom{w}": round(at.loc[("random", -1)].mean_change, 3),
            f"shVecOther{w}": round(at.loc[("other-level", -1)].mean_change, 3),
        }
        best = st[(st["corner"] == corner) & (st["vector"] == "cheese") & (st["coeff"] == -1)]
        best = best.loc[best["mean_change"].idxmin()]
        m |= {
            f"shVecBest{w}": round(best.mean_change, 3),
            f"shVecBestLayer{w}": _short(best.layer),
        }
        c = cv[(cv["corner"] == corner) & (cv["layer"] == layer)].set_index(["vector", "coeff"])
        m |= {
            f"shCornerVec{w}": round(c.loc[("corner", 1)].mean_change, 3),
            f"shCornerVec{w}Low": round(c.loc[("corner", 1)].low, 3),
            f"shCornerVec{w}High": round(c.loc[("corner", 1)].high, 3),
            f"shCornerVecRandom{w}": round(c.loc[("random", 1)].mean_change, 3),
            f"shCornerVecOther{w}": round(c.loc[("other-level", 1)].mean_change, 3),
        }
    ch = summary["channels"]
    for row in ch[ch["layer"] == layer].itertuples():
        w = WORD[row.corner]
        m |= {
            f"shChannels{w}": round(row.both, 2),
            f"shChannelsMin{w}": int(row.both_min),
            f"shChannelsMax{w}": int(row.both_max),
            "shChannelsOf": int(row.channels),
            f"shChannelsTracking{w}": round(row.tracking, 2),
        }
    for corner, grp in ch.groupby("corner"):
        m[f"shChannelsAll{WORD[corner]}"] = round(float(grp["both"].sum()), 1)
        m["shChannelsAllOf"] = int(grp["channels"].sum())
        top = grp.loc[grp["both"].idxmax()]
        m[f"shChannelsTopLayer{WORD[corner]}"] = _short(top.layer)
        m[f"shChannelsTop{WORD[corner]}"] = round(float(top.both), 2)
    rt = summary["retarget"]
    names = {"clamp": "Clamp", "none": "None", "random-channels": "Random", "move-cheese": "Move"}
    for corner in sorted(rt["corner"].unique()):
        w = WORD[corner]
        for lkey, where in design["retarget_layers"].items():
            for skey, scale in design["value_scales"].items():
                at = rt[
                    (rt["corner"] == corner) & (rt["layer"] == where) & (rt["scale"] == scale)
                ].set_index("condition")
                for cond, key in names.items():
                    m[f"shRet{lkey}{skey}{key}{w}"] = _pct(at.loc[cond, "reached"])
                m |= {
                    f"shRet{lkey}{skey}Clamp{w}Low": _pct(at.loc["clamp", "reached_low"]),
                    f"shRet{lkey}{skey}Clamp{w}High": _pct(at.loc["clamp", "reached_high"]),
                }
        m |= {
            f"shRetTouched{w}": number_latex(100 * at.loc["clamp", "touched"], 2),
            f"shRetReach{w}": _pct(at.loc["clamp", "within_reach"]),
        }
    em = summary["emmons"]
    for row in em.itertuples():
        w = WORD[row.corner]
        t = {"top-left": "TopLeft", "bottom-right": "BottomRight", "near-start": "NearStart"}[
            row.target
        ]
        c = {"none": "None", "clamp": "Clamp", "move-cheese": "Move", "random-channels": "Random"}[
            row.condition
        ]
        m[f"shEm{t}{c}{w}"] = _pct(row.reached)
        if row.condition == "clamp":
            m[f"shEmTouched{w}"] = number_latex(100 * row.touched, 2)
        if row.condition == "move-cheese":
            m[f"shEmReach{t}{w}"] = _pct(row.within_reach)
        m["shEmLevels"] = int(row.n) // int((agents["corner"] == row.corner).sum())
    pr = summary["probe"]
    for corner, grp in pr.groupby("corner"):
        w = WORD[corner]
        deep = grp[
            grp["layer"] != grp["layer"].iloc[0]
        ]  # past the first conv (which sees the input)
        best = deep.loc[deep["accuracy"].idxmax()]
        m |= {
            f"shProbeFirst{w}": _pct(grp["accuracy"].iloc[0]),
            f"shProbeBest{w}": _pct(best.accuracy),
            f"shProbeBestLayer{w}": _short(best.layer),
            f"shProbeLayer{w}": _pct(grp.set_index("layer").loc[layer, "accuracy"]),
            f"shProbeAbove{w}": int((grp["accuracy"] > design["probe_threshold"]).sum()),
            "shProbeLayers": len(grp),
            f"shProbeChance{w}": _pct(grp["chance"].mean()),
        }
    tracks = design["tracks"]
    random = tracks_first(tracks[tracks["step"] == 0], "choice-regression/auc")
    first = tracks_first(tracks[tracks["step"] > 0], "choice-regression/auc")
    m |= {"shRegAucRandom": round(random[0], 3), "shRegAucRandomMin": round(random[1], 3)}
    m |= {"shRegAucRandomMax": round(random[2], 3), "shRegAucInit": round(first[0], 3)}
    names = {
        "decision-cheese": "DecisionCheese",
        "choice-regression/auc": "RegAuc",
        "cheese-vector": "Vector",
        "cheese-channels": "Channels",
        "cheese-probe": "Probe",
        "retarget": "Retarget",
        "llc-action-uniform": "Llc",
    }
    for row in order.itertuples():
        n = names[row.measure]
        m |= {
            f"shLag{n}": round(row.mean_log10_lag, 2),
            f"shLag{n}Low": round(row.low, 2),
            f"shLag{n}High": round(row.high, 2),
            f"shLagBefore{n}": row.before,
            f"shLagAfter{n}": row.after,
            f"shLagAgents{n}": row.runs,
            f"shLagP{n}": _sci(row.sign_p),
        }
    m |= pilot_macros(design.get("pilot"))
    m = {
        k: ("n/a" if not np.isfinite(v) else v + 0.0) if isinstance(v, float) else v
        for k, v in m.items()
    }  # + 0.0 turns a rounded -0.0 into 0.0
    write_macros(path, m)


def write_lag_table(order: pd.DataFrame, order_llc: pd.DataFrame | None, tables: Path) -> None:
    """Each curve's onset lag against success's and against the LLC's, agent by agent."""

    def cell(row: pd.Series) -> str:
        if not np.isfinite(row["mean_log10_lag"]):
            return f"-- ({int(row['runs'])} agents)"
        return (
            f"{row['mean_log10_lag']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}], "
            f"{int(row['before'])}/{int(row['before'] + row['after'])} earlier, p={row['sign_p']:.2g}"
        )

    rows = []
    for measure, label in TRACKED.items():
        if measure == "success":
            continue
        entry = {"curve": label}
        for name, frame in (("vs success", order), ("vs LLC", order_llc)):
            hit = frame[frame["measure"] == measure] if frame is not None else frame
            entry[name] = cell(hit.iloc[0]) if hit is not None and len(hit) else "--"
        rows.append(entry)
    write_table(
        tables / "shards_lags.tex",
        pd.DataFrame(rows),
        caption="Onset of each curve against the same agent's success onset and LLC onset: "
        "mean log$_{10}$ lag (negative: earlier) with a 95\\% bootstrap interval over agents, "
        "agents earlier out of those with both onsets, exact sign-test $p$.",
        label="tab:shards-lags",
        fit_width=True,
    )


def pilot_macros(path: Path | None) -> dict[str, object]:
    """The 13x13 pilot's success early and late in its training logs (episode-weighted over
    the first and the last ``PILOT_WINDOW`` steps of each run); nothing without a pilot."""
    if path is None or not Path(path).is_file():
        return {}
    pilot = pd.read_csv(path).dropna(subset=["success"])
    m: dict[str, object] = {"shPilotSize": int(pilot["size"].iloc[0])}
    for corner, runs in pilot.groupby("corner"):
        w = WORD[corner]
        early, late, steps = [], [], []
        for _, r in runs.groupby("run"):
            first = r[r["step"] <= r["step"].min() + PILOT_WINDOW]
            last = r[r["step"] >= r["step"].max() - PILOT_WINDOW]
            early.append(np.average(first["success"], weights=first["episodes"]))
            late.append(np.average(last["success"], weights=last["episodes"]))
            steps.append(r["step"].max())
        m |= {
            f"shPilotRuns{w}": len(early),
            f"shPilotEarly{w}": round(float(np.mean(early)), 2),
            f"shPilotLate{w}": round(float(np.mean(late)), 2),
            f"shPilotLateMin{w}": round(float(np.min(late)), 2),
            f"shPilotLateMax{w}": round(float(np.max(late)), 2),
            f"shPilotSteps{w}": number_latex(float(np.max(steps))),
        }
    m["shPilotWindow"] = number_latex(float(PILOT_WINDOW))
    return m


def write_tables(
    summary: dict[str, pd.DataFrame], forms: pd.DataFrame, design: dict, tables: Path
) -> None:
    """The per-corner summary table and the winning form of each curve."""
    layer = design["layer"]
    dec = summary["decision"].set_index("corner")
    reg = summary.get("regression", pd.DataFrame(columns=["corner"])).set_index("corner")
    st = summary["steering"]
    st = st[(st["layer"] == layer) & (st["vector"] == "cheese") & (st["coeff"] == -1)].set_index(
        "corner"
    )
    ch = summary["channels"]
    ch = ch[ch["layer"] == layer].set_index("corner")
    rt = summary["retarget"]
    rt = rt[(rt["layer"] == layer) & (rt["scale"] == design["value_scales"][""])]
    rows = []
    for corner in dec.index:
        r = rt[rt["corner"] == corner].set_index("condition")["reached"]
        rows.append(
            {
                "corner": corner,
                "seeds": int(dec.loc[corner, "seeds"]),
                "success in dist.": dec.loc[corner, "success_in"],
                "P(cheese at d.s.)": f"{dec.loc[corner, 'p_cheese']:.3f} [{dec.loc[corner, 'p_low']:.3f}, {dec.loc[corner, 'p_high']:.3f}]",
                "regression AUC": reg["auc"].get(corner, np.nan),
                "cheese vector (-1)": f"{st.loc[corner, 'mean_change']:.3f} [{st.loc[corner, 'low']:.3f}, {st.loc[corner, 'high']:.3f}]",
                "cheese channels": ch.loc[corner, "both"],
                "retarget reach": f"{r['clamp']:.2f} (none {r['none']:.2f})",
            }
        )
    write_table(
        tables / f"{design['name']}.tex",
        pd.DataFrame(rows),
        caption="Shards at the final checkpoint, per corner-region side of training "
        "(means over seeds and levels, 95\\% two-stage bootstrap intervals; vector, "
        f"channels and retargeting at {layer.replace('_', chr(92) + '_')}).",
        label="tab:shards",
        fit_width=True,
    )
    if len(forms):
        best = forms.loc[forms.groupby(["corner", "measure"])["weight"].idxmax()]
        table = best.assign(curve=best["measure"].map(TRACKED))[
            ["corner", "curve", "form", "weight"]
        ]
        write_table(
            tables / f"{design['name']}_forms.tex",
            table,
            caption="Functional form of each curve over training with the largest "
            "AICc weight (seeds as groups), per corner size.",
            label="tab:shards-forms",
        )
