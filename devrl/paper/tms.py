"""Table shapes and number macros of the TMS sections (experiments/tms_*.py); the panels are
in :mod:`devrl.paper.tms_panels`.

Everything here reads saved data only: batches of TMS runs loaded with
``load_tms_runs(..., weights="snapshots")`` and the tidy tables the experiments write
(llc.csv.gz, detection.csv, geometry.csv, kgon_llc.csv, transitions.csv).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from devrl.paper.script import count_phrase, number_latex
from devrl.theory.tms_feedback import unrepresented_share

__all__ = [
    "DETECTION_CURVES",
    "DETECTION_INTERVALS",
    "DETECTION_P",
    "DETECTION_SCORES",
    "FINAL_CURVES",
    "curve_word",
    "detection_macros",
    "feedback_macros",
    "final_llc_macros",
    "final_phrase",
    "geometry_macros",
    "kgon_macros",
    "power_latex",
    "transition_macros",
    "with_missing",
]

#: Macro key, detection.csv column and format of each detection score.
DETECTION_SCORES = (
    ("Det", "detected", ".2f"),
    ("Jd", "jumps detected", ".2f"),
    ("Fa", "false alarms", ".2f"),
    ("Lag", "lag (epochs)", ".0f"),
    ("Step", "step at jumps", ".3g"),
    ("Rise", "jumps rising", ".2f"),
    ("Null", "null recall (log)", ".2f"),
    ("NullGap", "null recall (random)", ".2f"),
    ("NullCirc", "null recall (circular)", ".2f"),
    ("NullPrec", "null precision (log)", ".2f"),
)
#: Macro key and detection.csv columns (estimate, low, high) of each score with an interval,
#: written "0.90 [0.79, 1.00]"; then the p-values ("P": the largest of the three nulls' p).
DETECTION_INTERVALS = (
    ("Rec", ("recall", "recall lo", "recall hi"), ".2f"),
    ("Prec", ("precision", "precision lo", "precision hi"), ".2f"),
    ("StepCi", ("step at jumps", "step lo", "step hi"), ".3g"),
)
DETECTION_P = (("P", ("p (random)", "p (log)", "p (circular)")), ("RiseP", ("p rising",)))
#: Curves whose last value (median over seeds) becomes a macro, and the macro's word.
FINAL_CURVES = {
    "llc/oracle": "LlcOracle",
    "llc/oracle corrected": "LlcOracleCorrected",
    "curvature/oracle": "CurvatureOracle",
    "llc/action": "LlcAction",
    "llc/reward": "LlcReward",
    "first-order/oracle": "FirstOrderOracle",
}


def power_latex(x: float) -> str:
    """A power of ten for math mode, ``"10^{-3}"``; any other number as ``number_latex``.

    Step sizes and nβ are set as powers of ten and read best as such; use inside ``$...$``.
    """
    if x > 0 and float(math.log10(x)).is_integer():
        return f"10^{{{int(math.log10(x))}}}"
    return number_latex(x)


def curve_word(curve: str) -> str:
    """Macro word of a detection curve: 'LLC oracle_initial corrected' -> LlcOracleInitialCorrected."""
    words = curve.replace("_", " ").replace("-", " ").replace("(", " ").replace(")", " ").split()
    return "".join(w.capitalize() for w in words if w.isalpha())


def _p_text(p: float) -> str:
    return "n/a" if np.isnan(p) else (f"{p:.3g}" if p >= 0.001 else "<0.001")


def detection_macros(det: pd.DataFrame, words: Mapping[str, str], prefix: str = "tmsRl") -> dict:
    """``{prefix}{Score}{Learner}{Curve}`` for every row of a detection table ('n/a' for NaN).

    Scores are those of :data:`DETECTION_SCORES`, :data:`DETECTION_INTERVALS` (estimate with
    its 95% interval) and :data:`DETECTION_P` whose columns the table has.

    Args:
        det: rows with ``learner``, ``curve`` and detection.csv's score columns.
        words: learner label -> its macro word.
    """
    out = {}
    for _, r in det.iterrows():
        stem = f"{words[r['learner']]}{curve_word(r['curve'])}"
        for key, col, fmt in DETECTION_SCORES:
            if col in r.index:
                v = r[col]
                out[f"{prefix}{key}{stem}"] = "n/a" if np.isnan(v) else format(v, fmt)
        for key, cols, fmt in DETECTION_INTERVALS:
            if all(c in r.index for c in cols):
                est, lo, hi = (float(r[c]) for c in cols)
                text = "n/a" if np.isnan(est) else format(est, fmt)
                if not np.isnan(est) and not np.isnan(lo):
                    text += f" [{lo:{fmt}}, {hi:{fmt}}]"
                out[f"{prefix}{key}{stem}"] = text
        for key, cols in DETECTION_P:
            if all(c in r.index for c in cols):
                out[f"{prefix}{key}{stem}"] = _p_text(max(float(r[c]) for c in cols))
    return out


def final_llc_macros(llc: pd.DataFrame, words: Mapping[str, str], prefix: str = "tmsRl") -> dict:
    """Median over seeds of each :data:`FINAL_CURVES` curve at its last checkpoint
    (``{prefix}{Run}Final{Curve}``), and the most negative first-order term along each run
    (median over seeds, ``{prefix}{Run}MinFirstOrder``).

    Args:
        llc: tidy LLC rows (run, seed, step, measure, value).
        words: run name -> its macro word.
    """
    out = {}
    for (run, measure), d in llc.groupby(["run", "measure"]):
        if measure not in FINAL_CURVES:
            continue
        word = words[run]
        last = d[d.step == d.step.max()].value
        out[f"{prefix}{word}Final{FINAL_CURVES[measure]}"] = f"{np.nanmedian(last):.2f}"
        if measure == "first-order/oracle":
            out[f"{prefix}{word}MinFirstOrder"] = f"{d.groupby('seed').value.min().median():.0f}"
    return out


def geometry_macros(geo: pd.DataFrame, prefix: str = "tmsRl") -> dict:
    """The 4⁺-gon's autograd min eigenvalue (one smooth piece at a ReLU kink), the one-sided
    second derivatives along its eigenvector on both sides, the minimum one-sided curvature
    there, and the smallest such minimum over every k-gon (geometry.csv)."""
    g = geo.set_index(["phase", "loss"])
    hess = ("4+", "TMS loss (Hessian)")
    tms = geo[geo["loss"] == "TMS loss (Hessian)"]
    return {
        f"{prefix}FourPlusMinEig": f"{g.loc[hess, 'min eigenvalue']:.4f}",
        f"{prefix}FourPlusCurvPlus": f"{g.loc[hess, 'curvature +v']:.3f}",
        f"{prefix}FourPlusCurvMinus": f"{g.loc[hess, 'curvature -v']:.3f}",
        f"{prefix}FourPlusMinOneSided": f"{g.loc[hess, 'min one-sided']:.4f}",
        f"{prefix}KgonMinOneSided": f"{tms['min one-sided'].min():.4f}",
    }


def feedback_macros(W, b, sigma: float, kappa: float, prefix: str = "tmsRl") -> dict:
    """Share of contexts the feedback map settles at for the two features each seed's final
    policy leaves unrepresented: mean and range over seeds (W [seeds, 2, c], b [seeds, c])."""
    shares = np.array(
        [unrepresented_share(w, bb, sigma, kappa, 2, seed=s) for s, (w, bb) in enumerate(zip(W, b))]
    )
    return {
        f"{prefix}FeedbackShare": f"{shares.mean():.2f}",
        f"{prefix}FeedbackShareLo": f"{shares.min():.2f}",
        f"{prefix}FeedbackShareHi": f"{shares.max():.2f}",
    }


def kgon_macros(kg: pd.DataFrame, prefix: str = "tmsRl") -> dict:
    """LLC estimates (and their std and theory) at the exact 5- and 6-gon, n and the
    sampler's settings (kgon_llc.csv)."""
    kg = kg.set_index("phase")
    out = {}
    for ph, word in (("5", "Five"), ("6", "Six")):
        key = int(ph) if int(ph) in kg.index else ph
        out[f"{prefix}Kgon{word}"] = f"{kg.loc[key, 'llc']:.2f}"
        out[f"{prefix}Kgon{word}Std"] = f"{kg.loc[key, 'std']:.2f}"
        out[f"{prefix}Kgon{word}Truth"] = f"{kg.loc[key, 'truth']:g}"
    first = kg.iloc[0]
    out[f"{prefix}KgonN"] = power_latex(int(first["n"]))
    for col in ("lr", "nbeta"):
        out[f"{prefix}Kgon{col.capitalize()}"] = power_latex(float(first[col]))
    out[f"{prefix}KgonLocalization"] = f"{first['localization']:g}"
    for col in ("chains", "burnin", "draws"):
        out[f"{prefix}Kgon{col.capitalize()}"] = number_latex(int(first[col]))
    out[f"{prefix}KgonBatch"] = number_latex(int(first["batch_size"]))
    return out


def _gon(phase: str) -> str:
    if phase == "other":
        return "in no $k$-gon phase"
    k, plus = phase.rstrip("+"), len(phase) - len(phase.rstrip("+"))
    return f"on a {k}-gon" if not plus else f"on a ${k}^{{{'+' * plus}}}$-gon"


def final_phrase(final: str) -> str:
    """Prose for a transitions table's ``final`` cell: ``"5+:15, 6:1"`` ->
    ``"fifteen seeds on a $5^{+}$-gon and one on a 6-gon"`` (most common phase first).

    Args:
        final: ``phase:count`` pairs joined by ``", "`` (:func:`transition_stats`).
    """
    pairs = []
    for item in str(final).split(", "):
        phase, _, count = item.rpartition(":")
        if not phase or not count.isdigit():
            raise ValueError(f"final must be 'phase:count' pairs like '5+:15, 6:1', got {final!r}")
        pairs.append((phase, int(count)))
    pairs.sort(key=lambda p: -p[1])  # stable: ties keep the table's order
    parts = [f"{count_phrase(pairs[0][1], 'seed')} {_gon(pairs[0][0])}"]
    parts += [f"{count_phrase(n, 'seed').split()[0]} {_gon(p)}" for p, n in pairs[1:]]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def transition_macros(stats: pd.DataFrame, words: Mapping[str, str], prefix: str = "tmsRl") -> dict:
    """Jumped, Seeds, Epochs, JumpEpochs, Plateaus of each learner of a transitions table,
    and the counts as prose: SeedsPhrase ("sixteen seeds"), JumpsPhrase ("four jumps") and
    Final (:func:`final_phrase`)."""
    out = {}
    for key, row in stats.set_index("learner").iterrows():
        word = words[key]
        out[f"{prefix}{word}Jumped"] = int(row["jumped"])
        out[f"{prefix}{word}JumpsPhrase"] = count_phrase(int(row["jumped"]), "jump")
        out[f"{prefix}{word}Seeds"] = int(row["seeds"])
        out[f"{prefix}{word}SeedsPhrase"] = count_phrase(int(row["seeds"]), "seed")
        out[f"{prefix}{word}Final"] = final_phrase(row["final"])
        out[f"{prefix}{word}Epochs"] = int(row["epochs"])
        out[f"{prefix}{word}JumpEpochs"] = row["jump epochs"]
        out[f"{prefix}{word}Plateaus"] = row["plateaus"]
    return out


#: Detection curves whose macros the prose may use, whether or not a run computed them.
DETECTION_CURVES = [
    f"{pre}{k}{post}"
    for k in ("Oracle", "Action", "Reward", "OracleInitial", "OracleMixture")
    for pre, post in (("Llc", ""), ("Llc", "Corrected"), ("Curvature", ""), ("FirstOrder", ""))
] + ["LossControl", "LlcOracleAttributed", "LlcOracleAttributedCorrected", "LlcOraclePolished"]
_CONSTANTS = ["KgonFive", "KgonFiveStd", "KgonSix", "KgonSixStd", "KgonN"]
_CONSTANTS += ["KgonFiveTruth", "KgonSixTruth", "KgonLr", "KgonNbeta", "KgonLocalization"]
_CONSTANTS += ["KgonChains", "KgonBurnin", "KgonDraws", "KgonBatch", "KgonZeroBias"]
_CONSTANTS += ["FourPlusMinEig", "FourPlusCurvPlus", "FourPlusCurvMinus", "FourPlusMinOneSided"]
_CONSTANTS += ["KgonMinOneSided", "FeedbackShare", "FeedbackShareLo", "FeedbackShareHi"]


def with_missing(macros: Mapping, words: Iterable[str], prefix: str = "tmsRl") -> dict:
    """``macros`` plus 'n/a' for every name the prose may use that was not computed: the
    transition and detection macros of every learner word, the k-gon and geometry numbers."""
    out = dict(macros)
    for word in words:
        for key in ("Jumped", "Seeds", "Epochs", "JumpEpochs", "Plateaus", "Final"):
            out.setdefault(f"{prefix}{word}{key}", "n/a")
        for key in ("JumpsPhrase", "SeedsPhrase"):
            out.setdefault(f"{prefix}{word}{key}", "n/a")
        keys = [k for k, _, _ in (*DETECTION_SCORES, *DETECTION_INTERVALS)]
        for key in keys + [k for k, _ in DETECTION_P]:
            for curve in DETECTION_CURVES:
                out.setdefault(f"{prefix}{key}{word}{curve}", "n/a")
    for key in _CONSTANTS:
        out.setdefault(f"{prefix}{key}", "n/a")
    return out
