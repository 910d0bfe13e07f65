"""Figures for fitted forms: fit with band, residuals, comparison panel.

One function per figure; each reads only the data and fit results it is given
(never refits), draws on a matplotlib ``Axes`` (or creates one) and returns it,
so the paper can rebuild figures from saved tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl.forms.fitting import FitResult


def _axes(ax):
    return ax if ax is not None else plt.subplots(figsize=(5, 3.5))[1]


def _grid(t: np.ndarray, n: int = 300) -> np.ndarray:
    if np.all(t > 0) and t.max() / t.min() > 20:
        return np.geomspace(t.min(), t.max(), n)
    return np.linspace(t.min(), t.max(), n)


def plot_fit(
    result: FitResult,
    ax=None,
    *,
    label: str | None = None,
    color=None,
    show_data: bool = True,
    logx: bool | None = None,
):
    """Data with the fitted curve and its confidence band.

    Args:
        result: a fit from :func:`devrl.forms.fit`.
        ax: axes to draw on (a new figure when None).
        label: legend label (default: form name).
        color: line colour.
        show_data: also scatter the data the form was fitted to.
        logx: log-scaled x axis (default: when t spans more than a decade and a half).
    """
    ax = _axes(ax)
    t = result.t
    grid = _grid(t)
    band = result.predict(grid, band=True)
    if show_data:
        ax.scatter(t, result.y, s=8, color="0.4", zorder=3, label="data")
    (line,) = ax.plot(grid, band["yhat"], color=color, label=label or result.form.name)
    ax.fill_between(grid, band["lower"], band["upper"], color=line.get_color(), alpha=0.25, lw=0)
    if logx if logx is not None else (np.all(t > 0) and t.max() / t.min() > 30):
        ax.set_xscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("y")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_residuals(result: FitResult, ax=None, *, logx: bool | None = None):
    """Residuals (data minus fit) against t, standardised by sigma when it was given."""
    ax = _axes(ax)
    r = result.residuals
    if result.sigma is not None:
        r = r / result.sigma
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.plot(result.t, r, "o", ms=3)
    if (
        logx
        if logx is not None
        else (np.all(result.t > 0) and result.t.max() / result.t.min() > 30)
    ):
        ax.set_xscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("standardised residual" if result.sigma is not None else "residual")
    ax.set_title(f"residuals: {result.form.name}", fontsize="small")
    return ax


def plot_comparison(table: pd.DataFrame, fits: Mapping[str, FitResult], axes=None):
    """Two panels: data with every successful fit, and the Akaike weights per form.

    Args:
        table: the DataFrame from :func:`devrl.forms.compare`.
        fits: the ``{form: FitResult}`` returned with ``compare(..., return_fits=True)``.
        axes: two axes (a new 1x2 figure when None).
    """
    if axes is None:
        axes = plt.subplots(1, 2, figsize=(10, 3.5))[1]
    ax_fit, ax_w = axes
    ok = table[table["status"] == "ok"]
    for i, name in enumerate(ok["form"]):
        res = fits[name]
        grid = _grid(res.t)
        ax_fit.plot(
            grid,
            res.predict(grid),
            lw=2.2 if i == 0 else 1.0,
            label=f"{name} (w={ok['weight'].iloc[i]:.2f})",
        )
        if i == 0:
            ax_fit.scatter(res.t, res.y, s=8, color="0.4", zorder=3)
            if np.all(res.t > 0) and res.t.max() / res.t.min() > 30:
                ax_fit.set_xscale("log")
    ax_fit.set_xlabel("t")
    ax_fit.set_ylabel("y")
    ax_fit.legend(frameon=False, fontsize="x-small")
    failed = table["status"] != "ok"
    ax_w.barh(
        table["form"], table["weight"].fillna(0.0), color=["0.7" if f else "C0" for f in failed]
    )
    for y, f in enumerate(failed):
        if f:
            ax_w.text(0.01, y, "failed", va="center", fontsize="x-small")
    ax_w.invert_yaxis()
    ax_w.set_xlabel("Akaike weight")
    ax_w.set_xlim(0, 1)
    return axes
