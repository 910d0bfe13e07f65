"""Macros, table and figure of ``experiments/objectives.py`` (imported by it).

Everything here reads the tidy tables the experiment saved, so the section can be redrawn
without recomputing (``--figures-only``); without this mode's data only the pending flag is
written. The verdict sentences are in ``objectives_verdicts``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep

from devrl.objectives.pipeline import TABLES
from devrl.objectives.summary import edit_summary, interval
from devrl.objectives.training import LLC
from devrl.paper import count_phrase, number_latex, save_figure, write_macros, write_table
from devrl.paper.verdicts import interval_macros
from devrl.stats import binomial_interval

try:  # imported by the script (devrl paper) or from the repository root
    from objectives_verdicts import verdicts
except ImportError:  # pragma: no cover
    from experiments.objectives_verdicts import verdicts

NAME = "objectives"


def _put(macros: dict, key: str, est) -> None:
    """``key``, ``keyLow``, ``keyHigh`` from a ``(mean, low, high, n)`` tuple."""
    macros |= interval_macros(key, *est[:3])


def _macros(d: Path) -> dict:
    """Every number the section's prose uses, from the saved tables."""
    cfg = json.loads((d / "settings.json").read_text())
    read = {
        n: pd.read_csv(d / f"{n}.csv")
        for n in (*TABLES, "orthogonality", "lean_summary", "track", "arms")
    }
    ed, dec, pos, lay, ch, tr = (
        read[k] for k in ("edits", "decoding", "positions", "layers", "channels", "track")
    )
    final = int(ed["step"].max())
    K = int(cfg["K"])
    seeds = sorted(ed["seed"].unique())
    m: dict = {
        "objK": K,
        "objSeeds": len(seeds),
        "objSeedsPhrase": count_phrase(len(seeds), "MA seed"),
        "objFinetune": number_latex(cfg["finetune"]),
        "objRetrain": number_latex(cfg["retrain"]),
        "objRetrainSeeds": cfg["retrain_seeds"],
        "objEpisodes": cfg["episodes"],
        "objChance": 1.0 / K,
        "objCheckpoints": int(ed["step"].nunique()),
        "objFinalStep": number_latex(final),
    }
    # item 1: orthogonality of the reward family
    o = read["orthogonality"]
    cells = o["reward_a"].str.startswith("cell") & o["reward_b"].str.startswith("cell")
    off = cells & (o["reward_a"] != o["reward_b"])
    _put(m, "objOrthoCells", interval(o.loc[off, "correlation"]))
    m["objOrthoCellsMin"] = float(o.loc[off, "correlation"].min())
    m["objOrthoCellsMax"] = float(o.loc[off, "correlation"].max())
    _put(
        m,
        "objOrthoCheese",
        interval(
            o.loc[(o["reward_a"] == "cheese") & o["reward_b"].str.startswith("cell"), "correlation"]
        ),
    )
    # item 3: Jozdien's patch
    ls = read["lean_summary"].set_index(["comparison", "target", "quantity"])
    for key, comp in (
        ("objMbVisit", "mb_vs_ma"),
        ("objPatchVisit", "patch_vs_ma"),
        ("objPatchOwn", "patch_vs_ma_own_minus_others"),
        ("objRandomOwn", "random_vs_ma_own_minus_others"),
        ("objPatchVsRandom", "patch_vs_random_own_minus_others"),
    ):
        row = ls.loc[(comp, "all", "d_visit")]
        _put(m, key, (row["mean"], row["low"], row["high"], row["runs"]))
    # did the retraining restore competence? cheese success per arm (interval over targets;
    # MA retrained: over MA seeds and retraining seeds)
    arms = read["arms"]
    for key, arm in (
        ("objArmMaRetrained", "ma_retrained"),
        ("objArmPatch", "patch"),
        ("objArmPatchRaw", "patch_raw"),
        ("objArmRandom", "random"),
    ):
        g = arms[arms["arm"] == arm]
        by_target = g["arm_target"].notna().all()
        est, low, high, _ = interval(
            g.groupby("arm_target")["success"].mean() if by_target else g["success"]
        )
        m |= interval_macros(key, est, max(low, 0.0), min(high, 1.0))  # a rate: within [0, 1]
    # item 4: the shared part alone (one network per MA seed: intervals over episodes,
    # pooled over seeds, Newcombe's for a difference of proportions)
    e = ed[ed["step"] == final]
    for key, direction in (("objShared", "shared"), ("objSharedRandom", "shared_random")):
        g = e[(e["direction"] == direction) & (e["sign"] == 1.0)]
        one = g.drop_duplicates("seed")
        hits_a = int(np.rint((one["success_arm"] * one["n_arm"]).sum()))
        hits_b = int(np.rint((one["success_base"] * one["n_base"]).sum()))
        lo, hi = confint_proportions_2indep(
            hits_a, int(one["n_arm"].sum()), hits_b, int(one["n_base"].sum()), method="newcomb"
        )
        m[f"{key}Success"] = float(one["d_success"].mean())
        m[f"{key}SuccessLow"], m[f"{key}SuccessHigh"] = float(lo), float(hi)
        m[f"{key}Base"] = float(one["success_base"].mean())
        m[f"{key}Length"] = float(one["d_length"].mean())
        _put(m, f"{key}Visits", interval(g["d_visit_own"]))  # change of visits to the K cells
    # item 4b, c: transplant and negation at alpha = k_alpha (MA + specific_k = MB_k - shared),
    # and specific minus random
    alpha = cfg["k_alpha"]
    m["objAlpha"] = alpha
    for sign, name in ((1.0, "Transplant"), (-1.0, "Negation")):
        pick = e[(e["alpha"] == alpha) & (e["sign"] == sign) & (e["K"] == K)]
        spec = pick[pick["direction"] == "specific"].set_index(["seed", "target"])
        rand = pick[pick["direction"] == "random"].set_index(["seed", "target"])
        _put(m, f"obj{name}", interval(spec["d_visit"]))
        _put(m, f"obj{name}Random", interval(rand["d_visit"]))
        _put(m, f"obj{name}Diff", interval(spec["d_visit"] - rand["d_visit"].reindex(spec.index)))
        _put(m, f"obj{name}Success", interval(spec["d_success"]))
        for k_sub in cfg["k_levels"]:
            g = e[(e["K"] == k_sub) & (e["sign"] == sign) & (e["direction"] == "specific")]
            word = {2: "Two", 4: "Four", 8: "Eight"}[k_sub]
            _put(m, f"obj{name}K{word}", interval(g["d_visit"]))
        kk = e[
            (e["K"] == K)
            & (e["sign"] == sign)
            & (e["direction"] == "specific")
            & (e["alpha"] == cfg["k_alpha"])
        ]
        _put(m, f"obj{name}KAll", interval(kk["d_visit"]))
    m["objKAlpha"] = cfg["k_alpha"]
    m["objKLevelsPhrase"] = ", ".join(str(k) for k in cfg["k_levels"])
    # item 4a: decoding of held-out targets with all K
    dk = dec[(dec["step"] == final) & (dec["K"] == K)]
    for part, key in (("specific", "objDecode"), ("random", "objDecodeRandom")):
        g = dk[dk["part"] == part]
        hits = int(np.rint((g["accuracy"] * g["K"]).sum()))
        trials = int(g["K"].sum())
        lo, hi = binomial_interval(hits, trials)
        m |= interval_macros(key, hits / trials, lo, hi)
        m[f"{key}Null"] = float(g["null_accuracy"].mean())
        m[f"{key}P"] = float(g["p_accuracy"].max())
    m["objDecodeTrials"] = int(dk[dk["part"] == "specific"]["K"].sum())
    # item 5: where the specific parts live
    pf = pos[pos["step"] == final]
    _put(m, "objRank", interval(pf.loc[pf["part"] == "specific", "rank"]))
    _put(m, "objRankRandom", interval(pf.loc[pf["part"] == "random", "rank"]))
    _put(m, "objRankDelta", interval(pf.loc[pf["part"] == "delta", "rank"]))
    m["objPeakCheese"] = float(pf.loc[pf["target"] == "cheese", "peak_share"].mean())
    _put(
        m,
        "objPeakCells",
        interval(pf.loc[(pf["part"] == "delta") & (pf["target"] != "cheese"), "peak_share"]),
    )
    m["objPeakUniform"] = 1.0 / ((cfg["size"] + 1) // 2) ** 2
    m["objRankNull"] = 0.5
    lf = lay[(lay["step"] == final)]
    dense = lf[lf["layer"] == "trunk.dense.weight"]
    for key, sel in (
        ("objDenseSpecific", (dense["part"] == "specific")),
        ("objDenseCells", (dense["part"] == "delta") & (dense["target"] != "cheese")),
        ("objDenseRandom", dense["part"] == "random"),
    ):
        _put(m, key, interval(dense.loc[sel, "share"]))
    m["objDenseCheese"] = float(dense.loc[dense["target"] == "cheese", "share"].mean())
    m["objDenseParams"] = float(dense["param_share"].iloc[0])
    cf = ch[ch["step"] == final]
    for part, key in (("specific", "objChannels"), ("random", "objChannelsRandom")):
        _put(m, key, interval(cf.loc[cf["part"] == part, "consistency"]))
    # item 7: first and last checkpoint
    first = int(tr["step"].min())
    for measure, key in (
        ("decoding_specific", "Decode"),
        ("transplant_minus_random", "Transplant"),
        ("position_rank", "Rank"),
        ("specific_share", "Share"),
        ("ma_success", "Success"),
    ):
        for step, when in ((first, "First"), (final, "Last")):
            g = tr[(tr["measure"] == measure) & (tr["step"] == step)]
            m[f"objTrack{key}{when}"] = float(g["value"].mean())
            # one seed: its interval over targets; several: the interval over seeds
            lo, hi = (
                (g["low"].iloc[0], g["high"].iloc[0]) if len(g) == 1 else interval(g["value"])[1:3]
            )
            m[f"objTrack{key}{when}Low"], m[f"objTrack{key}{when}High"] = float(lo), float(hi)
    m["objShareLast"] = m["objTrackShareLast"]
    m["objShareOrthogonal"] = 1.0 - 1.0 / K
    # item 4c retrained: MA - specific_k, retrained on RA like the patch
    for key, comp in (
        ("objNegRetrain", "negation_vs_ma"),
        ("objNegRetrainRandom", "negation_random_vs_ma"),
        ("objNegRetrainDiff", "negation_vs_negation_random"),
    ):
        row = ls.loc[(f"{comp}_own_minus_others", "all", "d_visit")]
        _put(m, key, (row["mean"], row["low"], row["high"], row["runs"]))
    m.update(training_macros(d))
    return {**m, **verdicts(m)}


def training_macros(d: Path) -> dict:
    """Item 7's relations: MA's LLC curve, onsets against success, rank correlations."""
    curves = pd.read_csv(d / "ma_curves.csv")
    rel = pd.read_csv(d / "track_relations.csv").set_index(["reference", "measure"])
    lags = pd.read_csv(d / "onset_lags.csv")
    llc = curves[curves["measure"] == LLC]
    healthy = curves[curves["measure"] == f"{LLC}/healthy"]["value"]
    first, last = llc["step"].min(), llc["step"].max()
    m = {
        "objLlcFirst": float(llc.loc[llc["step"] == first, "value"].mean()),
        "objLlcLast": float(llc.loc[llc["step"] == last, "value"].mean()),
        "objLlcHealthy": float(healthy.mean()),
        "objLlcEstimates": len(llc),
        "objLlcCheckpoints": int(llc["step"].nunique()),
    }
    for ref, word in (("ma_success", "Success"), ("ma_llc", "Llc")):
        row = rel.loc[(ref, "transplant_minus_random")]
        m[f"objRho{word}"] = float(row["rho"])
        m[f"objRho{word}Null"] = float(row["null_rho"])
        m[f"objRho{word}P"] = float(row["p"])
    for measure, key in (("ma_llc", "objLagLlc"), ("transplant_minus_random", "objLagTransplant")):
        row = lags[lags["measure"] == measure]
        if row.empty:
            m[key], m[f"{key}Low"], m[f"{key}High"], m[f"{key}Runs"] = (float("nan"),) * 3 + (0,)
        else:
            r = row.iloc[0]
            m |= interval_macros(key, r["mean_log10_lag"], r["low"], r["high"])
            m[f"{key}Runs"] = int(r["runs"])
        m[f"{key}RunsPhrase"] = count_phrase(m[f"{key}Runs"], "seed")
    return m


def figure(d: Path, path: Path) -> None:
    """Transplant and negation against random directions; position ranks; the track."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ed = pd.read_csv(d / "edits.csv")
    pos = pd.read_csv(d / "positions.csv")
    tr = pd.read_csv(d / "track.csv")
    final, K = int(ed["step"].max()), int(ed["K"].max())
    fig, ax = plt.subplots(1, 3, figsize=(10, 3.0))
    summ = edit_summary(ed[(ed["step"] == final) & (ed["K"] == K)])
    for direction, color in (("specific", "C0"), ("random", "C7")):
        g = summ[summ["direction"] == direction].assign(x=lambda t: t["sign"] * t["alpha"])
        g = g.sort_values("x")
        ax[0].errorbar(
            g["x"],
            g["d_visit"],
            yerr=[g["d_visit"] - g["low"], g["high"] - g["d_visit"]],
            marker="o",
            color=color,
            capsize=2,
            label=direction,
        )
    ax[0].axhline(0, color="k", lw=0.5)
    ax[0].set_xlabel(r"edit $\alpha$ (MA $+\alpha\,$direction)")
    ax[0].set_ylabel("visits to own target\nminus to others (vs MA)")
    ax[0].legend(fontsize=7)
    pf = pos[(pos["step"] == final) & (pos["target"] != "cheese")]
    parts = ["specific", "delta", "random"]
    for i, part in enumerate(parts):
        v = pf.loc[pf["part"] == part, "rank"].to_numpy()
        ax[1].scatter(np.full(v.size, i) + np.linspace(-0.15, 0.15, v.size), v, s=10, color="C0")
        ax[1].hlines(v.mean(), i - 0.3, i + 0.3, color="k")
    ax[1].axhline(0.5, color="C3", ls="--", lw=0.8, label="no position preference")
    ax[1].set_xticks(range(len(parts)), parts)
    ax[1].set_ylim(-0.05, 1.05)
    ax[1].set_ylabel("rank of the target's position\nin the dense-layer map")
    ax[1].legend(fontsize=7)
    for measure, label, color in (
        ("decoding_specific", "decoding accuracy", "C0"),
        ("transplant_minus_random", "transplant $-$ random", "C1"),
        ("position_rank", "position rank", "C2"),
        ("ma_success", "MA success", "k"),
    ):
        g = tr[tr["measure"] == measure].groupby("step")["value"].mean()
        ax[2].plot(g.index, g.to_numpy(), marker="o", label=label, color=color)
    ax[2].set_xscale("symlog", linthresh=1e4)
    ax[2].set_xlabel("MA checkpoint (environment steps)")
    ax[2].legend(fontsize=6)
    for a, letter in zip(ax, "abc", strict=True):
        a.set_title(f"({letter})", fontsize=9, loc="left")
        a.tick_params(labelsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def make_outputs(args) -> None:
    """Macros, table and figure; without this mode's data, only the pending flag."""
    macros = args.tables / f"{NAME}_macros.tex"
    if not (args.out / "track.csv").is_file():
        # no data of this mode yet (the full mode is not run): the section says so and
        # prints no number (paper/sections/objectives.tex tests \objPending)
        write_macros(macros, {"objPending": "yes"})
        return
    write_macros(macros, _macros(args.out))
    summ = edit_summary(pd.read_csv(args.out / "edits.csv"))
    final = int(summ["step"].max())
    table = summ[(summ["step"] == final) & summ["direction"].isin(["specific", "random"])]
    table = table.assign(edit=table["sign"] * table["alpha"])[
        ["K", "direction", "edit", "d_visit", "low", "high", "n", "d_success"]
    ]
    write_table(
        args.tables / f"{NAME}_edits.tex",
        table.sort_values(["K", "direction", "edit"]),
        caption="Edits of the final MA: own-minus-others visit change (95\\% t interval "
        "over targets and MA seeds) and cheese-success change.",
        label="tab:objectives_edits",
    )
    figure(args.out, args.figures / f"{NAME}_edits")
