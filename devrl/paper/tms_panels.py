"""Panels of the TMS sections (experiments/tms_*.py): loss curves, LLC grids, polygons.

Everything here draws saved data only: batches of TMS runs loaded with
``load_tms_runs(..., weights="snapshots")`` and the tidy LLC table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "BIAS_AREA",
    "SYMLOG_LINEAR",
    "draw_polygon",
    "epochs",
    "level_labels",
    "llc_grid",
    "loss_panels",
    "polygon_key",
]


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
