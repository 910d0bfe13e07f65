"""Panels, table shapes and number macros of the TMS sections (experiments/tms_*.py).

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
    "SYMLOG_LINEAR",
    "curve_word",
    "detection_macros",
    "draw_polygon",
    "epochs",
    "feedback_macros",
    "final_llc_macros",
    "final_phrase",
    "geometry_macros",
    "kgon_macros",
    "level_labels",
    "llc_grid",
    "loss_panels",
    "polygon_key",
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


def epochs(res, steps) -> np.ndarray:
    """Contexts seen / 1000 at ``steps`` of a TMS batch (RL: batch per step; SGD: batch_size)."""
    cfg = res.config
    return np.asarray(steps) * (cfg.batch if hasattr(cfg, "algo") else cfg.batch_size) / 1000


def _loss_lines(ax, res, **kw) -> None:
    m = res.metrics.query("measure == 'loss/population'")
    for _, df in m.groupby("seed"):
        ax.plot(epochs(res, df.step), df.value, **kw)


def _contexts_axis(ax, res) -> None:
    """Log x-axis of contexts seen / 1000 that still shows step 0: linear below the first
    logged step (one batch), logarithmic above it, so no empty decade sits before the data."""
    first = float(epochs(res, 1))
    ax.set_xscale("symlog", linthresh=first, linscale=0.4)
    last = float(epochs(res, res.metrics.step.max()))
    decades = [10.0**k for k in range(int(np.ceil(np.log10(8 * first))), 10) if 10.0**k <= last]
    ax.set_xticks([0.0, *decades])
    ax.set_xlim(0, last)


def level_labels(ax, levels: Mapping[str, float], gap_pt: float = 8.5) -> None:
    """Name each level to the right of ``ax`` (set its scale and limits, and lay the figure
    out, first), pushing labels at least ``gap_pt`` points apart so close levels stay
    legible; a thin line joins a moved label to its level."""
    height_pt = ax.get_position().height * ax.figure.get_figheight() * 72
    gap = gap_pt / height_pt
    to_axes = ax.transData + ax.transAxes.inverted()
    ys = sorted((to_axes.transform((0, v))[1], name) for name, v in levels.items())
    placed: list[float] = []
    for y, name in ys:
        y_text = max(y, placed[-1] + gap) if placed else y
        placed.append(y_text)
        line = {"arrowstyle": "-", "lw": 0.3, "color": "0.5"}
        ax.annotate(
            name,
            (1.0, y),
            xytext=(1.04, y_text),
            xycoords="axes fraction",
            fontsize=7,
            va="center",
            arrowprops=line if y_text - y > 0.01 else None,
        )


def _loss_limits(results: Mapping) -> tuple[tuple[float, float], str]:
    """Y-limits and scale of the loss panels: the k-gon window 0.03-0.16 when every loss fits,
    else a log axis reaching the largest loss (random starts begin near 1.1): nothing clipped."""
    top = max(r.metrics.query("measure == 'loss/population'").value.max() for r in results.values())
    return ((0.03, 0.16), "linear") if top <= 0.16 else ((0.03, 1.3 * top), "log")


def _loss_yaxis(ax, ylim: tuple[float, float], yscale: str) -> None:
    """Loss limits and scale; a log axis gets plain decimal ticks (0.05, 0.1, 0.2, ...)."""
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    ax.set(yscale=yscale, ylim=ylim)
    if yscale == "log":
        ticks = [t for t in (0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0) if ylim[0] <= t <= ylim[1]]
        ax.set_yticks(ticks)
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())


def loss_panels(results: Mapping, levels: Mapping[str, float], title: str):
    """Population loss of every seed against contexts seen, one panel per batch; the k-gon
    critical losses ``levels`` as dashed lines. Returns the figure."""
    import matplotlib.pyplot as plt

    n = len(results)
    width = min(2.3 * n + 0.6, 7.0)
    fig, axes = plt.subplots(1, n, figsize=(width, 2.5), sharey=True, squeeze=False)
    ylim, yscale = _loss_limits(results)
    for ax, (label, res) in zip(axes[0], results.items(), strict=True):
        _loss_lines(ax, res, lw=0.7, alpha=0.8)
        for loss in levels.values():
            ax.axhline(loss, color="0.6", ls="--", lw=0.5)
        _loss_yaxis(ax, ylim, yscale)
        ax.set_xlabel("contexts seen / 1000", fontsize=8)
        _contexts_axis(ax, res)
        ax.tick_params(labelsize=7)
        ax.set_title(label, fontsize=8)
    axes[0, 0].set_ylabel("population loss L(W, b)", fontsize=8)
    seeds = sorted({r.config.n_seeds for r in results.values()})
    seeds_text = " or ".join(map(str, seeds))
    fig.suptitle(
        f"{title}: one line per seed ({seeds_text} seeds); dashed: k-gon critical losses",
        fontsize=8,
    )
    fig.tight_layout()
    level_labels(axes[0, -1], levels)  # spaced by the laid-out panel's height
    fig.tight_layout()
    return fig


def _median_band(ax, res, d: pd.DataFrame, **kw) -> None:
    """Median over seeds at each step, and the band between the 25th and 75th percentiles
    (robust: a few seeds' blown-up corrections must not drag a mean)."""
    q = d.groupby("step").value.quantile([0.25, 0.5, 0.75]).unstack()
    x = epochs(res, q.index)
    ax.fill_between(x, q[0.25], q[0.75], alpha=0.25, lw=0, color=kw.get("color"))
    ax.plot(x, q[0.5], lw=1, **kw)


#: The LLC rows' symmetric-log axis is linear within ± this (:func:`llc_grid`).
SYMLOG_LINEAR = 10.0


def _symlog_if_wide(ax, values: pd.Series) -> None:
    """A symmetric-log y-axis (linear within ±SYMLOG_LINEAR) when the values span more than 100."""
    v = values[np.isfinite(values)]
    if len(v) and v.max() - v.min() > 100:
        ax.set_yscale("symlog", linthresh=SYMLOG_LINEAR, linscale=0.5)
        ax.axhline(0, color="0.7", lw=0.4)


def llc_grid(results: Mapping, llc: pd.DataFrame, kinds: Iterable[str]):
    """Loss (top row, every seed a line), then one row per LLC loss of ``kinds`` present in
    ``llc`` (a measure and its ' corrected' variant share a row), one column per batch; each
    LLC curve the median over seeds with its interquartile band. Returns the figure."""
    import matplotlib.pyplot as plt

    present = set(llc.measure)
    rows: dict[str, list[str]] = {}
    for k in kinds:
        if k in present:
            rows.setdefault(k.removesuffix(" corrected"), []).append(k)
    n_rows, n_cols = 1 + len(rows), len(results)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(1.55 * n_cols + 0.6, 1.45 * n_rows + 0.5),
        sharex="col",
        squeeze=False,
    )
    for row in range(1, n_rows):  # one y-scale per LLC row; the loss row per column
        for col in range(1, n_cols):
            axes[row, col].sharey(axes[row, 0])
    colors = {False: "C0", True: "C3"}
    for col, (label, res) in enumerate(results.items()):
        ax = axes[0, col]
        _loss_lines(ax, res, lw=0.5, alpha=0.7)
        _loss_yaxis(ax, *_loss_limits({label: res}))
        ax.set_title(f"{label}\n({res.config.n_seeds} seeds)", fontsize=8)
        _contexts_axis(ax, res)
        for row, members in enumerate(rows.values(), start=1):
            run = llc[(llc.run == res.config.run) & llc.measure.isin(members)]
            for kind in members:
                d = run[run.measure == kind]
                if len(d):
                    corrected = kind.endswith(" corrected")
                    name = "corrected" if corrected else "raw"
                    _median_band(axes[row, col], res, d, color=colors[corrected], label=name)
            _symlog_if_wide(axes[row, col], llc[llc.measure.isin(members)].value)
        axes[-1, col].set_xlabel("contexts / 1000")
    for row, base in enumerate(rows, start=1):
        axes[row, 0].set_ylabel(base.replace("llc/", "LLC, ") + " loss")
    axes[0, 0].set_ylabel("population loss")
    handles, names = axes[-1, 0].get_legend_handles_labels()
    if handles:
        fig.legend(
            handles,
            names,
            loc="lower center",
            ncol=2,
            fontsize=7,
            frameon=False,
            title="LLC: median over seeds, band: 25-75th percentile",
            title_fontsize=7,
        )
    for a in axes.flat:
        a.tick_params(labelsize=7)
    for a in axes[1:, 1:].flat:  # shared LLC scales: labels on the left column only
        a.tick_params(labelleft=False)
    fig.tight_layout(rect=(0, 0.06 if handles else 0, 1, 1))
    return fig


def _plus_rule() -> tuple[float, float, float]:
    """classify_polygon's large_frac, min_norm and bias_tol, so the rings match its '+'."""
    import inspect

    from devrl.theory.tms import classify_polygon

    p = inspect.signature(classify_polygon).parameters
    return p["large_frac"].default, p["min_norm"].default, p["bias_tol"].default


#: Marker area (pt²) of a column: a base size plus this many pt² per unit of positive bias.
BIAS_AREA = (12.0, 200.0)


def draw_polygon(ax, W, b, title: str | None = None) -> None:
    """W's columns [m=2, c] as arrows, one colour per feature, the large ones' hull shaded;
    marker area grows with a positive bias; a black ring marks each small column whose bias
    makes it a '+' in :func:`devrl.theory.tms.classify_polygon`."""
    import matplotlib.pyplot as plt

    large_frac, min_norm, bias_tol = _plus_rule()
    norms = np.linalg.norm(W, axis=0)
    colors = plt.cm.tab10(np.arange(W.shape[1]))
    large = norms > 0.5 * norms.max()
    order = np.argsort(np.arctan2(W[1, large], W[0, large]))
    poly = W[:, large][:, order]
    ax.fill(poly[0], poly[1], color="0.9", zorder=0)
    plus = (norms <= max(large_frac * norms.max(), min_norm)) & (b > bias_tol)
    for i in range(W.shape[1]):
        ax.plot([0, W[0, i]], [0, W[1, i]], color=colors[i], lw=1.2)
        ax.scatter(
            W[0, i],
            W[1, i],
            color=colors[i],
            s=BIAS_AREA[0] + BIAS_AREA[1] * max(b[i], 0),
            zorder=3,
            edgecolor="k" if plus[i] else "none",
            lw=0.8,
        )
    ax.set(xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), aspect="equal", xticks=[], yticks=[])
    if title:
        ax.set_title(title, fontsize=7)


def polygon_key(fig, bias_tol: float | None = None) -> None:
    """A legend under ``fig`` for :func:`draw_polygon`'s markers: areas at biases 0, 0.1
    and 0.3, and the ring of a '+' column."""
    from matplotlib.lines import Line2D

    tol = _plus_rule()[2] if bias_tol is None else bias_tol

    def dot(bias: float, ring: bool = False) -> Line2D:
        area = BIAS_AREA[0] + BIAS_AREA[1] * bias
        edge = "k" if ring else "none"
        return Line2D([], [], ls="", marker="o", ms=np.sqrt(area), color="0.5", mec=edge)

    handles = [dot(0.0), dot(0.1), dot(0.3), dot(0.1, ring=True)]
    names = ["bias ≤ 0", "bias 0.1", "bias 0.3", f"small column, bias > {tol:g}: a '+'"]
    fig.legend(
        handles,
        names,
        loc="lower center",
        ncol=4,
        fontsize=6.5,
        frameon=False,
        handletextpad=0.3,
        columnspacing=1.0,
        title="dot area grows with the column's bias; shaded: hull of the large columns",
        title_fontsize=6.5,
    )


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
