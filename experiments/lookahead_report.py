"""Summaries, figures and macros of ``experiments/lookahead.py`` (imported by it, not a section).

Everything here reads the per-seed tables the experiment saved, so ``--figures-only``
rebuilds the section without recomputing.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from devrl.forms import compare_curves
from devrl.paper import count_phrase, number_latex, save_figure, share_phrase, write_macros
from devrl.paper.verdicts import above, below, interval_macros, separated
from devrl.stats import t_interval, wilson


def summarize(root: Path, seeds: list[int], table: str, keys: list[str]) -> pd.DataFrame:
    """Mean over seeds of F1 and AUROC per ``keys`` group, with a 95% t interval."""
    frames = [pd.read_csv(root / f"seed{s}" / f"{table}.csv").assign(seed=s) for s in seeds]
    data = pd.concat(frames, ignore_index=True)
    out = []
    for key, g in data.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True)) | {"seeds": g["seed"].nunique()}
        for metric in ("f1", "auroc"):
            x = g[metric].dropna().to_numpy()
            mean, low, high = t_interval(x)[:3] if len(x) else (np.nan,) * 3
            row |= {metric: mean, f"{metric}_low": low, f"{metric}_high": high}
        out.append(row)
    return pd.DataFrame(out)


def seed_summary(
    root: Path,
    seeds: list[int],
    table: str,
    keys: list[str],
    values: list[str],
    shares: tuple[str, ...] = (),
    data: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Mean over seeds of each of ``values`` per ``keys`` group, with a 95% t interval.

    The intervals of ``shares`` (proportions) are clipped to [0, 1]. ``data`` replaces the
    seed tables (with a ``seed`` column).
    """
    if data is None:
        frames = [pd.read_csv(root / f"seed{s}" / f"{table}.csv").assign(seed=s) for s in seeds]
        data = pd.concat(frames, ignore_index=True)
    out = []
    for key, g in data.groupby(keys, sort=False):
        row = dict(zip(keys, key, strict=True)) | {"seeds": g["seed"].nunique()}
        for v in values:
            x = g[v].replace([np.inf, -np.inf], np.nan).dropna().to_numpy()
            mean, low, high = t_interval(x)[:3] if len(x) else (np.nan,) * 3
            if v in shares:
                low, high = max(low, 0.0), min(high, 1.0)
            row |= {v: mean, f"{v}_low": low, f"{v}_high": high}
            row |= {f"{v}_min": x.min() if len(x) else np.nan}
            row |= {f"{v}_max": x.max() if len(x) else np.nan}
        out.append(row)
    return pd.DataFrame(out)


WORDS = {"auroc-1": "AurocOne", "auroc-4": "AurocFour", "auroc-16": "AurocSixteen",
         "patching": "Patching", "steering": "Steering", "llc": "Llc"}  # fmt: skip


def steering_difference(root: Path, seeds: list[int]) -> pd.DataFrame:
    """Per network, layer and coefficient: switched share of the probe minus the random
    direction's, per seed, then its mean over seeds with a 95% t interval."""
    frames = [pd.read_csv(root / f"seed{s}" / "steering.csv").assign(seed=s) for s in seeds]
    wide = pd.concat(frames).pivot_table(
        index=["seed", "network", "layer", "coeff"], columns="vector", values="switched"
    )
    diff = (wide["probe"] - wide["random"]).rename("difference").reset_index()
    keys = ["network", "layer", "coeff"]
    return seed_summary(root, seeds, "", keys, ["difference"], data=diff)


TRACKED = {
    "auroc-1": "lookahead/auroc-1",
    "auroc-4": "lookahead/auroc-4",
    "auroc-16": "lookahead/auroc-16",
    "patching": "lookahead-patching",
    "steering": "plan-steering",
    "llc": "llc-action-uniform",
}


def training_forms(tracks: pd.DataFrame) -> pd.DataFrame:
    """Functional forms of each tracked curve, seeds pooled (AICc ranks)."""
    res = compare_curves(tracks, list(TRACKED.values()), min_checkpoints=6)
    if res.empty:
        return res
    label = {name: label for label, name in TRACKED.items()}
    res = res.assign(curve=res["measure"].map(label))
    return res[["curve", "form", "status", "k", "aicc", "delta_aicc", "weight"]]


NET_STYLE = {"trained": ("C0", "o"), "initial": ("C1", "s"), "random": ("C2", "^")}


def figure_patching(summary: pd.DataFrame, path_stem: Path, order: tuple[str, ...]) -> None:
    """On/off-path ratio of patching at each layer and distance, per network, with the nulls."""
    dists = sorted(summary["distance"].unique())
    fig, axes = plt.subplots(1, len(dists), figsize=(8, 2.8), sharey=True)
    layers = [x for x in order if x in set(summary["layer"])]
    xs = np.arange(len(layers))
    for ax, d in zip(np.atleast_1d(axes), dists, strict=True):
        for k, (net, (color, marker)) in enumerate(NET_STYLE.items()):
            for patch, fill in (("cell", color), ("random", "none")):
                g = summary[(summary["network"] == net) & (summary["patch"] == patch)]
                g = g[g["distance"] == d].set_index("layer").reindex(layers)
                y = g["ratio"].to_numpy()
                err = np.abs(np.vstack([y - g["ratio_low"], g["ratio_high"] - y]))
                ax.errorbar(xs + 0.12 * (k - 1) + (0.04 if patch == "random" else 0), y,
                            yerr=np.nan_to_num(err), fmt=marker, color=color, mfc=fill,
                            ms=4, lw=0.8, label=f"{net}, {patch}" if d == dists[0] else None)  # fmt: skip
        ax.axhline(1.0, color="grey", lw=0.6, ls=":")
        ax.set_xticks(xs, [x.split(".")[1] for x in layers], rotation=45, fontsize=7)
        ax.set_title(f"wall {d} steps ahead", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(0.5, None)  # t intervals of three seeds can reach below zero
    np.atleast_1d(axes)[0].set_ylabel("on-path / off-path effect")
    fig.legend(loc="upper center", ncol=6, fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.88))
    save_figure(fig, path_stem)


def figure_steering(summary: pd.DataFrame, path_stem: Path, order: tuple[str, ...]) -> None:
    """Share of decision squares switched to the other branch, against the coefficient."""
    layers = [x for x in order if x in set(summary["layer"])]
    fig, axes = plt.subplots(1, len(layers), figsize=(8, 2.6), sharey=True)
    for ax, layer in zip(np.atleast_1d(axes), layers, strict=True):
        for net, (color, marker) in NET_STYLE.items():
            for vec, ls in (("probe", "-"), ("random", "--"), ("chosen", ":")):
                g = summary[(summary["network"] == net) & (summary["layer"] == layer)]
                g = g[g["vector"] == vec].sort_values("coeff")
                if g.empty:
                    continue
                ax.plot(g["coeff"], g["switched"], ls=ls, marker=marker, color=color, ms=3,
                        lw=0.9, label=f"{net}, {vec}" if layer == layers[0] else None)  # fmt: skip
        ax.set_xscale("log", base=2)
        ax.set_title(layer.split(".")[1], fontsize=8)
        ax.set_xlabel("coefficient", fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("levels switched")
    fig.legend(loc="upper center", ncol=5, fontsize=6, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.84))
    save_figure(fig, path_stem)


def figure_tracks(tracks: pd.DataFrame, path_stem: Path) -> None:
    """The look-ahead measures and the success rate over training, one line per seed."""
    panels = [
        ("probe AUROC", ["lookahead/auroc-1", "lookahead/auroc-4", "lookahead/auroc-16"]),
        ("patching ratio (N = 4)", ["lookahead-patching"]),
        ("steering", ["plan-steering", "plan-steering/random"]),
        ("LLC (action, uniform states)", ["llc-action-uniform"]),
        ("success (evaluation)", ["success"]),
    ]
    fig, axes = plt.subplots(1, 5, figsize=(11, 2.4), sharex=True)
    for ax, (title, names) in zip(axes, panels, strict=True):
        for j, name in enumerate(names):
            for seed, g in tracks[tracks["measure"] == name].groupby("seed"):
                g = g.sort_values("step")
                ax.plot(g["step"], g["value"], color=f"C{j}", lw=0.9, alpha=0.8,
                        ls="--" if name.endswith("random") else "-",
                        label=name.split("/")[-1] if seed == tracks["seed"].min() else None)  # fmt: skip
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("environment steps", fontsize=7)
        ax.tick_params(labelsize=6)
        if len(names) > 1:
            ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    save_figure(fig, path_stem)


def figure_thinking(thinking: pd.DataFrame, path_stem: Path, trained_ticks: int) -> None:
    """The ConvLSTM agent's success and probe AUROC against its ticks at test time."""
    fig, axes = plt.subplots(1, 2, figsize=(6.5, 2.5))
    for ax, prefix in zip(axes, ("success", "auroc"), strict=True):
        names = [q for q in thinking["quantity"].unique() if q.startswith(prefix)]
        for j, q in enumerate(names):
            for seed, g in thinking[thinking["quantity"] == q].groupby("seed"):
                g = g.sort_values("ticks")
                ax.plot(g["ticks"], g["value"], marker="o", ms=3, color=f"C{j}",
                        label=q if seed == thinking["seed"].min() else None)  # fmt: skip
        ax.axvline(trained_ticks, color="grey", lw=0.6, ls=":")
        ax.set_xlabel("ticks at test time", fontsize=7)
        ax.set_title("success" if prefix == "success" else "probe AUROC", fontsize=8)
        ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    save_figure(fig, path_stem)


def _pick(frame: pd.DataFrame, **where) -> pd.Series:
    g = frame
    for k, v in where.items():
        g = g[g[k] == v]
    if len(g) != 1:
        raise ValueError(f"expected one row for {where}, got {len(g)}.")
    return g.iloc[0]


def _triple(row: pd.Series, col: str, name: str) -> dict[str, float]:
    return interval_macros(name, row[col], row[f"{col}_low"], row[f"{col}_high"])


def make_macros(
    root: Path, seeds: list[int], cpu: dict[str, float], path: Path, design: dict
) -> None:
    """Every number of the section's prose."""
    probes = pd.read_csv(root / "summary.csv")
    ovc = pd.read_csv(root / "own_vs_cheese_summary.csv")
    patching = pd.read_csv(root / "patching_summary.csv")
    steer = pd.read_csv(root / "steering_summary.csv")
    m: dict[str, object] = {
        "laSeeds": len(seeds),
        "laSeedsPhrase": count_phrase(len(seeds), "seed"),
    }
    for net, tag in (("trained", "Trained"), ("initial", "Initial"), ("random", "Random")):
        for n in (1, 4, 16):
            r = _pick(probes, network=net, layer=design["main_layer"], kind="3x3", horizon=n)
            m |= _triple(
                r, "auroc", f"laAuroc{tag}{['One', 'Four', 'Sixteen'][[1, 4, 16].index(n)]}"
            )
    for n in (1, 4, 16):
        word = ["One", "Four", "Sixteen"][[1, 4, 16].index(n)]
        r = _pick(probes, network="trained", layer="observation", kind="3x3", horizon=n)
        m |= _triple(r, "auroc", f"laAurocObs{word}")
    for labels in ("own", "cheese"):
        for n in (4, 16):
            word = "Four" if n == 4 else "Sixteen"
            r = _pick(
                ovc, layer=design["main_layer"], kind="3x3", fit="own", labels=labels, horizon=n
            )
            m |= _triple(r, "auroc", f"laOvc{labels.capitalize()}{word}")
    for net, tag in (("trained", "Trained"), ("initial", "Initial"), ("random", "Random")):
        for d, word in ((1, "One"), (4, "Four"), (8, "Eight")):
            for patch in ("cell", "random", "other", "total"):
                r = _pick(
                    patching, network=net, layer=design["main_layer"], distance=d, patch=patch
                )
                key = f"laPatch{tag}{patch.capitalize()}{word}"
                m |= _triple(r, "ratio", f"{key}Ratio")
                m |= {f"{key}On": float(r["on_path"]), f"{key}Off": float(r["off_path"])}
                m |= {f"{key}Pairs": int(r["pairs_min"])}
                m |= {f"{key}Min": float(r["ratio_min"]), f"{key}Max": float(r["ratio_max"])}
    per_seed_patch = [pd.read_csv(root / f"seed{s}" / "patching.csv") for s in seeds]
    for d, word in ((4, "Four"), (8, "Eight")):
        for where, tag in (("on_path", "On"), ("off_path", "Off")):
            share = [
                _pick(t, network="trained", layer=design["main_layer"], distance=d, patch="cell")[
                    where
                ]
                / _pick(
                    t, network="trained", layer=design["main_layer"], distance=d, patch="total"
                )[where]
                for t in per_seed_patch
            ]
            mean, low, high, _ = t_interval(share)
            m |= {f"laCarried{tag}{word}": mean, f"laCarried{tag}{word}Low": low}
            m[f"laCarried{tag}{word}High"] = high
    for net, tag in (("trained", "Trained"), ("initial", "Initial"), ("random", "Random")):
        for vec in ("probe", "random", "chosen"):
            for c, word in ((1.0, "One"), (4.0, "Four"), (8.0, "Eight")):
                sel = steer[(steer["network"] == net) & (steer["layer"] == design["main_layer"])]
                sel = sel[(sel["vector"] == vec) & (sel["coeff"] == c)]
                if len(sel) != 1:
                    continue
                m |= _triple(sel.iloc[0], "switched", f"laSteer{tag}{vec.capitalize()}{word}")
    diff = pd.read_csv(root / "steering_difference.csv")
    per_seed = [pd.read_csv(root / f"seed{s}" / "steering.csv") for s in seeds]
    for layer, word in ((design["main_layer"], ""), ("trunk.conv2.hook_out", "ConvTwo")):
        above = sum(
            _pick(t, network="trained", layer=layer, vector="probe", coeff=4.0)["switched"]
            > _pick(t, network="trained", layer=layer, vector="random", coeff=4.0)["switched"]
            for t in per_seed
        )
        m[f"laSteerAbove{word}"] = int(above)
        m[f"laSteerAbove{word}Phrase"] = share_phrase(int(above), len(seeds), "seed")
    for net, tag in (("trained", "Trained"), ("initial", "Initial"), ("random", "Random")):
        for layer, word in ((design["main_layer"], ""), ("trunk.conv2.hook_out", "ConvTwo")):
            r = _pick(diff, network=net, layer=layer, coeff=4.0)
            m |= _triple(r, "difference", f"laSteerDiff{tag}{word}Four")
    r = _pick(steer, network="trained", layer="trunk.conv2.hook_out", vector="probe", coeff=4.0)
    m |= _triple(r, "switched", "laSteerConvTwoProbeFour")
    r = _pick(steer, network="trained", layer="trunk.conv2.hook_out", vector="random", coeff=4.0)
    m |= _triple(r, "switched", "laSteerConvTwoRandomFour")
    m["laSteerLevels"] = int(_pick(steer, network="trained", layer=design["main_layer"], vector="probe",
                                   coeff=4.0)["levels_min"])  # fmt: skip
    lags_path, forms_path = root / "lags.csv", root / "forms.csv"
    tracks_frame = pd.read_csv(root / "tracks.csv")
    if lags_path.is_file():
        lags = pd.read_csv(lags_path)
        for label in TRACKED:
            word = WORDS[label]
            x = lags[f"{label}_lag"].dropna().to_numpy()
            if len(x):
                mean, low, high, _ = t_interval(x)
                m |= interval_macros(f"laLag{word}", mean, low, high)
        m["laSuccessAt"] = float(np.median(lags["success_at"]))
        m["laTrackCheckpoints"] = int(tracks_frame["step"].nunique())
    healthy = tracks_frame[tracks_frame["measure"] == "llc-action-uniform/healthy"]["value"]
    m["laLlcHealthy"] = float(healthy.mean())
    m["laLlcEstimates"] = int(healthy.size)
    if forms_path.is_file():
        forms = pd.read_csv(forms_path)
        for label in TRACKED:
            word = WORDS[label]
            f = forms[(forms["curve"] == label) & (forms["status"] == "ok")]
            if len(f):
                m[f"laForm{word}"] = str(f.iloc[0]["form"]).replace("_", " ")
    if (root / "thinking.csv").is_file():
        th = pd.read_csv(root / "thinking.csv").groupby(["quantity", "ticks"])["value"].mean()
        th_seeds = pd.read_csv(root / "thinking.csv")["seed"].nunique()
        m["laThinkSeedsPhrase"] = count_phrase(
            pd.read_csv(root / "thinking.csv")["seed"].nunique(), "seed"
        )
        m["laThinkTrainTicks"] = design["think_train_ticks"]
        m["laThinkSteps"] = number_latex(design["think_steps"])
        n = design["episodes"]  # episodes per evaluation
        for t, word in (
            (1, "One"),
            (design["think_train_ticks"], "Train"),
            (max(design["think_ticks"]), "Max"),
        ):
            for q, tag in (("in-distribution", "In"), ("cheese anywhere", "Any")):
                share = float(th[(f"success, {q}", t)])
                _, low, high = wilson(round(share * n * th_seeds), n * th_seeds)
                m |= {f"laThinkSuccess{tag}{word}": share}
                m |= {f"laThinkSuccess{tag}{word}Low": low, f"laThinkSuccess{tag}{word}High": high}
            m[f"laThinkAurocFour{word}"] = float(th[("auroc-4", t)])
            m[f"laThinkAurocSixteen{word}"] = float(th[("auroc-16", t)])
        m["laThinkMaxTicks"] = max(design["think_ticks"])
    m |= {f"laCpu{k.capitalize()}": round(v / 60, 1) for k, v in cpu.items()}
    write_macros(path, {**m, **verdicts(m)})


def verdicts(m: dict) -> dict[str, str]:
    """The section's qualitative sentences, decided from the intervals (no number in them),
    so the prose cannot claim what the data of its mode do not show."""
    v = {}
    if separated(m, "laOvcOwnFour", "laOvcCheeseFour"):
        v["LaOvcVerdict"] = "it decodes the agent's own plan, not distances to the cheese."
    elif separated(m, "laOvcCheeseFour", "laOvcOwnFour"):
        v["LaOvcVerdict"] = "it tracks the cheese path better than the agent's own."
    else:
        v["LaOvcVerdict"] = (
            "the intervals overlap, so the probe does not tell the agent's own plan from the "
            "cheese path at this horizon."
        )
    beats = all(
        separated(m, f"laPatchTrainedCell{d}Ratio", null)
        for d in ("Four", "Eight")
        for null in (f"laPatchTrainedRandom{d}Ratio", f"laPatchInitialCell{d}Ratio",
                     f"laPatchRandomCell{d}Ratio")
    )  # fmt: skip
    v["LaPatchVerdict"] = (
        "Together with the nulls, the trained agent computes, at the first residual block and "
        "at the place where they are, the consequences of walls up to eight steps ahead on its "
        "own route, which untrained networks do not."
        if beats
        else "The on/off-path ratio does not beat all three nulls at four and at eight steps, "
        "so this test does not show that the agent computes the consequences of walls ahead "
        "on its own route."
    )
    own = separated(m, "laOvcOwnFour", "laOvcCheeseFour")
    v["LaPlanVerdict"] = (
        "the probes' preference for the agent's own path over the cheese path is what speaks "
        "for a plan of its own."
        if own
        else "the probes do not prefer the agent's own path over the cheese path, so nothing "
        "here tells a plan of its own from such a propagation."
    )
    if above(m, "laSteerDiffTrainedFour"):
        v["LaSteerVerdict"] = (
            "is resolved from zero: writing a route into the probed representation moves the "
            "agent onto it beyond a push of the same size in a random direction."
        )
    else:
        v["LaSteerVerdict"] = (
            "is not resolved from zero. So writing a route into the probed representation "
            "moves the agent onto it, but we cannot tell this from a push of the same size in "
            "a random direction: steering through the plan is not established."
        )
    lags = [k for k in ("AurocFour", "AurocSixteen", "Patching", "Steering") if f"laLag{k}" in m]
    resolved = [k for k in lags if above(m, f"laLag{k}") or below(m, f"laLag{k}")]
    v["LaLagVerdict"] = (
        "With these checkpoints and seeds neither the order of short- and long-horizon "
        "look-ahead nor their order relative to success is resolved: every lag's interval "
        "contains zero."
        if lags and not resolved
        else "Some lags are resolved from zero (their intervals exclude it); the others are not."
    )
    if "laLagLlc" in m:
        if m["laLagLlcLow"] == m["laLagLlcHigh"] == 0:
            v["LaLlcVerdict"] = (
                "In every seed the LLC changes fastest at the same point of the log-step grid "
                "as success; the LLC section shows how little such co-timing says by itself."
            )
        elif above(m, "laLagLlc"):
            v["LaLlcVerdict"] = "The LLC's steepest change comes after success's."
        elif below(m, "laLagLlc"):
            v["LaLlcVerdict"] = "The LLC's steepest change comes before success's."
        else:
            v["LaLlcVerdict"] = (
                "The interval contains zero: the LLC's steepest change is not told apart from "
                "success's, nor, by the intervals above, from those of the look-ahead measures."
            )
    if "laThinkSuccessInMax" in m:
        fall = separated(m, "laThinkSuccessInTrain", "laThinkSuccessInMax")
        rise = separated(m, "laThinkSuccessInMax", "laThinkSuccessInTrain")
        v["LaThinkVerdict"] = (
            "Extra ticks beyond those it was trained with do not help this agent: in-distribution "
            "success falls."
            if fall
            else "Extra ticks beyond those it was trained with raise in-distribution success."
            if rise
            else "Extra ticks beyond those it was trained with do not change in-distribution "
            "success measurably."
        )
    return v
