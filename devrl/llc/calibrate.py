"""Sweep SGLD hyperparameters (lr, nβ, γ) and recommend the healthiest setting.

The LLC estimate is only as good as the chains behind it. Too large an lr
diverges or inflates the estimate (discretization bias ≈ lr·nβ·h/4 per direction
of curvature h); too small an lr never leaves w*; too large a γ under-counts
directions whose curvature nβ·h is not ≫ γ. ``calibrate`` runs ``estimate`` on a
grid, records each run's diagnostics, and ranks the settings by a health score;
``calibrate_datasets`` runs it on several datasets of one model, and ``select_setting``
picks the one setting to track them all with.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch import nn

from devrl.llc.chains import ChainDivergedError
from devrl.llc.data import LLCData
from devrl.llc.estimator import estimate
from devrl.llc.result import BELOW_INIT_MAX, DRIFT_MAX, RHAT_MAX, LLCResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def health_score(result: LLCResult) -> float:
    """Lower is healthier: R̂ excess, significant drift and draws below w*, each in units of
    its threshold (0 for a perfect chain set; > 1 somewhere means unhealthy)."""
    rhat = max(result.rhat - 1, 0) / (RHAT_MAX - 1) if math.isfinite(result.rhat) else 1.0
    excess = abs(result.drift) - 3 * result.drift_se if math.isfinite(result.drift_se) else 0.0
    drift = max(excess, 0) / (DRIFT_MAX * max(abs(result.mean), 1.0))
    below = result.frac_below_init / BELOW_INIT_MAX
    negative = 10.0 if result.mean < 0 else 0.0
    return float(max(rhat, drift, below) + negative)


def calibrate(
    model: nn.Module,
    data: LLCData,
    lrs: Sequence[float],
    nbetas: Sequence[float],
    localizations: Sequence[float] = (1.0,),
    *,
    plot: str | Path | None = None,
    **estimate_kwargs: Any,
) -> pd.DataFrame:
    """Run ``estimate`` on the grid lrs × nbetas × localizations and rank the settings.

    Diverging settings are kept as rows with ``error`` set and ``llc`` NaN, so a
    sweep always completes. The recommended row (column ``recommended``) is the
    healthy setting with the lowest ``health`` score; ties go to the larger lr
    (faster mixing). Its hyperparameters are also in ``df.attrs["recommended"]``.

    Args:
        model: The model at w*.
        data: An ``LLCData``.
        lrs: Step sizes to try.
        nbetas: Inverse temperatures (times n) to try.
        localizations: γ values to try.
        plot: If given, save a figure of every setting's λ-scaled trace there.
        **estimate_kwargs: Passed to ``estimate`` (chains, draws, burnin, batch_size,
            sampler, seed, ...).

    Returns:
        One row per setting: lr, nbeta, localization, llc, llc_std, rhat, drift,
        frac_below_init, health, healthy, recommended, error, and the run config.
    """
    if not (lrs and nbetas and localizations):
        raise ValueError("lrs, nbetas and localizations must each list at least one value.")
    estimate_kwargs.setdefault("progress", False)
    estimate_kwargs.setdefault("warn", False)  # the table records every setting's health
    rows, results = [], []
    for lr, nbeta, gamma in itertools.product(lrs, nbetas, localizations):
        setting = {"lr": float(lr), "nbeta": float(nbeta), "localization": float(gamma)}
        try:
            res = estimate(model, data, lr=lr, nbeta=nbeta, localization=gamma, **estimate_kwargs)
        except ChainDivergedError as err:
            rows.append(
                {**setting, "llc": np.nan, "health": np.inf, "healthy": False, "error": str(err)}
            )
            continue
        results.append(res)
        rows.append({**res.to_row(), "health": health_score(res), "error": None})
    df = pd.DataFrame(rows)
    df["recommended"] = False
    ok = df[df["healthy"].astype(bool) & df["error"].isna()]
    if len(ok):
        best = ok.sort_values(["health", "lr"], ascending=[True, False]).index[0]
        df.loc[best, "recommended"] = True
        keys = ("lr", "nbeta", "localization")
        df.attrs["recommended"] = {k: float(df.loc[best, k]) for k in keys}
    else:
        df.attrs["recommended"] = None
    if plot is not None and results:
        import matplotlib.pyplot as plt

        fig = plot_traces(results)
        fig.savefig(plot, dpi=120, bbox_inches="tight")
        plt.close(fig)
    return df


def calibrate_datasets(
    model: nn.Module,
    datasets: Mapping[str, LLCData],
    lrs: Sequence[float],
    nbetas: Sequence[float] | Mapping[str, Sequence[float]],
    localizations: Sequence[float] = (1.0,),
    **estimate_kwargs: Any,
) -> pd.DataFrame:
    """``calibrate`` on each of several datasets of one model; one table with a ``kind`` column.

    Use it to choose one setting for several LLCs of a model tracked side by side (e.g. the
    action, value and regret datasets of a policy), with :func:`select_setting`.

    Args:
        model: The model at w*.
        datasets: Label -> ``LLCData``; the label becomes the ``kind`` column.
        lrs: Step sizes to try.
        nbetas: Inverse temperatures to try, for all datasets or per label.
        localizations: γ values to try.
        **estimate_kwargs: Passed to :func:`calibrate` (chains, draws, seed, ...).

    Returns:
        :func:`calibrate`'s rows for every dataset, in the order of ``datasets``, with ``kind``.
    """
    if not datasets:
        raise ValueError("datasets must map at least one label to an LLCData.")
    frames = []
    for kind, data in datasets.items():
        grid = nbetas[kind] if isinstance(nbetas, Mapping) else nbetas
        frame = calibrate(model, data, lrs, grid, localizations, **estimate_kwargs)
        frames.append(frame.assign(kind=kind))
    return pd.concat(frames, ignore_index=True)


def select_setting(
    table: pd.DataFrame,
    kinds: Sequence[str],
    *,
    max_spread: float = 0.5,
    fallback: tuple[float, float] = (1e-3, 100.0),
) -> dict[str, Any]:
    """The largest lr, then γ, at which every dataset in ``kinds`` is healthy and its chains agree.

    A setting (lr, γ) qualifies when, for every row of ``kinds`` at it (every nβ tried),
    the chains are healthy and their spread is below ``max_spread`` times the estimate
    (``llc_std < max_spread · |llc|``). Larger lr mixes faster in a fixed number of steps,
    so the largest qualifying lr is taken, ties broken by the larger γ. Datasets whose w*
    is not a minimum (the regret) are not held to the health checks; leave them out of
    ``kinds``.

    Args:
        table: A :func:`calibrate_datasets` table (columns kind, lr, localization, llc,
            llc_std, healthy).
        kinds: Labels that must all qualify.
        max_spread: Largest accepted std over chains relative to the estimate's size.
        fallback: (lr, γ) returned when no setting qualifies.

    Returns:
        ``{"lr", "localization", "fallback"}``; ``fallback`` is True when none qualified.
    """
    missing = sorted(set(kinds) - set(table["kind"]))
    if missing:
        raise ValueError(
            f"the table has no rows of kind(s) {missing}; it has {sorted(set(table['kind']))}."
        )
    rows = table[table["kind"].isin(list(kinds))]
    good = rows["healthy"].astype(bool) & (rows["llc_std"] < max_spread * rows["llc"].abs())
    good = good.groupby([rows["lr"], rows["localization"]]).all()
    good = good[good]
    lr, loc = max(good.index) if len(good) else fallback
    return {"lr": float(lr), "localization": float(loc), "fallback": not len(good)}


def plot_calibration(
    table: pd.DataFrame,
    kinds: Sequence[str] | None = None,
    chosen_lr: float | None = None,
    chosen_localization: float | None = None,
    checked: Sequence[str] | None = None,
) -> Figure:
    """A calibration sweep at a glance: the estimate against lr, one panel per dataset.

    One line per (γ, nβ) with the std over chains as error bars; healthy settings filled,
    unhealthy hollow; the chosen lr dotted and the chosen setting ringed. Each panel says
    whether the chosen setting passed the health checks there, and the title names the
    datasets where it failed, so a fallback setting is never drawn as if it were good.

    Args:
        table: A :func:`calibrate_datasets` table.
        kinds: Panels, in order (default: the table's kinds in order of appearance).
        chosen_lr: The lr picked (e.g. by :func:`select_setting`), marked if given.
        chosen_localization: The γ picked (default: every γ at ``chosen_lr``).
        checked: Kinds held to the health checks (default all); others (a dataset whose
            w* is not a minimum, like the regret) are marked "not checked".

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    kinds = list(pd.unique(table["kind"])) if kinds is None else list(kinds)
    checked = set(kinds if checked is None else checked)
    fig, axes = plt.subplots(1, len(kinds), figsize=(10, 3.0), squeeze=False)
    axes = axes[0]
    failed = []
    for ax, kind in zip(axes, kinds):
        d = table[table["kind"] == kind]
        for (gamma, nbeta), g in d.groupby(["localization", "nbeta"]):
            ok = g["healthy"].astype(bool)
            line = ax.errorbar(
                g["lr"],
                g["llc"],
                yerr=g["llc_std"],
                marker="o",
                lw=1,
                ms=4,
                label=f"γ={gamma:g}, nβ={nbeta:.3g}",
                mfc="none",
            )
            ax.plot(g.loc[ok, "lr"], g.loc[ok, "llc"], "o", color=line[0].get_color(), ms=4)
        if chosen_lr is not None:
            ax.axvline(chosen_lr, color="k", ls=":", lw=1)
            at = d[np.isclose(d["lr"], chosen_lr)]
            if chosen_localization is not None:
                at = at[np.isclose(at["localization"], chosen_localization)]
            ax.plot(at["lr"], at["llc"], "o", ms=10, mfc="none", mec="k", mew=1.2)
            healthy = len(at) > 0 and bool(at["healthy"].astype(bool).all())
            if kind not in checked:
                verdict, colour = "chosen: not checked", "0.4"
            elif healthy:
                verdict, colour = "chosen: healthy", "tab:green"
            else:
                verdict, colour = "chosen: FAILS health check", "tab:red"
                failed.append(kind)
            ax.text(0.03, 0.97, verdict, transform=ax.transAxes, va="top", fontsize=8, color=colour)
        ax.set(xscale="log", xlabel="SGLD lr", title=kind)
    axes[0].set_ylabel("LLC estimate")
    for ax in axes:
        ax.legend(frameon=False, fontsize=7, loc="best")
    title = "calibration on one checkpoint (filled: healthy chains; dotted and ringed: chosen)"
    if chosen_lr is not None:
        setting = f"lr={chosen_lr:g}" + (
            f", γ={chosen_localization:g}" if chosen_localization is not None else ""
        )
        title += f"\nchosen {setting}: " + (
            f"fails the health check on {', '.join(failed)}"
            if failed
            else "healthy on every checked dataset"
        )
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_traces(results: Sequence[LLCResult], ncols: int = 4) -> Figure:
    """One panel per result: each chain's λ-scaled trace nβ·(L_t − L_t(w*)), burn-in shaded.

    Args:
        results: Estimates to show (e.g. from a sweep).
        ncols: Panels per row.

    Returns:
        The matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("plot_traces needs at least one LLCResult.")
    ncols = min(ncols, len(results))
    nrows = math.ceil(len(results) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False, sharex=True
    )
    for ax, res in zip(axes.flat, results):
        trace = res.llc_trace  # [chains, steps]
        for chain in trace:
            ax.plot(chain, lw=0.6, alpha=0.8)
        if res.burnin:
            ax.axvspan(0, res.burnin, color="0.85", zorder=0)
        ax.axhline(res.mean, color="k", lw=1, ls="--")
        cfg = res.config
        ax.set_title(
            f"lr={cfg['lr']:g} nβ={cfg['nbeta']:g} γ={cfg['localization']:g}\n"
            f"λ̂={res.mean:.3g} R̂={res.rhat:.2f}",
            fontsize=8,
        )
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(results) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("step", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("nβ (L − L(w*))", fontsize=8)
    fig.tight_layout()
    return fig
