"""Summaries of the objectives experiment's tidy tables: leans, edits, tracks over training.

Why: the experiment (issue 14) writes per-episode and per-target rows; these functions turn
them into the estimates the paper states (a t interval over targets x MA seeds or over
retraining runs), the editability track over MA's checkpoints (item 7) and its relation to
MA's success with a seed-shuffled null.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from devrl.objectives.patch import lean, own_minus_others
from devrl.stats import finite_t_interval as interval
from devrl.stats import seed_shuffle_test, spearman, t_interval

__all__ = [
    "EDIT_CONTROLS",
    "arm_summary",
    "edit_summary",
    "editability_track",
    "interval",
    "lean_summary",
    "lean_table",
    "track_relations",
]


EDIT_CONTROLS = {"patch": "random", "negation": "negation_random"}
"""Each retrained edit arm and its control: a random direction with the same layer norms."""


def lean_table(eps: pd.DataFrame) -> pd.DataFrame:
    """Per seed, retraining seed and target k: each retrained edit against MA retrained, its
    random control against MA retrained, and the edit against its control.

    Edits (:data:`EDIT_CONTROLS`, those present): ``patch`` (MA - Delta_k, Jozdien's) and
    ``negation`` (MA - specific part of Delta_k). Plus ``mb_vs_ma`` (did the fine-tune make
    the agent go to k at all?). Intervals here are over episodes of one run;
    :func:`lean_summary` puts them over runs.
    """
    rows = []
    for seed, e in eps.groupby("seed"):
        names = sorted(e.loc[e["arm"] == "patch", "arm_target"].unique())
        edits = {a: c for a, c in EDIT_CONTROLS.items() if (e["arm"] == a).any()}
        for name in names:
            on_k = e[e["target"] == name]
            mb = on_k[(on_k["arm"] == "mb") & (on_k["arm_target"] == name)]
            rows += (
                lean(mb, on_k[on_k["arm"] == "ma"], seed=seed)
                .assign(seed=seed, retrain_seed=-1, comparison="mb_vs_ma")
                .to_dict("records")
            )
            for rs, r in e[e["retrain_seed"] >= 0].groupby("retrain_seed"):
                base = r[r["arm"] == "ma_retrained"]
                for edit, control in edits.items():
                    pick = {
                        a: r[(r["arm"] == a) & (r["arm_target"] == name)] for a in (edit, control)
                    }
                    for comparison, arm, ref in (
                        (f"{edit}_vs_ma", pick[edit], base),
                        (f"{control}_vs_ma", pick[control], base),
                        (f"{edit}_vs_{control}", pick[edit], pick[control]),
                    ):
                        every = lean(arm, ref, seed=seed)  # on all targets: side effects
                        tags = {"seed": seed, "retrain_seed": int(rs)}
                        rows += (
                            every[every["target"] == name]
                            .assign(**tags, comparison=comparison)
                            .to_dict("records")
                        )
                        rows.append(
                            {
                                "target": name,
                                **own_minus_others(every, name),
                                **tags,
                                "comparison": f"{comparison}_own_minus_others",
                            }
                        )
    return pd.DataFrame(rows)


def lean_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per comparison and target: mean over retraining runs with a t interval; ``all`` over targets."""
    rows = []
    for (comparison, target), g in table.groupby(["comparison", "target"]):
        for col in ("d_visit", "d_dist"):
            m, lo, hi, n = t_interval(g[col])
            rows.append(
                {
                    "comparison": comparison,
                    "target": target,
                    "quantity": col,
                    "mean": m,
                    "low": lo,
                    "high": hi,
                    "runs": n,
                }
            )
    per_target = pd.DataFrame(rows)
    for (comparison, col), g in per_target.groupby(["comparison", "quantity"]):
        m, lo, hi, n = t_interval(g["mean"])
        rows.append(
            {
                "comparison": comparison,
                "target": "all",
                "quantity": col,
                "mean": m,
                "low": lo,
                "high": hi,
                "runs": n,
            }
        )
    return pd.DataFrame(rows)


def arm_summary(eps: pd.DataFrame) -> pd.DataFrame:
    """Cheese success and episode length of every arm (is the retrained network competent?)."""
    keys = ["seed", "arm", "arm_target", "retrain_seed"]
    one = eps.drop_duplicates([*keys, "episode"])
    return (
        one.groupby(keys, dropna=False)
        .agg(
            success=("reached_cheese", "mean"),
            length=("length", "mean"),
            episodes=("episode", "size"),
        )
        .reset_index()
    )


def edit_summary(edits: pd.DataFrame) -> pd.DataFrame:
    """Per step, K, direction, sign and alpha: own-minus-others visits with a t interval over
    targets x MA seeds, and the cheese success change."""
    rows = []
    keys = ["step", "K", "direction", "sign", "alpha"]
    for key, g in edits.groupby(keys):
        m, lo, hi, n = interval(g["d_visit"])
        succ = interval(g["d_success"])
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "d_visit": m,
                "low": lo,
                "high": hi,
                "n": n,
                "d_success": succ[0],
                "d_success_low": succ[1],
                "d_success_high": succ[2],
            }
        )
    return pd.DataFrame(rows)


def editability_track(frames: dict, alpha: float) -> pd.DataFrame:
    """Item 7: per MA seed and checkpoint, the objective-editing measures as a tidy track.

    Measures: decoding accuracy of all K held-out targets (and its shuffled-label null),
    transplant and negation (own minus others at ``alpha``, raw and specific minus random;
    the negation with its sign flipped, so positive = avoids its cell more), the
    specific share of Delta, the position rank of the target in the dense map, and MA's
    success at that checkpoint (its evaluation episodes, cheese in the corner).
    """
    rows = []
    dec, ed, pos, norms = (frames[k] for k in ("decoding", "edits", "positions", "norms"))
    K = int(ed["K"].max())
    for (seed, step), g in ed[ed["K"] == K].groupby(["seed", "step"]):
        vals: dict[str, list[float]] = {}
        for sign, label in ((1.0, "transplant"), (-1.0, "negation")):
            pick = g[(g["alpha"] == alpha) & (g["sign"] == sign)]
            spec = pick[pick["direction"] == "specific"].set_index("target")["d_visit"]
            rand = pick[pick["direction"] == "random"].set_index("target")["d_visit"]
            vals[label] = list(sign * spec)
            vals[f"{label}_minus_random"] = list(sign * (spec - rand.reindex(spec.index)))
        d = dec[(dec["seed"] == seed) & (dec["step"] == step) & (dec["K"] == K)]
        for part in ("specific", "random"):
            vals[f"decoding_{part}"] = list(d.loc[d["part"] == part, "accuracy"])
        vals["decoding_null"] = list(d.loc[d["part"] == "specific", "null_accuracy"])
        p = pos[(pos["seed"] == seed) & (pos["step"] == step) & (pos["part"] == "specific")]
        vals["position_rank"] = list(p["rank"])
        n = norms[(norms["seed"] == seed) & (norms["step"] == step) & (norms["layer"] == "total")]
        tot = n.pivot_table(index="target", columns="part", values="norm")
        vals["specific_share"] = list((tot["specific"] / tot["delta"]) ** 2)
        vals["ma_success"] = [float(g["success_base"].iloc[0])]
        for measure, v in vals.items():
            mean, lo, hi, count = interval(v)
            rows.append(
                {
                    "run": f"run_seed{seed}",
                    "seed": seed,
                    "step": step,
                    "measure": measure,
                    "value": mean,
                    "low": lo,
                    "high": hi,
                    "n": count,
                }
            )
    return pd.DataFrame(rows)


def track_relations(track: pd.DataFrame, reference: str = "ma_success") -> pd.DataFrame:
    """Item 7: Spearman rho over checkpoints of each measure with ``reference`` (MA's success,
    or its LLC ``ma_llc``), per seed, and (with at least two MA seeds) the seed-shuffled null
    of the mean rho.

    Why: "the network becomes editable as it becomes competent" predicts a rho that beats
    re-pairing one seed's measure with another seed's success curve.
    """
    wide = track.pivot_table(index=["seed", "step"], columns="measure", values="value")
    seeds = sorted(wide.index.get_level_values("seed").unique())
    rows = []
    others = ("ma_success", "ma_llc")  # the references are not measures of editability
    for measure in [c for c in wide.columns if c not in others]:
        xs = [wide.loc[s, measure].to_numpy() for s in seeds]
        ys = [wide.loc[s, reference].to_numpy() for s in seeds]
        per_seed = [spearman(x, y) for x, y in zip(xs, ys, strict=True)]
        row = {
            "reference": reference,
            "measure": measure,
            "rho": float(np.nanmean(per_seed)) if np.isfinite(per_seed).any() else float("nan"),
            "seeds": len(seeds),
            "checkpoints": int(wide.loc[seeds[0]].shape[0]),
        }
        if len(seeds) >= 2:
            test = seed_shuffle_test(xs, ys, alternative="two-sided")
            row |= {"null_rho": test.null, "p": test.p_value}
        else:
            row |= {"null_rho": float("nan"), "p": float("nan")}
        rows.append(row)
    return pd.DataFrame(rows)
