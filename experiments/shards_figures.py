"""Figures of ``experiments/shards.py`` (imported by it, not a section), from saved tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl.paper import save_figure

try:  # imported by the script (devrl paper) or from the repository root
    from shards_summary import TRACKED
except ImportError:  # pragma: no cover
    from experiments.shards_summary import TRACKED

CORNER_COLOR = {1: "C0", 3: "C1", 5: "C2"}


def figure_over_training(tracks: pd.DataFrame, onset: pd.DataFrame, path_stem: Path) -> None:
    """Every tracked curve of every agent, coloured by corner size; onsets as ticks."""
    names = [m for m in TRACKED if m in set(tracks["measure"])]
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.4 * rows), squeeze=False)
    for ax, measure in zip(axes.flat, names, strict=False):
        for (run, corner), grp in tracks[tracks["measure"] == measure].groupby(["run", "corner"]):
            grp = grp[grp["step"] > 0].sort_values("step")
            ax.plot(
                grp["step"], grp["value"], color=CORNER_COLOR.get(corner, "k"), lw=1, alpha=0.75
            )
            at = onset[(onset["run"] == run) & (onset["measure"] == measure)]["onset"]
            if len(at) and np.isfinite(at.iloc[0]):
                ax.axvline(at.iloc[0], color=CORNER_COLOR.get(corner, "k"), lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_title(TRACKED[measure], fontsize=9)
        ax.set_xlabel("environment steps", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    handles = [plt.Line2D([], [], color=c, label=f"corner {k}") for k, c in CORNER_COLOR.items()]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    save_figure(fig, path_stem)
    plt.close(fig)


def figure_final(summary: dict[str, pd.DataFrame], path_stem: Path) -> None:
    """P(cheese | decision square), the cheese vector per layer, Emmons' reach rates."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    dec = summary["decision"]
    ax = axes[0]
    ax.errorbar(
        dec["corner"],
        dec["p_cheese"],
        yerr=[dec["p_cheese"] - dec["p_low"], dec["p_high"] - dec["p_cheese"]],
        fmt="o-",
        capsize=3,
    )
    ax.set_xlabel("corner region side in training")
    ax.set_ylabel("P(cheese action | decision square)")
    ax.set_xticks(dec["corner"])
    ax = axes[1]
    st = summary["steering"]
    layers = list(dict.fromkeys(st["layer"]))
    x = np.arange(len(layers))
    for corner, grp in st[(st["coeff"] == -1)].groupby("corner"):
        for vector, style in (("cheese", "-"), ("random", ":")):
            g = grp[grp["vector"] == vector].set_index("layer").reindex(layers)
            ax.plot(
                x,
                g["mean_change"],
                style,
                marker="o" if vector == "cheese" else None,
                ms=3,
                color=CORNER_COLOR.get(corner, "k"),
                label=f"corner {corner}, {vector}",
            )
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xticks(
        x,
        [ln.replace("trunk.", "").replace(".hook_out", "").replace(".hook_", " ") for ln in layers],
        rotation=60,
        fontsize=7,
    )
    ax.set_ylabel("change of P(cheese action)")
    ax.set_title("vector subtracted (-1)", fontsize=9)
    ax.legend(fontsize=6, frameon=False)
    ax = axes[2]
    em = summary["emmons"]
    conds = ["none", "move-cheese", "clamp", "random-channels"]
    keys = [(t, c) for t in ("top-left", "bottom-right", "near-start") for c in conds]
    width = 0.8 / max(1, em["corner"].nunique())
    for j, (corner, grp) in enumerate(em.groupby("corner")):
        g = grp.set_index(["target", "condition"]).reindex(keys)
        ax.bar(
            np.arange(len(keys)) + j * width,
            g["reached"],
            width,
            yerr=np.clip([g["reached"] - g["low"], g["high"] - g["reached"]], 0, None),
            error_kw={"elinewidth": 0.6, "capsize": 1.5},
            color=CORNER_COLOR.get(corner, "k"),
            label=f"corner {corner}",
        )
    ax.set_xticks(
        np.arange(len(keys)) + 0.4 - width / 2,
        [f"{t}\n{c}" for t, c in keys],
        rotation=90,
        fontsize=6,
    )
    ax.set_ylabel("reached within in-distribution length")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    save_figure(fig, path_stem)
    plt.close(fig)
